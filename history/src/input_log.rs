//! The embedded bus's input log: every record the relay acknowledged, per partition and offset,
//! with each partition's commit point, so that a relay killed at any moment re-reads from the
//! commit point exactly what a Kafka relay would re-read from its topic.
//!
//! A record's row holds what a counter needs (ingest time, key, the summary tag) ahead of the
//! raw event: SQLite reads a row's columns in order and leaves the payload's overflow pages
//! alone when a read stops before it, so a counter re-reading a backlog does not pay for
//! payloads it does not look at. The payload is kept whole all the same, for readers of the
//! events themselves.
//!
//! Rows are keyed by one integer, `partition << 48 | offset`: the table is then its own index
//! (a rowid table, no second B-tree to update per insert), a partition's records are one
//! contiguous key range for reading and pruning, and 2^48 offsets outlast any partition.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rusqlite::{Connection, OptionalExtension, params};

use crate::{HistoryError, classify, connect, file_in, sqlite};

mod by_time;

/// What version 2 of the file adds to version 1.
pub(crate) const SCHEMA_V2: &str = "
    CREATE TABLE input_log (
        id           INTEGER PRIMARY KEY,
        ingest_ms    INTEGER NOT NULL,
        key          TEXT NOT NULL,
        summary      BLOB NOT NULL,
        payload      BLOB NOT NULL,
        partition_id INTEGER GENERATED ALWAYS AS (id >> 48) VIRTUAL,
        record_offset INTEGER GENERATED ALWAYS AS (id & 281474976710655) VIRTUAL
    );
    CREATE TABLE input_commits (
        partition_id    INTEGER PRIMARY KEY,
        next_offset     INTEGER NOT NULL,
        drop_horizon_ms INTEGER
    );";

const OFFSET_BITS: u32 = 48;
const MAX_OFFSET: u64 = (1 << OFFSET_BITS) - 1;

/// A record to append.
#[derive(Debug, Clone, Copy)]
pub struct NewEntry<'a> {
    pub partition: u32,
    pub offset: u64,
    pub ingest_ms: i64,
    pub key: &'a str,
    /// The event's summary tag (`codec::summary`), what a counter reads instead of the payload.
    pub summary: &'a [u8],
    pub payload: &'a [u8],
}

/// A record read back for counting (its payload is read on demand, see [`InputLog::payload`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEntry {
    pub offset: u64,
    pub ingest_ms: i64,
    pub key: String,
    pub summary: Vec<u8>,
}

/// A partition's commit point: every record before `next_offset` was counted and its windows
/// written; windows starting before `drop_horizon_ms` were complete and dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Commit {
    pub partition: u32,
    pub next_offset: u64,
    pub drop_horizon_ms: Option<i64>,
}

/// A connection to the input log in the history file. The relay holds two: one that writes
/// (appends, commits, pruning: one writer, so appends never wait on each other) and one that
/// reads for the counter.
pub struct InputLog {
    conn: Connection,
    path: PathBuf,
}

/// A record read for counting, from a row's first four columns: `id, ingest_ms, key, summary`.
fn log_entry(r: &rusqlite::Row<'_>) -> rusqlite::Result<LogEntry> {
    Ok(LogEntry {
        offset: r.get::<_, i64>(0)? as u64 & MAX_OFFSET,
        ingest_ms: r.get(1)?,
        key: r.get(2)?,
        summary: r.get(3)?,
    })
}

fn id(partition: u32, offset: u64) -> i64 {
    debug_assert!(offset <= MAX_OFFSET);
    ((u64::from(partition) << OFFSET_BITS) | offset) as i64
}

impl InputLog {
    /// Opens the log in the history file in `dir`, creating both when missing.
    pub fn open_in(dir: &Path) -> Result<InputLog, HistoryError> {
        InputLog::open(&file_in(dir)?)
    }

    /// Opens the log in the history file at `path`, after checking that it is one.
    pub fn open(path: &Path) -> Result<InputLog, HistoryError> {
        let path = path.to_path_buf();
        let conn = connect(&path)?;
        // A group of appends is tens of megabytes: with SQLite's default cache (2 MB) a
        // transaction spills pages to the write-ahead log before its commit and writes many
        // of them twice. The cache is allocated as used, so readers pay nothing for it.
        conn.pragma_update(None, "cache_size", -65_536)
            .map_err(|e| classify(&path, e))?;
        Ok(InputLog { conn, path })
    }

