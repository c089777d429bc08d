//! The bucket length for a stretch of time: the shortest "nice" step that keeps the chart at
//! most [`MAX_BUCKETS`] buckets, so a custom range or a zoom costs one bounded fetch and one
//! bounded redraw however long it is.

use wire::Millis;

/// Steps a person can read off the axis (seconds), shortest first.
pub const NICE_STEPS: [u32; 18] = [
    1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1_800, 3_600, 7_200, 10_800, 21_600, 43_200,
    86_400,
];

/// The most buckets a custom range or zoom asks for; below the relay's limit of 2,000, and
/// about as many as a wide chart has pixel columns.
pub const MAX_BUCKETS: i64 = 1_500;

/// How many buckets of `step` seconds, aligned to multiples of the step since the epoch (as the
/// relay aligns them), `[from, to)` touches.
pub fn buckets_touched(from: i64, to: i64, step: u32) -> i64 {
    if to <= from {
        return 0;
    }
    let step_ms = i64::from(step.max(1)) * Millis::SECOND;
    (to - 1).div_euclid(step_ms) - from.div_euclid(step_ms) + 1
}

/// The shortest of [`NICE_STEPS`] that covers `[from, to)` in at most [`MAX_BUCKETS`]
/// buckets; the longest step for anything longer than it can cover.
pub fn choose_step(from: i64, to: i64) -> u32 {
    NICE_STEPS
        .into_iter()
        .find(|&s| buckets_touched(from, to, s) <= MAX_BUCKETS)
        .unwrap_or(NICE_STEPS[NICE_STEPS.len() - 1])
}

/// `ms` rounded down to a multiple of `step` seconds.
pub fn align_down(ms: i64, step: u32) -> i64 {
    let step_ms = i64::from(step.max(1)) * Millis::SECOND;
    ms.div_euclid(step_ms) * step_ms
}

/// `ms` rounded up to a multiple of `step` seconds.
pub fn align_up(ms: i64, step: u32) -> i64 {
    let step_ms = i64::from(step.max(1)) * Millis::SECOND;
    -(-ms).div_euclid(step_ms) * step_ms
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_fixtures::T0;

    const MIN: i64 = 60_000;

    #[test]
    fn the_shortest_nice_step_within_1500_buckets() {
        // Up to 1,500 s: every second.
        assert_eq!(choose_step(T0, T0 + 1_500_000), 1);
        // 1,501 s need a second bucket length; 2 s buckets, 751 of them.
        assert_eq!(choose_step(T0, T0 + 1_501_000), 2);
        assert_eq!(choose_step(T0, T0 + 60 * MIN), 5);
        assert_eq!(choose_step(T0, T0 + 6 * 60 * MIN), 15);
        assert_eq!(choose_step(T0, T0 + 24 * 60 * MIN), 60);
        assert_eq!(choose_step(T0, T0 + 7 * 24 * 60 * MIN), 600);
        // Unaligned ends touch one bucket more: 1,500 s starting mid-second is 1,501 seconds.
        assert_eq!(choose_step(T0 + 500, T0 + 1_500_500), 2);
        // Far beyond the longest step: the longest step.
        assert_eq!(choose_step(0, 10_000 * 86_400_000), 86_400);
        for (from, to) in [(T0, T0 + 37 * MIN + 3), (T0 - 7, T0 + 13 * 60 * MIN)] {
            let step = choose_step(from, to);
            assert!(buckets_touched(from, to, step) <= MAX_BUCKETS);
            let shorter = NICE_STEPS.iter().rev().find(|&&s| s < step).unwrap();
            assert!(buckets_touched(from, to, *shorter) > MAX_BUCKETS);
        }
    }

    #[test]
    fn buckets_are_counted_and_aligned_as_the_relay_aligns_them() {
        assert_eq!(
            buckets_touched(T0, T0 + 60_000, 60),
            1 + i64::from(T0 % 60_000 != 0)
        );
        assert_eq!(buckets_touched(0, 60_000, 60), 1);
        assert_eq!(buckets_touched(0, 60_001, 60), 2);
        assert_eq!(buckets_touched(5, 5, 60), 0);
        assert_eq!(align_down(61_000, 60), 60_000);
        assert_eq!(align_up(61_000, 60), 120_000);
        assert_eq!(align_up(60_000, 60), 60_000);
        assert_eq!(align_down(-1, 1), -1_000);
    }
}
