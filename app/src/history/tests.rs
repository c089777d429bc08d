//! The history's buckets against the series and the relay's answers.

use super::*;
use crate::test_fixtures::{T0, filled, window};
use crate::view::{Span, View};

/// `n` final 60 s buckets from the relay, starting at `from`, each counting 60 × `rate`.
fn fetched(from: i64, n: i64, rate: u64) -> Vec<Bucket> {
    let seconds: Vec<_> = (0..n * 60)
        .map(|i| window((from - T0) / 1_000 + i, rate, true, 0))
        .collect();
    roll_up(&seconds, 60)
}

const HOUR: i64 = 3_600_000;

#[test]
fn old_buckets_come_from_the_fetch_and_covered_ones_from_the_series() {
    // The series holds the hour from T0 + 23 h (T0 is 10 s past a minute).
    let base = T0 + 23 * HOUR;
    let offset = (base - T0) / 1_000;
    let mut series = Series::new();
    for i in 0..3_600 {
        series.merge(window(offset + i, 7, true, 0));
    }
    let live_end = series.end().unwrap().0;
    let plan = View::Live(crate::range::Range::TwentyFourHours).plan(live_end);
    let mut h = History::default();
    h.set_plan(plan, &series);
    let plan = plan.unwrap();
    let fetch = h.pending().expect("the old part is fetched");
    assert_eq!(fetch.from, plan.from);
    assert_eq!(
        fetch.to,
        step::align_up(base, 60),
        "only up to the covered part"
    );
    assert_eq!(*h.load(), Load::Loading);
    // Before the answer the covered hour is already there, from the series.
    let covered = h.buckets(plan.from, live_end);
    assert_eq!(
        covered.len(),
        60,
        "the bucket the series holds only part of is not"
    );
    assert!(covered.iter().all(|b| b.mean == 7.0));
    assert_eq!(covered[0].start.0, step::align_up(base, 60));
    assert_eq!(covered[59].seconds, 10, "the live edge's bucket, so far");

    // The relay answers for every bucket it holds, up to the fetch's end and one past it.
    let answer = fetched(plan.from, (fetch.to - plan.from) / 60_000 + 1, 3);
    assert!(!h.receive(fetch.generation - 1, answer.clone(), None, &series));
    assert!(h.receive(fetch.generation, answer, None, &series));
    assert_eq!(*h.load(), Load::Ready);
    let all = h.buckets(plan.from, live_end);
    assert_eq!(all.len(), 1_441);
    let straddling = all.iter().find(|b| b.start.0 == fetch.to - 60_000).unwrap();
    assert_eq!(straddling.mean, 3.0, "partly covered: the fetch's");
    assert!(
        all.iter()
            .filter(|b| b.start.0 >= fetch.to)
            .all(|b| b.mean == 7.0)
    );

    // A late revision of a covered second revises its bucket exactly.
    let mut late = window(offset + 1_000, 67, true, 1);
    late.humans = 67;
    late.bots = 0;
    series.merge(late);
    h.absorb(&series, T0 + (offset + 1_000) * 1_000);
    let b = h
        .buckets(plan.from, live_end)
        .into_iter()
        .find(|b| b.max == 67)
        .cloned()
        .unwrap();
    assert_eq!(b.count, 59 * 7 + 67);

    // The live edge moves: a new provisional second joins the newest bucket ...
    series.merge(window(offset + 3_600, 2, false, 0));
    h.absorb(&series, T0 + (offset + 3_600) * 1_000);
    let newest = h
        .buckets(plan.from, i64::MAX)
        .last()
        .copied()
        .cloned()
        .unwrap();
    assert_eq!(
        (newest.seconds, newest.is_final, newest.count),
        (11, false, 72)
    );
    // ... and leaves it with its connection.
    series.drop_provisional();
    h.absorb_all(&series);
    let newest = h
        .buckets(plan.from, i64::MAX)
        .last()
        .copied()
        .cloned()
        .unwrap();
    assert_eq!((newest.seconds, newest.count), (10, 70));

    // An hour later the series has forgotten the revised second; its bucket is kept as
    // computed, not taken back from the fetch.
    for i in 3_600..7_300 {
        series.merge(window(offset + i, 1, true, 0));
        h.absorb(&series, T0 + (offset + i) * 1_000);
    }
    assert!(series.get(Millis(T0 + (offset + 1_000) * 1_000)).is_none());
    assert!(h.buckets(plan.from, i64::MAX).iter().any(|b| b.max == 67));
}

