//! Merges the partitions' partial windows into one total per second.
//!
//! total(window) = Σ over input partitions of that partition's latest partial. Keeping only
//! the latest partial per (window, partition) is what makes republished partials (after a
//! crash, a rebalance or a duplicate delivery) overwrite instead of add.
//!
//! A 0 is published only for a second the relay watched and heard nothing in: seconds before
//! it started are left out unless a partial (the output topic's history) says what they held,
//! and seconds while its live source was down are marked `source_down`.
//!
//! A second the counters can no longer revise (older than the allowed lateness, with a
//! margin) is settled: its partials are dropped and only its total is kept, so a day of
//! history costs one record a second. Seconds loaded from the history file arrive settled,
//! unless recorded with their partials (see [`Merger::seed_seconds`]).

mod cells;
mod filtered;
mod parts;
mod recorded;

use std::collections::BTreeMap;

use wire::{Millis, PartialWindow, WindowRecord};

use self::cells::{Cells, Wikis};
use self::parts::{Part, merge};
use crate::window::timing::WINDOW_MS;

/// Beyond the allowed lateness: a partial written just before the watermark passed it may
/// still be on its way through the bus.
const SETTLE_MARGIN_MS: i64 = 60_000;

#[derive(Debug, Clone)]
struct Merged {
    /// The latest partial of each input partition.
    partials: BTreeMap<u32, Part>,
    /// The second's total; its top ten only without a breakdown (see [`Merged::served`]).
    record: WindowRecord,
    /// The second's cube, the partials' cubes summed; None when a partial came without one
    /// (`record.no_breakdown`).
    cells: Option<Cells>,
    /// Open and not published as it is now.
    dirty: bool,
    /// Final beyond revision: `partials` is dropped and a partial that still arrives is
    /// ignored, since on its own it would replace the total with a fraction of it.
    settled: bool,
}

impl Merged {
    fn empty(start: i64, is_final: bool) -> Self {
        Merged {
            partials: BTreeMap::new(),
            record: WindowRecord::empty(Millis(start), Millis(start + WINDOW_MS), is_final),
            cells: Some(Cells::default()),
            dirty: false,
            settled: false,
        }
    }

    /// The record as it is handed out: with its top ten, from the cells when it has them.
    fn served(&self, wikis: &Wikis) -> WindowRecord {
        let mut r = self.record.clone();
        if let Some(cells) = &self.cells {
            r.top_wikis = filtered::top_wikis(cells, None, wikis, 10);
        }
        r
    }
}

#[derive(Debug, Clone)]
pub struct Merger {
    partitions: u32,
    watermarks: BTreeMap<u32, Millis>,
    windows: BTreeMap<i64, Merged>,
    /// Every window ending at or before this has been published final.
    final_through: Option<i64>,
    history_ms: i64,
    /// Seconds before this were evicted from the history.
    evicted_before: i64,
    /// The first second the relay watched whole: an earlier one without a partial is not
    /// known to be quiet, so it is not published as a 0.
    covered_from: i64,
    /// Seconds `[from, to)` the output topic's history covers: from when every partition's
    /// counter was running (its first watermark) to where they had all closed. The counters
    /// read the whole input, so a second in there without a partial was quiet.
    history_covers: Option<(i64, i64)>,
    /// The oldest watermark read of each partition.
    first_watermarks: BTreeMap<u32, Millis>,
    /// Spans `[from, to)` of the relay's clock when its live source was down (`to` is
    /// `i64::MAX` while it still is), oldest first, none overlapping.
    source_down: BTreeMap<i64, i64>,
    /// How long after its end a final second can still be revised by a partial.
    settle_after_ms: i64,
    /// Every second before this is settled.
    settled_before: i64,
    /// The names of the wikis in the cubes held.
    wikis: Wikis,
}

impl Merger {
    pub fn new(partitions: u32, history_ms: i64) -> Self {
        Merger {
            partitions,
            watermarks: BTreeMap::new(),
            windows: BTreeMap::new(),
            final_through: None,
            history_ms,
            evicted_before: i64::MIN,
            covered_from: i64::MIN,
            history_covers: None,
            first_watermarks: BTreeMap::new(),
            source_down: BTreeMap::new(),
            settle_after_ms: i64::MAX / 4,
            settled_before: i64::MIN,
            wikis: Wikis::default(),
        }
    }

