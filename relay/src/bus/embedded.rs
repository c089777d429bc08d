//! The in-process bus used when no broker is configured: partitions of queued records with
//! offsets, placed by key like Kafka places them, so the counting code cannot tell the
//! difference. It keeps nothing across a restart — that is what `--brokers` is for.

use std::collections::VecDeque;
use std::hash::{Hash, Hasher};
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::sync::Notify;

use super::{Assignment, BusError, Content, Delivered, InputEvent, InputRecord};

pub struct EmbeddedBus {
    partitions: Vec<Mutex<Partition>>,
    len: AtomicUsize,
    capacity: usize,
    ready: Notify,
}

struct Partition {
    next_offset: u64,
    queue: VecDeque<Delivered>,
}

impl EmbeddedBus {
    pub fn new(partitions: u32, capacity: usize) -> Arc<Self> {
        Arc::new(EmbeddedBus {
            partitions: (0..partitions.max(1))
                .map(|_| {
                    Mutex::new(Partition {
                        next_offset: 0,
                        queue: VecDeque::new(),
                    })
                })
                .collect(),
            len: AtomicUsize::new(0),
            capacity,
            ready: Notify::new(),
        })
    }

    pub fn partition_count(&self) -> u32 {
        self.partitions.len() as u32
    }

    pub fn len(&self) -> usize {
        self.len.load(Ordering::Relaxed)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// All or nothing: a batch that does not fit is refused whole.
    pub fn send(&self, records: Vec<InputRecord>) -> Result<(), BusError> {
        let n = records.len();
        let reserved = self.len.fetch_add(n, Ordering::AcqRel);
        if reserved + n > self.capacity {
            self.len.fetch_sub(n, Ordering::AcqRel);
            return Err(BusError::Full(reserved));
        }
        for r in records {
            let p = self.partition_of(&r.key);
            let mut part = self.partitions[p as usize].lock().expect("partition lock");
            let offset = part.next_offset;
            part.next_offset += 1;
            part.queue.push_back(Delivered {
                partition: p,
                offset,
                ingest: r.ingest,
                content: Content::Summarized {
                    summary: r.summary,
                    wiki: r.key.as_str().into(),
                },
            });
        }
        self.ready.notify_one();
        Ok(())
    }

    fn partition_of(&self, key: &str) -> u32 {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        key.hash(&mut h);
        (h.finish() % self.partitions.len() as u64) as u32
    }

    fn pop(&self, max: usize) -> Vec<Delivered> {
        let mut out = Vec::new();
        for part in &self.partitions {
            let mut part = part.lock().expect("partition lock");
            let take = part.queue.len().min(max.saturating_sub(out.len()));
            out.extend(part.queue.drain(..take));
        }
        self.len.fetch_sub(out.len(), Ordering::AcqRel);
        out
    }
}

/// The single counter of an embedded bus: it owns every partition.
pub struct EmbeddedConsumer {
    bus: Arc<EmbeddedBus>,
    announced: bool,
}

impl EmbeddedConsumer {
    pub fn new(bus: Arc<EmbeddedBus>) -> Self {
        EmbeddedConsumer {
            bus,
            announced: false,
        }
    }

    pub async fn next(&mut self) -> InputEvent {
        if !self.announced {
            self.announced = true;
            // Nothing survives a restart here, so there is no earlier drop horizon either.
            let all = (0..self.bus.partition_count()).map(|partition| Assignment {
                partition,
                drop_horizon: None,
                committed: None,
            });
            return InputEvent::Assigned(all.collect());
        }
        loop {
            let batch = self.bus.pop(4_096);
            if !batch.is_empty() {
                return InputEvent::Records(batch);
            }
            let woken =
                tokio::time::timeout(Duration::from_millis(100), self.bus.ready.notified()).await;
            if woken.is_err() && self.bus.is_empty() {
                return InputEvent::Idle;
            }
        }
    }

    pub fn lag(&self, partition: u32) -> u64 {
        self.bus.partitions[partition as usize]
            .lock()
            .expect("partition lock")
            .queue
            .len() as u64
    }
}
