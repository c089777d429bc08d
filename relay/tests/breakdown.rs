//! How the merger holds breakdowns. Partials without one (no `cube` member, as relays wrote
//! them before breakdowns) still read, as totals: the second they are part of is served with
//! its exact total and marked `no_breakdown`, filtered answers leave it out, and the merger
//! counts it for health. Wiki names no held second uses are forgotten, and the breakdowns
//! still answer exactly after they are.

use relay::publish::Merger;
use wire::{Cell, ChangeType, Cube, Filter, Millis, PartialWindow};

const T0: i64 = 1_800_000_000_000;

/// A partial as relays wrote them before breakdowns: totals and a top ten, no cube.
fn old_format(partition: u32, start: i64, count: u64) -> PartialWindow {
    let json = format!(
        r#"{{"partition":{partition},"start":"{}","end":"{}","count":{count},"final":true,
            "revision":0,"by_type":{{"edit":{count},"new":0,"log":0,"categorize":0,"other":0}},
            "bots":0,"humans":{count},"top_wikis":[["dewiki",{count}]]}}"#,
        Millis(start),
        Millis(start + 1_000)
    );
    serde_json::from_str(&json).expect("today's partials read")
}

fn with_cube(partition: u32, start: i64, cells: &[(&str, ChangeType, bool, u64)]) -> PartialWindow {
    let cube = Cube::of(
        cells
            .iter()
            .map(|&(w, k, bot, n)| Cell::new(w, k, bot, true, n)),
    );
    let mut window = wire::WindowRecord::empty(Millis(start), Millis(start + 1_000), true);
    cube.totals_into(|_| true, &mut window);
    PartialWindow {
        partition,
        window,
        cube: Some(cube),
    }
}

#[test]
fn old_partials_count_as_totals_and_filtered_answers_leave_their_seconds_out() {
    let mut m = Merger::new(2, 3_600_000);
    // Second 0: partition 0 old, partition 1 new. Second 1: both new.
    m.apply_partial(old_format(0, T0, 4));
    m.apply_partial(with_cube(1, T0, &[("enwiki", ChangeType::Edit, false, 3)]));
    m.apply_partial(with_cube(
        0,
        T0 + 1_000,
        &[("dewiki", ChangeType::New, true, 2)],
    ));
    m.apply_partial(with_cube(
        1,
        T0 + 1_000,
        &[("enwiki", ChangeType::Edit, false, 5)],
    ));
    for p in 0..2 {
        m.apply_watermark(p, Millis(T0 + 2_000));
    }
    let mut out = Vec::new();
    m.publish(Millis(T0 + 2_500), &mut out);

    let all = m.range(Millis(T0), Millis(T0 + 2_000));
    assert_eq!(all.len(), 2);
    assert_eq!((all[0].count, all[0].no_breakdown), (7, true));
    assert_eq!((all[1].count, all[1].no_breakdown), (7, false));
    // Without a breakdown, the top is each partial's ten summed, cube or not.
    assert_eq!(
        all[0].top_wikis,
        vec![("dewiki".into(), 4), ("enwiki".into(), 3)]
    );
    assert_eq!(
        all[1].top_wikis,
        vec![("enwiki".into(), 5), ("dewiki".into(), 2)]
    );
    let json = serde_json::to_value(&all[1]).unwrap();
    assert!(
        json.get("no_breakdown").is_none(),
        "left out when false: {json}"
    );
    assert_eq!(m.seconds_without_breakdown(), 1);

    let mut enwiki = Filter::default();
    enwiki.wikis.insert("enwiki".into());
    let f = m.compile(&enwiki);
    let filtered = m.filtered_range(Millis(T0), Millis(T0 + 2_000), &f);
    assert_eq!(
        filtered.len(),
        1,
        "the second without a breakdown is left out"
    );
    assert_eq!((filtered[0].start.0, filtered[0].count), (T0 + 1_000, 5));
    let top = m.top_wikis(
        Millis(T0),
        Millis(T0 + 2_000),
        &m.compile(&Filter::all()),
        10,
    );
    assert_eq!(top.items, vec![("enwiki".into(), 5), ("dewiki".into(), 2)]);
    assert_eq!((top.total, top.without_breakdown), (7, 1));

    // The old partial replaced by a recomputed one with a cube: the breakdown is whole again.
    m.apply_partial(with_cube(0, T0, &[("dewiki", ChangeType::Edit, false, 4)]));
    assert_eq!(m.seconds_without_breakdown(), 0);
    let filtered = m.filtered_range(Millis(T0), Millis(T0 + 2_000), &f);
    assert_eq!(filtered.iter().map(|w| w.count).collect::<Vec<_>>(), [3, 5]);
}

/// Events naming made-up wikis (anyone can post them to the gateway): 15,000 names, 5 new ones
/// a second, with 100 s of history held. The names of evicted seconds are dropped, and every
/// held second's breakdown still names its own wikis.
#[test]
fn names_of_evicted_seconds_are_forgotten_and_held_ones_still_answer() {
    const SECONDS: i64 = 3_000;
    let mut m = Merger::new(1, 100_000);
    let name = |s: i64, j: i64| format!("made-up-{s}-{j}");
    for s in 0..SECONDS {
        let start = T0 + s * 1_000;
        let mut cells: Vec<(String, ChangeType, bool, u64)> = (0..5)
            .map(|j| (name(s, j), ChangeType::Edit, j % 2 == 0, (j + 1) as u64))
            .collect();
        cells.push(("enwiki".into(), ChangeType::New, false, 1));
        let cells: Vec<_> = cells
            .iter()
            .map(|(w, k, b, n)| (w.as_str(), *k, *b, *n))
            .collect();
        m.apply_partial(with_cube(0, start, &cells));
        m.apply_watermark(0, Millis(start + 1_000));
        m.publish(Millis(start + 1_500), &mut Vec::new());
    }
    assert!(
        m.wiki_names() < 10_000,
        "{} names held for 15,001 seen",
        m.wiki_names()
    );
    let held = m.range(Millis(T0), Millis(T0 + SECONDS * 1_000));
    assert!(
        (90..=102).contains(&held.len()),
        "{} seconds held",
        held.len()
    );
    let (from, to) = (held[0].start, Millis(T0 + SECONDS * 1_000));
    let mut enwiki = Filter::default();
    enwiki.wikis.insert("enwiki".into());
    let only_enwiki = m.filtered_range(from, to, &m.compile(&enwiki));
    assert_eq!(only_enwiki.len(), held.len());
    assert!(
        only_enwiki
            .iter()
            .all(|w| w.count == 1 && w.by_type.new == 1)
    );
    for w in &held {
        let s = (w.start.0 - T0) / 1_000;
        assert_eq!(w.count, 1 + 2 + 3 + 4 + 5 + 1);
        let mut one = Filter::default();
        one.wikis.insert(name(s, 3));
        let got = m.filtered(w.start, &m.compile(&one), true).expect("held");
        assert_eq!((got.count, got.bots), (4, 0));
        assert_eq!(got.top_wikis, vec![(name(s, 3), 4)]);
    }
    let top = m.top_wikis(from, to, &m.compile(&Filter::all()), 3);
    // Ties go to the name first in order: the oldest held seconds' (all four-digit).
    let first = (from.0 - T0) / 1_000;
    assert_eq!(top.items[0], ("enwiki".into(), held.len() as u64));
    assert_eq!(
        top.items[1..],
        [(name(first, 4), 5), (name(first + 1, 4), 5)]
    );
    assert_eq!(top.distinct, 1 + 5 * held.len() as u64);
}
