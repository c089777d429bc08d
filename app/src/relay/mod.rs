//! The dashboard's side of the wire: everything that talks to the relay.
//!
//! - [`client`]: the browser I/O (`/v1/counts` backfill, `/v1/stream` EventSource, watchdog)
//!   that fills the [`crate::store::Store`].
//! - [`history`]: the buckets of long ranges, custom ranges and zooms, fetched as the store's
//!   history asks.
//! - [`get`]: one GET of the read API, with the relay's own words on a refusal and a deadline.
//! - [`stream_event`]: the stream's named SSE events decoded into typed values.
//! - [`reconnect`]: when to retry and where to resume; plain logic, no browser types.

pub mod client;
pub mod get;
pub mod history;
pub mod reconnect;
pub mod stream_event;
