//! A partition counter when what is around it fails: the output topic refusing writes for
//! longer than the allowed lateness, and a restart from the commit point after windows were
//! dropped. In both, every second's last written partial must be its whole count.

use std::borrow::Cow;
use std::collections::BTreeMap;

use codec::event::{Edit, Kind};
use relay::config::TimeMode;
use relay::window::{Admission, PartitionCounter, Timing};
use wire::{Millis, WindowRecord};

const T0: i64 = 1_800_000_000_000;

fn timing() -> Timing {
    Timing {
        mode: TimeMode::Event,
        delay_ms: 1_000,
        lateness_ms: 2_000,
        max_future_ms: 5_000,
        slack_ms: 3_000,
    }
}

fn edit(at: i64, id: &str) -> Edit<'static> {
    Edit {
        time: Millis(at),
        kind: Kind::Edit,
        bot: false,
        wiki: Cow::Borrowed("enwiki"),
        id: Some(Cow::Owned(id.to_string())),
        canary: false,
        article: true,
    }
}

/// Counts `n` events of the second starting at `T0`, at offsets `first..first + n`.
fn fill(c: &mut PartitionCounter, first: u64, n: u64) {
    for i in 0..n {
        let a = c.add(
            &edit(T0 + 100, &format!("e{i}")),
            Millis(T0 + 200),
            first + i,
        );
        assert_eq!(a, Admission::Counted);
    }
}

/// What a drain writes, as windows: one partition, so the partition is left out.
fn drained(c: &mut PartitionCounter) -> Vec<WindowRecord> {
    let mut out = Vec::new();
    c.drain(&mut out);
    out.into_iter().map(|p| p.window).collect()
}

/// What a reader of the output topic keeps: the latest partial per window.
fn keep(topic: &mut BTreeMap<i64, WindowRecord>, out: Vec<WindowRecord>) {
    for p in out {
        topic.insert(p.start.0, p);
    }
}

/// The watermark far enough past `T0`'s second that its window is dropped.
fn past_lateness(t: &Timing) -> Millis {
    Millis(T0 + 1_000 + t.lateness_ms + t.slack_ms + 1_000)
}

#[test]
fn a_window_that_ages_out_while_the_output_is_down_is_written_when_it_is_back() {
    let mut c = PartitionCounter::new(0, timing());
    fill(&mut c, 0, 5);
    // Written at once, provisional; the output takes it into its queue.
    let first = drained(&mut c);
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].count, 5);

    // The output goes away; meanwhile the second closes and ages out of the counter.
    c.advance(past_lateness(&timing()));
    let last = drained(&mut c);
    assert_eq!(c.open_windows(), 0, "the window was dropped");
    assert!(
        last.iter()
            .all(|p| p.start.0 == T0 && p.is_final && p.count == 5)
    );

    // Neither write was acknowledged: everything is written again, the dropped window too.
    c.republish_all();
    let again = drained(&mut c);
    assert_eq!(again.len(), 1, "{again:?}");
    assert_eq!((again[0].start.0, again[0].count), (T0, 5));
    assert!(again[0].is_final);

    // Still refused, again and again: it keeps coming back until acknowledged.
    c.republish_all();
    assert_eq!(drained(&mut c), again);
    c.acknowledged();
    c.republish_all();
    assert!(
        drained(&mut c).is_empty(),
        "acknowledged windows are not kept"
    );
}

#[test]
fn a_window_dropped_without_a_change_is_still_rewritten_after_a_lost_write() {
    let mut c = PartitionCounter::new(0, timing());
    fill(&mut c, 0, 3);
    c.advance(Millis(T0 + 1_000 + timing().delay_ms));
    let finals = drained(&mut c);
    assert!(finals.iter().any(|p| p.is_final && p.count == 3));
    // Dropped in a later drain with nothing new to write...
    c.advance(past_lateness(&timing()));
    assert!(drained(&mut c).is_empty());
    // ...then the flush reports the final partial lost.
    c.republish_all();
    let again = drained(&mut c);
    assert_eq!(again.len(), 1, "{again:?}");
    assert_eq!((again[0].count, again[0].is_final), (3, true));
}

/// A second later than `T0`'s by enough to drop it once counted.
const LATER: i64 = T0 + 20_000;

/// Five events of `T0`'s second counted at offsets 0..5 and written; then one of [`LATER`]'s,
/// at offset 5, moves the watermark on: `T0`'s second closes, ages out and is dropped.
fn counted_written_and_dropped() -> (PartitionCounter, BTreeMap<i64, WindowRecord>) {
    let t = timing();
    let mut written = BTreeMap::new();
    let mut c = PartitionCounter::new(0, t);
    fill(&mut c, 0, 5);
    keep(&mut written, drained(&mut c));
    c.add(&edit(LATER, "later"), Millis(LATER), 5);
    c.advance(Millis(LATER - t.delay_ms));
    keep(&mut written, drained(&mut c));
    (c, written)
}

