//! The relay's parsers, compiled on their own: they need only serde_json and the wire crate,
//! so a sanitizer build does not have to build librdkafka, tokio and axum as well.

#[path = "../../relay/src/event.rs"]
pub mod event;
/// The serde_json parser the scanner replaced: the fuzz target holds the two to the same answers.
#[path = "../../relay/tests/oracle/serde_event.rs"]
pub mod oracle;
#[path = "../../relay/src/source/ndjson.rs"]
pub mod ndjson;
#[path = "../../relay/src/source/sse_frame.rs"]
pub mod sse_frame;
