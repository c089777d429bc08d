//! Which records of a partition the counter counted, decided again from the records alone.
//!
//! The clock rules are the counter's own ([`Timing::judge`]); the repeat rules follow it: by
//! event time a record is a repeat when an earlier record of its partition (by offset) was
//! counted in the same second with the same `meta.id`; by ingest time when its id was counted,
//! or read too late, in a second within the allowed lateness of its own ([`RecentIds`]). Fed a
//! partition's records in offset order from the start of [`Timing::ingest_span`], it answers
//! for every record counted in the span's range exactly as the counter did — which
//! `relay/tests/edits_admission.rs` checks against [`crate::window::PartitionCounter`].
//!
//! One thing the counter knows and a reader does not: a window it had already dropped refuses
//! a record that is within the allowed lateness by the record's own timestamps. That happens
//! only when ingest timestamps disagree by more than the counter's slack (10 s), or after a
//! restart for records of seconds the previous run had settled.

use std::collections::{BTreeMap, HashMap};

use codec::summary::Summary;
use wire::Millis;

use crate::config::TimeMode;
use crate::window::recent_ids::RecentIds;
use crate::window::seen_ids::SeenIds;
use crate::window::timing::{Timing, Verdict, WINDOW_MS};

/// One partition's repeat memory, fed its records in offset order.
pub struct Admitter {
    timing: Timing,
    /// By event time: the ids counted per second.
    seen: BTreeMap<i64, SeenIds>,
    /// By ingest time: the counter's own rule.
    recent: Option<RecentIds>,
    /// By event time, seconds before this were forgotten (see [`Admitter::admit`]).
    forgotten_before: i64,
}

impl Admitter {
    pub fn new(timing: Timing) -> Admitter {
        Admitter {
            timing,
            seen: BTreeMap::new(),
            recent: (timing.mode == TimeMode::Ingest).then(|| RecentIds::new(timing.lateness_ms)),
            forgotten_before: i64::MIN,
        }
    }

    /// The instant the record was counted at (its event time, or its ingest time with
    /// `--time ingest`), or None when the counter did not count it.
    pub fn admit(&mut self, summary: &Summary, ingest: Millis, offset: u64) -> Option<Millis> {
        if summary.canary {
            return None;
        }
        let counted_at = match self.timing.mode {
            TimeMode::Event => summary.time,
            TimeMode::Ingest => ingest,
        };
        match self.timing.judge(summary.time, ingest) {
            Verdict::TooEarly => None,
            Verdict::TooLate { start } => {
                if let (Some(recent), Some(id)) = (&mut self.recent, &summary.id) {
                    recent.first_time(id, start, offset);
                }
                None
            }
            Verdict::InWindow { start, .. } => {
                let first = match (&mut self.recent, &summary.id) {
                    (_, None) => true,
                    (Some(recent), Some(id)) => recent.first_time(id, start, offset),
                    (None, Some(id)) => self.seen.entry(start).or_default().first_time(id),
                };
                self.forget(ingest);
                first.then_some(counted_at)
            }
        }
    }

    /// Seconds that no later record can count in any more (their lateness passed by this
    /// record's ingest time, with the counter's slack for disagreeing clocks) are forgotten,
    /// so an hour's read holds a minute or so of ids, not the hour's.
    fn forget(&mut self, ingest: Millis) {
        let t = &self.timing;
        let horizon = ingest.0 - t.delay_ms - t.lateness_ms - t.slack_ms - WINDOW_MS;
        if horizon <= self.forgotten_before.saturating_add(WINDOW_MS * 10) {
            return;
        }
        self.forgotten_before = horizon;
        match &mut self.recent {
            Some(recent) => recent.forget_before(horizon),
            None => self.seen = self.seen.split_off(&horizon),
        }
    }
}

/// One admitter per partition, made as each partition's first record comes.
#[derive(Default)]
pub struct Admitters(HashMap<u32, Admitter>);

impl Admitters {
    pub fn admit(
        &mut self,
        timing: Timing,
        partition: u32,
        summary: &Summary,
        ingest: Millis,
        offset: u64,
    ) -> Option<Millis> {
        self.0
            .entry(partition)
            .or_insert_with(|| Admitter::new(timing))
            .admit(summary, ingest, offset)
    }
}
