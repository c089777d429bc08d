//! Records final seconds in the history file before they are published, so a second any
//! client was shown as final is still there after a SIGKILL — with the partials they were
//! merged from while the counters can still revise them (see `merge/recorded.rs`); and
//! forgets what is older than `--history`.
//!
//! The write runs on the publish task itself: one small transaction a second (a revision now
//! and then), which SQLite in WAL mode commits in tens of microseconds without an fsync.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use std::path::Path;

use history::{FinalSecond, History, HistoryError};
use wire::Millis;

use super::Merger;
use crate::telemetry::Telemetry;

/// How often seconds older than the history are deleted from the file.
const FORGET_EVERY: Duration = Duration::from_secs(60);

pub struct HistoryWriter {
    history: History,
    keep: Duration,
    /// Seconds older than this (and a margin) can no longer be revised: their partials go.
    settle_after: Duration,
    telemetry: Arc<Telemetry>,
    next_forget: Instant,
    failing: bool,
}

/// How much history is read from the file at once.
const SLICE_MS: i64 = 3_600_000;

impl HistoryWriter {
    /// Opens the history file in `state_dir` and seeds `merger` with the seconds of the last
    /// `keep` it holds. A file that is not a history file, or is damaged, is an error: the
    /// relay does not start rather than write over it.
    pub fn resume(
        state_dir: &Path,
        keep: Duration,
        merger: &mut Merger,
        telemetry: Arc<Telemetry>,
    ) -> Result<HistoryWriter, HistoryError> {
        let started = Instant::now();
        let history = History::open_in(state_dir)?;
        let now = crate::clock::now();
        let since = Millis(now.0 - keep.as_millis() as i64);
        let (mut loaded, mut revisable, mut first) = (0, 0, None);
        // An hour at a time: the seconds' cubes are read as JSON, several times the size the
        // merger keeps them in.
        let mut from = history.earliest()?.map_or(since, |e| e.max(since));
        while from <= now.plus(SLICE_MS) {
            let to = from.plus(SLICE_MS);
            let seconds = history.load_between(from, to)?;
            loaded += seconds.len();
            revisable += seconds.iter().filter(|s| s.partials.is_some()).count();
            first = first.or(seconds.first().map(|s| s.record.start));
            merger.seed_seconds(seconds);
            from = to;
        }
        tracing::info!(
            file = %history.path().display(),
            seconds = loaded,
            from = ?first,
            revisable,
            took_ms = started.elapsed().as_millis() as u64,
            "count history loaded"
        );
        Ok(HistoryWriter::new(
            history,
            keep,
            merger.settle_after(),
            telemetry,
        ))
    }

    pub fn new(
        history: History,
        keep: Duration,
        settle_after: Duration,
        telemetry: Arc<Telemetry>,
    ) -> Self {
        HistoryWriter {
            history,
            keep,
            settle_after,
            telemetry,
            next_forget: Instant::now(),
            failing: false,
        }
    }

    /// Writes final seconds (see [`super::Merger::final_seconds`]). A failure (a full disk)
    /// is logged once and counted; the counts are still served live, and the seconds are lost
    /// at a restart only.
    pub fn write(&mut self, seconds: &[FinalSecond], now: Millis) {
        if seconds.is_empty() {
            return;
        }
        match self.history.write_seconds(seconds) {
            Ok(_) if self.failing => {
                self.failing = false;
                tracing::info!(file = %self.history.path().display(), "history file written again");
            }
            Ok(_) => {}
            Err(e) => {
                if !self.failing {
                    tracing::error!(
                        error = %e,
                        "cannot record final seconds; they are served but lost at a restart"
                    );
                }
                self.failing = true;
                self.telemetry
                    .windows
                    .history_write_errors
                    .fetch_add(1, Ordering::Relaxed);
            }
        }
        if Instant::now() >= self.next_forget {
            self.next_forget = Instant::now() + FORGET_EVERY;
            let before = Millis(now.0 - self.keep.as_millis() as i64 - Millis::SECOND);
            if let Err(e) = self.history.forget_before(before) {
                tracing::warn!(error = %e, "cannot forget seconds older than the history");
            }
            // Twice the merger's horizon: the file must not call a second settled while the
            // merger (whose horizon runs from the final watermark, behind the clock) still
            // takes revisions of it.
            let settled = Millis(now.0 - 2 * self.settle_after.as_millis() as i64);
            if let Err(e) = self.history.settle_before(settled) {
                tracing::warn!(error = %e, "cannot clear the partials of settled seconds");
            }
        }
    }
}