    /// Leaves checkpoints to another connection's [`InputLog::checkpoint`]: a commit on this
    /// one never stops to fold the write-ahead log into the file.
    pub fn without_checkpoints(self) -> Result<InputLog, HistoryError> {
        self.conn
            .pragma_update(None, "wal_autocheckpoint", 0)
            .map_err(|e| classify(&self.path, e))?;
        Ok(self)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends `entries` in one transaction: when this returns Ok they all survive the process;
    /// on an error none was written.
    pub fn append(&mut self, entries: &[NewEntry<'_>]) -> Result<(), HistoryError> {
        let path = &self.path;
        let tx = self.conn.transaction().map_err(|e| sqlite(path, e))?;
        {
            let mut stmt = tx
                .prepare_cached(
                    "INSERT INTO input_log (id, ingest_ms, key, summary, payload)
                     VALUES (?1, ?2, ?3, ?4, ?5)",
                )
                .map_err(|e| sqlite(path, e))?;
            for e in entries {
                stmt.execute(params![
                    id(e.partition, e.offset),
                    e.ingest_ms,
                    e.key,
                    e.summary,
                    e.payload
                ])
                .map_err(|e| sqlite(path, e))?;
            }
        }
        tx.commit().map_err(|e| sqlite(path, e))
    }

    /// Up to `limit` records of `partition` from offset `from` on, in offset order.
    pub fn read(
        &self,
        partition: u32,
        from: u64,
        limit: usize,
    ) -> Result<Vec<LogEntry>, HistoryError> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT id, ingest_ms, key, summary FROM input_log
                 WHERE id >= ?1 AND id <= ?2 ORDER BY id LIMIT ?3",
            )
            .map_err(|e| classify(&self.path, e))?;
        let rows = stmt
            .query_map(
                params![
                    id(partition, from.min(MAX_OFFSET)),
                    id(partition, MAX_OFFSET),
                    limit as i64
                ],
                log_entry,
            )
            .map_err(|e| classify(&self.path, e))?;
        rows.collect::<Result<_, _>>()
            .map_err(|e| classify(&self.path, e))
    }

    /// The raw event of one record, if the log holds it.
    pub fn payload(&self, partition: u32, offset: u64) -> Result<Option<Vec<u8>>, HistoryError> {
        self.conn
            .query_row(
                "SELECT payload FROM input_log WHERE id = ?1",
                [id(partition, offset)],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| classify(&self.path, e))
    }

    /// Records commit points in one transaction. A commit point never moves back: the records
    /// before the stored one may already be pruned, so a lower one could not be re-read.
    pub fn commit(&mut self, commits: &[Commit]) -> Result<(), HistoryError> {
        let path = &self.path;
        let tx = self.conn.transaction().map_err(|e| sqlite(path, e))?;
        {
            let mut stmt = tx
                .prepare_cached(
                    "INSERT INTO input_commits (partition_id, next_offset, drop_horizon_ms)
                     VALUES (?1, ?2, ?3)
                     ON CONFLICT (partition_id) DO UPDATE SET
                         drop_horizon_ms = CASE WHEN excluded.next_offset >= next_offset
                             THEN excluded.drop_horizon_ms ELSE drop_horizon_ms END,
                         next_offset = max(next_offset, excluded.next_offset)",
                )
                .map_err(|e| sqlite(path, e))?;
            for c in commits {
                stmt.execute(params![
                    c.partition,
                    c.next_offset as i64,
                    c.drop_horizon_ms
                ])
                .map_err(|e| sqlite(path, e))?;
            }
        }
        tx.commit().map_err(|e| sqlite(path, e))
    }

