//! Reconnect bookkeeping for the live stream: when to retry, where to resume, and what the
//! badge says. No browser types here, so every decision can be tested without a relay.
//!
//! The browser's own `EventSource` retry is not relied on: it retries at a fixed interval,
//! forever, and never notices a connection that stays open but goes silent. The driver closes
//! the source on any error or silence and asks this module when to try again.

use wire::Millis;

/// First retry delay; doubles per consecutive failure.
pub const BACKOFF_BASE_MS: f64 = 500.0;
/// No wait grows beyond this: a relay that comes back is picked up within ~10 s.
pub const BACKOFF_CAP_MS: f64 = 10_000.0;
/// The relay sends `health` every second; this long without any event means it is gone even if
/// the TCP connection looks open.
pub const SILENCE_MS: f64 = 5_000.0;
/// After this many consecutive failures (4 to 8 s of trying) the badge stops saying
/// "reconnecting" and admits "offline"; retries continue at the cap.
pub const OFFLINE_AFTER_FAILURES: u32 = 5;

/// What the connection badge shows; also its `data-state` for end-to-end tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LinkState {
    Live,
    #[default]
    Reconnecting,
    Offline,
}

impl LinkState {
    pub fn as_str(self) -> &'static str {
        match self {
            LinkState::Live => "live",
            LinkState::Reconnecting => "reconnecting",
            LinkState::Offline => "offline",
        }
    }
}

