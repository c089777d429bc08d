//! The counter's side of the embedded bus: it owns every partition, from each one's commit
//! point (with the drop horizon stored beside it, exact), and reads the log in offset order.
//!
//! A thread of its own reads the log ahead of the counting loop and decodes the records, like
//! the Kafka reader (`kafka/group_reader.rs`), so that reading and counting run side by side
//! and the counting loop's `select!` only ever waits on a channel, which loses nothing when
//! another branch wins. The backlog a restart finds and the records written since are one
//! stream: the reader simply starts at the commit point.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use history::{Commit, InputLog, LogEntry};
use tokio::sync::mpsc;
use wire::Millis;

use super::EmbeddedBus;
use crate::bus::{Assignment, Content, Delivered, InputEvent};

/// Records per batch at most.
const BATCH: usize = 4_096;
/// Batches read ahead of the counting loop.
const AHEAD: usize = 4;
/// How long the reader sleeps when the log has nothing new, unless a write wakes it.
const POLL: Duration = Duration::from_millis(100);

pub struct EmbeddedConsumer {
    bus: Arc<EmbeddedBus>,
    assignment: Option<Vec<Assignment>>,
    /// Per partition: the log's end when the relay started. Until the counter has read that
    /// far it is rebuilding windows from the backlog (see [`EmbeddedConsumer::reached_end`]).
    backlog_end: Vec<u64>,
    batches: mpsc::Receiver<Vec<Delivered>>,
}

impl EmbeddedConsumer {
    pub(super) fn new(
        bus: Arc<EmbeddedBus>,
        reader: InputLog,
        commits: BTreeMap<u32, Commit>,
        starts: Vec<u64>,
    ) -> Self {
        // The stored horizon is the one the commit was made with, so the counter need not read
        // back before the commit point to rebuild it (`committed: None`).
        let assignment = (0..bus.partition_count())
            .map(|partition| Assignment {
                partition,
                drop_horizon: commits
                    .get(&partition)
                    .and_then(|c| c.drop_horizon_ms)
                    .map(Millis),
                committed: None,
            })
            .collect();
        let backlog_end = bus.ends.iter().map(|e| e.load(Ordering::Acquire)).collect();
        let (tx, batches) = mpsc::channel(AHEAD);
        let shared = bus.clone();
        std::thread::Builder::new()
            .name("embedded-bus-reader".into())
            .spawn(move || read_ahead(&shared, &reader, starts, &tx))
            .expect("spawn the embedded bus's reader thread");
        EmbeddedConsumer {
            bus,
            assignment: Some(assignment),
            backlog_end,
            batches,
        }
    }

    pub async fn next(&mut self) -> InputEvent {
        if let Some(all) = self.assignment.take() {
            return InputEvent::Assigned(all);
        }
        match tokio::time::timeout(POLL, self.batches.recv()).await {
            Ok(Some(batch)) => {
                // Handed over: from now on these records count as read for lag and caught-up.
                for d in &batch {
                    self.bus.read[d.partition as usize].fetch_max(d.offset + 1, Ordering::AcqRel);
                }
                self.bus.len.fetch_sub(batch.len(), Ordering::AcqRel);
                InputEvent::Records(batch)
            }
            Ok(None) => {
                // The reader stopped (the log could not be read; it said why): nothing more
                // comes, and the loop must not spin.
                tokio::time::sleep(POLL).await;
                InputEvent::Idle
            }
            Err(_) => InputEvent::Idle,
        }
    }

    /// Records of `partition` in the log the counter has not been given, backlog included, so
    /// the wall clock does not move the watermark past records still on disk.
    pub fn lag(&self, partition: u32) -> u64 {
        self.bus.lag(partition)
    }

    /// Records the commit points in the log (see [`EmbeddedBus::commit`]).
    pub fn commit(
        &self,
        cuts: &[crate::bus::CommitPoint],
        wait: bool,
    ) -> Result<(), crate::bus::BusError> {
        self.bus.commit(cuts, wait)
    }

    /// Whether the counter has been given everything the partition held when the relay started.
    pub fn reached_end(&self, partition: u32) -> bool {
        self.bus.read[partition as usize].load(Ordering::Acquire)
            >= self.backlog_end[partition as usize]
    }
}

/// The reader thread: from each partition's commit point on, every record in the log, in
/// offset order per partition, in batches; then what is written, as it is written.
fn read_ahead(
    bus: &EmbeddedBus,
    log: &InputLog,
    mut position: Vec<u64>,
    tx: &mpsc::Sender<Vec<Delivered>>,
) {
    let partitions = position.len();
    // Where the next batch starts looking, so one busy partition does not starve the rest.
    let mut first = 0;
    loop {
        // Read before looking, so a write between the look and the wait is not slept through.
        let seen = bus.writes();
        let mut batch = Vec::new();
        for k in 0..partitions {
            let p = (first + k) % partitions;
            let end = bus.ends[p].load(Ordering::Acquire);
            if position[p] >= end || batch.len() >= BATCH {
                continue;
            }
            let want = (BATCH - batch.len()).min((end - position[p]) as usize);
            match log.read(p as u32, position[p], want) {
                Ok(entries) => {
                    for e in entries {
                        position[p] = e.offset + 1;
                        batch.push(delivered(log, p as u32, e));
                    }
                }
                Err(e) => {
                    tracing::error!(error = %e, partition = p, "cannot read the embedded bus's log; counting stops");
                    return;
                }
            }
        }
        first = (first + 1) % partitions;
        if batch.is_empty() {
            if tx.is_closed() {
                return;
            }
            bus.wait_written(seen, POLL);
            continue;
        }
        if tx.blocking_send(batch).is_err() {
            return;
        }
    }
}

/// A record as the counter reads it: from its summary tag and key, or, where the tag does not
/// carry everything (an id the tag leaves in the payload), from the payload parsed.
fn delivered(log: &InputLog, partition: u32, e: LogEntry) -> Delivered {
    let content = Content::from_tag(&e.summary, Some(e.key.as_bytes())).unwrap_or_else(|| {
        let payload = log.payload(partition, e.offset).ok().flatten();
        Content::parse(payload.as_deref().unwrap_or_default())
    });
    Delivered {
        partition,
        offset: e.offset,
        ingest: Millis(e.ingest_ms),
        content,
    }
}
