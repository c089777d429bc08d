//! One second as the chart draws it, from the series' records or from one-second buckets.

use wire::{Bucket, WindowRecord};

/// One second, reduced to what the chart draws.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Point {
    pub start: i64,
    pub total: u64,
    pub humans: u64,
    pub bots: u64,
    pub is_final: bool,
    pub source_down: bool,
}

impl From<&WindowRecord> for Point {
    fn from(w: &WindowRecord) -> Self {
        let counts = (w.count, w.humans, w.bots);
        Point::of(w.start.0, counts, w.is_final, w.source_down)
    }
}

impl From<&Bucket> for Point {
    /// A bucket of one second is that second.
    fn from(b: &Bucket) -> Self {
        let counts = (b.count, b.humans, b.bots);
        Point::of(b.start.0, counts, b.is_final, b.source_down)
    }
}

impl Point {
    fn of(
        start: i64,
        (total, humans, bots): (u64, u64, u64),
        is_final: bool,
        source_down: bool,
    ) -> Self {
        Point {
            start,
            total,
            humans,
            bots,
            is_final,
            source_down,
        }
    }
}
