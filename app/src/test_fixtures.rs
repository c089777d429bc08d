//! Seconds for the unit tests to merge, at a fixed instant.

use wire::{Millis, WindowRecord};

use crate::series::Series;

/// 2024-02-06T16:58:10Z, a second boundary.
pub const T0: i64 = 1_707_238_690_000;

/// The second `sec` seconds after [`T0`], two thirds of its edits by humans.
pub fn window(sec: i64, count: u64, is_final: bool, revision: u32) -> WindowRecord {
    let start = Millis(T0 + sec * 1_000);
    let mut w = WindowRecord::empty(start, start.plus(1_000), is_final);
    w.count = count;
    w.revision = revision;
    w.humans = count * 2 / 3;
    w.bots = count - w.humans;
    w
}

/// `seconds` final seconds from [`T0`] on, second `i` counting `count(i)` edits.
pub fn filled(seconds: i64, count: impl Fn(i64) -> u64) -> Series {
    let mut s = Series::new();
    for sec in 0..seconds {
        s.merge(window(sec, count(sec), true, 0));
    }
    s
}
