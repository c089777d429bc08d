//! `/v1/edits` lists a second's events by deciding again, from the records alone, which ones
//! the counter counted (`relay::explore::admission`). Here both are fed the same random
//! partitions — repeats, canaries, events stamped too far ahead, late and too late ones, by
//! event and by ingest time — and must agree on every record, and on every second's count.

use std::collections::BTreeMap;

use codec::event::Kind;
use codec::summary::{EventId, Summary};
use proptest::prelude::*;
use relay::config::TimeMode;
use relay::explore::admission::Admitter;
use relay::window::{Admission, PartitionCounter, Timing};
use wire::Millis;

const T0: i64 = 1_800_000_000_000;

fn timing(mode: TimeMode) -> Timing {
    Timing {
        mode,
        delay_ms: 2_000,
        lateness_ms: 20_000,
        max_future_ms: 5_000,
        slack_ms: 10_000,
    }
}

#[derive(Debug, Clone)]
struct Rec {
    /// Ingest time step from the previous record (ingest times rise along a partition).
    step_ms: i64,
    /// Event time relative to ingest time: negative is older; up to 8 s ahead (beyond the
    /// 5 s allowed) and 40 s behind (beyond the 2 s + 20 s lateness).
    lag_ms: i64,
    /// One of a few ids, so repeats are common; 0 means no id.
    id: u8,
    canary: bool,
    kind: u8,
    bot: bool,
    article: bool,
}

fn recs() -> impl Strategy<Value = Vec<Rec>> {
    prop::collection::vec(
        (
            0i64..1_500,
            -40_000i64..8_000,
            0u8..12,
            prop::bool::weighted(0.05),
            0u8..5,
            any::<bool>(),
            any::<bool>(),
        )
            .prop_map(|(step_ms, lag_ms, id, canary, kind, bot, article)| Rec {
                step_ms,
                lag_ms,
                id,
                canary,
                kind,
                bot,
                article,
            }),
        1..400,
    )
}

fn summary(r: &Rec, ingest: i64) -> Summary {
    Summary {
        time: Millis(ingest + r.lag_ms),
        kind: [
            Kind::Edit,
            Kind::New,
            Kind::Log,
            Kind::Categorize,
            Kind::Other,
        ][r.kind as usize],
        bot: r.bot,
        canary: r.canary,
        id: (r.id > 0).then(|| EventId::exact(&format!("id-{}", r.id))),
        article: r.article,
    }
}

/// Feeds one partition to both; returns the seconds each counted, by the counter's counts.
fn agree(mode: TimeMode, records: &[Rec]) -> Result<(), TestCaseError> {
    let t = timing(mode);
    let mut counter = PartitionCounter::new(0, t);
    let mut admitter = Admitter::new(t);
    let mut ingest = T0;
    let mut by_counter: BTreeMap<i64, u64> = BTreeMap::new();
    let mut by_admitter: BTreeMap<i64, u64> = BTreeMap::new();
    let mut out = Vec::new();
    for (offset, r) in records.iter().enumerate() {
        ingest += r.step_ms;
        let s = summary(r, ingest);
        let verdict = counter.count(&s, b"enwiki", Millis(ingest), offset as u64);
        let listed = admitter.admit(&s, Millis(ingest), offset as u64);
        let counted = matches!(verdict, Admission::Counted | Admission::Late);
        prop_assert_eq!(
            counted,
            listed.is_some(),
            "record {} ({:?}): counter {:?}, listing {:?}",
            offset,
            r,
            verdict,
            listed
        );
        if let Some(at) = listed {
            let counted_at = match mode {
                TimeMode::Event => s.time,
                TimeMode::Ingest => Millis(ingest),
            };
            prop_assert_eq!(at, counted_at);
            *by_admitter.entry(at.floor_second().0).or_default() += 1;
        }
        // The counter's loop as it runs while reading a backlog: the watermark follows the
        // records' ingest times, windows close and are dropped past their lateness.
        counter.advance(t.watermark_at(Millis(ingest)));
        out.clear();
        counter.drain(&mut out);
        for w in &out {
            by_counter.insert(w.window.start.0, w.window.count);
        }
    }
    counter.advance(Millis(ingest + 3_600_000));
    out.clear();
    counter.drain(&mut out);
    for w in &out {
        by_counter.insert(w.window.start.0, w.window.count);
    }
    by_counter.retain(|_, n| *n > 0);
    prop_assert_eq!(by_counter, by_admitter);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn listing_and_counter_agree_by_event_time(records in recs()) {
        agree(TimeMode::Event, &records)?;
    }

    #[test]
    fn listing_and_counter_agree_by_ingest_time(records in recs()) {
        agree(TimeMode::Ingest, &records)?;
    }
}

#[test]
fn a_repeat_in_the_same_second_is_listed_once_and_a_too_late_one_not_at_all() {
    let t = timing(TimeMode::Event);
    let mut a = Admitter::new(t);
    let mut c = PartitionCounter::new(0, t);
    let rec = |lag_ms, id| Rec {
        step_ms: 0,
        lag_ms,
        id,
        canary: false,
        kind: 0,
        bot: false,
        article: true,
    };
    let cases = [
        (rec(-100, 1), true),
        (rec(-100, 1), false),    // the same id in the same second
        (rec(-1_100, 1), true),   // the same id, another second
        (rec(-23_000, 2), false), // past delay + lateness
        (rec(6_000, 3), false),   // too far ahead
    ];
    for (offset, (r, want)) in cases.iter().enumerate() {
        let s = summary(r, T0);
        let listed = a.admit(&s, Millis(T0), offset as u64).is_some();
        let counted = matches!(
            c.count(&s, b"enwiki", Millis(T0), offset as u64),
            Admission::Counted | Admission::Late
        );
        assert_eq!((listed, counted), (*want, *want), "{r:?}");
    }
}
