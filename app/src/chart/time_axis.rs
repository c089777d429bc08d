//! Where the time axis puts its labels.
//!
//! Plotters' own key points for an integer range are "nice" decimal numbers of milliseconds
//! (every 50 000 ms…), which read badly as clock times; these land on whole local seconds or
//! minutes instead.

/// Candidate label spacings, in milliseconds.
const STEPS_MS: [i64; 18] = [
    1_000, 2_000, 5_000, 10_000, 15_000, 30_000, 60_000, 120_000, 300_000, 600_000, 900_000,
    1_800_000, 3_600_000, 7_200_000, 10_800_000, 21_600_000, 43_200_000, 86_400_000,
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimeTicks {
    /// UTC instants of the labels, ascending.
    pub at: Vec<i64>,
    /// Labels need seconds (the step is below a minute).
    pub with_seconds: bool,
}

/// Ticks for `[from, to]` with at most `max_labels` labels, on multiples of the step in local
/// time (`offset_minutes` as in [`crate::local_time::offset_minutes`]).
pub fn ticks(
    from: i64,
    to: i64,
    max_labels: usize,
    offset_minutes: impl Fn(i64) -> i64,
) -> TimeTicks {
    let span = (to - from).max(1);
    let max_labels = max_labels.max(1) as i64;
    let step = STEPS_MS
        .iter()
        .copied()
        .find(|s| span / s < max_labels)
        .unwrap_or(STEPS_MS[STEPS_MS.len() - 1]);
    let offset = offset_minutes(from) * 60_000;
    let first_local = (from + offset).div_euclid(step) * step + step;
    let at = (0..)
        .map(|i| first_local + i * step)
        .map(|local| local - offset_minutes(local - offset) * 60_000)
        .take_while(|&t| t <= to)
        .filter(|&t| t >= from)
        .collect();
    TimeTicks {
        at,
        with_seconds: step < 60_000,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_fixtures::T0;

    #[test]
    fn time_ticks_land_on_whole_local_units() {
        let utc = |_| 0;
        let t = ticks(T0 + 400, T0 + 300_400, 6, utc);
        assert!(!t.with_seconds);
        assert_eq!(t.at.len(), 5);
        assert!(t.at.iter().all(|ms| ms % 60_000 == 0));
        // Nepal (+05:45): ten-minute labels fall on the local clock's ten minutes, not UTC's.
        let t = ticks(T0, T0 + 3_000_000, 6, |_| 345);
        assert_eq!(t.at.len(), 5);
        assert!(
            t.at.iter().all(|ms| (ms + 345 * 60_000) % 600_000 == 0),
            "{:?}",
            t.at
        );
        assert!(t.at.iter().all(|ms| ms % 600_000 != 0), "not UTC");
        // A day on a narrow chart: every few hours, on the local clock's whole hours.
        let t = ticks(T0, T0 + 86_400_000, 9, |_| 60);
        assert_eq!(t.at.len(), 8);
        assert!(t.at.iter().all(|ms| (ms + 3_600_000) % 10_800_000 == 0));
        let t = ticks(T0, T0 + 60_000, 7, utc);
        assert!(t.with_seconds);
        assert!(t.at.iter().all(|ms| ms % 10_000 == 0));
    }
}
