//! The buckets a long range, a custom range or a zoom is drawn from: the old part fetched from
//! the relay once, the part the in-memory [`Series`] covers rolled up from it.
//!
//! A bucket whose seconds all fall within the series' hour is always the roll-up of the
//! series' seconds, recomputed whenever one of them changes, so the live edge moves every
//! second and a late revision shows exactly as it does on the short ranges. So is the bucket
//! the series holds only the end of, when the relay held no more of it (a relay that started
//! less than an hour ago). Older buckets come from the fetch: their seconds are final and no
//! longer revised. A bucket computed from the
//! series is kept when the series forgets its seconds, so an hour later it does not fall back
//! to a fetched value from the time its seconds were still open.

use std::collections::BTreeMap;

use wire::{Bucket, Millis, roll_up};

use crate::series::Series;
use crate::step;
use crate::view::Plan;

/// Where the fetch stands.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Load {
    #[default]
    Ready,
    Loading,
    Failed(String),
}

/// One request for the old part of a plan: buckets of `step` over `[from, to)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fetch {
    /// Answers to an older request are ignored.
    pub generation: u64,
    pub from: i64,
    pub to: i64,
    pub step: u32,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct History {
    plan: Option<Plan>,
    buckets: BTreeMap<i64, Bucket>,
    /// The start of the oldest second the relay holds, as it last said.
    earliest: Option<i64>,
    load: Load,
    fetch: Option<Fetch>,
    generation: u64,
    /// The bucket just before the first the series holds wholly, when the relay held no more
    /// of its seconds than the series, and how many the series held: computed from the series
    /// for as long as it still holds that many.
    straddle: Option<(i64, usize)>,
}

/// The start of the first bucket of `step` seconds wholly inside what `series` holds.
pub fn covered_from(series: &Series, step: u32) -> Option<i64> {
    series.oldest().map(|w| step::align_up(w.start.0, step))
}

impl History {
    pub fn plan(&self) -> Option<Plan> {
        self.plan
    }

    pub fn load(&self) -> &Load {
        &self.load
    }

    pub fn earliest(&self) -> Option<i64> {
        self.earliest
    }

    /// Where the buckets computed from the series begin: the first one it holds wholly, or the
    /// one before when the relay held no more of that one than the series does.
    pub fn series_from(&self, series: &Series) -> Option<i64> {
        let plan = self.plan?;
        let covered = covered_from(series, plan.step)?;
        match self.straddle {
            Some((start, held))
                if start + plan.step_ms() == covered
                    && series.between(start, covered).count() >= held =>
            {
                Some(start)
            }
            _ => Some(covered),
        }
    }

    /// The fetch waiting for an answer, if any.
    pub fn pending(&self) -> Option<Fetch> {
        matches!(self.load, Load::Loading)
            .then_some(self.fetch)
            .flatten()
    }

    /// Switches to `plan`. A live plan of the same step keeps what it has: its window only
    /// slid on with the clock.
    pub fn set_plan(&mut self, plan: Option<Plan>, series: &Series) {
        let same = match (self.plan, plan) {
            (Some(a), Some(b)) if a.live && b.live => a.step == b.step,
            (a, b) => a == b,
        };
        if same {
            return;
        }
        self.plan = plan;
        self.buckets.clear();
        self.earliest = None;
        self.fetch = None;
        self.straddle = None;
        self.load = Load::Ready;
        if plan.is_some() {
            self.absorb_all(series);
            self.refetch(series);
        }
    }

    /// Forgets every bucket and asks for the plan again: they were counted under another
    /// filter.
    pub fn restart(&mut self, series: &Series) {
        self.buckets.clear();
        self.earliest = None;
        self.straddle = None;
        self.load = Load::Ready;
        self.fetch = None;
        if self.plan.is_some() {
            self.refetch(series);
        }
    }

