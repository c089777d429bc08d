//! The per-second counts the dashboard knows about, merged from the `/v1/counts` backfill and
//! the live stream.
//!
//! Keyed by window start, so the overlap between backfill and stream (and any replay after a
//! reconnect) lands on the same key and merging stays idempotent.

use std::collections::BTreeMap;

use wire::{Millis, WindowRecord};

use crate::range::Range;

/// How much history is kept: the widest range the user can pick.
pub const RETENTION_MS: i64 = 60 * 60 * Millis::SECOND;

/// What [`Series::merge`] did with a record. Tests and the chart's redraw decision use it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Merge {
    Inserted,
    Replaced,
    /// Exactly what was already held (backfill and stream overlap): nothing to redraw.
    Unchanged,
    /// Older than what is already held for that second (a provisional value arriving after
    /// the final one, or a lower revision); keeping the newer value is what "latest wins"
    /// means once the relay's replay after a reconnect overlaps what was already seen.
    Stale,
    /// Starts before the retained hour.
    TooOld,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Series {
    windows: BTreeMap<i64, WindowRecord>,
}

impl Series {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn len(&self) -> usize {
        self.windows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.windows.is_empty()
    }

    pub fn get(&self, start: Millis) -> Option<&WindowRecord> {
        self.windows.get(&start.0)
    }

    /// The newest window held, provisional or final.
    pub fn newest(&self) -> Option<&WindowRecord> {
        self.windows.values().next_back()
    }

    /// The newest window that is final.
    pub fn newest_final(&self) -> Option<&WindowRecord> {
        self.windows.values().rev().find(|w| w.is_final)
    }

    pub fn merge(&mut self, rec: WindowRecord) -> Merge {
        if let Some(newest) = self.windows.keys().next_back()
            && rec.start.0 <= newest - RETENTION_MS
        {
            return Merge::TooOld;
        }
        let outcome = match self.windows.get(&rec.start.0) {
            None => Merge::Inserted,
            Some(held) if *held == rec => return Merge::Unchanged,
            Some(held) if supersedes(held, &rec) => Merge::Replaced,
            Some(_) => return Merge::Stale,
        };
        self.windows.insert(rec.start.0, rec);
        self.prune();
        outcome
    }

    /// Merges a batch (the backfill), returning how many seconds changed.
    pub fn merge_all(&mut self, recs: impl IntoIterator<Item = WindowRecord>) -> usize {
        recs.into_iter()
            .map(|r| self.merge(r))
            .filter(|m| matches!(m, Merge::Inserted | Merge::Replaced))
            .count()
    }

    /// Drops everything an hour older than the newest window. Measured against the data's
    /// own clock rather than the browser's, so a skewed client clock cannot empty the chart.
    fn prune(&mut self) {
        let Some(&newest) = self.windows.keys().next_back() else {
            return;
        };
        let keep_from = newest - RETENTION_MS + 1;
        if self.windows.keys().next().is_some_and(|&k| k < keep_from) {
            self.windows = self.windows.split_off(&keep_from);
        }
    }

    /// The instant the visible range ends at: the end of the newest second held.
    pub fn end(&self) -> Option<Millis> {
        self.newest().map(|w| w.end)
    }

    /// The windows that fall inside `range`, counted back from [`Series::end`], oldest first.
    pub fn in_range(&self, range: Range) -> impl DoubleEndedIterator<Item = &WindowRecord> {
        let from = self
            .end()
            .map_or(i64::MAX, |end| end.0 - range.duration_ms());
        self.windows.range(from..).map(|(_, w)| w)
    }

    /// The newest `n` windows, newest first.
    pub fn latest(&self, n: usize) -> impl Iterator<Item = &WindowRecord> {
        self.windows.values().rev().take(n)
    }

    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &WindowRecord> {
        self.windows.values()
    }
}

/// Whether `new` should replace `held` for the same second.
fn supersedes(held: &WindowRecord, new: &WindowRecord) -> bool {
    match (held.is_final, new.is_final) {
        // A provisional value only ever grows until the window closes.
        (false, _) => true,
        (true, false) => false,
        (true, true) => new.revision >= held.revision,
    }
}
