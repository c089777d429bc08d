//! Properties of the counting model: for random event orders, lateness, idle gaps and crash
//! points, the merged per-second totals — and, for random filters, the filtered counts and top
//! wikis computed from the merged cubes — equal a brute-force count of the input; and examples
//! of single rules (idle partitions, late events, what goes out when, ids whose hashes collide).
//!
//! Over 400 lines because the properties and the examples share one model of the input (`Ev`,
//! the strategies, the brute-force count), which they would otherwise each repeat.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};

use codec::event::{Edit, Kind};
use codec::summary::Summary;
use proptest::prelude::*;
use relay::config::TimeMode;
use relay::publish::Merger;
use relay::window::{Admission, PartitionCounter, Timing};
use wire::{ChangeType, Filter, Millis, PartialWindow, WindowRecord};

const T0: i64 = 1_800_000_000_000;

fn timing() -> Timing {
    timing_by(TimeMode::Event)
}

fn timing_by(mode: TimeMode) -> Timing {
    Timing {
        mode,
        delay_ms: 2_000,
        lateness_ms: 20_000,
        max_future_ms: 5_000,
        slack_ms: 10_000,
    }
}

#[derive(Debug, Clone)]
struct Ev {
    partition: u32,
    /// Event time relative to the ingest time (negative: the event is older).
    lag_ms: i64,
    ingest_ms: i64,
    kind: u8,
    bot: bool,
    wiki: u8,
    /// `meta.id`; a repeat carries an earlier event's id and time (a duplicate delivery).
    id: u32,
}

impl Ev {
    fn time(&self) -> i64 {
        self.ingest_ms - self.lag_ms
    }

    fn edit(&self) -> Edit<'static> {
        Edit {
            time: Millis(self.time()),
            kind: [
                Kind::Edit,
                Kind::New,
                Kind::Log,
                Kind::Categorize,
                Kind::Other,
            ][self.kind as usize % 5],
            bot: self.bot,
            wiki: Cow::Owned(format!("wiki{}", self.wiki)),
            id: Some(Cow::Owned(format!("id-{}", self.id))),
            canary: false,
            article: self.article(),
        }
    }

    /// A function of fields a repeat shares with its original.
    fn article(&self) -> bool {
        (self.wiki + self.kind).is_multiple_of(2)
    }

    fn admitted_by(&self, f: &Filter) -> bool {
        let kind = ChangeType::from_index(self.kind as usize % 5).unwrap();
        f.admits(
            &format!("wiki{}", self.wiki),
            kind,
            self.bot,
            self.article(),
        )
    }

    /// The rule, stated independently of the counter: counted iff it reached the bus before its
    /// second's lateness ran out and is not stamped implausibly far ahead.
    fn counts(&self, t: &Timing) -> bool {
        let start = self.time().div_euclid(1_000) * 1_000;
        self.time() <= self.ingest_ms + t.max_future_ms
            && self.ingest_ms < start + 1_000 + t.delay_ms + t.lateness_ms
    }
}

/// Events per partition in offset order. Ingest times rise with jitter (several producers)
/// and with idle gaps; event times trail them by up to 40 s (some too late) or lead slightly.
fn events() -> impl Strategy<Value = Vec<Ev>> {
    prop::collection::vec(
        (
            0u32..3,
            -7_000i64..40_000,
            0i64..3_000,
            prop::bool::weighted(0.05),
            0u8..5,
            any::<bool>(),
            0u8..12,
        ),
        1..300,
    )
    .prop_map(|raw| {
        let mut clock = [T0; 3];
        let mut out: Vec<Ev> = Vec::new();
        for (n, (partition, lag, step, gap, kind, bot, wiki)) in raw.into_iter().enumerate() {
            let c = &mut clock[partition as usize];
            *c += step / 10 + if gap { 30_000 } else { 0 };
            // Jitter below the slack: producers' clocks disagree by at most a few seconds.
            let jitter = (step % 7) * 500;
            // Heavy lag only sometimes, so most events count.
            let lag = if lag > 25_000 && step % 3 != 0 {
                lag / 8
            } else {
                lag
            };
            let ingest_ms = *c - jitter;
            let earlier: Vec<&Ev> = out.iter().filter(|e| e.partition == partition).collect();
            let back = earlier.len().checked_sub(1 + kind as usize % 4);
            // One in eight events repeats an earlier one of its partition: same id, same time.
            let ev = match back.map(|i| earlier[i]) {
                Some(orig) if step % 8 == 0 => Ev {
                    ingest_ms,
                    lag_ms: ingest_ms - orig.time(),
                    ..orig.clone()
                },
                _ => Ev {
                    partition,
                    lag_ms: lag,
                    ingest_ms,
                    kind,
                    bot,
                    wiki,
                    id: n as u32,
                },
            };
            out.push(ev);
        }
        out
    })
}

