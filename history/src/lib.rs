//! The durable record of final per-second counts: one SQLite file in the relay's state
//! directory, written as each second becomes final (and again when a late event revises it),
//! read back whole when a relay on the embedded bus starts. Kafka relays keep theirs on the
//! output topic instead.
//!
//! SQLite because the record must survive a SIGKILL or a power cut mid-write (its journal
//! does that), a user can open it with the `sqlite3` tool, and it is compiled in (`bundled`).
//! The file is marked as EditPulse's (`application_id`) and versioned (`user_version`), so a
//! foreign, newer or damaged file is refused with a clear error and never written over.

use std::path::{Path, PathBuf};

use rusqlite::{Connection, ErrorCode, OptionalExtension, params};
use wire::{Millis, WindowRecord};

/// `application_id` of an EditPulse history file: "EPHS" in ASCII.
const APPLICATION_ID: i32 = 0x4550_4853;
/// The schema this code writes and reads.
const SCHEMA: i32 = 1;

/// The file's name inside the state directory.
pub const FILE_NAME: &str = "history.sqlite3";

#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    #[error(
        "{path}: not an EditPulse history file ({why}); it is left as it is: move it away, or \
         start the relay with another --state-dir"
    )]
    Foreign { path: PathBuf, why: String },
    #[error(
        "{path}: damaged ({source}); it is left as it is: move it away to start an empty \
         history, or repair it with the sqlite3 tool's .recover"
    )]
    Damaged {
        path: PathBuf,
        source: rusqlite::Error,
    },
    #[error("{path}: written by a newer EditPulse (schema {found}; this one reads {SCHEMA})")]
    Newer { path: PathBuf, found: i32 },
    #[error("cannot create {path}: {source}")]
    Dir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {source}")]
    Sqlite {
        path: PathBuf,
        source: rusqlite::Error,
    },
    #[error("{path}: second {start} does not read back as a count record: {source}")]
    Record {
        path: PathBuf,
        start: i64,
        source: serde_json::Error,
    },
}

/// An open history file.
pub struct History {
    conn: Connection,
    path: PathBuf,
}

impl History {
    /// Opens the history file in `dir`, creating both when missing.
    pub fn open_in(dir: &Path) -> Result<History, HistoryError> {
        std::fs::create_dir_all(dir).map_err(|source| HistoryError::Dir {
            path: dir.to_path_buf(),
            source,
        })?;
        History::open(&dir.join(FILE_NAME))
    }

    /// Opens (or creates) the history file at `path`, after checking that it is one.
    pub fn open(path: &Path) -> Result<History, HistoryError> {
        let path = path.to_path_buf();
        let conn = Connection::open(&path).map_err(|e| classify(&path, e))?;
        let mut history = History { conn, path };
        history.check_or_create()?;
        Ok(history)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn check_or_create(&mut self) -> Result<(), HistoryError> {
        let pragma = |name: &str| -> Result<i32, HistoryError> {
            self.conn
                .pragma_query_value(None, name, |r| r.get(0))
                .map_err(|e| classify(&self.path, e))
        };
        let (app_id, version) = (pragma("application_id")?, pragma("user_version")?);
        let tables: i64 = self
            .conn
            .query_row("SELECT count(*) FROM sqlite_schema", [], |r| r.get(0))
            .map_err(|e| classify(&self.path, e))?;
        match app_id {
            APPLICATION_ID if version > SCHEMA => {
                return Err(HistoryError::Newer {
                    path: self.path.clone(),
                    found: version,
                });
            }
            APPLICATION_ID => {}
            0 if tables == 0 => self.create()?,
            0 => {
                return Err(HistoryError::Foreign {
                    path: self.path.clone(),
                    why: format!("an SQLite database with {tables} other tables or indexes"),
                });
            }
            other => {
                return Err(HistoryError::Foreign {
                    path: self.path.clone(),
                    why: format!("an SQLite database of application {other:#x}"),
                });
            }
        }
        // WAL: a write is one append, and readers (the sqlite3 tool) never block the relay.
        // NORMAL: a commit survives the relay's death at once and a power cut from the next
        // checkpoint on; a second lost to a power cut is recounted from the bus anyway.
        self.conn
            .pragma_update(None, "journal_mode", "wal")
            .and_then(|()| self.conn.pragma_update(None, "synchronous", "normal"))
            .map_err(|e| classify(&self.path, e))
    }

    fn create(&mut self) -> Result<(), HistoryError> {
        let tx = self.conn.transaction().map_err(|e| sqlite(&self.path, e))?;
        tx.execute_batch(&format!(
            "CREATE TABLE seconds (
                 start_ms INTEGER PRIMARY KEY,
                 record   TEXT NOT NULL
             );
             PRAGMA application_id = {APPLICATION_ID};
             PRAGMA user_version = {SCHEMA};"
        ))
        .map_err(|e| sqlite(&self.path, e))?;
        tx.commit().map_err(|e| sqlite(&self.path, e))
    }

