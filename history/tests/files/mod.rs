//! What the history file's tests share: files that are not history, written without this
//! crate, and the check that a refused file is left as it was.

use std::path::Path;

use history::{FILE_NAME, HistoryError};

/// Writes `bytes` as the history file and opens it with `open`; asserts that it is refused
/// and that not a byte of it changed.
pub fn refused<T>(bytes: &[u8], open: impl Fn(&Path) -> Result<T, HistoryError>) -> HistoryError {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(FILE_NAME);
    std::fs::write(&path, bytes).unwrap();
    let err = open(&path).err().expect("refused");
    assert_eq!(std::fs::read(&path).unwrap(), bytes, "the file was changed");
    err
}

/// Runs `sql` on `path` with Python's sqlite3 (another program than this crate), then prints
/// `user_version`.
pub fn python_sqlite(path: &Path, sql: &str) -> String {
    let out = std::process::Command::new("python3")
        .args([
            "-c",
            "import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); c.executescript(sys.argv[2]); c.commit(); print(c.execute('PRAGMA user_version').fetchone()[0]); c.close()",
        ])
        .arg(path)
        .arg(sql)
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}