/// The wait before retry number `failures` (1 = first retry): exponential, capped, with
/// "equal jitter" (between half and all of the step) so that many dashboards dropped by the
/// same relay restart do not all come back in the same millisecond. `jitter` is in `[0, 1)`.
pub fn backoff_ms(failures: u32, jitter: f64) -> f64 {
    let exp = failures.saturating_sub(1).min(30);
    let step = (BACKOFF_BASE_MS * f64::from(1u32 << exp)).min(BACKOFF_CAP_MS);
    step * (0.5 + 0.5 * jitter.clamp(0.0, 1.0))
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Connection {
    /// Consecutive attempts that ended without the stream delivering anything.
    failures: u32,
    /// The SSE id of the newest event seen; where a reconnect resumes.
    last_event_id: Option<u64>,
    /// Start of the newest backfilled second, used until the stream has given an id.
    since: Option<Millis>,
    /// When (on the caller's clock, ms) the relay was last heard from.
    last_heard: Option<f64>,
    /// When the current attempt started; silence is measured from here until it delivers.
    attempt_began: Option<f64>,
    /// When the first attempt started: "unreachable" before anything was ever heard.
    first_attempt: Option<f64>,
    /// The current attempt has delivered an event.
    heard_this_attempt: bool,
    /// An attempt is running (the source is open or opening).
    attempting: bool,
    ever_live: bool,
    browser_offline: bool,
    /// The filter's query (`wiki=enwiki&bot=false`), empty for every edit: the stream counts
    /// what it names.
    filter_query: String,
}

impl Connection {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn failures(&self) -> u32 {
        self.failures
    }

    pub fn last_event_id(&self) -> Option<u64> {
        self.last_event_id
    }

    pub fn ever_live(&self) -> bool {
        self.ever_live
    }

    pub fn state(&self) -> LinkState {
        if self.browser_offline || self.failures >= OFFLINE_AFTER_FAILURES {
            LinkState::Offline
        } else if self.attempting && self.heard_this_attempt {
            LinkState::Live
        } else {
            LinkState::Reconnecting
        }
    }

    /// Records where the backfill ended, so the first stream can start there instead of
    /// replaying the whole hour.
    pub fn backfilled_until(&mut self, newest_start: Millis) {
        self.since = Some(newest_start);
    }

    /// The backfill named the stream's update id it was read at: the stream resumes right
    /// after it, so what was published between the two reaches the page too.
    pub fn backfilled_at(&mut self, seq: u64) {
        self.last_event_id = Some(seq);
    }

    /// Whether the next attempt needs history from `/v1/counts` first: only when no event id
    /// is known, since an id resumes exactly.
    pub fn needs_backfill(&self) -> bool {
        self.last_event_id.is_none()
    }

    /// The URL of the next attempt: resume by id when one is known, else from the backfill.
    pub fn stream_url(&self) -> String {
        let url = match (self.last_event_id, self.since) {
            (Some(id), _) => format!("/v1/stream?last_event_id={id}"),
            (None, Some(since)) => format!("/v1/stream?since={since}"),
            (None, None) => "/v1/stream".to_owned(),
        };
        crate::relay::get::with_query(&url, &self.filter_query)
    }

    pub fn filter_query(&self) -> &str {
        &self.filter_query
    }

    /// Counts another filter from now on: the position in the old filter's stream means
    /// nothing in the new one's, so the next attempt starts with a backfill.
    pub fn set_filter(&mut self, query: String) {
        self.filter_query = query;
        self.last_event_id = None;
        self.since = None;
    }

    pub fn attempt_started(&mut self, now: f64) {
        self.attempting = true;
        self.heard_this_attempt = false;
        self.attempt_began = Some(now);
        self.first_attempt.get_or_insert(now);
    }

    /// Any event from the relay. Returns true if this made the link live.
    pub fn heard(&mut self, now: f64, id: Option<u64>) -> bool {
        if let Some(id) = id {
            self.last_event_id = Some(id);
        }
        self.last_heard = Some(now);
        let became_live = self.attempting && !self.heard_this_attempt;
        if became_live {
            // Success is an event, not the `open` callback: a relay that accepts and then
            // drops at once would otherwise reset the backoff on every attempt.
            self.failures = 0;
            self.heard_this_attempt = true;
            self.ever_live = true;
        }
        became_live
    }

    /// The attempt failed (error, close, or silence). Returns how long to wait before the
    /// next one; `jitter` in `[0, 1)`.
    pub fn failed(&mut self, jitter: f64) -> f64 {
        self.attempting = false;
        self.heard_this_attempt = false;
        self.failures = self.failures.saturating_add(1);
        backoff_ms(self.failures, jitter)
    }

    /// The relay said this client fell too far behind: history must be reloaded and the
    /// stream resumed from `id`.
    pub fn resync(&mut self, id: u64) {
        self.attempting = false;
        self.heard_this_attempt = false;
        self.last_event_id = Some(id);
    }

    /// True when the running attempt has been silent for [`SILENCE_MS`]: the watchdog then
    /// abandons it, because an open but silent connection never raises an error.
    pub fn is_silent(&self, now: f64) -> bool {
        let since = self
            .last_heard
            .into_iter()
            .chain(self.attempt_began)
            .reduce(f64::max);
        self.attempting && since.is_some_and(|t| now - t >= SILENCE_MS)
    }

    /// Milliseconds since the relay was last heard from (since the first attempt if never).
    pub fn silence_ms(&self, now: f64) -> Option<f64> {
        self.last_heard
            .or(self.first_attempt)
            .map(|t| (now - t).max(0.0))
    }

    /// What the page calls "relay unreachable": nothing heard for [`SILENCE_MS`], across
    /// reconnect attempts (a fresh attempt does not make the relay any more reachable).
    pub fn unreachable(&self, now: f64) -> bool {
        self.silence_ms(now).is_some_and(|s| s >= SILENCE_MS)
    }

    pub fn set_browser_offline(&mut self, offline: bool) {
        self.browser_offline = offline;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_fixtures::T0;

    #[test]
    fn backoff_grows_caps_and_jitters() {
        let lows: Vec<f64> = (1..=8).map(|n| backoff_ms(n, 0.0)).collect();
        let highs: Vec<f64> = (1..=8).map(|n| backoff_ms(n, 0.999_999)).collect();
        assert_eq!(lows[..5], [250.0, 500.0, 1_000.0, 2_000.0, 4_000.0]);
        assert!(lows.windows(2).all(|w| w[1] >= w[0]));
        assert!(highs.iter().all(|&h| h <= BACKOFF_CAP_MS));
        assert_eq!(backoff_ms(30, 0.0), BACKOFF_CAP_MS / 2.0);
        assert_eq!(backoff_ms(u32::MAX, 0.999_999).round(), BACKOFF_CAP_MS);
        for n in 1..8 {
            assert!(lows[n - 1] < highs[n - 1], "jitter spreads retry {n}");
        }
    }

    #[test]
    fn reconnect_resumes_by_id_and_resets_on_success() {
        let mut c = Connection::new();
        assert!(c.needs_backfill());
        assert_eq!(c.stream_url(), "/v1/stream");
        c.backfilled_until(Millis(T0));
        assert_eq!(c.stream_url(), "/v1/stream?since=2024-02-06T16:58:10.000Z");
        // A relay that names the update its answer was read at is resumed right after it:
        // a second closed or revised between the two reads is not lost.
        let mut exact = c.clone();
        exact.backfilled_at(41);
        assert_eq!(exact.stream_url(), "/v1/stream?last_event_id=41");

        c.attempt_started(0.0);
        assert_eq!(
            c.state(),
            LinkState::Reconnecting,
            "not live before anything arrived"
        );
        assert!(c.heard(100.0, Some(7)));
        assert!(
            !c.heard(200.0, Some(8)),
            "only the first event makes it live"
        );
        assert_eq!(c.state(), LinkState::Live);
        assert!(!c.needs_backfill());
        assert_eq!(c.stream_url(), "/v1/stream?last_event_id=8");
        // health without an id leaves the resume point alone.
        c.heard(300.0, None);
        assert_eq!(c.last_event_id(), Some(8));

        // Drop: waits grow while attempts keep failing.
        let waits: Vec<f64> = (0..3).map(|_| c.failed(0.0)).collect();
        assert_eq!(waits, [250.0, 500.0, 1_000.0]);
        while c.failures() + 1 < OFFLINE_AFTER_FAILURES {
            c.attempt_started(5_000.0);
            c.failed(0.0);
        }
        assert_eq!(c.state(), LinkState::Reconnecting);
        c.attempt_started(5_000.0);
        c.failed(0.0);
        assert_eq!(c.state(), LinkState::Offline);

        // An attempt that delivers resets the backoff and resumes where it left off.
        c.attempt_started(20_000.0);
        assert_eq!(c.stream_url(), "/v1/stream?last_event_id=8");
        c.heard(20_100.0, Some(9));
        assert_eq!((c.failures(), c.state()), (0, LinkState::Live));
        assert_eq!(c.failed(0.0), 250.0);

        // Resync: reload history, resume from the id the relay gave.
        c.resync(3);
        assert_eq!(c.stream_url(), "/v1/stream?last_event_id=3");

        // A new filter: the stream counts it, from a fresh backfill.
        c.set_filter("wiki=enwiki&bot=false".to_owned());
        assert!(c.needs_backfill());
        assert_eq!(c.stream_url(), "/v1/stream?wiki=enwiki&bot=false");
        c.backfilled_until(Millis(1_000));
        assert_eq!(
            c.stream_url(),
            "/v1/stream?since=1970-01-01T00:00:01.000Z&wiki=enwiki&bot=false"
        );
    }

    #[test]
    fn silence_is_detected() {
        let mut c = Connection::new();
        assert!(!c.is_silent(1e9), "no attempt, nothing to time out");
        c.attempt_started(1_000.0);
        assert!(!c.is_silent(1_000.0 + SILENCE_MS - 1.0));
        assert!(c.is_silent(1_000.0 + SILENCE_MS));
        assert!(
            c.unreachable(1_000.0 + SILENCE_MS),
            "never heard counts from the first attempt"
        );
        c.heard(3_000.0, None);
        assert!(!c.is_silent(3_000.0 + SILENCE_MS - 1.0));
        assert!(!c.unreachable(3_000.0 + SILENCE_MS - 1.0));
        assert!(c.is_silent(3_000.0 + SILENCE_MS));
        c.failed(0.0);
        c.attempt_started(9_000.0);
        // A new attempt restarts the watchdog but the relay is still unreachable.
        assert!(!c.is_silent(9_500.0));
        assert!(c.unreachable(9_500.0));
        c.set_browser_offline(true);
        assert_eq!(c.state(), LinkState::Offline);
    }
}
