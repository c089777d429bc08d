//! The relay's durable state on the embedded bus: one SQLite file in the state directory
//! holding the final per-second counts ([`History`], `seconds.rs`) and the embedded bus's
//! input log with its commit points ([`InputLog`], `input_log.rs`). Kafka relays keep both on
//! their topics instead.
//!
//! SQLite because what is in it must survive a SIGKILL or a power cut mid-write (its journal
//! does that), a user can open it with the `sqlite3` tool, and it is compiled in (`bundled`).
//! The file is marked as EditPulse's (`application_id`) and versioned (`user_version`), so a
//! foreign, newer or damaged file is refused with a clear error and never written over; an
//! older one is brought up to date in place, in one transaction.
//!
//! One file rather than two: the counts a relay published and the input they were counted
//! from are then backed up, moved and deleted together, and can never disagree about which
//! relay wrote them. Several connections write it (the publish task's seconds, the bus's
//! writer and its commits); WAL lets readers go on while one writes, and a `busy_timeout`
//! makes a writer wait its turn instead of failing.

mod input_log;
mod seconds;

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, ErrorCode, TransactionBehavior};

pub use input_log::{Commit, InputLog, LogEntry, NewEntry};
pub use seconds::FinalSecond;

/// `application_id` of an EditPulse history file: "EPHS" in ASCII.
const APPLICATION_ID: i32 = 0x4550_4853;
/// The schema this code writes and reads: 1 held the seconds only; 2 adds the input log and
/// the partials of the seconds still open to revision; 3 adds each second's cube.
const SCHEMA: i32 = 3;
/// How long a write waits for another connection's transaction to end. Transactions here are
/// short (a batch of events, a second's record), so a wait this long means something is wrong.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Pages the write-ahead log may grow to before a commit folds it into the file itself. A
/// checkpoint copies pages and syncs the file, work that should not land on whichever
/// connection commits next (the bus's writer, the publish task): the relay checkpoints from a
/// thread of its own ([`InputLog::checkpoint`]) well before this, which is only the bound for
/// a file nobody checkpoints.
const WAL_AUTOCHECKPOINT: u32 = 16_384;

/// Bytes the write-ahead log file is cut back to once a checkpoint emptied it: a burst does
/// not leave a file of its size behind.
const WAL_SIZE_LIMIT: i64 = 64 << 20;

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
        History::open(&file_in(dir)?)
    }

    /// Opens (or creates) the history file at `path`, after checking that it is one.
    pub fn open(path: &Path) -> Result<History, HistoryError> {
        let path = path.to_path_buf();
        let conn = connect(&path)?;
        Ok(History { conn, path })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// The file's path in `dir`, which is created when missing.
fn file_in(dir: &Path) -> Result<PathBuf, HistoryError> {
    std::fs::create_dir_all(dir).map_err(|source| HistoryError::Dir {
        path: dir.to_path_buf(),
        source,
    })?;
    Ok(dir.join(FILE_NAME))
}

/// Opens a connection to the file at `path` after checking that it is a history file of this
/// schema, creating or upgrading it when it is empty or older.
fn connect(path: &Path) -> Result<Connection, HistoryError> {
    let mut conn = Connection::open(path).map_err(|e| classify(path, e))?;
    conn.busy_timeout(BUSY_TIMEOUT)
        .map_err(|e| classify(path, e))?;
    let (app_id, version, tables) = identify(&conn, path)?;
    match app_id {
        APPLICATION_ID if version > SCHEMA => {
            return Err(HistoryError::Newer {
                path: path.to_path_buf(),
                found: version,
            });
        }
        APPLICATION_ID if version == SCHEMA => {}
        APPLICATION_ID => create_or_upgrade(&mut conn, path)?,
        0 if tables == 0 => create_or_upgrade(&mut conn, path)?,
        0 => {
            return Err(HistoryError::Foreign {
                path: path.to_path_buf(),
                why: format!("an SQLite database with {tables} other tables or indexes"),
            });
        }
        other => {
            return Err(HistoryError::Foreign {
                path: path.to_path_buf(),
                why: format!("an SQLite database of application {other:#x}"),
            });
        }
    }
    // WAL: a write is one append, and readers (the bus's reader, the sqlite3 tool) never block
    // a writer. NORMAL: a commit survives the relay's death at once (it is in the log file,
    // which the OS holds) and a power cut from the next checkpoint on.
    conn.pragma_update(None, "journal_mode", "wal")
        .and_then(|()| conn.pragma_update(None, "synchronous", "normal"))
        .and_then(|()| conn.pragma_update(None, "wal_autocheckpoint", WAL_AUTOCHECKPOINT))
        .and_then(|()| conn.pragma_update(None, "journal_size_limit", WAL_SIZE_LIMIT))
        .map_err(|e| classify(path, e))?;
    Ok(conn)
}

/// `application_id`, `user_version` and how many schema objects the file has.
fn identify(conn: &Connection, path: &Path) -> Result<(i32, i32, i64), HistoryError> {
    let pragma = |name: &str| -> Result<i32, HistoryError> {
        conn.pragma_query_value(None, name, |r| r.get(0))
            .map_err(|e| classify(path, e))
    };
    let (app_id, version) = (pragma("application_id")?, pragma("user_version")?);
    let tables: i64 = conn
        .query_row("SELECT count(*) FROM sqlite_schema", [], |r| r.get(0))
        .map_err(|e| classify(path, e))?;
    Ok((app_id, version, tables))
}

/// Creates the schema in an empty file, or adds what a version-1 file lacks. One immediate
/// transaction, and the version read again inside it: another connection opening the file at
/// the same moment (the relay opens several) either did all of it first or waits.
fn create_or_upgrade(conn: &mut Connection, path: &Path) -> Result<(), HistoryError> {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(|e| classify(path, e))?;
    let (app_id, version, _) = identify(&tx, path)?;
    let from = if app_id == APPLICATION_ID { version } else { 0 };
    if from < 1 {
        tx.execute_batch(&format!(
            "CREATE TABLE seconds (
                 start_ms INTEGER PRIMARY KEY,
                 record   TEXT NOT NULL
             );
             PRAGMA application_id = {APPLICATION_ID};"
        ))
        .map_err(|e| sqlite(path, e))?;
    }
    if from < 2 {
        tx.execute_batch(input_log::SCHEMA_V2)
            .and_then(|()| tx.execute_batch("ALTER TABLE seconds ADD COLUMN partials TEXT;"))
            .map_err(|e| sqlite(path, e))?;
    }
    if from < 3 {
        tx.execute_batch("ALTER TABLE seconds ADD COLUMN cube TEXT;")
            .map_err(|e| sqlite(path, e))?;
    }
    tx.execute_batch(&format!("PRAGMA user_version = {SCHEMA};"))
        .map_err(|e| sqlite(path, e))?;
    tx.commit().map_err(|e| sqlite(path, e))
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
