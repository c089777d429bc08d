//! The embedded bus's one writer: a thread of its own holding the log's write connection.
//!
//! Requests do not each open a transaction: the thread takes every append waiting when it
//! gets to them and writes them in one transaction (a group commit), then answers each. Under
//! load that turns 64 concurrent requests into one commit instead of 64 queued ones, and
//! offsets are handed out here, in the order the records are written, so a partition's log
//! and the order the counter reads it in are the same by construction. A failed transaction
//! fails every request in it and writes nothing: all or nothing per request still holds.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::sync::mpsc::{Receiver, Sender};
use std::time::{Duration, Instant};

use history::{Commit, InputLog, NewEntry};
use tokio::sync::oneshot;

use super::EmbeddedBus;
use crate::bus::{BusError, CommitPoint, InputRecord};

/// How long a waiting commit (at shutdown) may take before the counter stops waiting.
pub(super) const COMMIT_WAIT: Duration = Duration::from_secs(10);
/// Records below every commit point are deleted this often.
const PRUNE_EVERY: Duration = Duration::from_secs(10);
/// Most records one transaction takes: bounds a group's latency when requests pile up.
const GROUP_MAX: usize = 200_000;

/// Records with the partition each goes to.
pub(super) type Placed = Vec<(u32, InputRecord)>;
/// Where a request waits for its records to be written.
pub(super) type Done = oneshot::Sender<Result<(), BusError>>;

pub(super) enum Job {
    Append {
        placed: Placed,
        done: Done,
    },
    Commit {
        cuts: Vec<CommitPoint>,
        done: Option<Sender<Result<(), BusError>>>,
    },
}

pub(super) struct Writer {
    log: InputLog,
    /// Per partition: the next offset to hand out.
    next: Vec<u64>,
    bus: Arc<EmbeddedBus>,
    next_prune: Instant,
    /// Each record's summary tag, reused between groups.
    tags: Vec<Vec<u8>>,
}

impl Writer {
    pub(super) fn spawn(log: InputLog, next: Vec<u64>, jobs: Receiver<Job>, bus: Arc<EmbeddedBus>) {
        let mut w = Writer {
            log,
            next,
            bus,
            next_prune: Instant::now() + PRUNE_EVERY,
            tags: Vec::new(),
        };
        std::thread::Builder::new()
            .name("embedded-bus-writer".into())
            .spawn(move || w.run(&jobs))
            .expect("spawn the embedded bus's writer thread");
    }

    /// Runs until every sender is gone (the relay stopped).
    fn run(&mut self, jobs: &Receiver<Job>) {
        let mut group = Vec::new();
        let mut commits = Vec::new();
        while let Ok(first) = jobs.recv() {
            let mut records = 0;
            let mut next = Some(first);
            while let Some(job) = next.take() {
                match job {
                    Job::Append { placed, done } => {
                        records += placed.len();
                        group.push((placed, done));
                    }
                    Job::Commit { cuts, done } => commits.push((cuts, done)),
                }
                if records < GROUP_MAX {
                    next = jobs.try_recv().ok();
                }
            }
            if !group.is_empty() {
                self.append(&mut group);
            }
            for (cuts, done) in commits.drain(..) {
                self.commit(&cuts, done);
            }
        }
    }

    fn append(&mut self, group: &mut Vec<(Placed, Done)>) {
        let records = group.iter().flat_map(|(placed, _)| placed.iter());
        let total = records.clone().count();
        if self.tags.len() < total {
            self.tags.resize_with(total, Vec::new);
        }
        for ((_, r), tag) in records.clone().zip(self.tags.iter_mut()) {
            r.summary.tag(b"{}", tag);
        }
        let mut next = self.next.clone();
        let entries: Vec<NewEntry<'_>> = records
            .zip(&self.tags)
            .map(|((p, r), tag)| {
                let slot = &mut next[*p as usize];
                let offset = *slot;
                *slot += 1;
                NewEntry {
                    partition: *p,
                    offset,
                    ingest_ms: r.ingest.0,
                    key: &r.key,
                    summary: tag,
                    payload: &r.payload,
                }
            })
            .collect();
        let result = self.log.append(&entries);
        drop(entries);
        let outcome = match result {
            Ok(()) => {
                for (p, end) in next.iter().enumerate() {
                    self.bus.ends[p].store(*end, Ordering::Release);
                }
                self.next = next;
                self.bus.notify_written();
                Ok(())
            }
            Err(e) => {
                tracing::error!(error = %e, records = total, "cannot write events to the embedded bus's log; refusing them");
                Err(())
            }
        };
        for (_, done) in group.drain(..) {
            // A request that gave up (its client went away) no longer listens: nothing to do.
            let _ = done.send(outcome.map_err(|()| BusError::LogWrite));
        }
    }

    fn commit(&mut self, cuts: &[CommitPoint], done: Option<Sender<Result<(), BusError>>>) {
        let commits: Vec<Commit> = cuts
            .iter()
            .map(|c| Commit {
                partition: c.partition,
                next_offset: c.next_offset,
                drop_horizon_ms: c.drop_horizon.map(|h| h.0),
            })
            .collect();
        let result = self.log.commit(&commits).map_err(BusError::Log);
        if let Err(e) = &result {
            tracing::warn!(error = %e, "cannot record the counter's commit points");
        }
        if let Some(done) = done {
            let _ = done.send(result);
        }
        if Instant::now() >= self.next_prune {
            self.next_prune = Instant::now() + PRUNE_EVERY;
            match self.log.prune() {
                Ok(n) if n > 0 => tracing::debug!(records = n, "pruned the embedded bus's log"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "cannot prune the embedded bus's log"),
            }
        }
    }
}
