//! Where events come from: the live Wikimedia stream, the HTTP gateway, or a recording. Every
//! source hands validated events to [`ingest::Ingest`], which puts them on the bus.

pub mod dedupe;
pub mod ingest;
pub mod playlist;
pub mod replay;
pub mod state;
pub mod upstream;