    /// Seconds that ended `lateness` (the counters' allowed lateness) and a margin for
    /// partials in flight before the final watermark are settled (see the module docs).
    pub fn settling_after(mut self, lateness: std::time::Duration) -> Self {
        self.settle_after_ms = lateness.as_millis() as i64 + SETTLE_MARGIN_MS;
        self
    }

    /// The output topic's history has been read: the seconds it covers are known, zeros
    /// included, though this relay did not watch them.
    pub fn history_loaded(&mut self) {
        let running_from = self.first_watermarks.values().max();
        if let (Some(from), Some(to)) = (running_from, self.watermark()) {
            let from = (from.0 + WINDOW_MS - 1).div_euclid(WINDOW_MS) * WINDOW_MS;
            self.history_covers = Some((from, to.floor_second().0));
        }
    }

    /// Whether a second without a partial is known to have been quiet.
    fn covered(&self, start: i64) -> bool {
        start >= self.covered_from
            || self
                .history_covers
                .is_some_and(|(from, to)| (from..to).contains(&start))
    }

    /// How many wiki names the cubes held may use (see [`cells::Wikis::keep_only`]).
    pub fn wiki_names(&self) -> usize {
        self.wikis.len()
    }

    /// The start of the oldest second held.
    pub fn earliest(&self) -> Option<Millis> {
        self.windows.first_key_value().map(|(&s, _)| Millis(s))
    }

    /// A merger of a relay started at `started`: the second it started in is not whole.
    pub fn covering_from(mut self, started: Millis) -> Self {
        self.covered_from = (started.0 + WINDOW_MS - 1).div_euclid(WINDOW_MS) * WINDOW_MS;
        self
    }

    /// Whether the relay's live source is delivering, as of `now`.
    pub fn note_source(&mut self, up: bool, now: Millis) {
        let ongoing = self
            .source_down
            .last_key_value()
            .is_some_and(|(_, &to)| to == i64::MAX);
        match (up, ongoing) {
            (false, false) => {
                self.source_down.insert(now.0, i64::MAX);
            }
            (true, true) => {
                if let Some(mut last) = self.source_down.last_entry() {
                    *last.get_mut() = now.0;
                }
            }
            _ => {}
        }
    }

    /// Whether the source was down at any moment of the second starting at `start`.
    fn source_down_in(&self, start: i64) -> bool {
        self.source_down
            .range(..start + WINDOW_MS)
            .next_back()
            .is_some_and(|(_, &to)| to > start)
    }

    /// The watermark of the whole input: the slowest partition's. None until every partition
    /// has reported one, so a window is never called final while a partition is unheard from.
    pub fn watermark(&self) -> Option<Millis> {
        if self.partitions == 0 || (self.watermarks.len() as u32) < self.partitions {
            return None;
        }
        (0..self.partitions)
            .map(|p| self.watermarks.get(&p).copied())
            .min()
            .flatten()
    }

    pub fn partition_watermarks(&self) -> &BTreeMap<u32, Millis> {
        &self.watermarks
    }

    pub fn final_through(&self) -> Option<Millis> {
        self.final_through.map(Millis)
    }

    pub fn open_windows(&self) -> usize {
        let from = self.final_through.unwrap_or(i64::MIN);
        self.windows.range(from..).count()
    }

    /// Applies a partial; returns the window's new total if it is final and changed (a revision).
    /// Open windows are published by [`Merger::tick`], at most once per tick.
    pub fn apply_partial(&mut self, p: PartialWindow) -> Option<WindowRecord> {
        let (partition, start) = (p.partition, p.window.start.0);
        let is_closed = self.final_through.is_some_and(|f| start + WINDOW_MS <= f);
        // A second already evicted from the history must not come back rebuilt from this one
        // partial: that would publish a fraction of its total.
        if start < self.evicted_before {
            return None;
        }
        let m = self
            .windows
            .entry(start)
            .or_insert_with(|| Merged::empty(start, is_closed));
        if m.settled {
            return None;
        }
        let part = Part::of(p, &mut self.wikis);
        if m.partials.get(&partition) == Some(&part) {
            return None;
        }
        m.partials.insert(partition, part);
        let before = m.record.clone();
        let cells_before = m.cells.take();
        (m.record, m.cells) = merge(&m.partials, &before, &self.wikis);
        m.record.source_down = before.source_down;
        if m.record == before && m.cells == cells_before {
            return None;
        }
        if is_closed {
            m.record.revision = before.revision + 1;
            return Some(m.served(&self.wikis));
        }
        m.dirty = true;
        None
    }

