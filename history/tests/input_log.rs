//! The embedded bus's input log against real SQLite: what is appended reads back after the file
//! is reopened, commit points never move back, pruning keeps exactly the records from each
//! commit point on, a version-1 file is upgraded in place with its seconds kept, and a file
//! that is not one is refused without a byte of it changed.

mod files;

use history::{Commit, FILE_NAME, History, HistoryError, InputLog, NewEntry};
use wire::{Millis, WindowRecord};

/// A record's fields: partition, offset, ingest time, key, summary tag, payload.
type Owned = (u32, u64, i64, String, Vec<u8>, Vec<u8>);

/// `n` records of `partition` from offset `from`, with distinct keys, tags and payloads.
fn owned(partition: u32, from: u64, n: u64) -> Vec<Owned> {
    (from..from + n)
        .map(|o| {
            (
                partition,
                o,
                1_700_000_000_000 + o as i64,
                format!("wiki{}", o % 5),
                format!("{{\"editpulse-summary-v3\":\"{o:022x}\"}}").into_bytes(),
                format!("{{\"meta\":{{\"id\":\"p{partition}-{o}\"}}}}").into_bytes(),
            )
        })
        .collect()
}

fn entries(owned: &[Owned]) -> Vec<NewEntry<'_>> {
    owned
        .iter()
        .map(|(p, o, t, k, s, b)| NewEntry {
            partition: *p,
            offset: *o,
            ingest_ms: *t,
            key: k,
            summary: s,
            payload: b,
        })
        .collect()
}

#[test]
fn appended_records_read_back_after_reopening_in_order_per_partition() {
    let dir = tempfile::tempdir().unwrap();
    let (p0, p3) = (owned(0, 0, 500), owned(3, 0, 40));
    {
        let mut log = InputLog::open_in(dir.path()).unwrap();
        // Interleaved batches, as the gateway's requests arrive.
        log.append(&entries(&p0[..250])).unwrap();
        log.append(&entries(&p3)).unwrap();
        log.append(&entries(&p0[250..])).unwrap();
    }
    let log = InputLog::open(&dir.path().join(FILE_NAME)).unwrap();
    let mut back = Vec::new();
    let mut from = 0;
    loop {
        let batch = log.read(0, from, 64).unwrap();
        let Some(last) = batch.last() else { break };
        from = last.offset + 1;
        back.extend(batch);
    }
    assert_eq!(back.len(), 500);
    for (got, want) in back.iter().zip(&p0) {
        assert_eq!(
            (got.offset, got.ingest_ms, &got.key, &got.summary),
            (want.1, want.2, &want.3, &want.4)
        );
    }
    let p3_back = log.read(3, 10, 1_000).unwrap();
    assert_eq!(p3_back.first().map(|e| e.offset), Some(10));
    assert_eq!(p3_back.len(), 30);
    assert!(log.read(1, 0, 10).unwrap().is_empty());
    assert_eq!(log.highest_partition().unwrap(), Some(3));
    assert_eq!(log.payload(3, 7).unwrap(), Some(p3[7].5.clone()));
    assert_eq!(log.payload(3, 40).unwrap(), None);
    assert_eq!(
        (log.next_offset(0).unwrap(), log.next_offset(3).unwrap()),
        (500, 40)
    );
    assert_eq!(log.next_offset(2).unwrap(), 0);
}

#[test]
fn a_batch_is_written_whole_or_not_at_all() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = InputLog::open_in(dir.path()).unwrap();
    assert_eq!(log.highest_partition().unwrap(), None);
    log.append(&entries(&owned(1, 0, 10))).unwrap();
    // Offset 9 is taken: the whole batch, the records before the clash too, is refused.
    let (fresh, clash) = (owned(1, 100, 5), owned(1, 9, 11));
    let mut batch = entries(&fresh);
    batch.extend(entries(&clash));
    assert!(log.append(&batch).is_err());
    assert_eq!(log.held(1).unwrap(), 10);
    assert!(log.read(1, 100, 10).unwrap().is_empty());
}

