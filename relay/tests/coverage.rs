//! What a published 0 means: the relay watched that second and heard nothing. Seconds before
//! it started are not published as zeros, and seconds while its live source was down say so.

use relay::publish::Merger;
use wire::{Millis, PartialWindow, WindowRecord};

const T0: i64 = 1_800_000_000_000;

fn published(m: &mut Merger, now: i64) -> Vec<WindowRecord> {
    let mut out = Vec::new();
    m.publish(Millis(now), &mut out);
    out.into_iter().filter(|w| w.is_final).collect()
}

fn partial(start: i64, count: u64) -> PartialWindow {
    let mut window = WindowRecord::empty(Millis(start), Millis(start + 1_000), true);
    window.count = count;
    window.humans = count;
    window.by_type.edit = count;
    PartialWindow {
        partition: 0,
        window,
        cube: None,
    }
}

#[test]
fn seconds_before_the_start_are_left_out_unless_history_has_them() {
    let mut m = Merger::new(1, 3_600_000).covering_from(Millis(T0 + 300));
    // The relay publishes from its first tick on; the second it started in is not opened.
    assert!(published(&mut m, T0 + 300).is_empty());
    // The output topic's history knows a second from before the start.
    m.apply_partial(partial(T0 - 5_000, 7));
    m.apply_watermark(0, Millis(T0 + 4_000));
    let out = published(&mut m, T0 + 6_000);
    let starts: Vec<i64> = out.iter().map(|w| w.start.0 - T0).collect();
    // T0 itself is the second the relay started in: not watched whole.
    assert_eq!(starts, vec![-5_000, 1_000, 2_000, 3_000], "{out:?}");
    assert_eq!(out[0].count, 7);
    assert!(out[1..].iter().all(|w| w.count == 0 && !w.source_down));
    let stored = m.range(Millis(T0 - 10_000), Millis(T0 + 10_000));
    assert!(
        stored
            .iter()
            .all(|w| w.start.0 == T0 - 5_000 || w.start.0 >= T0 + 1_000)
    );

    // Started on a second's boundary, that second is whole.
    let mut m = Merger::new(1, 3_600_000).covering_from(Millis(T0));
    published(&mut m, T0);
    m.apply_watermark(0, Millis(T0 + 2_000));
    let out = published(&mut m, T0 + 2_500);
    assert_eq!(out.first().map(|w| w.start.0), Some(T0));
}

#[test]
fn seconds_while_the_source_was_down_are_marked_and_keep_their_mark() {
    let mut m = Merger::new(1, 3_600_000).covering_from(Millis(T0));
    m.note_source(true, Millis(T0));
    published(&mut m, T0);
    m.note_source(false, Millis(T0 + 1_500));
    m.note_source(false, Millis(T0 + 2_500));
    m.note_source(true, Millis(T0 + 3_200));
    m.apply_partial(partial(T0 + 3_000, 4));
    m.apply_watermark(0, Millis(T0 + 6_000));
    let out = published(&mut m, T0 + 6_100);
    let down: Vec<(i64, bool)> = out
        .iter()
        .map(|w| (w.start.0 - T0, w.source_down))
        .collect();
    assert_eq!(
        down,
        vec![
            (0, false),
            (1_000, true),
            (2_000, true),
            (3_000, true),
            (4_000, false),
            (5_000, false)
        ]
    );
    // A late revision of a marked second keeps the mark.
    let revised = m.apply_partial(partial(T0 + 3_000, 5)).expect("a revision");
    assert!(revised.source_down && revised.count == 5);
    // In the JSON the mark is there when set, and absent otherwise.
    let json = serde_json::to_value(&revised).unwrap();
    assert_eq!(json["source_down"], true);
    let json = serde_json::to_value(&out[0]).unwrap();
    assert!(json.get("source_down").is_none(), "{json}");
}