/// Runs one partition's records through a counter, publishing after each record like the
/// counting loop's ticks do, and returns the latest partial per window — what a reader of the
/// output topic keeps.
fn count_partition(
    p: u32,
    records: &[(u64, &Ev)],
    counter: &mut PartitionCounter,
    topic: &mut BTreeMap<(i64, u32), PartialWindow>,
) {
    let mut out = Vec::new();
    for (offset, ev) in records {
        counter.add(&ev.edit(), Millis(ev.ingest_ms), *offset);
        counter.advance(Millis(ev.ingest_ms - timing().delay_ms));
        counter.drain(&mut out);
        for w in out.drain(..) {
            assert_eq!(w.partition, p);
            topic.insert((w.window.start.0, p), w);
        }
    }
}

fn finish(
    counter: &mut PartitionCounter,
    topic: &mut BTreeMap<(i64, u32), PartialWindow>,
    far: i64,
) {
    let mut out = Vec::new();
    counter.advance(Millis(far));
    counter.drain(&mut out);
    for w in out {
        topic.insert((w.window.start.0, w.partition), w);
    }
}

fn merged(
    topic: &BTreeMap<(i64, u32), PartialWindow>,
    partitions: u32,
    far: i64,
) -> Vec<WindowRecord> {
    merger_of(topic, partitions, far).range(Millis(T0 - 100_000), Millis(far - 10_000))
}

fn merger_of(topic: &BTreeMap<(i64, u32), PartialWindow>, partitions: u32, far: i64) -> Merger {
    let mut m = Merger::new(partitions, 1_000_000_000);
    for w in topic.values() {
        m.apply_partial(w.clone());
    }
    for p in 0..partitions {
        m.apply_watermark(p, Millis(far));
    }
    let mut out = Vec::new();
    m.publish(Millis(far), &mut out);
    m
}

/// A filter over the model's wikis, types, bots and namespaces.
fn filters() -> impl Strategy<Value = Filter> {
    (
        prop::collection::btree_set(0u8..14, 0..4),
        prop::collection::btree_set(0usize..5, 0..3),
        prop::option::of(any::<bool>()),
        prop::option::of(any::<bool>()),
    )
        .prop_map(|(wikis, types, bot, article)| Filter {
            wikis: wikis.into_iter().map(|w| format!("wiki{w}")).collect(),
            types: types
                .into_iter()
                .filter_map(ChangeType::from_index)
                .collect(),
            bot,
            article,
        })
}

fn by_partition(evs: &[Ev]) -> BTreeMap<u32, Vec<(u64, &Ev)>> {
    let mut parts: BTreeMap<u32, Vec<(u64, &Ev)>> = (0..3).map(|p| (p, Vec::new())).collect();
    for ev in evs {
        let v = parts.get_mut(&ev.partition).unwrap();
        let offset = v.len() as u64;
        v.push((offset, ev));
    }
    parts
}

fn brute_force(evs: &[Ev], from: i64, to: i64) -> BTreeMap<i64, (u64, u64)> {
    brute_force_where(evs, from, to, &Filter::all())
}

