//! Seconds rolled up into buckets of a fixed step: what `/v1/counts?step=` returns, so a long
//! range arrives as a few hundred points with its extremes kept instead of thousands of seconds.
//!
//! A bucket is an exact function of the seconds it covers, computed when asked for, so a late
//! revision of one of its seconds revises it too.

use serde::{Deserialize, Serialize};

use crate::{Millis, TypeCounts, WindowRecord};

/// Buckets of `step` seconds, aligned to multiples of the step since the Unix epoch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Buckets {
    /// Seconds per bucket.
    pub step: u32,
    pub buckets: Vec<Bucket>,
    /// The start of the oldest second the relay holds
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub earliest: Option<Millis>,
}

/// The seconds of `[start, end)` the relay holds, summed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Bucket {
    pub start: Millis,
    pub end: Millis,
    /// How many of the bucket's seconds the relay holds (fewer than the step at the range's
    /// edges, before the relay started, or in the still-open present).
    pub seconds: u32,
    /// Every second of the bucket is held and final.
    #[serde(rename = "final")]
    pub is_final: bool,
    /// The sum of the seconds' counts.
    pub count: u64,
    /// The quietest and the busiest second held, and the mean over the seconds held.
    pub min: u64,
    pub max: u64,
    pub mean: f64,
    pub by_type: TypeCounts,
    pub bots: u64,
    pub humans: u64,
    /// Some second of the bucket was counted while the live source was down.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub source_down: bool,
}

impl Bucket {
    fn of(start: i64, step_ms: i64, w: &WindowRecord) -> Bucket {
        Bucket {
            start: Millis(start),
            end: Millis(start + step_ms),
            seconds: 1,
            is_final: w.is_final,
            count: w.count,
            min: w.count,
            max: w.count,
            mean: 0.0,
            by_type: w.by_type,
            bots: w.bots,
            humans: w.humans,
            source_down: w.source_down,
        }
    }

    fn add(&mut self, w: &WindowRecord) {
        self.seconds += 1;
        self.is_final &= w.is_final;
        self.count += w.count;
        self.min = self.min.min(w.count);
        self.max = self.max.max(w.count);
        self.by_type.add(&w.by_type);
        self.bots += w.bots;
        self.humans += w.humans;
        self.source_down |= w.source_down;
    }
}

/// Rolls `seconds` (ordered by start, one record per second) up into buckets of `step`
/// seconds; buckets without any second held are left out.
pub fn roll_up<'a>(seconds: impl IntoIterator<Item = &'a WindowRecord>, step: u32) -> Vec<Bucket> {
    let step_ms = i64::from(step.max(1)) * Millis::SECOND;
    let mut out: Vec<Bucket> = Vec::new();
    for w in seconds {
        let start = w.start.0.div_euclid(step_ms) * step_ms;
        match out.last_mut() {
            Some(b) if b.start.0 == start => b.add(w),
            _ => out.push(Bucket::of(start, step_ms, w)),
        }
    }
    for b in &mut out {
        b.mean = b.count as f64 / f64::from(b.seconds);
        b.is_final &= i64::from(b.seconds) * Millis::SECOND == step_ms;
    }
    out
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    const T0: i64 = 1_800_000_000_000;

    fn second(sec: i64, count: u64, bots: u64, is_final: bool) -> WindowRecord {
        let start = Millis(T0 + sec * 1_000);
        let mut w = WindowRecord::empty(start, start.plus(1_000), is_final);
        w.count = count;
        w.by_type.edit = count;
        w.bots = bots.min(count);
        w.humans = count - w.bots;
        w
    }

    proptest! {
        /// Every bucket equals a brute-force pass over the seconds in it.
        #[test]
        fn buckets_equal_brute_force_sums(
            held in prop::collection::btree_map(0i64..600, (0u64..80, 0u64..80, any::<bool>()), 0..400),
            step in prop::sample::select(vec![1u32, 5, 7, 60, 300]),
        ) {
            let seconds: Vec<WindowRecord> = held
                .iter()
                .map(|(&s, &(n, b, f))| second(s, n, b, f))
                .collect();
            let buckets = roll_up(&seconds, step);
            let step_ms = i64::from(step) * 1_000;
            let mut seen = 0;
            for b in &buckets {
                prop_assert_eq!(b.start.0.rem_euclid(step_ms), 0);
                prop_assert_eq!(b.end.0 - b.start.0, step_ms);
                let inside: Vec<&WindowRecord> = seconds
                    .iter()
                    .filter(|w| w.start >= b.start && w.start < b.end)
                    .collect();
                prop_assert!(!inside.is_empty());
                seen += inside.len();
                prop_assert_eq!(b.seconds as usize, inside.len());
                prop_assert_eq!(b.count, inside.iter().map(|w| w.count).sum::<u64>());
                prop_assert_eq!(b.min, inside.iter().map(|w| w.count).min().unwrap());
                prop_assert_eq!(b.max, inside.iter().map(|w| w.count).max().unwrap());
                prop_assert_eq!(b.bots + b.humans, b.count);
                prop_assert_eq!(b.by_type.total(), b.count);
                prop_assert!((b.mean * inside.len() as f64 - b.count as f64).abs() < 1e-6);
                let whole = inside.len() as i64 == i64::from(step);
                prop_assert_eq!(b.is_final, whole && inside.iter().all(|w| w.is_final));
            }
            prop_assert_eq!(seen, seconds.len());
        }
    }

    #[test]
    fn a_bucket_marks_a_second_counted_while_the_source_was_down() {
        let mut s = vec![second(0, 3, 0, true), second(1, 0, 0, true)];
        s[1].source_down = true;
        let b = roll_up(&s, 60);
        assert_eq!(b.len(), 1);
        assert!(b[0].source_down && !b[0].is_final);
        let json = serde_json::to_value(&roll_up(&s[..1], 60)[0]).unwrap();
        assert!(json.get("source_down").is_none(), "{json}");
        assert_eq!(json["final"], false);
    }
}
