//! Partials without a breakdown (no `cube` member, as relays wrote them before breakdowns)
//! still read, as totals: the second they are part of is served with its exact total and
//! marked `no_breakdown`, filtered answers leave it out, and the merger counts it for health.

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
