//! Names of the Server-Sent-Events the relay emits on `GET /v1/stream`.

/// A [`crate::WindowRecord`], provisional or final; its `id` is the update's sequence number.
pub const COUNT_EVENT: &str = "count";
/// A [`crate::Health`] report, sent every second.
pub const HEALTH_EVENT: &str = "health";
/// Keep-alive. A named event rather than an SSE comment, because `EventSource` hides comments
/// and the dashboard needs to see that the relay is alive.
pub const PING_EVENT: &str = "ping";
/// Sent when a client fell so far behind that the updates it missed are no longer kept: the
/// data is the id to resume from after the client has reloaded history from `/v1/counts`.
pub const RESYNC_EVENT: &str = "resync";