#[test]
fn a_span_the_series_covers_needs_no_fetch_and_failures_can_be_retried() {
    let series = filled(600, |i| i as u64);
    let mut h = History::default();
    let span = Span::new(T0 + 60_000, T0 + 120_000).unwrap();
    h.set_plan(View::Fixed(span).plan(0), &series);
    assert_eq!(h.pending(), None);
    let seconds = h.buckets(span.from, span.to);
    assert_eq!(seconds.len(), 60);
    assert_eq!((seconds[0].count, seconds[59].count), (60, 119));

    // A span reaching before the series is fetched, and a failure kept until retried.
    let span = Span::new(T0 - 600_000, T0 + 60_000).unwrap();
    h.set_plan(View::Fixed(span).plan(0), &series);
    let first = h.pending().unwrap();
    assert_eq!((first.from, first.to, first.step), (span.from, T0, 1));
    assert!(h.fail(first.generation, "HTTP 502".into()));
    assert_eq!(*h.load(), Load::Failed("HTTP 502".into()));
    assert_eq!(h.pending(), None);
    h.refetch(&series);
    let second = h.pending().unwrap();
    assert!(second.generation > first.generation);
    assert!(!h.fail(first.generation, "late answer to the old request".into()));
    assert_eq!(*h.load(), Load::Loading);
}

#[test]
fn nothing_is_drawn_before_the_relays_history_starts() {
    let series = Series::new();
    let mut h = History::default();
    let span = Span::new(T0, T0 + 24 * HOUR).unwrap();
    h.set_plan(View::Fixed(span).plan(0), &series);
    let f = h.pending().unwrap();
    assert_eq!(f.step, 60);
    // The relay has zeros from before it started? It never sends them, but buckets that
    // end at or before the earliest second it holds are left out regardless.
    let mut answer = fetched(T0 - 10_000, 30, 0);
    answer.extend(fetched(T0 + HOUR - 10_000, 10, 5));
    let earliest = Millis(T0 + HOUR);
    h.receive(f.generation, answer, Some(earliest), &series);
    assert_eq!(h.earliest(), Some(T0 + HOUR));
    let drawn = h.buckets(span.from, span.to);
    assert_eq!(drawn.len(), 10);
    assert!(drawn.iter().all(|b| b.count == 300 && b.end.0 > earliest.0));
}

#[test]
fn a_relay_younger_than_an_hour_is_the_series_from_its_first_second() {
    // The relay started 25 s into a minute (T0 is 10 s past one): the series holds all it
    // has, the first minute only in part.
    let mut series = Series::new();
    for i in 15..100 {
        series.merge(window(i, 1, true, 0));
    }
    let view = View::Live(crate::range::Range::TwentyFourHours);
    let mut h = History::default();
    h.set_plan(view.plan(series.end().unwrap().0), &series);
    let f = h.pending().unwrap();
    // The relay's answer for that first minute: the same 35 seconds, one still open then.
    let mut answer: Vec<_> = (15..50).map(|i| window(i, 1, i < 49, 0)).collect();
    answer[34].count = 0;
    h.receive(f.generation, roll_up(&answer, 60), None, &series);
    let first_minute = T0 + 50_000 - 60_000;
    assert_eq!(h.series_from(&series), Some(first_minute));
    let first = h
        .buckets(first_minute, first_minute + 1)
        .first()
        .copied()
        .cloned()
        .unwrap();
    assert_eq!(
        (first.seconds, first.count),
        (35, 35),
        "the series', not the fetch's"
    );

    // A late revision in that minute shows.
    series.merge(window(20, 9, true, 1));
    h.absorb(&series, T0 + 20_000);
    let first = h.buckets(first_minute, first_minute + 1)[0].clone();
    assert_eq!((first.count, first.max), (43, 9));

    // A relay holding more of that minute than the series keeps its own.
    let mut h = History::default();
    h.set_plan(view.plan(series.end().unwrap().0), &series);
    let f = h.pending().unwrap();
    let older: Vec<_> = (-10..50).map(|i| window(i, 2, true, 0)).collect();
    h.receive(f.generation, roll_up(&older, 60), None, &series);
    assert_eq!(h.series_from(&series), Some(T0 + 50_000));
    let first = h.buckets(first_minute, first_minute + 1)[0].clone();
    assert_eq!((first.seconds, first.count), (60, 120));
}
