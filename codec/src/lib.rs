//! The bytes EditPulse reads and writes, parsed and built without I/O: everything here is a pure
//! function of its input, so the fuzz targets, benchmarks and tests use it as the relay does.
//!
//! - [`event`]: a Wikimedia `recentchange` event's counted fields ([`event::parse`]), read by the
//!   hand-written scanner in `scan`;
//! - [`summary`]: what a counter needs of an event, as the tag a source puts at the front of the
//!   payload it writes to the bus;
//! - [`ndjson`]: a gateway request body split into events (one object, an array, or NDJSON);
//! - [`sse_parse`]: an incremental parser of a Server-Sent-Events stream (the upstream's).

pub mod event;
pub mod ndjson;
#[cfg(feature = "oracle")]
pub mod oracle;
mod scan;
pub mod sse_parse;
pub mod summary;
