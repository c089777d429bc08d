//! Publishing: partial windows in, merged totals out — to the update log every SSE client
//! reads from, and to `/v1/counts`.

pub mod feeds;
pub mod history_writer;
pub mod merge;
pub mod sse_encode;
pub mod task;
pub mod updates;

use std::sync::{Arc, RwLock};

use tokio::sync::watch;
use wire::{Filter, Millis, WindowRecord};

use self::feeds::Feeds;

pub use merge::Merger;
pub use updates::{Backlog, UpdateLog};

/// What the publish task shares with HTTP handlers.
pub struct Published {
    pub merger: RwLock<Merger>,
    pub updates: UpdateLog,
    /// The filtered streams in use.
    pub feeds: Feeds,
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
            feeds: Feeds::default(),
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

    /// The held seconds of `[from, to)` under `filter` (see [`Merger::filtered_range`]).
    pub fn filtered_counts(&self, from: Millis, to: Millis, filter: &Filter) -> Vec<WindowRecord> {
        if filter.is_all() {
            return self.counts(from, to);
        }
        let merger = self.merger.read().expect("merger lock");
        merger.filtered_range(from, to, &merger.compile(filter))
    }

    /// The held seconds of `[from, to)` under `filter` in buckets of `step` seconds, and the
    /// oldest second held.
    pub fn buckets(&self, from: Millis, to: Millis, step: u32, filter: &Filter) -> wire::Buckets {
        let merger = self.merger.read().expect("merger lock");
        let buckets = if filter.is_all() {
            merger.buckets(from, to, step)
        } else {
            merger.filtered_buckets(from, to, step, &merger.compile(filter))
        };
        wire::Buckets {
            step,
            buckets,
            earliest: merger.earliest(),
        }
    }

    /// Appends records to the update log (serialized once, shared by every client) and to
    /// each filtered stream's, and wakes the clients.
    pub fn publish(&self, records: &[WindowRecord]) {
        if records.is_empty() {
            return;
        }
        self.updates.append(records);
        if !self.feeds.is_empty() {
            let merger = self.merger.read().expect("merger lock");
            self.feeds.publish(records, |filter, records| {
                let f = merger.compile(filter);
                records
                    .iter()
                    .filter_map(|r| merger.filtered(r.start, &f, true))
                    .collect()
            });
        }
        self.wake_clients();
    }
}
