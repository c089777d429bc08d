//! The bus between sources and counters: Kafka, or an embedded in-process bus with the same
//! semantics (partitions, offsets, keyed placement, per-partition order, commits) kept in an
//! SQLite file of the state directory, so that on both an acknowledged record survives the
//! relay's death.

pub mod embedded;
pub mod kafka;
pub mod open;
pub mod record;

use std::collections::BTreeMap;
use std::sync::Arc;

use wire::Millis;

pub use record::{Content, Delivered, InputRecord, OutputRecord, WikiName};

/// Why the bus could not take or give records.
#[derive(Debug, thiserror::Error)]
pub enum BusError {
    #[error("the embedded bus is full ({0} events waiting)")]
    Full(usize),
    #[error("the broker is unreachable: {0}")]
    Unreachable(String),
    #[error("kafka: {0}")]
    Kafka(#[from] rdkafka::error::KafkaError),
    #[error("the bus is shutting down")]
    Closed,
    /// The embedded bus's log could not be opened or written (the details are logged: a
    /// client is told only that its events were not taken).
    #[error("the embedded bus's log: {0}")]
    Log(#[source] history::HistoryError),
    #[error("the embedded bus could not write the events to its log")]
    LogWrite,
    #[error(
        "{file} holds input partitions up to {found}, more than --partitions {configured}: \
         their records would never be counted; start with --partitions {found} or more"
    )]
    PartitionsChanged {
        file: std::path::PathBuf,
        found: u32,
        configured: u32,
    },
}

/// Writes input records. Cloned freely: every source holds one.
#[derive(Clone)]
pub enum InputProducer {
    Embedded(Arc<embedded::EmbeddedBus>),
    Kafka(Arc<kafka::KafkaInputProducer>),
}

impl InputProducer {
    /// Resolves once every record is acknowledged (by the broker with `acks=all`, or written
    /// to the embedded bus's log), or fails without a partial success being reported as success.
    pub async fn send(&self, records: Vec<InputRecord>) -> Result<(), BusError> {
        match self {
            InputProducer::Embedded(bus) => bus.send(records).await,
            InputProducer::Kafka(p) => p.send(records).await,
        }
    }

    /// Records handed over and not yet acknowledged (on the embedded bus: taken and not yet
    /// read by the counter).
    pub fn in_flight(&self) -> u64 {
        match self {
            InputProducer::Embedded(bus) => bus.len() as u64,
            InputProducer::Kafka(p) => p.in_flight(),
        }
    }

    pub async fn flush(&self) {
        if let InputProducer::Kafka(p) = self {
            p.flush().await;
        }
    }
}

/// Where a counter may commit a partition: every offset before `next_offset` is counted and
/// written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CommitPoint {
    pub partition: u32,
    pub next_offset: u64,
    /// Windows starting before this were complete, written and dropped: a counter resuming from
    /// `next_offset` must not rebuild them from the few records of theirs it may read again.
    pub drop_horizon: Option<Millis>,
}

/// A partition a counter now owns, and what its last commit said about dropped windows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Assignment {
    pub partition: u32,
    pub drop_horizon: Option<Millis>,
    /// The committed offset, when the consumer starts a little before it to read the drop
    /// horizon back from the records there (a broker may not return commit metadata).
    pub committed: Option<u64>,
}

/// What the broker says of a counter's consumer group.
#[derive(Debug, Default)]
pub struct GroupProbe {
    /// Records not yet read, per owned partition.
    pub lag: BTreeMap<u32, u64>,
    /// Members of the group, when the broker answered.
    pub members: Option<u32>,
}

/// What a counter's consumer reports.
pub enum InputEvent {
    Records(Vec<Delivered>),
    /// Partitions this counter now owns (a consumer-group rebalance, or start-up).
    Assigned(Vec<Assignment>),
    /// Partitions taken away; their windows are dropped, the next owner recomputes them.
    Revoked(Vec<u32>),
    /// Nothing arrived for a while.
    Idle,
}