/// [`brute_force`] of the events `filter` admits.
fn brute_force_where(evs: &[Ev], from: i64, to: i64, filter: &Filter) -> BTreeMap<i64, (u64, u64)> {
    let mut want: BTreeMap<i64, (u64, u64)> =
        (from..to).step_by(1_000).map(|s| (s, (0, 0))).collect();
    // A repeat carries its original's id and time, so of all copies of an id that count,
    // exactly one is counted.
    let mut seen = std::collections::HashSet::new();
    for ev in evs
        .iter()
        .filter(|e| e.counts(&timing()))
        .filter(|e| seen.insert(e.id))
        .filter(|e| e.admitted_by(filter))
    {
        let start = ev.time().div_euclid(1_000) * 1_000;
        let e = want.entry(start).or_default();
        e.0 += 1;
        e.1 += u64::from(ev.bot);
    }
    want
}

/// By ingest time: each record in its ingest second, except a repeat, which is a copy whose id
/// was counted in a second within the allowed lateness of its own (either way). Nothing is too
/// late: a record's second is when it reached the bus.
fn brute_force_by_ingest(evs: &[Ev], from: i64, to: i64) -> BTreeMap<i64, (u64, u64)> {
    let t = timing_by(TimeMode::Ingest);
    let mut want: BTreeMap<i64, (u64, u64)> =
        (from..to).step_by(1_000).map(|s| (s, (0, 0))).collect();
    let mut counted_in: BTreeMap<u32, Vec<i64>> = BTreeMap::new();
    for ev in evs {
        let start = ev.ingest_ms.div_euclid(1_000) * 1_000;
        let seconds = counted_in.entry(ev.id).or_default();
        if seconds.iter().any(|s| (s - start).abs() <= t.lateness_ms) {
            continue;
        }
        seconds.push(start);
        let e = want.entry(start).or_default();
        e.0 += 1;
        e.1 += u64::from(ev.bot);
    }
    want
}

/// Per second (from, to): the count and the bots among them that a rule expects.
type BruteForce = fn(&[Ev], i64, i64) -> BTreeMap<i64, (u64, u64)>;

fn check(got: &[WindowRecord], evs: &[Ev]) -> Result<(), TestCaseError> {
    check_against(got, evs, brute_force)
}

