//! Publishing: partial windows in, merged totals out — to the update log every SSE client
//! reads from, and to `/v1/counts`.

pub mod history_writer;
pub mod merge;
pub mod sse_encode;
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
    /// Bumped whenever SSE clients may have something new to send: an update, a health
    /// report, shutdown. One signal, so a waiting client registers one waker, not one per
    /// source: at 10,000 clients, per-source registrations are a measurable share of every update.
    wake: watch::Sender<u64>,
}

impl Published {
    pub fn new(merger: Merger, log_capacity: usize) -> Arc<Self> {
        Arc::new(Published {
            merger: RwLock::new(merger),
            updates: UpdateLog::new(log_capacity),
            wake: watch::channel(0).0,
        })
    }

    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.wake.subscribe()
    }

    pub fn wake_clients(&self) {
        self.wake.send_modify(|n| *n = n.wrapping_add(1));
    }

    pub fn counts(&self, from: Millis, to: Millis) -> Vec<WindowRecord> {
        self.merger.read().expect("merger lock").range(from, to)
    }

    /// The held seconds of `[from, to)` in buckets of `step` seconds, and the oldest second held.
    pub fn buckets(&self, from: Millis, to: Millis, step: u32) -> wire::Buckets {
        let merger = self.merger.read().expect("merger lock");
        wire::Buckets {
            step,
            buckets: merger.buckets(from, to, step),
            earliest: merger.earliest(),
        }
    }

    /// Appends records to the update log (serialized once, shared by every client) and wakes
    /// the clients.
    pub fn publish(&self, records: &[WindowRecord]) {
        if records.is_empty() {
            return;
        }
        self.updates.append(records);
        self.wake_clients();
    }
}
