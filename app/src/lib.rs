//! EditPulse dashboard: Wikipedia's edits per second, live, with the health of the pipeline
//! that counts them.
//!
//! # Layout
//!
//! In the order the data flows, from the relay to the screen:
//!
//! - [`relay`]: the I/O with the relay (backfill, live stream, reconnects) and the decoding of
//!   what it sends.
//! - [`store`]: the reactive state the relay client writes and the components read: the
//!   [`series`] of per-second counts, the [`history`] of buckets for longer views, the latest
//!   health report, the link state and the user's picks ([`range`], a custom range or zoom as
//!   a [`view`], humans vs bots).
//! - [`step`]: the bucket length for any stretch of time.
//! - [`chart`]: the edits-per-second chart, its controls and its drawing.
//! - [`figures`]: the one definition of each summary figure (which seconds, the peak's
//!   tie-break), used by the headline, the chart's caption and the top wikis.
//! - [`headline`]: the numbers above the chart.
//! - [`explore`]: the filter bar, the exact top wikis, pages and editors, the edits of a
//!   picked second, the live feed of edits, and the view kept in the page's address.
//! - [`health_panel`]: the relay's health report, one row per pipeline stage.
//! - [`connection_status`]: the connection badge, the tagline, the "relay unreachable" banner
//!   and the error line; [`source_status`] decides what the badge and tagline say.
//! - [`recent_table`]: the last minute as a hidden table for screen readers and end-to-end
//!   tests.
//! - [`local_time`] and [`error`]: clock labels in the viewer's zone, and what can go wrong.
//!
//! The components only read the store, so [`Dashboard`] can be mounted over a hand-filled
//! store in tests.

pub mod chart;
pub mod connection_status;
pub mod error;
pub mod explore;
pub mod figures;
pub mod headline;
pub mod health_panel;
pub mod history;
pub mod local_time;
pub mod range;
pub mod recent_table;
pub mod relay;
pub mod series;
pub mod source_status;
pub mod step;
pub mod store;
pub mod view;

#[cfg(test)]
mod test_fixtures;

use leptos::prelude::*;
use wire::TopBy;

use crate::chart::controls::Controls;
use crate::chart::history_status::HistoryStatus;
use crate::chart::view::Chart;
use crate::connection_status::{ConnectionBadge, ErrorLine, Tagline, UnreachableBanner};
use crate::explore::address_sync::follow_address;
use crate::explore::edits_panel::EditsPanel;
use crate::explore::filter_bar::FilterBar;
use crate::explore::live_feed::LiveFeed;
use crate::explore::notice::Notice;
use crate::explore::top_panel::TopPanel;
use crate::headline::Headline;
use crate::health_panel::HealthPanel;
use crate::recent_table::RecentTable;
use crate::relay::client::RelayClient;
use crate::store::Store;

/// The page: a fresh store fed by the relay.
#[component]
pub fn App() -> impl IntoView {
    let store = Store::new();
    // The address first: the stream opens under the filter it names.
    follow_address(store);
    // Owned by the component so that unmounting closes the stream and stops the timers.
    let client = StoredValue::new_local(RelayClient::start(store));
    on_cleanup(move || client.dispose());
    Effect::new(move |_| {
        store.filter.track();
        if let Some(c) = client.try_get_value() {
            c.refilter();
        }
    });
    relay::history::load_history(store);
    view! { <Dashboard store=store /> }
}

/// Everything visible, over whatever fills `store`.
#[component]
pub fn Dashboard(store: Store) -> impl IntoView {
    store.follow_view();
    view! {
        <div class="page">
            <header class="top">
                <div class="title">
                    <h1>"EditPulse"</h1>
                    <Tagline store=store />
                </div>
                <ConnectionBadge store=store />
            </header>
            <UnreachableBanner store=store />
            <ErrorLine store=store />
            <Notice store=store />
            <FilterBar store=store />
            <main class="grid" class:stale=move || store.connection.with(|c| c.unreachable(store.clock.get()))>
                <Headline store=store />
                <section class="card chart-card" aria-labelledby="chart-title">
                    <div class="card-head">
                        <h2 id="chart-title">"Edits per second"</h2>
                        <Controls store=store />
                    </div>
                    <HistoryStatus store=store />
                    <Chart store=store />
                </section>
                <EditsPanel store=store />
                <TopPanel store=store by=TopBy::Wiki id="top-wikis" />
                <TopPanel store=store by=TopBy::Page id="top-pages" />
                <TopPanel store=store by=TopBy::User id="top-users" />
                <LiveFeed store=store />
                <HealthPanel store=store />
            </main>
            <RecentTable store=store />
        </div>
    }
}

/// The id of index.html's static frame, shown while the wasm loads.
pub const BOOT_FRAME_ID: &str = "boot";

/// Replaces index.html's static frame with the app on `<body>`; what `main` calls.
pub fn mount() {
    if let Some(frame) = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.get_element_by_id(BOOT_FRAME_ID))
    {
        frame.remove();
    }
    leptos::mount::mount_to_body(App);
}