    pub fn apply_watermark(&mut self, partition: u32, watermark: Millis) {
        let first = self.first_watermarks.entry(partition).or_insert(watermark);
        *first = (*first).min(watermark);
        let w = self.watermarks.entry(partition).or_insert(watermark);
        *w = (*w).max(watermark);
        self.settle();
    }

    /// Publishes what changed since the last call: every window the watermark passed, in order
    /// and with zeros for seconds nobody edited in, then the open windows that changed. A new
    /// current second goes out as soon as it starts, even empty, so the dashboard's time axis
    /// moves with the clock; an unchanged one is never sent again (every update is a write to
    /// every SSE client, and a repeat tells none of them anything).
    pub fn publish(&mut self, now: Millis, out: &mut Vec<WindowRecord>) {
        let current = now.floor_second().0;
        if let Some(wm) = self.watermark() {
            let closed_through = Millis(wm.0).floor_second().0;
            let mut from = self.final_through.unwrap_or_else(|| {
                self.windows
                    .keys()
                    .next()
                    .copied()
                    .unwrap_or(closed_through)
                    .min(closed_through)
            });
            from = from.max(closed_through - self.history_ms);
            while from + WINDOW_MS <= closed_through {
                if !self.covered(from) && !self.windows.contains_key(&from) {
                    from += WINDOW_MS;
                    continue;
                }
                let source_down = self.source_down_in(from);
                let m = self
                    .windows
                    .entry(from)
                    .or_insert_with(|| Merged::empty(from, true));
                m.record.is_final = true;
                m.record.source_down |= source_down;
                m.dirty = false;
                out.push(m.served(&self.wikis));
                from += WINDOW_MS;
            }
            self.final_through = Some(self.final_through.map_or(from, |f| f.max(from)));
        }
        let open_from = self.final_through.unwrap_or(current);
        if current >= open_from && current >= self.covered_from {
            self.windows.entry(current).or_insert_with(|| {
                let mut m = Merged::empty(current, false);
                m.dirty = true;
                m
            });
        }
        for m in self.windows.range_mut(open_from..).map(|(_, m)| m) {
            if m.dirty {
                m.dirty = false;
                out.push(m.served(&self.wikis));
            }
        }
        let keep_from = self.oldest_kept_at(now);
        while self
            .windows
            .first_key_value()
            .is_some_and(|(&s, _)| s < keep_from)
        {
            self.windows.pop_first();
        }
        self.evicted_before = self.evicted_before.max(keep_from);
        if self.wikis.outgrown() {
            let held = self.windows.values_mut().flat_map(|m| {
                let parts = m.partials.values_mut().filter_map(|p| p.cells.as_mut());
                m.cells.as_mut().into_iter().chain(parts)
            });
            self.wikis.keep_only(held.collect());
        }
        while self
            .source_down
            .first_key_value()
            .is_some_and(|(_, &to)| to < keep_from)
        {
            self.source_down.pop_first();
        }
    }

    /// Drops the partials of the final seconds the counters can no longer revise. Run as the
    /// watermark moves, so reading a day back from the output topic holds a few minutes of
    /// partials at a time, not the day's.
    fn settle(&mut self) {
        let Some(through) = self.watermark().map(|w| w.0) else {
            return;
        };
        let before = through.saturating_sub(self.settle_after_ms);
        if before <= self.settled_before {
            return;
        }
        for (_, m) in self.windows.range_mut(self.settled_before..before) {
            m.settled = true;
            m.partials = BTreeMap::new();
        }
        self.settled_before = before;
    }

    /// The kept seconds of `[from, to)` rolled up into buckets of `step` seconds, without
    /// copying the seconds (a day of them is 86,400).
    pub fn buckets(&self, from: Millis, to: Millis, step: u32) -> Vec<wire::Bucket> {
        if from >= to {
            return Vec::new();
        }
        wire::roll_up(
            self.windows
                .range(from.floor_second().0..to.0)
                .map(|(_, m)| &m.record),
            step,
        )
    }

    /// The latest total of every kept window in `[from, to)`, ordered by start.
    pub fn range(&self, from: Millis, to: Millis) -> Vec<WindowRecord> {
        if from >= to {
            return Vec::new();
        }
        self.windows
            .range(from.floor_second().0..to.0)
            .map(|(_, m)| m.served(&self.wikis))
            .collect()
    }

    fn oldest_kept_at(&self, now: Millis) -> i64 {
        now.0 - self.history_ms - WINDOW_MS
    }
}
