//! The history file against real SQLite: what is written reads back after the file is reopened,
//! and a file that is not one, or is damaged, is refused without a byte of it changed.

mod files;

use history::{FILE_NAME, History, HistoryError};
use wire::{Millis, TypeCounts, WindowRecord};

fn second(start_s: i64, count: u64, is_final: bool, revision: u32) -> WindowRecord {
    let mut w = WindowRecord::empty(
        Millis(start_s * 1_000),
        Millis(start_s * 1_000 + 1_000),
        is_final,
    );
    w.count = count;
    w.revision = revision;
    w.humans = count / 2;
    w.bots = count - count / 2;
    w.by_type = TypeCounts {
        edit: count,
        ..TypeCounts::default()
    };
    w.top_wikis = vec![("enwiki".into(), count)];
    w.source_down = start_s % 7 == 0;
    w
}

#[test]
fn final_seconds_survive_reopening_and_revisions_replace() {
    let dir = tempfile::tempdir().unwrap();
    let written: Vec<_> = (1_700_000_000..1_700_000_100)
        .map(|s| second(s, (s % 13) as u64, true, 0))
        .collect();
    {
        let mut h = History::open_in(dir.path()).unwrap();
        assert_eq!(h.write(&written).unwrap(), 100);
        // Open seconds are not history: only the final one is written.
        let open = second(1_700_000_100, 5, false, 0);
        assert_eq!(h.write(&[open]).unwrap(), 0);
        let revised = second(1_700_000_050, 99, true, 1);
        assert_eq!(h.write(&[revised]).unwrap(), 1);
    }
    let h = History::open(&dir.path().join(FILE_NAME)).unwrap();
    let back = h.load(Millis(0)).unwrap();
    let mut want = written.clone();
    want[50] = second(1_700_000_050, 99, true, 1);
    assert_eq!(back, want);
    assert_eq!(h.earliest().unwrap(), Some(Millis(1_700_000_000_000)));
    assert_eq!(h.load(Millis(1_700_000_090_000)).unwrap(), want[90..]);
}

#[test]
fn forgetting_drops_only_older_seconds() {
    let dir = tempfile::tempdir().unwrap();
    let mut h = History::open_in(dir.path()).unwrap();
    let all: Vec<_> = (0..10).map(|s| second(s, s as u64, true, 0)).collect();
    h.write(&all).unwrap();
    assert_eq!(h.forget_before(Millis(4_000)).unwrap(), 4);
    assert_eq!(h.load(Millis(0)).unwrap(), all[4..]);
    assert_eq!(h.earliest().unwrap(), Some(Millis(4_000)));
}

#[test]
fn a_file_that_is_not_sqlite_is_refused_and_kept() {
    let bytes = b"{\"start\": 1}\nnot a database at all, but long enough to look like one....";
    let err = files::refused(bytes, History::open);
    assert!(matches!(err, HistoryError::Foreign { .. }), "{err}");
    assert!(err.to_string().contains("not an SQLite database"), "{err}");
}

#[test]
fn another_programs_database_is_refused_and_kept() {
    let src = tempfile::tempdir().unwrap();
    let other = src.path().join("other.db");
    let conn = files::python_sqlite(
        &other,
        "CREATE TABLE notes (body TEXT); INSERT INTO notes VALUES ('mine');",
    );
    drop(conn);
    let err = files::refused(&std::fs::read(&other).unwrap(), History::open);
    assert!(matches!(err, HistoryError::Foreign { .. }), "{err}");
}

#[test]
fn a_newer_schema_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    drop(History::open_in(dir.path()).unwrap());
    let path = dir.path().join(FILE_NAME);
    drop(files::python_sqlite(&path, "PRAGMA user_version = 99;"));
    let bytes = std::fs::read(&path).unwrap();
    let err = History::open(&path).err().expect("refused");
    assert!(
        matches!(err, HistoryError::Newer { found: 99, .. }),
        "{err}"
    );
    assert_eq!(std::fs::read(&path).unwrap(), bytes);
}

#[test]
fn a_damaged_file_is_refused_and_kept() {
    let dir = tempfile::tempdir().unwrap();
    {
        let mut h = History::open_in(dir.path()).unwrap();
        let many: Vec<_> = (0..2_000).map(|s| second(s, 7, true, 0)).collect();
        h.write(&many).unwrap();
    }
    let path = dir.path().join(FILE_NAME);
    // Fold the write-ahead log into the file, then scribble over the table's pages.
    drop(files::python_sqlite(
        &path,
        "PRAGMA wal_checkpoint(TRUNCATE);",
    ));
    let mut bytes = std::fs::read(&path).unwrap();
    assert!(bytes.len() > 3 * 4096, "{} bytes", bytes.len());
    for b in &mut bytes[4096..3 * 4096] {
        *b = 0xA5;
    }
    let dir2 = tempfile::tempdir().unwrap();
    let copy = dir2.path().join(FILE_NAME);
    std::fs::write(&copy, &bytes).unwrap();
    let outcome = History::open(&copy).and_then(|h| h.load(Millis(0)));
    let err = outcome.expect_err("a damaged file must not read as history");
    assert!(
        matches!(
            err,
            HistoryError::Damaged { .. } | HistoryError::Foreign { .. }
        ),
        "{err}"
    );
    assert_eq!(std::fs::read(&copy).unwrap(), bytes);
}
