//! What the upstream client must remember across a relay restart: where to resume, and the
//! ids it already forwarded (a resume by timestamp repeats the boundary's events).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpstreamState {
    pub last_event_id: Option<String>,
    pub recent_ids: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

pub struct StateFile {
    path: PathBuf,
}

impl StateFile {
    pub fn new(dir: &Path) -> Self {
        StateFile {
            path: dir.join("upstream.json"),
        }
    }

    /// A missing or unreadable file means a fresh start; an unreadable one is logged.
    pub fn load(&self) -> UpstreamState {
        match std::fs::read(&self.path) {
            Ok(bytes) => serde_json::from_slice(&bytes).unwrap_or_else(|e| {
                tracing::warn!(path = %self.path.display(), error = %e, "ignoring unreadable upstream state");
                UpstreamState::default()
            }),
            Err(_) => UpstreamState::default(),
        }
    }

    /// Written to a temporary file and renamed, so a crash mid-write leaves the old state.
    pub fn save(&self, state: &UpstreamState) -> Result<(), StateError> {
        let err = |source| StateError::Write {
            path: self.path.clone(),
            source,
        };
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir).map_err(err)?;
        }
        let tmp = self.path.with_extension("json.tmp");
        std::fs::write(&tmp, serde_json::to_vec(state).expect("state serializes")).map_err(err)?;
        std::fs::rename(&tmp, &self.path).map_err(err)
    }
}
