//! The one definition of every summary figure on the page, used by the headline, the chart's
//! caption (its text alternative) and the top-wikis panel alike, so they can never disagree:
//!
//! - The seconds a figure covers are **final seconds only** (an open second's count is still
//!   growing), **the last `n` of them**: those within `n` seconds of the newest final second,
//!   so a gap in the data shortens the window instead of reaching further back.
//! - Seconds the relay marks `source_down` are left out: their counts may be short, so they
//!   would pull the average and the lowest second down with numbers nobody counted.
//! - "Now" is the newest final second; "the last minute" is the window of 60; a range's
//!   figures use the range's length (5 minutes: 300).
//! - The peak is the busiest of those seconds; on a tie, **the latest** such second.

use wire::WindowRecord;

use crate::range::Range;
use crate::series::Series;

/// Seconds in "the last minute".
pub const MINUTE_SECONDS: usize = 60;

/// The final seconds of the last `n`, oldest first (see the module docs).
pub fn last_final_seconds(series: &Series, n: usize) -> Vec<&WindowRecord> {
    let counted = |w: &&WindowRecord| w.is_final && !w.source_down;
    let Some(newest) = series.iter().rev().find(counted) else {
        return Vec::new();
    };
    let from = newest.start.0 - (n as i64 - 1) * 1_000;
    let mut out: Vec<&WindowRecord> = series
        .iter()
        .rev()
        .filter(counted)
        .take_while(|w| w.start.0 >= from)
        .take(n)
        .collect();
    out.reverse();
    out
}

/// The figures of one window of final seconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Figures {
    /// Start of the oldest second and end of the newest, UTC ms.
    pub from: i64,
    pub to: i64,
    pub seconds: usize,
    pub average: f64,
    /// The average split by who edited: `humans_average + bots_average == average`.
    pub humans_average: f64,
    pub bots_average: f64,
    pub low: u64,
    /// The busiest second's count and start; on a tie the latest second.
    pub peak: u64,
    pub peak_start: i64,
}

/// The figures of the last `n` final seconds, if there are any.
pub fn figures(series: &Series, n: usize) -> Option<Figures> {
    let seconds = last_final_seconds(series, n);
    let (first, last) = (seconds.first()?, seconds.last()?);
    let peak = seconds.iter().max_by_key(|w| (w.count, w.start))?;
    let mean = |v: fn(&WindowRecord) -> u64| {
        seconds.iter().map(|w| v(w) as f64).sum::<f64>() / seconds.len() as f64
    };
    Some(Figures {
        from: first.start.0,
        to: last.end.0,
        seconds: seconds.len(),
        average: mean(|w| w.count),
        humans_average: mean(|w| w.humans),
        bots_average: mean(|w| w.bots),
        low: seconds.iter().map(|w| w.count).min().unwrap_or(0),
        peak: peak.count,
        peak_start: peak.start.0,
    })
}

/// The figures of `range`: its length in final seconds.
pub fn range_figures(series: &Series, range: Range) -> Option<Figures> {
    figures(series, (range.duration_ms() / 1_000) as usize)
}

/// The last minute's figures (the headline's average).
pub fn minute_figures(series: &Series) -> Option<Figures> {
    figures(series, MINUTE_SECONDS)
}

/// Whether any second held has counted an edit: until then the page is waiting for data.
pub fn has_edits(series: &Series) -> bool {
    series.iter().any(|w| w.count > 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_fixtures::{T0, filled, window};

    #[test]
    fn one_definition_final_seconds_last_n_latest_peak() {
        // 120 final seconds, then two open ones (a late final second can leave the one
        // before still open): the last minute is seconds 60..=119, never the open ones.
        let mut s = filled(120, |i| if i >= 60 { (i - 59) as u64 } else { 1_000 });
        s.merge(window(120, 9_999, false, 0));
        s.merge(window(121, 9_999, false, 0));
        let m = minute_figures(&s).unwrap();
        assert_eq!(m.seconds, 60);
        assert_eq!(m.average, 30.5);
        assert_eq!((m.from, m.to), (T0 + 60_000, T0 + 120_000));
        assert_eq!((m.peak, m.low), (60, 1));
        // The 1-minute range is the same window as "the last minute".
        assert_eq!(range_figures(&s, Range::OneMinute), Some(m));

        // A tie names the latest second.
        let s = filled(10, |i| if i == 2 || i == 7 { 50 } else { 1 });
        let f = minute_figures(&s).unwrap();
        assert_eq!((f.peak, f.peak_start), (50, T0 + 7_000));

        // A gap shortens the window rather than reaching back further.
        let mut s = filled(30, |_| 4);
        s.merge(window(80, 10, true, 0));
        let f = minute_figures(&s).unwrap();
        assert_eq!(f.seconds, 10, "seconds 21..=29 and 80");
        assert!(!has_edits(&filled(5, |_| 0)));

        // Seconds whose source was down count in no figure: not as lows, not as the newest.
        let mut s = filled(10, |_| 8);
        let mut down = window(10, 0, true, 0);
        down.source_down = true;
        s.merge(down);
        let f = minute_figures(&s).unwrap();
        assert_eq!((f.seconds, f.low, f.to), (10, 8, T0 + 10_000));
        assert!(minute_figures(&Series::new()).is_none());
    }
}