#[test]
fn commits_persist_never_move_back_and_pruning_keeps_what_follows_them() {
    let dir = tempfile::tempdir().unwrap();
    {
        let mut log = InputLog::open_in(dir.path()).unwrap();
        log.append(&entries(&owned(0, 0, 100))).unwrap();
        log.append(&entries(&owned(1, 0, 100))).unwrap();
        log.commit(&[
            Commit {
                partition: 0,
                next_offset: 60,
                drop_horizon_ms: Some(5_000),
            },
            Commit {
                partition: 1,
                next_offset: 100,
                drop_horizon_ms: None,
            },
        ])
        .unwrap();
        // A lower commit point is ignored, horizon and all.
        log.commit(&[Commit {
            partition: 0,
            next_offset: 20,
            drop_horizon_ms: Some(1_000),
        }])
        .unwrap();
        // At most 50 a partition at a time, the oldest first (no retention: keep from the
        // end of time).
        assert_eq!(log.prune(i64::MAX, 50).unwrap(), 100);
        assert_eq!(log.read(0, 0, 1).unwrap()[0].offset, 50);
        assert_eq!(log.prune(i64::MAX, 50).unwrap(), 60);
        assert_eq!(log.prune(i64::MAX, 50).unwrap(), 0);
    }
    let log = InputLog::open_in(dir.path()).unwrap();
    let commits = log.commits().unwrap();
    assert_eq!(
        commits[&0],
        Commit {
            partition: 0,
            next_offset: 60,
            drop_horizon_ms: Some(5_000),
        }
    );
    assert_eq!(commits[&1].next_offset, 100);
    assert_eq!((log.held(0).unwrap(), log.held(1).unwrap()), (40, 0));
    assert_eq!(log.read(0, 0, 1).unwrap()[0].offset, 60);
    // Offsets continue after the last record, or after the commit point when none is left.
    assert_eq!(
        (log.next_offset(0).unwrap(), log.next_offset(1).unwrap()),
        (100, 100)
    );
}

#[test]
fn the_log_and_the_seconds_share_the_file_and_write_side_by_side() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = InputLog::open_in(dir.path()).unwrap();
    let mut history = History::open_in(dir.path()).unwrap();
    let second = WindowRecord::empty(Millis(1_000), Millis(2_000), true);
    let records = owned(2, 0, 2_000);
    // The second connection writes while the first holds the file: it waits, never fails.
    std::thread::scope(|s| {
        s.spawn(|| {
            for chunk in records.chunks(100) {
                log.append(&entries(chunk)).unwrap();
            }
        });
        for _ in 0..50 {
            assert_eq!(history.write(std::slice::from_ref(&second)).unwrap(), 1);
        }
    });
    // A checkpoint that starts the write-ahead log over loses nothing of either.
    InputLog::open_in(dir.path())
        .unwrap()
        .checkpoint(0)
        .unwrap();
    assert_eq!(log.held(2).unwrap(), 2_000);
    assert_eq!(history.load(Millis(0)).unwrap(), vec![second]);
}

#[test]
fn a_version_1_file_is_upgraded_in_place_with_its_seconds() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(FILE_NAME);
    let record = serde_json::to_string(&WindowRecord::empty(Millis(5_000), Millis(6_000), true))
        .unwrap()
        .replace('\'', "''");
    files::python_sqlite(
        &path,
        &format!(
            "CREATE TABLE seconds (start_ms INTEGER PRIMARY KEY, record TEXT NOT NULL);
             INSERT INTO seconds VALUES (5000, '{record}');
             PRAGMA application_id = {};
             PRAGMA user_version = 1;",
            0x4550_4853
        ),
    );
    let mut log = InputLog::open(&path).unwrap();
    log.append(&entries(&owned(0, 0, 3))).unwrap();
    let history = History::open(&path).unwrap();
    assert_eq!(
        history.load(Millis(0)).unwrap(),
        vec![WindowRecord::empty(Millis(5_000), Millis(6_000), true)]
    );
    assert_eq!(log.held(0).unwrap(), 3);
    drop((log, history));
    let version = files::python_sqlite(&path, "");
    assert_eq!(version.trim(), "3");
}