/// A counter's view of the input.
pub enum InputConsumer {
    Embedded(embedded::EmbeddedConsumer),
    Kafka(kafka::KafkaInput),
}

impl InputConsumer {
    pub async fn next(&mut self) -> InputEvent {
        match self {
            InputConsumer::Embedded(c) => c.next().await,
            InputConsumer::Kafka(c) => c.next().await,
        }
    }

    /// Whether the counter has read all the partition holds, so the wall clock may advance its
    /// watermark. While behind, the watermark follows the records' own timestamps instead.
    pub fn caught_up(&self, partition: u32) -> bool {
        match self {
            InputConsumer::Embedded(c) => c.lag(partition) == 0,
            InputConsumer::Kafka(c) => c.caught_up(partition),
        }
    }

    /// Lag per owned partition and the group's size, from the broker (blocking: run it on a
    /// blocking thread). None on the embedded bus, whose lag is known without asking.
    pub fn probe(&self) -> Option<impl FnOnce() -> GroupProbe + Send + 'static> {
        match self {
            InputConsumer::Embedded(_) => None,
            InputConsumer::Kafka(c) => Some(c.probe()),
        }
    }

    pub fn lag(&self, partition: u32) -> Option<u64> {
        match self {
            InputConsumer::Embedded(c) => Some(c.lag(partition)),
            InputConsumer::Kafka(_) => None,
        }
    }

    /// Whether the partition's backlog (from the commit point on) has been read once since it
    /// was assigned.
    pub fn reached_end(&self, partition: u32) -> bool {
        match self {
            InputConsumer::Embedded(c) => c.reached_end(partition),
            InputConsumer::Kafka(c) => c.reached_end(partition),
        }
    }

    pub fn commit(&self, cuts: &[CommitPoint], wait: bool) -> Result<(), BusError> {
        match self {
            InputConsumer::Embedded(c) => c.commit(cuts, wait),
            InputConsumer::Kafka(c) => c.commit(cuts, wait),
        }
    }
}

/// Where counters write partial windows and watermarks.
#[derive(Clone)]
pub enum OutputSink {
    Embedded(tokio::sync::mpsc::Sender<OutputRecord>),
    Kafka(Arc<kafka::KafkaOutputSink>),
}

impl OutputSink {
    pub async fn send(&self, records: Vec<OutputRecord>, now: Millis) -> Result<(), BusError> {
        match self {
            OutputSink::Embedded(tx) => {
                for r in records {
                    tx.send(r).await.map_err(|_| BusError::Closed)?;
                }
                Ok(())
            }
            OutputSink::Kafka(k) => k.send(&records, now).await,
        }
    }

    pub async fn flush(&self) -> Result<(), BusError> {
        match self {
            OutputSink::Embedded(_) => Ok(()),
            OutputSink::Kafka(k) => k.flush().await,
        }
    }
}

/// What the merger reads next.
pub enum OutputEvent {
    Record(OutputRecord),
    /// The history that was on the output topic at start-up has been read.
    Loaded,
    Idle,
}

/// Where the merger reads partial windows and watermarks from.
pub enum OutputSource {
    Embedded(tokio::sync::mpsc::Receiver<OutputRecord>),
    Kafka(kafka::KafkaOutputSource),
}

impl OutputSource {
    pub async fn next(&mut self) -> OutputEvent {
        match self {
            OutputSource::Embedded(rx) => {
                match tokio::time::timeout(std::time::Duration::from_millis(100), rx.recv()).await {
                    Ok(Some(r)) => OutputEvent::Record(r),
                    Ok(None) => {
                        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                        OutputEvent::Idle
                    }
                    Err(_) => OutputEvent::Idle,
                }
            }
            OutputSource::Kafka(k) => k.next().await,
        }
    }

    /// Whether history must be read before publishing (Kafka keeps it on the output topic; the
    /// embedded bus's relay loads its history file instead).
    pub fn has_history(&self) -> bool {
        matches!(self, OutputSource::Kafka(_))
    }
}
