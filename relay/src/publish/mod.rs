//! Publishing: partial windows in, merged totals out — to the update log every SSE client
//! reads from, and to `/v1/counts`.

pub mod merge;
pub mod sse_frame;
pub mod task;
pub mod updates;

use std::sync::{Arc, RwLock};

use tokio::sync::watch;
use wire::{Millis, WindowRecord};

pub use merge::Merger;
pub use updates::{Backlog, UpdateLog};

/// What the publish task shares with HTTP handlers.
pub struct Published {
    pub merger: RwLock<Merger>,
    pub updates: UpdateLog,
    /// The sequence number of the newest update; SSE clients wait on it.
    pub latest: watch::Sender<u64>,
}

impl Published {
    pub fn new(merger: Merger, log_capacity: usize) -> Arc<Self> {
        let updates = UpdateLog::new(log_capacity);
        let (latest, _) = watch::channel(updates.last_seq());
        Arc::new(Published {
            merger: RwLock::new(merger),
            updates,
            latest,
        })
    }

    pub fn counts(&self, from: Millis, to: Millis) -> Vec<WindowRecord> {
        self.merger.read().expect("merger lock").range(from, to)
    }

    /// Appends records to the update log (serialized once, shared by every client) and wakes
    /// the clients.
    pub fn publish(&self, records: &[WindowRecord]) {
        if records.is_empty() {
            return;
        }
        let seq = self.updates.append(records);
        self.latest.send_replace(seq);
    }
}
