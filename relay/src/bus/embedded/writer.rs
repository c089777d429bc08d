//! The embedded bus's one writer: a thread of its own holding the log's write connection.
//!
//! Requests do not each open a transaction: the thread takes every append waiting when it
//! gets to them and writes them in one transaction (a group commit), then answers each. Under
//! load that turns 64 concurrent requests into one commit instead of 64 queued ones, and
//! offsets are handed out here, in the order the records are written, so a partition's log
//! and the order the counter reads it in are the same by construction. A failed transaction
//! fails every request in it and writes nothing: all or nothing per request still holds.

use std::sync::Weak;
use std::sync::atomic::Ordering;
use std::sync::mpsc::{Receiver, Sender};
use std::time::{Duration, Instant};

use history::{Commit, InputLog, NewEntry};
use tokio::sync::oneshot;

use super::EmbeddedBus;
use crate::bus::{BusError, CommitPoint, InputRecord};

/// How long a waiting commit (at shutdown) may take before the counter stops waiting.
pub(super) const COMMIT_WAIT: Duration = Duration::from_secs(10);
/// Records below the commit points and older than the retention are deleted this often, at most [`PRUNE_MAX`] a partition
/// at a time: many small deletes between groups of appends rather than one long one that
/// would hold every request up.
const PRUNE_EVERY: Duration = Duration::from_secs(1);
const PRUNE_MAX: usize = 50_000;
/// Most records one transaction takes: bounds a group's latency when requests pile up, and
/// its size (~30 MB of events) to what the connection's page cache holds.
const GROUP_MAX: usize = 20_000;

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
    /// Weak: the bus owns the sender this thread reads from, so a strong reference here would
    /// keep both alive for ever; once the relay drops the bus, the thread ends and the file is
    /// closed.
    bus: Weak<EmbeddedBus>,
    next_prune: Instant,
    /// How long records are kept for `/v1/edits` once counted.
    keep_edits: Duration,
    /// Each record's summary tag, reused between groups.
    tags: Vec<Vec<u8>>,
}

impl Writer {
    pub(super) fn spawn(
        log: InputLog,
        next: Vec<u64>,
        keep_edits: Duration,
        jobs: Receiver<Job>,
        bus: Weak<EmbeddedBus>,
    ) {
        let mut w = Writer {
            log,
            next,
            bus,
            next_prune: Instant::now() + PRUNE_EVERY,
            keep_edits,
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
                if let Some(bus) = self.bus.upgrade() {
                    for (p, end) in next.iter().enumerate() {
                        bus.ends[p].store(*end, Ordering::Release);
                    }
                    bus.notify_written();
                }
                self.next = next;
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
            let keep_from = crate::clock::now().plus(-(self.keep_edits.as_millis() as i64));
            match self.log.prune(keep_from.0, PRUNE_MAX) {
                Ok(n) if n > 0 => tracing::debug!(records = n, "pruned the embedded bus's log"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "cannot prune the embedded bus's log"),
            }
        }
    }
}

/// How often the checkpointer folds the write-ahead log into the file.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(250);
/// A write-ahead log longer than this (64 MB of pages) is started over at the next checkpoint.
const RESTART_AFTER_PAGES: u32 = 16_384;

/// Checkpoints the file from a thread of its own, so that the writer (and the publish task's
/// connection) only ever append to the write-ahead log: a checkpoint copies every page written
/// since the last one and syncs the file, which on the writer's thread would stall every
/// request for as long. Ends once the bus is gone.
pub(super) fn spawn_checkpointer(log: InputLog, bus: Weak<EmbeddedBus>) {
    std::thread::Builder::new()
        .name("embedded-bus-checkpoint".into())
        .spawn(move || {
            let mut failing = false;
            while bus.strong_count() > 0 {
                std::thread::sleep(CHECKPOINT_EVERY);
                match log.checkpoint(RESTART_AFTER_PAGES) {
                    Ok(()) => failing = false,
                    Err(e) if !failing => {
                        failing = true;
                        tracing::warn!(error = %e, "cannot checkpoint the embedded bus's log");
                    }
                    Err(_) => {}
                }
            }
        })
        .expect("spawn the embedded bus's checkpoint thread");
}
