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
        Point {
            start: w.start.0,
            total: w.count,
            humans: w.humans,
            bots: w.bots,
            is_final: w.is_final,
            source_down: w.source_down,
        }
    }
}

impl From<&Bucket> for Point {
    /// A bucket of one second is that second.
    fn from(b: &Bucket) -> Self {
        Point {
            start: b.start.0,
            total: b.count,
            humans: b.humans,
            bots: b.bots,
            is_final: b.is_final,
            source_down: b.source_down,
        }
    }
}