fn check_against(
    got: &[WindowRecord],
    evs: &[Ev],
    brute_force: BruteForce,
) -> Result<(), TestCaseError> {
    let from = got.first().map_or(T0, |w| w.start.0);
    let to = got.last().map_or(T0, |w| w.end.0);
    let want = brute_force(evs, from, to);
    let got_map: BTreeMap<i64, (u64, u64)> =
        got.iter().map(|w| (w.start.0, (w.count, w.bots))).collect();
    // Every second of the range is present, in order, without gaps: zeros are published.
    for pair in got.windows(2) {
        prop_assert_eq!(pair[0].end, pair[1].start);
    }
    prop_assert_eq!(got_map, want);
    for w in got {
        prop_assert!(w.is_final);
        prop_assert_eq!(w.by_type.total(), w.count);
        prop_assert_eq!(w.bots + w.humans, w.count);
        prop_assert!(w.top_wikis.iter().map(|(_, n)| n).sum::<u64>() <= w.count);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn merged_totals_equal_a_brute_force_count(evs in events()) {
        let far = evs.iter().map(|e| e.ingest_ms).max().unwrap() + 200_000;
        let mut topic = BTreeMap::new();
        for (p, records) in by_partition(&evs) {
            let mut c = PartitionCounter::new(p, timing());
            count_partition(p, &records, &mut c, &mut topic);
            finish(&mut c, &mut topic, far);
        }
        let got = merged(&topic, 3, far);
        check(&got, &evs)?;
        // Each second's ten busiest wikis, ties by name, equal a brute-force tally.
        let mut tally: BTreeMap<i64, BTreeMap<String, u64>> = BTreeMap::new();
        let mut seen = std::collections::HashSet::new();
        for ev in evs.iter().filter(|e| e.counts(&timing())).filter(|e| seen.insert(e.id)) {
            let second = tally.entry(ev.time().div_euclid(1_000) * 1_000).or_default();
            *second.entry(format!("wiki{}", ev.wiki)).or_default() += 1;
        }
        for w in &got {
            let want = tally.remove(&w.start.0).unwrap_or_default();
            prop_assert_eq!(&w.top_wikis, &wire::top_n(want.into_iter(), 10));
        }
    }

    /// Every filtered second and the filtered top wikis, computed from the merged cubes (after
    /// a crash and recompute, too), equal a brute-force count of the events the filter admits.
    #[test]
    fn filtered_counts_equal_a_brute_force_count(
        evs in events(),
        filter in filters(),
        crash_at in 0usize..300,
    ) {
        let far = evs.iter().map(|e| e.ingest_ms).max().unwrap() + 200_000;
        let mut topic = BTreeMap::new();
        for (p, records) in by_partition(&evs) {
            let k = crash_at.min(records.len());
            let mut before = PartitionCounter::new(p, timing());
            count_partition(p, &records[..k], &mut before, &mut topic);
            let resume = before.commit_point().unwrap_or(0) as usize;
            let mut after = PartitionCounter::rebuilding(p, timing(), before.drop_horizon());
            count_partition(p, &records[resume..], &mut after, &mut topic);
            finish(&mut after, &mut topic, far);
        }
        let m = merger_of(&topic, 3, far);
        let (from, to) = (Millis(T0 - 100_000), Millis(far - 10_000));
        let got = m.filtered_range(from, to, &m.compile(&filter));
        let all = m.range(from, to);
        prop_assert_eq!(got.len(), all.len(), "every second has a breakdown");
        let want = brute_force_where(&evs, got.first().map_or(T0, |w| w.start.0), got.last().map_or(T0, |w| w.end.0), &filter);
        let got_map: BTreeMap<i64, (u64, u64)> = got.iter().map(|w| (w.start.0, (w.count, w.bots))).collect();
        prop_assert_eq!(got_map, want);
        for w in &got {
            prop_assert_eq!(w.by_type.total(), w.count);
            prop_assert!(w.top_wikis.iter().all(|(name, _)| filter.wikis.is_empty() || filter.wikis.contains(name)));
        }
        // The range's busiest wikis, against the same count per wiki.
        let mut per_wiki: HashMap<String, u64> = HashMap::new();
        let mut seen = std::collections::HashSet::new();
        for ev in evs.iter().filter(|e| e.counts(&timing()) && seen.insert(e.id) && e.admitted_by(&filter)) {
            *per_wiki.entry(format!("wiki{}", ev.wiki)).or_default() += 1;
        }
        let top = m.top_wikis(from, to, &m.compile(&filter), 5);
        prop_assert_eq!(top.items, wire::top_n(per_wiki.iter().map(|(k, v)| (k.as_str(), *v)), 5));
        prop_assert_eq!(top.total, per_wiki.values().sum::<u64>());
        prop_assert_eq!(top.distinct, per_wiki.len() as u64);
    }

    /// A counter killed after any record and restarted from its last commit point republishes
    /// exactly what an uninterrupted counter publishes: nothing lost, nothing counted twice.
    #[test]
    fn a_crash_and_recompute_changes_nothing(evs in events(), crash_at in 0usize..300) {
        let far = evs.iter().map(|e| e.ingest_ms).max().unwrap() + 200_000;
        let mut clean = BTreeMap::new();
        let mut crashed = BTreeMap::new();
        for (p, records) in by_partition(&evs) {
            let mut c = PartitionCounter::new(p, timing());
            count_partition(p, &records, &mut c, &mut clean);
            finish(&mut c, &mut clean, far);

            let k = crash_at.min(records.len());
            let mut before = PartitionCounter::new(p, timing());
            count_partition(p, &records[..k], &mut before, &mut crashed);
            let resume = before.commit_point().unwrap_or(0) as usize;
            prop_assert!(resume <= k);
            let mut after = PartitionCounter::rebuilding(p, timing(), before.drop_horizon());
            count_partition(p, &records[resume..], &mut after, &mut crashed);
            finish(&mut after, &mut crashed, far);
        }
        let a = merged(&clean, 3, far);
        let b = merged(&crashed, 3, far);
        prop_assert_eq!(&a, &b);
        check(&b, &evs)?;
    }

    /// By ingest time a repeat (a client's retry) reaches the bus in a later second than its
    /// first copy: it still counts once, and a crash and recompute decides exactly as before.
    #[test]
    fn by_ingest_time_a_retry_counts_once_across_seconds_and_a_crash(
        evs in events(),
        crash_at in 0usize..300,
    ) {
        let t = timing_by(TimeMode::Ingest);
        let far = evs.iter().map(|e| e.ingest_ms).max().unwrap() + 200_000;
        let mut clean = BTreeMap::new();
        let mut crashed = BTreeMap::new();
        for (p, records) in by_partition(&evs) {
            let mut c = PartitionCounter::new(p, t);
            count_partition(p, &records, &mut c, &mut clean);
            finish(&mut c, &mut clean, far);

            let k = crash_at.min(records.len());
            let mut before = PartitionCounter::new(p, t);
            count_partition(p, &records[..k], &mut before, &mut crashed);
            let resume = before.commit_point().unwrap_or(0) as usize;
            prop_assert!(resume <= k);
            let mut after = PartitionCounter::rebuilding(p, t, before.drop_horizon());
            count_partition(p, &records[resume..], &mut after, &mut crashed);
            finish(&mut after, &mut crashed, far);
        }
        let a = merged(&clean, 3, far);
        let b = merged(&crashed, 3, far);
        prop_assert_eq!(&a, &b);
        check_against(&b, &evs, brute_force_by_ingest)?;
    }
}

#[test]
fn an_idle_partition_does_not_hold_windows_open() {
    let mut m = Merger::new(2, 3_600_000);
    let mut c = PartitionCounter::new(0, timing());
    let ev = Ev {
        partition: 0,
        lag_ms: 0,
        ingest_ms: T0 + 500,
        kind: 0,
        bot: false,
        wiki: 1,
        id: 1,
    };
    c.add(&ev.edit(), Millis(ev.ingest_ms), 0);
    let mut out = Vec::new();
    c.advance(Millis(T0 + 4_000 - 2_000));
    c.drain(&mut out);
    for w in out {
        m.apply_partial(w);
    }
    m.apply_watermark(0, Millis(T0 + 2_000));
    let mut published = Vec::new();
    m.publish(Millis(T0 + 4_000), &mut published);
    assert!(
        published.iter().all(|w| !w.is_final),
        "partition 1 has not reported: nothing is final"
    );
    // Partition 1 saw nothing, but its counter advances with the wall clock all the same.
    m.apply_watermark(1, Millis(T0 + 2_000));
    published.clear();
    m.publish(Millis(T0 + 4_000), &mut published);
    let first = published
        .iter()
        .find(|w| w.start.0 == T0)
        .expect("the first second is published");
    assert!(first.is_final);
    assert_eq!(first.count, 1);
    let second = published
        .iter()
        .find(|w| w.start.0 == T0 + 1_000)
        .expect("an empty second is published too");
    assert!(second.is_final);
    assert_eq!(second.count, 0);
}

#[test]
fn a_late_event_revises_a_final_window() {
    let mut m = Merger::new(1, 3_600_000);
    let mut c = PartitionCounter::new(0, timing());
    let mut out = Vec::new();
    let on_time = Ev {
        partition: 0,
        lag_ms: 0,
        ingest_ms: T0 + 100,
        kind: 0,
        bot: true,
        wiki: 1,
        id: 1,
    };
    c.add(&on_time.edit(), Millis(on_time.ingest_ms), 0);
    c.advance(Millis(T0 + 5_000));
    c.drain(&mut out);
    out.drain(..).for_each(|w| {
        m.apply_partial(w);
    });
    m.apply_watermark(0, Millis(T0 + 5_000));
    let mut published = Vec::new();
    m.publish(Millis(T0 + 7_000), &mut published);
    let w = published.iter().find(|w| w.start.0 == T0).unwrap();
    assert_eq!((w.count, w.is_final, w.revision), (1, true, 0));

    let late = Ev {
        partition: 0,
        lag_ms: 9_000,
        ingest_ms: T0 + 9_100,
        kind: 1,
        bot: false,
        wiki: 2,
        id: 2,
    };
    c.add(&late.edit(), Millis(late.ingest_ms), 1);
    c.drain(&mut out);
    let revisions: Vec<WindowRecord> = out.drain(..).filter_map(|w| m.apply_partial(w)).collect();
    assert_eq!(revisions.len(), 1);
    assert_eq!(
        (
            revisions[0].count,
            revisions[0].revision,
            revisions[0].humans
        ),
        (2, 1, 1)
    );
    assert_eq!(m.range(Millis(T0), Millis(T0 + 1_000))[0], revisions[0]);
}

#[test]
fn each_open_second_goes_out_when_it_starts_and_again_only_when_it_changes() {
    let mut m = Merger::new(1, 3_600_000);
    let mut c = PartitionCounter::new(0, timing());
    let mut published = Vec::new();

    m.publish(Millis(T0 + 100), &mut published);
    let starts: Vec<(i64, u64, bool)> = published
        .iter()
        .map(|w| (w.start.0, w.count, w.is_final))
        .collect();
    assert_eq!(
        starts,
        [(T0, 0, false)],
        "a new second goes out at once, empty"
    );

    published.clear();
    m.publish(Millis(T0 + 300), &mut published);
    m.publish(Millis(T0 + 900), &mut published);
    assert!(published.is_empty(), "unchanged: nothing to send");

    let ev = Ev {
        partition: 0,
        lag_ms: 0,
        ingest_ms: T0 + 950,
        kind: 0,
        bot: false,
        wiki: 1,
        id: 1,
    };
    c.add(&ev.edit(), Millis(ev.ingest_ms), 0);
    let mut partials = Vec::new();
    c.drain(&mut partials);
    for p in partials {
        m.apply_partial(p);
    }
    m.publish(Millis(T0 + 960), &mut published);
    assert_eq!(
        published
            .iter()
            .map(|w| (w.start.0, w.count))
            .collect::<Vec<_>>(),
        [(T0, 1)],
        "the change goes out"
    );

    published.clear();
    m.publish(Millis(T0 + 1_010), &mut published);
    assert_eq!(
        published
            .iter()
            .map(|w| (w.start.0, w.count, w.is_final))
            .collect::<Vec<_>>(),
        [(T0 + 1_000, 0, false)],
        "the next second starts; the first is not repeated"
    );
}

/// Two different `meta.id`s whose 64-bit FNV-1a hashes are equal (found once by a collision
/// search; anyone can find such pairs), posted for the same second, go through the path a
/// record takes on Kafka: summarized and tagged by the source, untagged by the counter's reader,
/// counted. Both count; only a true repeat is dropped.
#[test]
fn different_ids_whose_hashes_collide_both_count() {
    let (a, b) = ("1c86250014731b7a", "b3ab5660ac93a162");
    let t = Millis(T0 + 250);
    let event = |id: &str| {
        format!(
            r#"{{"meta":{{"dt":"{t}","id":"{id}","domain":"en.wikipedia.org"}},"type":"edit","wiki":"enwiki"}}"#
        )
    };
    let mut c = PartitionCounter::new(0, timing());
    let mut tagged = Vec::new();
    let mut admissions = Vec::new();
    for (offset, id) in [a, b, a, b].into_iter().enumerate() {
        let json = event(id);
        let edit = codec::event::parse(json.as_bytes()).unwrap();
        Summary::of(&edit).tag(json.as_bytes(), &mut tagged);
        let summary = Summary::untag(&tagged).expect("a relay's own tag");
        admissions.push(c.count(&summary, b"enwiki", Millis(T0 + 300), offset as u64));
    }
    assert_eq!(
        admissions,
        [
            Admission::Counted,
            Admission::Counted,
            Admission::Duplicate,
            Admission::Duplicate
        ]
    );
    // The same through a parsed record (another producer's).
    let mut parsed = PartitionCounter::new(0, timing());
    for (offset, id) in [a, b].into_iter().enumerate() {
        let json = event(id);
        let edit = codec::event::parse(json.as_bytes()).unwrap();
        assert_eq!(
            parsed.add(&edit, Millis(T0 + 300), offset as u64),
            Admission::Counted
        );
    }
    let mut out = Vec::new();
    c.advance(Millis(T0 + 5_000));
    c.drain(&mut out);
    let w = out
        .iter()
        .find(|w| w.window.start.0 == T0)
        .expect("the second");
    assert_eq!((w.window.count, w.window.by_type.edit), (2, 2));
}
