//! The bus used when no broker is configured: partitions of records with offsets, placed by
//! key like Kafka places them, so the counting code cannot tell the difference — and, like a
//! topic, durable. Every record is in the input log of the state directory's SQLite file
//! (`history::InputLog`) before its producer hears Ok, so a 202 from the gateway means the
//! events survive a SIGKILL; the counter reads the log back from there and commits its cuts
//! (offset and exact drop horizon) to the same file, so a restarted relay re-reads from the
//! commit point and counts each acknowledged event exactly once, as on Kafka.
//!
//! - `writer.rs`: the one thread that writes the log (appends, commits, pruning every second
//!   what precedes both the commit points and the `--keep-edits` retention).
//! - `consumer.rs`: the counter's side: the backlog from the commit point, then what follows.
//!
//! Durable against the relay's death, not a power cut: the file is in WAL mode with
//! `synchronous=NORMAL` (a commit is in the log file the OS holds; it reaches the disk at the
//! next checkpoint). `FULL` would fsync every batch, which the gateway's rate cannot afford
//! on ordinary disks; Kafka with `acks=all` is what survives the loss of a machine.

mod consumer;
mod writer;

use std::hash::{Hash, Hasher};
use std::path::Path;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use history::InputLog;

pub use self::consumer::EmbeddedConsumer;
use self::writer::{Job, Writer};
use super::{BusError, CommitPoint, InputRecord};

pub struct EmbeddedBus {
    partitions: u32,
    jobs: std::sync::mpsc::Sender<Job>,
    /// Per partition: the offset after the last record written to the log (durable).
    ends: Vec<AtomicU64>,
    /// Per partition: the offset of the next record the counter has not been given.
    read: Vec<AtomicU64>,
    /// Records accepted and not yet given to the counter: the backlog found at start-up, what
    /// the writer holds, and what is in the log past the counter.
    len: AtomicUsize,
    capacity: usize,
    /// How many writes there were, and the reader's wake-up after each (it is a thread).
    writes: Mutex<u64>,
    written: Condvar,
}

impl EmbeddedBus {
    /// Opens the input log in `state_dir` (creating it when missing) and starts its writer.
    /// The consumer starts at each partition's commit point; new records get the offsets
    /// after the last one held.
    pub fn open(
        state_dir: &Path,
        partitions: u32,
        capacity: usize,
        keep_edits: Duration,
    ) -> Result<(Arc<Self>, EmbeddedConsumer), BusError> {
        let partitions = partitions.max(1);
        let log = InputLog::open_in(state_dir)
            .and_then(InputLog::without_checkpoints)
            .map_err(BusError::Log)?;
        let reader = InputLog::open_in(state_dir).map_err(BusError::Log)?;
        let commits = log.commits().map_err(BusError::Log)?;
        if let Some(p) = log
            .highest_partition()
            .map_err(BusError::Log)?
            .filter(|&p| p >= partitions)
        {
            // Records of a partition nobody reads would never be counted.
            return Err(BusError::PartitionsChanged {
                file: log.path().to_path_buf(),
                found: p + 1,
                configured: partitions,
            });
        }
        let mut ends = Vec::with_capacity(partitions as usize);
        let mut starts = Vec::with_capacity(partitions as usize);
        for p in 0..partitions {
            ends.push(log.next_offset(p).map_err(BusError::Log)?);
            starts.push(commits.get(&p).map_or(0, |c| c.next_offset));
        }
        let backlog: u64 = ends.iter().zip(&starts).map(|(e, s)| e - s).sum();
        if backlog > 0 {
            tracing::info!(
                file = %log.path().display(),
                records = backlog,
                "the embedded bus's log holds records not yet counted; counting them first"
            );
        }
        let (jobs, rx) = std::sync::mpsc::channel();
        let bus = Arc::new(EmbeddedBus {
            partitions,
            jobs,
            ends: ends.iter().map(|&e| AtomicU64::new(e)).collect(),
            read: starts.iter().map(|&s| AtomicU64::new(s)).collect(),
            len: AtomicUsize::new(backlog as usize),
            capacity,
            writes: Mutex::new(0),
            written: Condvar::new(),
        });
        Writer::spawn(log, ends, keep_edits, rx, Arc::downgrade(&bus));
        let checkpoints = InputLog::open_in(state_dir).map_err(BusError::Log)?;
        writer::spawn_checkpointer(checkpoints, Arc::downgrade(&bus));
        let consumer = EmbeddedConsumer::new(bus.clone(), reader, commits, starts);
        Ok((bus, consumer))
    }

    pub fn partition_count(&self) -> u32 {
        self.partitions
    }

    pub fn len(&self) -> usize {
        self.len.load(Ordering::Relaxed)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Writes `records` to the log in one transaction and resolves once they are there: all
    /// or nothing. A batch that would take the backlog past the capacity is refused whole
    /// before anything is written.
    pub async fn send(&self, records: Vec<InputRecord>) -> Result<(), BusError> {
        let n = records.len();
        if n == 0 {
            return Ok(());
        }
        let reserved = self.len.fetch_add(n, Ordering::AcqRel);
        if reserved + n > self.capacity {
            self.len.fetch_sub(n, Ordering::AcqRel);
            return Err(BusError::Full(reserved));
        }
        let placed = records
            .into_iter()
            .map(|r| (self.partition_of(&r.key), r))
            .collect();
        let (done, outcome) = tokio::sync::oneshot::channel();
        let result = match self.jobs.send(Job::Append { placed, done }) {
            Ok(()) => outcome.await.unwrap_or(Err(BusError::Closed)),
            Err(_) => Err(BusError::Closed),
        };
        if result.is_err() {
            self.len.fetch_sub(n, Ordering::AcqRel);
        }
        result
    }

    /// Records the counter's commit points; with `wait`, blocks until they are written.
    pub fn commit(&self, cuts: &[CommitPoint], wait: bool) -> Result<(), BusError> {
        if cuts.is_empty() {
            return Ok(());
        }
        let (done, outcome) = std::sync::mpsc::channel();
        let job = Job::Commit {
            cuts: cuts.to_vec(),
            done: wait.then_some(done),
        };
        self.jobs.send(job).map_err(|_| BusError::Closed)?;
        if wait {
            return outcome
                .recv_timeout(writer::COMMIT_WAIT)
                .unwrap_or(Err(BusError::Closed));
        }
        Ok(())
    }

    fn partition_of(&self, key: &str) -> u32 {
        // SipHash with fixed keys: the same wiki lands in the same partition after a restart.
        let mut h = std::collections::hash_map::DefaultHasher::new();
        key.hash(&mut h);
        (h.finish() % u64::from(self.partitions)) as u32
    }

    /// Records of `partition` in the log the counter has not been given.
    pub fn lag(&self, partition: u32) -> u64 {
        let p = partition as usize;
        let (end, read) = (
            self.ends[p].load(Ordering::Acquire),
            self.read[p].load(Ordering::Acquire),
        );
        end.saturating_sub(read)
    }

    /// How many writes there were so far.
    fn writes(&self) -> u64 {
        *self.writes.lock().expect("writes lock")
    }

    /// Wakes the reader: records were written.
    fn notify_written(&self) {
        *self.writes.lock().expect("writes lock") += 1;
        self.written.notify_all();
    }

    /// Waits until there were more than `seen` writes, or `timeout` passed.
    fn wait_written(&self, seen: u64, timeout: Duration) {
        let writes = self.writes.lock().expect("writes lock");
        let _ = self
            .written
            .wait_timeout_while(writes, timeout, |n| *n == seen)
            .expect("writes lock");
    }
}