#[test]
fn the_log_refuses_a_foreign_file_and_keeps_it() {
    let err = files::refused(
        b"not a database at all, but long enough to look like one........",
        InputLog::open,
    );
    assert!(matches!(err, HistoryError::Foreign { .. }), "{err}");
    let src = tempfile::tempdir().unwrap();
    let other = src.path().join("other.db");
    files::python_sqlite(&other, "CREATE TABLE notes (body TEXT);");
    let err = files::refused(&std::fs::read(&other).unwrap(), InputLog::open);
    assert!(matches!(err, HistoryError::Foreign { .. }), "{err}");
}

#[test]
fn the_log_refuses_a_damaged_file_and_keeps_it() {
    let dir = tempfile::tempdir().unwrap();
    {
        let mut log = InputLog::open_in(dir.path()).unwrap();
        log.append(&entries(&owned(0, 0, 3_000))).unwrap();
    }
    let path = dir.path().join(FILE_NAME);
    files::python_sqlite(&path, "PRAGMA wal_checkpoint(TRUNCATE);");
    let mut bytes = std::fs::read(&path).unwrap();
    assert!(bytes.len() > 3 * 4096, "{} bytes", bytes.len());
    for b in &mut bytes[4096..3 * 4096] {
        *b = 0xA5;
    }
    let dir2 = tempfile::tempdir().unwrap();
    let copy = dir2.path().join(FILE_NAME);
    std::fs::write(&copy, &bytes).unwrap();
    let err = InputLog::open(&copy)
        .and_then(|log| log.read(0, 0, 10_000))
        .expect_err("a damaged file must not read as a log");
    assert!(
        matches!(
            err,
            HistoryError::Damaged { .. } | HistoryError::Foreign { .. }
        ),
        "{err}"
    );
    assert_eq!(std::fs::read(&copy).unwrap(), bytes);
}

#[test]
fn pruning_keeps_what_the_retention_holds_even_behind_the_commit_point() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = InputLog::open_in(dir.path()).unwrap();
    log.append(&entries(&owned(0, 0, 100))).unwrap();
    log.append(&entries(&owned(1, 0, 100))).unwrap();
    log.commit(&[
        Commit {
            partition: 0,
            next_offset: 60,
            drop_horizon_ms: None,
        },
        Commit {
            partition: 1,
            next_offset: 20,
            drop_horizon_ms: None,
        },
    ])
    .unwrap();
    // Kept: from ingest time T0 + 30 on (offset 30), and from each commit point on.
    assert_eq!(log.prune(1_700_000_000_030, 1_000).unwrap(), 30 + 20);
    assert_eq!(log.first_held(0).unwrap(), Some((30, 1_700_000_000_030)));
    assert_eq!(log.first_held(1).unwrap(), Some((20, 1_700_000_000_020)));
    assert_eq!(log.prune(1_700_000_000_030, 1_000).unwrap(), 0);
}

#[test]
fn the_first_record_taken_in_at_a_time_is_found_by_bisection() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = InputLog::open_in(dir.path()).unwrap();
    // Ingest times T0, T0, T0+2, T0+2, …: two records a millisecond, every other one.
    let t0 = 1_700_000_000_000;
    let mut recs = owned(0, 0, 200);
    for r in &mut recs {
        r.2 = t0 + 2 * (r.1 as i64 / 2);
    }
    log.append(&entries(&recs)).unwrap();
    assert_eq!(log.offset_at(0, t0 - 1).unwrap(), 0);
    assert_eq!(log.offset_at(0, t0).unwrap(), 0);
    assert_eq!(log.offset_at(0, t0 + 1).unwrap(), 2);
    assert_eq!(log.offset_at(0, t0 + 2).unwrap(), 2);
    assert_eq!(log.offset_at(0, t0 + 101).unwrap(), 102);
    assert_eq!(log.offset_at(0, t0 + 198).unwrap(), 198);
    assert_eq!(log.offset_at(0, t0 + 199).unwrap(), 200);
    // An empty partition: its next offset.
    assert_eq!(log.offset_at(3, t0).unwrap(), 0);
    // After pruning, from the first record held.
    log.commit(&[Commit {
        partition: 0,
        next_offset: 50,
        drop_horizon_ms: None,
    }])
    .unwrap();
    log.prune(i64::MAX, 1_000).unwrap();
    assert_eq!(log.offset_at(0, t0).unwrap(), 50);
    assert_eq!(log.offset_at(0, t0 + 120).unwrap(), 120);
}
