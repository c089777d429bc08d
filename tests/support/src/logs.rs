//! Process log files: a child's stdout and stderr appended to one file, and the file's tail for
//! error messages.

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;
use std::process::Stdio;

use anyhow::Context;

/// Stdout and stderr handles that append to `path` (created, with its directory, if missing).
pub fn append(path: &Path) -> anyhow::Result<(Stdio, Stdio)> {
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let f = OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .with_context(|| format!("cannot open log {}", path.display()))?;
    let g = f.try_clone().context("clone log file handle")?;
    Ok((Stdio::from(f), Stdio::from(g)))
}

/// The last `lines` lines of a file (empty if it can't be read); reads at most the last 64 KiB.
pub fn tail(path: &Path, lines: usize) -> String {
    let Ok(mut f) = File::open(path) else {
        return String::new();
    };
    let len = f.metadata().map(|m| m.len()).unwrap_or(0);
    let _ = f.seek(SeekFrom::Start(len.saturating_sub(64 * 1024)));
    let mut buf = Vec::new();
    let _ = f.read_to_end(&mut buf);
    let text = String::from_utf8_lossy(&buf);
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}
