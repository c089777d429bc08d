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
//! - Views drawn from buckets (long ranges, custom ranges, zooms) take the seconds the series
//!   holds as above and, before them, the buckets: a bucket's `max` is its busiest second, so
//!   the peak stays a single second's count, named by its bucket's time when only that is
//!   known. Buckets with a `source_down` second are left out whole.

use wire::{Bucket, WindowRecord};

use crate::history::History;
use crate::local_time;
use crate::range::Range;
use crate::series::Series;
use crate::view::View;

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
    /// The busiest second's count and start; on a tie the latest second. `peak_end` is the end
    /// of that second, or of its bucket when only the bucket is known.
    pub peak: u64,
    pub peak_start: i64,
    pub peak_end: i64,
}

/// When a peak was: "at 14:02:05" for a second `[start, end)`, "between 14:02 and 14:03"
/// for a bucket.
pub fn peak_when(start: i64, end: i64) -> String {
    if end - start <= 1_000 {
        return format!("at {}", local_time::clock(start, true));
    }
    let seconds = start % 60_000 != 0 || end % 60_000 != 0;
    format!(
        "between {} and {}",
        local_time::clock(start, seconds),
        local_time::clock(end, seconds)
    )
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
        peak_end: peak.end.0,
    })
}

/// The figures of `view`: [`range_figures`] for ranges drawn from the series, otherwise those
/// of `history`'s buckets in the view with the series' own seconds where it holds them.
pub fn view_figures(series: &Series, history: &History, view: View) -> Option<Figures> {
    match view {
        View::Live(range) if view.from_series() => range_figures(series, range),
        _ => bucket_figures(series, history, view),
    }
}

/// One second or one bucket counted in a view's figures.
struct Part {
    from: i64,
    to: i64,
    seconds: u64,
    count: u64,
    humans: u64,
    bots: u64,
    low: u64,
    high: u64,
}

fn bucket_figures(series: &Series, history: &History, view: View) -> Option<Figures> {
    history.plan().filter(|p| p.step == view.step())?;
    let live_end = series.end().map_or(i64::MAX, |e| e.0);
    let (from, to) = view.bounds(live_end);
    let covered = history.series_from(series).unwrap_or(i64::MAX);
    let buckets = history
        .buckets(from, to)
        .into_iter()
        .filter(|b| b.start.0 < covered && !b.source_down && b.seconds > 0)
        .map(|b: &Bucket| Part {
            from: b.start.0,
            to: b.end.0,
            seconds: u64::from(b.seconds),
            count: b.count,
            humans: b.humans,
            bots: b.bots,
            low: b.min,
            high: b.max,
        });
    let seconds = series
        .between(from.max(covered), to)
        .filter(|w| w.is_final && !w.source_down)
        .map(|w| Part {
            from: w.start.0,
            to: w.end.0,
            seconds: 1,
            count: w.count,
            humans: w.humans,
            bots: w.bots,
            low: w.count,
            high: w.count,
        });
    let parts: Vec<Part> = buckets.chain(seconds).collect();
    let (first, last) = (parts.first()?, parts.last()?);
    let peak = parts.iter().max_by_key(|p| (p.high, p.from))?;
    let held = parts.iter().map(|p| p.seconds).sum::<u64>() as f64;
    let mean = |v: fn(&Part) -> u64| parts.iter().map(v).sum::<u64>() as f64 / held;
    Some(Figures {
        from: first.from.max(from),
        to: last.to.min(to),
        seconds: held as usize,
        average: mean(|p| p.count),
        humans_average: mean(|p| p.humans),
        bots_average: mean(|p| p.bots),
        low: parts.iter().map(|p| p.low).min().unwrap_or(0),
        peak: peak.high,
        peak_start: peak.from,
        peak_end: peak.to,
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

    #[test]
    fn a_long_views_peak_is_the_busiest_second_of_its_buckets_or_of_the_series() {
        use crate::history::History;
        use crate::view::Span;
        use wire::roll_up;

        // The series holds seconds 3,600..4,200 (T0 is 10 s past a minute).
        let mut series = Series::new();
        for i in 3_600..4_200 {
            series.merge(window(i, if i == 4_000 { 90 } else { 4 }, true, 0));
        }
        // The relay holds the hour before it, with a busiest second of 120 at 1,234 and one
        // of 500 in a minute whose source was down.
        let old: Vec<_> = (0..3_600)
            .map(|i| {
                let mut w = window(i, if i == 1_234 { 120 } else { 2 }, true, 0);
                if i == 2_000 {
                    w.count = 500;
                    w.source_down = true;
                }
                w
            })
            .collect();
        let view = View::Fixed(Span::new(T0, T0 + 4_200_000).unwrap());
        let mut h = History::default();
        h.set_plan(view.plan(0), &series);
        let fetch = h.pending().unwrap();
        assert_eq!(fetch.step, 5);
        h.receive(fetch.generation, roll_up(&old, fetch.step), None, &series);

        let f = view_figures(&series, &h, view).unwrap();
        assert_eq!(f.peak, 120, "the source-down bucket's 500 is left out");
        // Named by its 5-second bucket: 1,234 s after T0 lies in [1,230, 1,235) (T0 + 10 s is
        // a multiple of 5 s).
        assert_eq!((f.peak_start, f.peak_end), (T0 + 1_230_000, T0 + 1_235_000));
        assert_eq!(
            peak_when(f.peak_start, f.peak_end),
            "between 17:18:40 and 17:18:45"
        );
        assert_eq!(f.low, 2);
        assert_eq!(
            f.seconds,
            3_600 - 5 + 600,
            "every second but the source-down bucket's"
        );

        // A busier second the series holds wins, named to the second.
        let mut busy = window(4_100, 130, true, 0);
        busy.humans = 130;
        busy.bots = 0;
        series.merge(busy);
        h.absorb(&series, T0 + 4_100_000);
        let f = view_figures(&series, &h, view).unwrap();
        assert_eq!(
            (f.peak, f.peak_start, f.peak_end),
            (130, T0 + 4_100_000, T0 + 4_101_000)
        );
        assert_eq!(peak_when(f.peak_start, f.peak_end), "at 18:06:30");

        // A short range is what it always was.
        let live = View::Live(Range::FiveMinutes);
        assert_eq!(
            view_figures(&series, &h, live),
            range_figures(&series, Range::FiveMinutes)
        );
    }
}
