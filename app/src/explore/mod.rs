//! Exploring the stream: which edits are counted, and which ones they were.
//!
//! - [`filter_bar`]: wikis, types, humans or bots, articles only; [`wiki_picker`] searches the
//!   wikis seen, [`filter_edit`] is what each click does to the filter.
//! - [`top_panel`]: the exact busiest wikis, pages and editors of the visible range.
//! - [`edits_panel`]: the edits of the chart's selected second or bucket, page by page;
//!   [`expected`] is the count it should list.
//! - [`live_feed`]: the latest edits, pausable; [`edit_row`] is one edit in either list.
//! - [`address`] and [`address_sync`]: the view in the page's address, back and forward.
//! - [`scope`], [`fetcher`], [`requests`], [`loading`]: what the panels ask the relay, when,
//!   and what they show while they wait.

pub mod address;
pub mod address_sync;
pub mod edit_row;
pub mod edits_panel;
pub mod expected;
pub mod fetcher;
pub mod filter_bar;
pub mod filter_edit;
pub mod live_feed;
pub mod loading;
pub mod notice;
pub mod requests;
pub mod scope;
pub mod top_panel;
pub mod wiki_picker;
