//! Answers under a filter, computed from the cubes held: a filtered second, filtered buckets,
//! and the busiest wikis of a range. Nothing is counted per filter ahead of time, so any filter
//! has its whole history at once.

use std::collections::HashMap;

use wire::{Bucket, Filter, Millis, TypeCounts, WindowRecord};

use super::cells::{Cells, KeyFilter, Wikis};
use super::{Merged, Merger};

/// The busiest `n` wikis among `cells` (those `filter` matches, or all), most edits first.
pub fn top_wikis(
    cells: &Cells,
    filter: Option<&KeyFilter>,
    wikis: &Wikis,
    n: usize,
) -> Vec<(String, u64)> {
    let mut per_wiki: Vec<(u32, u64)> = Vec::new();
    for &(key, count) in cells.iter() {
        if filter.is_some_and(|f| !f.matches(key)) {
            continue;
        }
        // Keys are sorted, so a wiki's cells are adjacent.
        let wiki = KeyFilter::wiki(key);
        match per_wiki.last_mut() {
            Some((w, total)) if *w == wiki => *total += u64::from(count),
            _ => per_wiki.push((wiki, u64::from(count))),
        }
    }
    wire::top_n(per_wiki.into_iter().map(|(w, c)| (wikis.name(w), c)), n)
}

/// What the busiest wikis of a range are, and how sure that is.
pub struct WikiTotals {
    pub items: Vec<(String, u64)>,
    pub total: u64,
    pub distinct: u64,
    /// Seconds in the range held without a breakdown, left out of the totals.
    pub without_breakdown: u64,
}

impl Merger {
    /// `filter` ready to test this merger's cells.
    pub fn compile(&self, filter: &Filter) -> KeyFilter {
        self.wikis.compile(filter)
    }

    /// The second held at `start` under `filter`: None if it is not held, or was counted
    /// without a breakdown. With `top`, its ten busiest wikis too.
    pub fn filtered(&self, start: Millis, filter: &KeyFilter, top: bool) -> Option<WindowRecord> {
        self.windows
            .get(&start.0)
            .and_then(|m| self.filtered_record(m, filter, top))
    }

    fn filtered_record(&self, m: &Merged, f: &KeyFilter, top: bool) -> Option<WindowRecord> {
        let cells = m.cells.as_ref()?;
        let mut r = WindowRecord::empty(m.record.start, m.record.end, m.record.is_final);
        r.revision = m.record.revision;
        r.source_down = m.record.source_down;
        let mut by_type = TypeCounts::default();
        for &(key, n) in cells.iter().filter(|(key, _)| f.matches(*key)) {
            let (kind, bot) = KeyFilter::dims(key);
            by_type.add_one(kind, u64::from(n));
            if bot {
                r.bots += u64::from(n);
            }
        }
        r.count = by_type.total();
        r.by_type = by_type;
        r.humans = r.count - r.bots;
        if top {
            r.top_wikis = top_wikis(cells, Some(f), &self.wikis, 10);
        }
        Some(r)
    }

    /// Every held second of `[from, to)` with a breakdown, under `filter`, ordered by start.
    pub fn filtered_range(
        &self,
        from: Millis,
        to: Millis,
        filter: &KeyFilter,
    ) -> Vec<WindowRecord> {
        if from >= to {
            return Vec::new();
        }
        self.windows
            .range(from.floor_second().0..to.0)
            .filter_map(|(_, m)| self.filtered_record(m, filter, true))
            .collect()
    }

    /// [`Merger::buckets`] under `filter`; seconds without a breakdown are left out.
    pub fn filtered_buckets(
        &self,
        from: Millis,
        to: Millis,
        step: u32,
        filter: &KeyFilter,
    ) -> Vec<Bucket> {
        if from >= to {
            return Vec::new();
        }
        let seconds: Vec<WindowRecord> = self
            .windows
            .range(from.floor_second().0..to.0)
            .filter_map(|(_, m)| self.filtered_record(m, filter, false))
            .collect();
        wire::roll_up(&seconds, step)
    }

    /// The `n` busiest wikis of `[from, to)` under `filter`, summed over the seconds held.
    pub fn top_wikis(&self, from: Millis, to: Millis, filter: &KeyFilter, n: usize) -> WikiTotals {
        let mut per_wiki: HashMap<u32, u64> = HashMap::new();
        let mut without_breakdown = 0;
        if from < to {
            for (_, m) in self.windows.range(from.floor_second().0..to.0) {
                let Some(cells) = &m.cells else {
                    without_breakdown += 1;
                    continue;
                };
                for &(key, count) in cells.iter().filter(|(key, _)| filter.matches(*key)) {
                    *per_wiki.entry(KeyFilter::wiki(key)).or_default() += u64::from(count);
                }
            }
        }
        WikiTotals {
            total: per_wiki.values().sum(),
            distinct: per_wiki.len() as u64,
            items: wire::top_n(
                per_wiki.into_iter().map(|(w, c)| (self.wikis.name(w), c)),
                n,
            ),
            without_breakdown,
        }
    }

    /// How many seconds held were counted without a breakdown.
    pub fn seconds_without_breakdown(&self) -> u64 {
        self.windows.values().filter(|m| m.cells.is_none()).count() as u64
    }
}