    /// Every final second from `since` on, oldest first.
    pub fn load(&self, since: Millis) -> Result<Vec<WindowRecord>, HistoryError> {
        let mut stmt = self
            .conn
            .prepare("SELECT start_ms, record FROM seconds WHERE start_ms >= ?1 ORDER BY start_ms")
            .map_err(|e| classify(&self.path, e))?;
        let rows = stmt
            .query_map([since.0], |r| {
                Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?))
            })
            .map_err(|e| classify(&self.path, e))?;
        let mut out = Vec::new();
        for row in rows {
            let (start, json) = row.map_err(|e| classify(&self.path, e))?;
            let record: WindowRecord =
                serde_json::from_str(&json).map_err(|source| HistoryError::Record {
                    path: self.path.clone(),
                    start,
                    source,
                })?;
            out.push(record);
        }
        Ok(out)
    }

    /// Writes the final seconds among `records` (a revision replaces what was written), in one
    /// transaction: when this returns, they survive the process.
    pub fn write(&mut self, records: &[WindowRecord]) -> Result<usize, HistoryError> {
        let tx = self.conn.transaction().map_err(|e| sqlite(&self.path, e))?;
        let mut written = 0;
        {
            let mut stmt = tx
                .prepare_cached(
                    "INSERT INTO seconds (start_ms, record) VALUES (?1, ?2)
                     ON CONFLICT (start_ms) DO UPDATE SET record = excluded.record",
                )
                .map_err(|e| sqlite(&self.path, e))?;
            for r in records.iter().filter(|r| r.is_final) {
                let json = serde_json::to_string(r).expect("wire types serialize");
                stmt.execute(params![r.start.0, json])
                    .map_err(|e| sqlite(&self.path, e))?;
                written += 1;
            }
        }
        tx.commit().map_err(|e| sqlite(&self.path, e))?;
        Ok(written)
    }

    /// Forgets the seconds before `before`; returns how many.
    pub fn forget_before(&mut self, before: Millis) -> Result<usize, HistoryError> {
        self.conn
            .execute("DELETE FROM seconds WHERE start_ms < ?1", [before.0])
            .map_err(|e| sqlite(&self.path, e))
    }

    /// The oldest second held, if any.
    pub fn earliest(&self) -> Result<Option<Millis>, HistoryError> {
        self.conn
            .query_row("SELECT min(start_ms) FROM seconds", [], |r| {
                r.get::<_, Option<i64>>(0)
            })
            .optional()
            .map(|v| v.flatten().map(Millis))
            .map_err(|e| sqlite(&self.path, e))
    }
}

fn sqlite(path: &Path, source: rusqlite::Error) -> HistoryError {
    HistoryError::Sqlite {
        path: path.to_path_buf(),
        source,
    }
}

/// Names the failures a user can act on: a file that is not SQLite, and one that is damaged.
fn classify(path: &Path, source: rusqlite::Error) -> HistoryError {
    match source.sqlite_error_code() {
        Some(ErrorCode::NotADatabase) => HistoryError::Foreign {
            path: path.to_path_buf(),
            why: "not an SQLite database".into(),
        },
        Some(ErrorCode::DatabaseCorrupt) => HistoryError::Damaged {
            path: path.to_path_buf(),
            source,
        },
        _ => sqlite(path, source),
    }
}
