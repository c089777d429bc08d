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

    /// The oldest window held.
    pub fn oldest(&self) -> Option<&WindowRecord> {
        self.windows.values().next()
    }

    /// The windows starting in `[from, to)`, oldest first.
    pub fn between(&self, from: i64, to: i64) -> impl Iterator<Item = &WindowRecord> {
        self.windows.range(from..to.max(from)).map(|(_, w)| w)
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

    /// Forgets every provisional value: a count "so far" is only as good as the connection
    /// that brought it. The relay that sent it sends the second again (provisional or final)
    /// on the next connection; a restarted relay may never have it, and then it must not
    /// stay on the chart as if it were still counting. Returns how many were dropped.
    pub fn drop_provisional(&mut self) -> usize {
        let before = self.windows.len();
        self.windows.retain(|_, w| w.is_final);
        before - self.windows.len()
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_fixtures::{T0, filled, window};

    #[test]
    fn backfill_then_live_merge_is_idempotent_on_overlap() {
        let mut s = Series::new();
        let backfill: Vec<_> = (0..120)
            .map(|i| window(i, 10 + i as u64, true, 0))
            .collect();
        assert_eq!(s.merge_all(backfill.clone()), 120);
        assert_eq!(s.len(), 120);

        // The stream opened with ?since= replays the newest backfilled second: no change.
        assert_eq!(s.merge(backfill[119].clone()), Merge::Unchanged);
        assert_eq!(s.merge_all(backfill), 0);

        // Live: the open second arrives provisional, several times, growing.
        assert_eq!(s.merge(window(120, 3, false, 0)), Merge::Inserted);
        assert_eq!(s.merge(window(120, 7, false, 0)), Merge::Replaced);
        assert_eq!(s.len(), 121);
        let newest = s.newest().unwrap();
        assert_eq!((newest.count, newest.is_final), (7, false));
        // The newest *final* second is still the backfilled one.
        assert_eq!(s.newest_final().unwrap().start, Millis(T0 + 119_000));

        // The final value replaces the provisional one.
        assert_eq!(s.merge(window(120, 9, true, 0)), Merge::Replaced);
        let w = s.get(Millis(T0 + 120_000)).unwrap();
        assert_eq!((w.count, w.is_final), (9, true));
        assert_eq!(s.newest_final().unwrap().start, Millis(T0 + 120_000));
    }

    #[test]
    fn late_revisions_replace_and_older_values_do_not_come_back() {
        let mut s = Series::new();
        s.merge(window(0, 5, false, 0));
        s.merge(window(0, 10, true, 0));
        assert_eq!(
            s.merge(window(0, 12, true, 1)),
            Merge::Replaced,
            "late revision"
        );
        assert_eq!(s.get(Millis(T0)).unwrap().count, 12);
        assert_eq!(s.get(Millis(T0)).unwrap().revision, 1);

        // A replay of revision 0 (e.g. after a reconnect) must not undo revision 1 ...
        assert_eq!(s.merge(window(0, 10, true, 0)), Merge::Stale);
        // ... nor may a stray provisional value undo a final one.
        assert_eq!(s.merge(window(0, 4, false, 0)), Merge::Stale);
        assert_eq!(s.get(Millis(T0)).unwrap().count, 12);

        // Same revision re-sent with a different value: the latest received wins.
        assert_eq!(s.merge(window(0, 13, true, 1)), Merge::Replaced);
        assert_eq!(s.get(Millis(T0)).unwrap().count, 13);
    }

    #[test]
    fn provisional_values_do_not_outlive_their_connection() {
        let mut s = filled(10, |i| i as u64);
        s.merge(window(10, 4, false, 0));
        s.merge(window(11, 1, false, 0));
        assert_eq!(s.drop_provisional(), 2);
        assert_eq!(s.len(), 10);
        assert!(s.iter().all(|w| w.is_final));
        // The relay sends the second again: it comes back, final or not.
        assert_eq!(s.merge(window(10, 5, false, 0)), Merge::Inserted);
        assert_eq!(s.drop_provisional(), 1);
        assert_eq!(s.drop_provisional(), 0);
    }

    #[test]
    fn keeps_exactly_the_last_hour() {
        let s = filled(3_700, |_| 1);
        assert_eq!(s.len(), (RETENTION_MS / 1_000) as usize);
        assert_eq!(s.iter().next().unwrap().start, Millis(T0 + 100_000));
        let mut s = s;
        assert_eq!(s.merge(window(50, 1, true, 1)), Merge::TooOld);
        assert_eq!(s.len(), 3_600);
    }

    #[test]
    fn range_selects_the_trailing_seconds() {
        let mut s = filled(3_600, |i| i as u64);
        for (range, n) in [
            (Range::OneMinute, 60),
            (Range::FiveMinutes, 300),
            (Range::FifteenMinutes, 900),
            (Range::SixtyMinutes, 3_600),
        ] {
            let in_range: Vec<_> = s.in_range(range).collect();
            assert_eq!(in_range.len(), n, "{range:?}");
            assert_eq!(in_range.last().unwrap().start, Millis(T0 + 3_599_000));
            assert_eq!(in_range[0].start, Millis(T0 + (3_600 - n as i64) * 1_000));
        }
        // The open second moves the range's end with it.
        s.merge(window(3_600, 1, false, 0));
        let one: Vec<_> = s.in_range(Range::OneMinute).collect();
        assert_eq!(one.len(), 60);
        assert!(!one.last().unwrap().is_final);
        assert_eq!(one[0].start, Millis(T0 + 3_541_000));
    }
}
