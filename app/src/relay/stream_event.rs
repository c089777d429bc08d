//! Decoding the relay's named SSE events into typed values.

use wire::stream::{COUNT_EVENT, HEALTH_EVENT, RESYNC_EVENT};
use wire::{Health, WindowRecord};

use crate::error::AppError;

#[derive(Debug, Clone, PartialEq)]
pub enum StreamEvent {
    Count(WindowRecord),
    Health(Box<Health>),
    /// Reload history, then resume from this id.
    Resync(u64),
}

/// The SSE `id` of an event, if it carried a usable one. An empty id (the browser's value when
/// the relay sent none) is not an error, just nothing to resume from.
pub fn parse_id(raw: &str) -> Option<u64> {
    raw.trim().parse().ok()
}

pub fn decode(kind: &str, data: &str) -> Result<StreamEvent, AppError> {
    let bad = |reason: String| AppError::BadEvent {
        event: kind.to_owned(),
        reason,
    };
    match kind {
        COUNT_EVENT => serde_json::from_str(data)
            .map(StreamEvent::Count)
            .map_err(|e| bad(e.to_string())),
        HEALTH_EVENT => serde_json::from_str(data)
            .map(|h| StreamEvent::Health(Box::new(h)))
            .map_err(|e| bad(e.to_string())),
        RESYNC_EVENT => data
            .trim()
            .parse()
            .map(StreamEvent::Resync)
            .map_err(|e| bad(format!("resume id {data:?}: {e}"))),
        other => Err(bad(format!("unknown event type {other:?}"))),
    }
}
