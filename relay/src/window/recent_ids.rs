//! With `--time ingest`, the `meta.id`s a partition counted recently, for dropping repeats
//! that land in another second than their first copy.
//!
//! By ingest time, an event's second is when the bus took it, so a client that sends a batch
//! again (its answer was a 503 after part of the batch was written, or the connection broke
//! before the 202) puts the same ids in a later second. The rule is exact and a pure function
//! of the partition's records, so a recount from the commit point decides as before: a record
//! is a repeat if its id was counted, or read before the drop horizon, in a second within
//! `horizon` (the allowed lateness) of its own, either way. A retry that reaches the bus within
//! the allowed lateness of its first copy therefore counts once, in the first copy's second.
//!
//! Seconds are kept until they are `horizon` older than the counter's drop horizon: a record
//! still to be counted lies at or after that horizon, so it never needs an older one. Their
//! first offsets hold the commit point back, so a recount re-reads every second a later
//! record may be compared with.

use std::collections::BTreeMap;

use codec::summary::EventId;

use super::seen_ids::SeenIds;
use super::timing::WINDOW_MS;

#[derive(Debug, Clone)]
pub struct RecentIds {
    horizon_ms: i64,
    seconds: BTreeMap<i64, Second>,
}

#[derive(Debug, Clone)]
struct Second {
    ids: SeenIds,
    first_offset: u64,
}

impl RecentIds {
    pub fn new(horizon_ms: i64) -> Self {
        RecentIds {
            horizon_ms,
            seconds: BTreeMap::new(),
        }
    }

    /// True the first time `id` is offered within `horizon` of `second` (a window start);
    /// the id is then remembered as counted in `second`, read at `offset`.
    /// A repeat is not remembered, but its offset is: until its own second is forgotten, a
    /// commit must not pass it, since a counter resuming there would take the records before
    /// the commit point for records of dropped seconds.
    pub fn first_time(&mut self, id: &EventId, second: i64, offset: u64) -> bool {
        let near = second.saturating_sub(self.horizon_ms)..=second.saturating_add(self.horizon_ms);
        let repeat = self.seconds.range(near).any(|(_, s)| s.ids.contains(id));
        let s = self.seconds.entry(second).or_insert_with(|| Second {
            ids: SeenIds::default(),
            first_offset: offset,
        });
        s.first_offset = s.first_offset.min(offset);
        !repeat && s.ids.first_time(id)
    }

    /// Forgets the seconds no record still to be counted can be compared with: those ending
    /// more than `horizon` before `drop_horizon`.
    pub fn forget_before(&mut self, drop_horizon: i64) {
        let keep_from = drop_horizon.saturating_sub(self.horizon_ms + WINDOW_MS);
        self.seconds = self.seconds.split_off(&keep_from);
    }

    /// The lowest offset of a second still kept: a recount must re-read from there.
    pub fn first_offset(&self) -> Option<u64> {
        self.seconds.values().map(|s| s.first_offset).min()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: i64 = 1_800_000_000_000;

    #[test]
    fn a_repeat_within_the_horizon_either_way_is_caught_and_later_ones_count() {
        let mut r = RecentIds::new(5_000);
        let a = EventId::exact("a");
        assert!(r.first_time(&a, T, 0));
        assert!(!r.first_time(&a, T + 5_000, 1));
        assert!(!r.first_time(&a, T - 5_000, 2));
        assert!(r.first_time(&a, T + 6_000, 3));
        assert!(r.first_time(&EventId::exact("b"), T + 1_000, 4));
        assert_eq!(r.first_offset(), Some(0));
    }

    #[test]
    fn seconds_are_forgotten_a_horizon_before_the_drop_horizon() {
        let mut r = RecentIds::new(5_000);
        assert!(r.first_time(&EventId::exact("a"), T, 7));
        assert!(r.first_time(&EventId::exact("b"), T + 1_000, 9));
        // A record at the drop horizon may still be compared with the second at T.
        r.forget_before(T + 6_000);
        assert_eq!(r.first_offset(), Some(7));
        r.forget_before(T + 7_000);
        assert_eq!(r.first_offset(), Some(9));
    }
}