    /// Every partition's commit point.
    pub fn commits(&self) -> Result<BTreeMap<u32, Commit>, HistoryError> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT partition_id, next_offset, drop_horizon_ms FROM input_commits")
            .map_err(|e| classify(&self.path, e))?;
        let rows = stmt
            .query_map([], |r| {
                Ok(Commit {
                    partition: r.get(0)?,
                    next_offset: r.get::<_, i64>(1)? as u64,
                    drop_horizon_ms: r.get(2)?,
                })
            })
            .map_err(|e| classify(&self.path, e))?;
        rows.map(|r| r.map(|c| (c.partition, c)))
            .collect::<Result<_, _>>()
            .map_err(|e| classify(&self.path, e))
    }

    /// The offset the next record of `partition` gets: after the last one held, and never
    /// below the commit point (pruning may have left nothing held).
    pub fn next_offset(&self, partition: u32) -> Result<u64, HistoryError> {
        let last: Option<i64> = self
            .conn
            .query_row(
                "SELECT max(id) FROM input_log WHERE id >= ?1 AND id <= ?2",
                params![id(partition, 0), id(partition, MAX_OFFSET)],
                |r| r.get(0),
            )
            .map_err(|e| classify(&self.path, e))?;
        let after_last = last.map_or(0, |l| (l as u64 & MAX_OFFSET) + 1);
        let committed = self.commits()?.get(&partition).map_or(0, |c| c.next_offset);
        Ok(after_last.max(committed))
    }

    /// Copies what the write-ahead log holds into the file, without waiting for or blocking
    /// writers (SQLite's passive checkpoint): run off the write path, it keeps the log short.
    /// The log starts over only at a moment no reader is using it, which under steady reading
    /// and writing may not come: once it holds more than `restart_after` pages, the checkpoint
    /// copies the rest with writers held, waits for the readers (milliseconds: their reads
    /// are short) and starts it over, so it cannot grow without bound.
    pub fn checkpoint(&self, restart_after: u32) -> Result<(), HistoryError> {
        let run = |mode: &str| {
            self.conn
                .query_row(&format!("PRAGMA wal_checkpoint({mode})"), [], |r| {
                    r.get::<_, i64>(1)
                })
                .map_err(|e| classify(&self.path, e))
        };
        let pages = run("PASSIVE")?;
        if pages > i64::from(restart_after) {
            // Most of it was just copied: what RESTART copies with writers held is the rest.
            run("RESTART")?;
        }
        Ok(())
    }

    /// The highest partition the log holds records or a commit point of, if any.
    pub fn highest_partition(&self) -> Result<Option<u32>, HistoryError> {
        self.conn
            .query_row(
                // (The scalar max() of SQLite is NULL as soon as one argument is.)
                "SELECT max(coalesce((SELECT max(id) >> 48 FROM input_log), -1),
                            coalesce((SELECT max(partition_id) FROM input_commits), -1))",
                [],
                |r| r.get::<_, i64>(0),
            )
            .map(|p| u32::try_from(p).ok())
            .map_err(|e| classify(&self.path, e))
    }

    /// How many records of `partition` the log holds.
    pub fn held(&self, partition: u32) -> Result<u64, HistoryError> {
        self.conn
            .query_row(
                "SELECT count(*) FROM input_log WHERE id >= ?1 AND id <= ?2",
                params![id(partition, 0), id(partition, MAX_OFFSET)],
                |r| r.get::<_, i64>(0),
            )
            .map(|n| n as u64)
            .map_err(|e| classify(&self.path, e))
    }

    /// Deletes records that are both below their partition's commit point (a restart resumes
    /// from there, so the counter never reads them again) and taken in before `keep_from_ms`
    /// (`/v1/edits` lists them until then), the oldest first and at most `max` a partition, in
    /// one transaction; returns how many. Called often, it keeps each partition's records from
    /// the older of its commit point and the retention on, so the file's size follows the
    /// retention and the input rate, not the relay's age. (SQLite reuses the freed pages; the
    /// file does not shrink.)
    pub fn prune(&mut self, keep_from_ms: i64, max: usize) -> Result<usize, HistoryError> {
        let commits = self.commits()?;
        let mut cuts = Vec::with_capacity(commits.len());
        for c in commits.values() {
            let kept = self.offset_at(c.partition, keep_from_ms)?;
            cuts.push((c.partition, c.next_offset.min(kept)));
        }
        let path = &self.path;
        let tx = self.conn.transaction().map_err(|e| sqlite(path, e))?;
        let mut deleted = 0;
        for (partition, cut) in cuts {
            deleted += tx
                .execute(
                    "DELETE FROM input_log WHERE id IN (
                         SELECT id FROM input_log WHERE id >= ?1 AND id < ?2 ORDER BY id LIMIT ?3)",
                    params![
                        id(partition, 0),
                        id(partition, cut.min(MAX_OFFSET)),
                        max as i64
                    ],
                )
                .map_err(|e| sqlite(path, e))?;
        }
        tx.commit().map_err(|e| sqlite(path, e))?;
        Ok(deleted)
    }
}
