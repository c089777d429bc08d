//! Names of the Server-Sent-Events the relay emits on `GET /v1/stream`.

/// A [`crate::WindowRecord`], provisional or final; its `id` is the update's sequence number.
pub const COUNT_EVENT: &str = "count";
/// A [`crate::Health`] report, sent every second on the second. It is also the stream's
/// keep-alive: a named event rather than an SSE comment, because `EventSource` hides comments
/// and the dashboard needs to see that the relay is alive.
pub const HEALTH_EVENT: &str = "health";
/// Reserved for a client that must reload `/v1/counts` before resuming; the dashboard honours
/// it. The relay does not send it today: a client too far behind is sent the stored history
/// on its stream instead.
pub const RESYNC_EVENT: &str = "resync";

/// The header on a `/v1/counts` answer holding the stream's newest update id as of just
/// before the answer was read: a stream opened with `?last_event_id=` that id continues where
/// the answer ends, so nothing published in between (a second closing, a late revision) is
/// missed.
pub const COUNTS_SEQ_HEADER: &str = "x-editpulse-seq";
