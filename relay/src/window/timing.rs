//! The clock rules every counter and the merger share.

use wire::Millis;

use crate::config::{Config, TimeMode};

pub const WINDOW_MS: i64 = 1_000;

/// Where the clock rules put a record (see [`Timing::judge`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Stamped further ahead of its ingest time than `max_future`.
    TooEarly,
    /// Reached the bus after its window's allowed lateness.
    TooLate { start: i64 },
    /// Counts in the window starting at `start`; `late`: after that window closed.
    InWindow { start: i64, late: bool },
}

/// The watermark of a partition that has none yet: before any event, and far enough from
/// `i64::MIN` that moving it by a delay or a lateness cannot overflow.
pub const NO_WATERMARK: Millis = Millis(i64::MIN / 2);

/// How ingest time can lag event time before an event stops counting, and how long windows are
/// kept. All decisions about an event use its *ingest* time (the bus record's timestamp), never
/// the counter's clock, so recomputing a partition after a crash decides exactly as before.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timing {
    pub mode: TimeMode,
    /// A window closes (goes final) once the watermark, which trails ingest time by this much,
    /// passes its end.
    pub delay_ms: i64,
    /// An event whose ingest time is at most this long after its window closed still revises it.
    pub lateness_ms: i64,
    /// Events stamped further ahead of their ingest time than this are refused.
    pub max_future_ms: i64,
    /// Windows are kept this long past their lateness before being dropped. It absorbs ingest
    /// timestamps that disagree by a few seconds (several producers, small clock skew), so that a
    /// window is never dropped while an event it would accept can still arrive.
    pub slack_ms: i64,
}

impl Timing {
    pub fn from_config(c: &Config) -> Timing {
        Timing {
            mode: c.time_mode,
            delay_ms: c.watermark_delay.as_millis() as i64,
            lateness_ms: c.allowed_lateness.as_millis() as i64,
            max_future_ms: c.max_future.as_millis() as i64,
            slack_ms: 10_000,
        }
    }

    /// The clock rules alone for one non-canary record: which second it falls in, and whether it
    /// can still count there. The counter and `/v1/edits` both decide with this, so an edit is
    /// listed for a second exactly when it was counted in it (the repeat rules aside, which
    /// need the partition's earlier records).
    #[inline]
    pub fn judge(&self, event_time: Millis, ingest: Millis) -> Verdict {
        let t = match self.mode {
            TimeMode::Event => event_time,
            TimeMode::Ingest => ingest,
        };
        if t.0 > ingest.0.saturating_add(self.max_future_ms) {
            return Verdict::TooEarly;
        }
        let start = Timing::window_start(t);
        let closes_at = start + WINDOW_MS + self.delay_ms;
        if ingest.0 >= closes_at + self.lateness_ms {
            Verdict::TooLate { start }
        } else {
            Verdict::InWindow {
                start,
                late: ingest.0 >= closes_at,
            }
        }
    }

    /// The ingest times of the records that decide what `[from, to)` (by the counted time)
    /// counted: by event time, from `max_future` before `from` (stamped ahead of its ingest)
    /// to the lateness after `to`; by ingest time, the range itself and the allowed lateness
    /// before it, whose ids make repeats (see `recent_ids`).
    pub fn ingest_span(&self, from: Millis, to: Millis) -> (Millis, Millis) {
        match self.mode {
            TimeMode::Ingest => (from.plus(-self.lateness_ms - WINDOW_MS), to),
            TimeMode::Event => (
                from.plus(-self.max_future_ms),
                Millis(
                    Timing::window_start(to.plus(-1))
                        + WINDOW_MS
                        + self.delay_ms
                        + self.lateness_ms,
                ),
            ),
        }
    }

    pub fn window_start(t: Millis) -> i64 {
        t.0.div_euclid(WINDOW_MS) * WINDOW_MS
    }

    /// How long from `now` until a caught-up partition's watermark enters its next second, which
    /// is when that second's window closes (plus a millisecond, so the clock has surely passed).
    pub fn until_next_close(&self, now: Millis) -> std::time::Duration {
        let wm = self.watermark_at(now);
        let next = Timing::window_start(wm) + WINDOW_MS;
        std::time::Duration::from_millis((next - wm.0 + 1) as u64)
    }

    /// The watermark a partition may claim given a clock reading.
    pub fn watermark_at(&self, t: Millis) -> Millis {
        t.plus(-self.delay_ms)
    }
}