    /// Asks again for the part of the plan the series does not cover: after a failure, or
    /// when the connection is back (the relay may have restarted with other history).
    pub fn refetch(&mut self, series: &Series) {
        let Some(plan) = self.plan else { return };
        let to = covered_from(series, plan.step).map_or(plan.to, |c| c.min(plan.to));
        if to <= plan.from {
            self.load = Load::Ready;
            return;
        }
        self.generation += 1;
        self.fetch = Some(Fetch {
            generation: self.generation,
            from: plan.from,
            to,
            step: plan.step,
        });
        self.load = Load::Loading;
    }

    /// Takes the relay's answer to fetch `generation`; false if it is not the current one.
    pub fn receive(
        &mut self,
        generation: u64,
        buckets: Vec<Bucket>,
        earliest: Option<Millis>,
        series: &Series,
    ) -> bool {
        if self.pending().is_none_or(|f| f.generation != generation) {
            return false;
        }
        let step_ms = self.plan.map_or(Millis::SECOND, |p| p.step_ms());
        let covered = self
            .plan
            .and_then(|p| covered_from(series, p.step))
            .unwrap_or(i64::MAX);
        let before = covered.saturating_sub(step_ms);
        let held = series.between(before, covered).count();
        // Held by the series unless the relay had more of it (seconds from before the series).
        self.straddle = (held > 0).then_some((before, held));
        for b in buckets.into_iter().filter(|b| b.start.0 < covered) {
            if b.start.0 == before && b.seconds as usize <= held {
                continue;
            }
            if b.start.0 == before {
                self.straddle = None;
            }
            self.buckets.insert(b.start.0, b);
        }
        self.earliest = earliest.map(|e| e.0);
        self.load = Load::Ready;
        self.absorb_all(series);
        true
    }

    /// Fetch `generation` failed with `reason`; false if it is not the current one.
    pub fn fail(&mut self, generation: u64, reason: String) -> bool {
        if self.pending().is_none_or(|f| f.generation != generation) {
            return false;
        }
        self.load = Load::Failed(reason);
        true
    }

    /// Recomputes the bucket holding the second that starts at `second` from the series.
    pub fn absorb(&mut self, series: &Series, second: i64) {
        let Some(plan) = self.plan else { return };
        let start = step::align_down(second, plan.step);
        self.absorb_range(series, start, start + plan.step_ms());
    }

    /// Recomputes every bucket the series covers.
    pub fn absorb_all(&mut self, series: &Series) {
        let Some(newest) = series.newest() else {
            return;
        };
        self.absorb_range(series, i64::MIN, newest.end.0);
    }

    fn absorb_range(&mut self, series: &Series, from: i64, to: i64) {
        let Some(plan) = self.plan else { return };
        let Some(covered) = self.series_from(series) else {
            return;
        };
        let mut from = from.max(covered);
        let mut to = to;
        if !plan.live {
            (from, to) = (from.max(plan.from), to.min(plan.to));
        }
        if from >= to {
            return;
        }
        let to = step::align_up(to, plan.step);
        let fresh = roll_up(series.between(from, to), plan.step);
        let stale: Vec<i64> = self.buckets.range(from..to).map(|(&k, _)| k).collect();
        for k in stale {
            self.buckets.remove(&k);
        }
        for b in fresh {
            self.buckets.insert(b.start.0, b);
        }
    }

    /// The buckets touching `[from, to)`, oldest first; none from before the relay's history
    /// starts, so nothing is drawn where nothing was counted.
    pub fn buckets(&self, from: i64, to: i64) -> Vec<&Bucket> {
        let step_ms = self.plan.map_or(Millis::SECOND, |p| p.step_ms());
        let earliest = self.earliest.unwrap_or(i64::MIN);
        self.buckets
            .range(from - step_ms + 1..to)
            .map(|(_, b)| b)
            .filter(|b| b.end.0 > from.max(earliest))
            .collect()
    }
}

#[cfg(test)]
mod tests;
