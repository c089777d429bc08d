//! Seconds still open to revision keep their partials in the file, read back whole after a
//! reopen, and lose them once settled or rewritten without them.

use history::{FinalSecond, History};
use wire::{Cell, ChangeType, Cube, Millis, PartialWindow, WindowRecord};

fn record(start_s: i64, count: u64) -> WindowRecord {
    let start = Millis(start_s * 1_000);
    let mut w = WindowRecord::empty(start, start.plus(1_000), true);
    w.count = count;
    w.humans = count;
    w.by_type.edit = count;
    w
}

fn revisable(start_s: i64, counts: &[(u32, u64)]) -> FinalSecond {
    FinalSecond {
        record: record(start_s, counts.iter().map(|(_, n)| n).sum()),
        partials: Some(
            counts
                .iter()
                .map(|&(partition, n)| PartialWindow {
                    partition,
                    window: record(start_s, n),
                    cube: None,
                })
                .collect(),
        ),
        cube: Some(Cube::of(counts.iter().map(|&(partition, n)| {
            Cell::new(
                &format!("wiki{partition}"),
                ChangeType::Edit,
                false,
                true,
                n,
            )
        }))),
    }
}

#[test]
fn partials_read_back_until_settled_or_rewritten_without_them() {
    let dir = tempfile::tempdir().unwrap();
    let seconds = vec![
        revisable(100, &[(0, 3), (2, 4)]),
        revisable(101, &[]),
        revisable(102, &[(1, 9)]),
    ];
    {
        let mut h = History::open_in(dir.path()).unwrap();
        assert_eq!(h.write_seconds(&seconds).unwrap(), 3);
    }
    let mut h = History::open_in(dir.path()).unwrap();
    assert_eq!(h.load_seconds(Millis(0)).unwrap(), seconds);
    // The plain API still reads the totals.
    assert_eq!(
        h.load(Millis(0)).unwrap(),
        seconds.iter().map(|s| s.record.clone()).collect::<Vec<_>>()
    );
    // A revision written without partials replaces them too: they would no longer add up.
    h.write(&[record(102, 10)]).unwrap();
    assert_eq!(h.settle_before(Millis(101_000)).unwrap(), 1);
    let back = h.load_seconds(Millis(0)).unwrap();
    assert_eq!(back[0].partials, None);
    assert_eq!(back[1], seconds[1]);
    assert_eq!(
        back[2],
        FinalSecond {
            record: record(102, 10),
            partials: None,
            cube: None,
        }
    );
}
