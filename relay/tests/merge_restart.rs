//! The merger across a restart on the embedded bus: the seconds it recorded final come back
//! from the history file with their partials, the counters recompute them from the input
//! log's commit point, and a recomputed partial equal to the recorded one changes nothing (no
//! second counted twice, nothing republished), while one a late event changed revises its
//! second as it would have without the restart. The seconds after the last recorded one are
//! merged from the recomputed partials as usual.

use std::time::Duration;

use relay::publish::Merger;
use wire::{Millis, PartialWindow, WindowRecord};

const S: i64 = 1_700_000_050_000;

fn partial(partition: u32, start: i64, count: u64, revision: u32) -> PartialWindow {
    let mut w = WindowRecord::empty(Millis(start), Millis(start + 1_000), true);
    w.count = count;
    w.humans = count;
    w.by_type.edit = count;
    w.revision = revision;
    w.top_wikis = vec![(format!("wiki{partition}"), count)];
    PartialWindow {
        partition,
        window: w,
        cube: None,
    }
}

fn merger(started: i64) -> Merger {
    Merger::new(2, 3_600_000)
        .covering_from(Millis(started))
        .settling_after(Duration::from_secs(60))
}

fn published(m: &mut Merger, watermark: i64, now: i64) -> Vec<WindowRecord> {
    m.apply_watermark(0, Millis(watermark));
    m.apply_watermark(1, Millis(watermark));
    let mut out = Vec::new();
    m.publish(Millis(now), &mut out);
    out.into_iter().filter(|r| r.is_final).collect()
}

#[test]
fn a_recorded_second_takes_recomputed_partials_as_it_did_before_the_restart() {
    // Before the kill: S is merged from two partitions, final, and recorded.
    let mut before = merger(S - 10_000);
    assert_eq!(before.apply_partial(partial(0, S, 3, 0)), None);
    assert_eq!(before.apply_partial(partial(1, S, 4, 0)), None);
    let finals = published(&mut before, S + 1_000, S + 1_500);
    assert_eq!(finals.len(), 1);
    assert_eq!(finals[0].count, 7);
    let recorded = before.final_seconds(&finals);
    assert_eq!(recorded[0].partials.as_ref().map(Vec::len), Some(2));

    // After the restart: seeded from the file; the counters recompute S from the commit point.
    let mut after = merger(S + 5_000);
    after.seed_seconds(recorded);
    assert_eq!(after.apply_partial(partial(0, S, 3, 0)), None);
    assert_eq!(after.apply_partial(partial(1, S, 4, 0)), None);
    let at_s = |m: &Merger| m.range(Millis(S), Millis(S + 1_000));
    assert_eq!(
        at_s(&after),
        finals,
        "a recomputed second is not counted again"
    );

    // The next second, which the dead relay had not closed, is merged from its partials.
    after.apply_partial(partial(0, S + 1_000, 2, 0));
    after.apply_partial(partial(1, S + 1_000, 5, 0));
    let next = published(&mut after, S + 2_000, S + 5_500);
    assert_eq!(
        next.iter()
            .map(|r| (r.start.0, r.count))
            .collect::<Vec<_>>(),
        vec![(S + 1_000, 7)],
        "S itself is not published again"
    );

    // A retried batch the dead relay never wrote reaches S late: S is revised, as it would
    // have been without the restart, and the revision is what the file records next.
    let revised = after
        .apply_partial(partial(0, S, 4, 1))
        .expect("a late event revises a recorded second");
    assert_eq!((revised.count, revised.revision), (8, 1));
    let again = after.final_seconds(std::slice::from_ref(&revised));
    assert_eq!(again[0].record, revised);
    assert_eq!(again[0].partials.as_ref().map(Vec::len), Some(2));
}

#[test]
fn a_second_recorded_without_partials_stays_settled() {
    let mut before = merger(S - 10_000);
    before.apply_partial(partial(0, S, 3, 0));
    before.apply_partial(partial(1, S, 4, 0));
    let finals = published(&mut before, S + 1_000, S + 1_500);
    let mut after = merger(S + 5_000);
    // As a version-1 file holds it: the total alone. One partition's partial must not
    // replace it with that partition's share.
    after.seed(finals.clone());
    assert_eq!(after.apply_partial(partial(0, S, 4, 1)), None);
    assert_eq!(after.range(Millis(S), Millis(S + 1_000)), finals);
}