#[test]
fn a_restart_does_not_rebuild_a_dropped_second_from_a_straggler() {
    let t = timing();
    let (mut before, mut written) = counted_written_and_dropped();
    assert_eq!(written[&T0].count, 5);
    assert!(written[&T0].is_final);
    let resume = before.commit_point().expect("a clean cut after the drop");
    assert_eq!(resume, 5, "everything before the later second is done");
    let horizon = before.drop_horizon();
    assert_eq!(horizon, Some(Millis(T0 + 1_000)));

    // A producer with a slow clock: stamped within the first second's lateness, read after
    // the drop. The running counter refuses it...
    let straggler = edit(T0 + 500, "straggler");
    let stamped = Millis(T0 + 1_000 + t.delay_ms + t.lateness_ms / 2);
    assert_eq!(before.add(&straggler, stamped, 6), Admission::TooLate);

    // ...and so does one restarted from the commit point: the first second is not rebuilt
    // from this one record, overwriting its whole count.
    let mut after = PartitionCounter::rebuilding(0, t, horizon);
    refuses_the_straggler_and_keeps_the_count(&mut after, &mut written);
    assert_eq!(written[&LATER].count, 1);
}

/// The restarted counter reads the later second's record again, then the straggler (a
/// producer with a slow clock: stamped within `T0`'s lateness, read after the drop), and
/// refuses it: `T0`'s second keeps its whole count of 5.
fn refuses_the_straggler_and_keeps_the_count(
    after: &mut PartitionCounter,
    written: &mut BTreeMap<i64, WindowRecord>,
) {
    let t = timing();
    let straggler = edit(T0 + 500, "straggler");
    let stamped = Millis(T0 + 1_000 + t.delay_ms + t.lateness_ms / 2);
    after.add(&edit(LATER, "later"), Millis(LATER), 5);
    assert_eq!(after.add(&straggler, stamped, 6), Admission::TooLate);
    after.caught_up();
    after.advance(Millis(LATER + 60_000));
    keep(written, drained(after));
    assert_eq!(written[&T0].count, 5, "{:?}", written[&T0]);
}

/// A broker that stores commit metadata but does not return it (nisshi): the restarted counter
/// reads the records just before its commit point again, and they tell it the same horizon.
#[test]
fn without_commit_metadata_the_records_before_the_commit_give_the_horizon() {
    let t = timing();
    let (before, mut written) = counted_written_and_dropped();
    let resume = before.commit_point().expect("a clean cut after the drop");
    let mut after = PartitionCounter::rebuilding(0, t, None).reading_back_to(resume);
    for i in 0..resume {
        let e = edit(T0 + 100, &format!("e{i}"));
        assert_eq!(after.add(&e, Millis(T0 + 200), i), Admission::BeforeCommit);
    }
    assert_eq!(after.drop_horizon(), before.drop_horizon());
    refuses_the_straggler_and_keeps_the_count(&mut after, &mut written);
    assert_eq!(after.commit_point().map(|c| c >= resume), Some(true));
}

/// By ingest time a client's retry lands in a later second than its first copy; it is a
/// repeat there, and the second it arrived in does not count it.
#[test]
fn by_ingest_time_a_retry_seconds_later_counts_once_in_the_first_second() {
    let t = Timing {
        mode: TimeMode::Ingest,
        ..timing()
    };
    let mut written = BTreeMap::new();
    let mut c = PartitionCounter::new(0, t);
    for i in 0..5 {
        let a = c.add(&edit(T0, &format!("e{i}")), Millis(T0 + 200), i);
        assert_eq!(a, Admission::Counted);
    }
    // The client got a 503 (or lost the 202) and sends the batch again 1.5 s later, with two
    // new events.
    let retry_at = Millis(T0 + 1_700);
    for i in 0..7 {
        let a = c.add(&edit(T0, &format!("e{i}")), retry_at, 5 + i);
        let want = if i < 5 {
            Admission::Duplicate
        } else {
            Admission::Counted
        };
        assert_eq!(a, want, "e{i}");
    }
    c.advance(Millis(T0 + 60_000));
    keep(&mut written, drained(&mut c));
    assert_eq!(written[&T0].count, 5);
    assert_eq!(written[&(T0 + 1_000)].count, 2);
    assert_eq!(c.stats().duplicates, 5);
}
