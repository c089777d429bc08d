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

#[cfg(test)]
mod tests {
    use wire::Status;

    use super::*;
    use crate::test_fixtures::window;

    #[test]
    fn decodes_relay_events() {
        let w = window(3, 42, false, 0);
        let json = serde_json::to_string(&w).unwrap();
        assert_eq!(decode("count", &json), Ok(StreamEvent::Count(w)));
        let h = Health {
            status: Status::Degraded,
            ..Health::default()
        };
        let json = serde_json::to_string(&h).unwrap();
        assert_eq!(
            decode("health", &json),
            Ok(StreamEvent::Health(Box::new(h)))
        );
        assert!(matches!(decode("ping", ""), Err(AppError::BadEvent { .. })));
        assert_eq!(decode("resync", "1234"), Ok(StreamEvent::Resync(1234)));
        assert!(matches!(
            decode("count", "{\"start\":1}"),
            Err(AppError::BadEvent { .. })
        ));
        assert!(matches!(
            decode("resync", "soon"),
            Err(AppError::BadEvent { .. })
        ));
        assert_eq!(parse_id("17"), Some(17));
        assert_eq!(parse_id(""), None);
    }
}
