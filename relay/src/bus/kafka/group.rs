//! A counter's consumer: a member of the relays' consumer group on the input topic, which
//! knows per owned partition where it stands and whether it has caught up.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};
use rdkafka::topic_partition_list::{Offset, TopicPartitionList};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::group_reader::{self, Read};
use super::rebalance::{RebalanceForwarder, partitions_of};
use super::{KafkaSettings, METADATA_TIMEOUT, commit_metadata};
use crate::bus::{BusError, CommitPoint, GroupProbe, InputEvent};

/// A counter's consumer: a member of the relays' consumer group on the input topic.
pub struct KafkaInput {
    consumer: Arc<StreamConsumer<RebalanceForwarder>>,
    topic: String,
    group: String,
    reads: mpsc::Receiver<Read>,
    reader: JoinHandle<()>,
    at_end: BTreeSet<u32>,
    /// Partitions whose end was reached at least once since they were assigned.
    reached_end: BTreeSet<u32>,
    /// Next offset to read per owned partition, for the lag in health.
    positions: BTreeMap<u32, u64>,
    /// Per newly assigned partition, its end when it was assigned: reading up to there is
    /// reaching the end too. End-of-partition alone is not enough: under steady traffic a fetch
    /// is never empty, so it never comes, and a rebuilding counter would wait forever.
    backlog_ends: BTreeMap<u32, u64>,
    /// Bumped at every rebalance, so an answer about an earlier assignment is ignored.
    generation: u64,
    ends_tx: mpsc::UnboundedSender<BacklogEnd>,
    ends_rx: mpsc::UnboundedReceiver<BacklogEnd>,
}

/// Where a newly assigned partition ended, as the broker answered off the counting loop.
struct BacklogEnd {
    /// The assignment asked about ([`KafkaInput::generation`] then).
    generation: u64,
    partition: u32,
    end: u64,
}

impl KafkaInput {
    pub fn new(settings: &KafkaSettings, topic: &str, group: &str) -> Result<Self, BusError> {
        let (tx, rebalances) = mpsc::unbounded_channel();
        let consumer: StreamConsumer<RebalanceForwarder> = settings
            .counter_consumer_config(group)
            .create_with_context(RebalanceForwarder { tx })?;
        consumer.subscribe(&[topic])?;
        let consumer = Arc::new(consumer);
        let (reads, reader) = group_reader::spawn(consumer.clone(), rebalances);
        let (ends_tx, ends_rx) = mpsc::unbounded_channel();
        Ok(KafkaInput {
            consumer,
            topic: topic.to_string(),
            group: group.to_string(),
            reads,
            reader,
            at_end: BTreeSet::new(),
            reached_end: BTreeSet::new(),
            positions: BTreeMap::new(),
            backlog_ends: BTreeMap::new(),
            generation: 0,
            ends_tx,
            ends_rx,
        })
    }

    pub async fn next(&mut self) -> InputEvent {
        let read = match tokio::time::timeout(Duration::from_millis(100), self.reads.recv()).await {
            Ok(Some(read)) => read,
            Ok(None) => {
                // Only a panic ends the reader while this lives; say so rather than spin.
                tracing::error!("the input reader stopped; nothing more is counted");
                tokio::time::sleep(Duration::from_secs(1)).await;
                return InputEvent::Idle;
            }
            Err(_) => return InputEvent::Idle,
        };
        let event = match read {
            Read::Rebalance(e) => return self.note(e),
            Read::End(p) => {
                self.at_end.insert(p);
                self.reached_end.insert(p);
                InputEvent::Idle
            }
            Read::Records(batch) => {
                // Once per run of one partition's records, which is how librdkafka hands them
                // over: a run's last record is its partition's position.
                for run in batch.chunk_by(|a, b| a.partition == b.partition) {
                    if let Some(last) = run.last() {
                        self.at_end.remove(&last.partition);
                        self.positions.insert(last.partition, last.offset + 1);
                    }
                }
                InputEvent::Records(batch)
            }
        };
        self.note_backlog_ends();
        event
    }

    fn note_backlog_ends(&mut self) {
        while let Ok(BacklogEnd {
            generation,
            partition,
            end,
        }) = self.ends_rx.try_recv()
        {
            if generation == self.generation && !self.reached_end.contains(&partition) {
                self.backlog_ends.insert(partition, end);
            }
        }
        let positions = &self.positions;
        let reached = &mut self.reached_end;
        self.backlog_ends.retain(|p, end| {
            let done = positions.get(p).is_some_and(|pos| pos >= end);
            if done {
                reached.insert(*p);
            }
            !done
        });
    }

    /// Asks the broker, off the counting loop, where each newly assigned partition ends.
    fn fetch_backlog_ends(&self, partitions: Vec<u32>) {
        let consumer = self.consumer.clone();
        let topic = self.topic.clone();
        let tx = self.ends_tx.clone();
        let generation = self.generation;
        tokio::task::spawn_blocking(move || {
            for p in partitions {
                if let Ok((_, high)) = consumer.fetch_watermarks(&topic, p as i32, METADATA_TIMEOUT)
                {
                    let _ = tx.send(BacklogEnd {
                        generation,
                        partition: p,
                        end: high.max(0) as u64,
                    });
                }
            }
        });
    }

    fn note(&mut self, e: InputEvent) -> InputEvent {
        if matches!(e, InputEvent::Assigned(_) | InputEvent::Revoked(_)) {
            self.generation += 1;
        }
        match &e {
            InputEvent::Assigned(ps) => {
                let ps: Vec<u32> = ps.iter().map(|a| a.partition).collect();
                ps.iter().for_each(|p| {
                    self.at_end.remove(p);
                    self.reached_end.remove(p);
                    self.backlog_ends.remove(p);
                });
                self.fetch_backlog_ends(ps);
            }
            InputEvent::Revoked(ps) => ps.iter().for_each(|p| {
                self.at_end.remove(p);
                self.reached_end.remove(p);
                self.positions.remove(p);
                self.backlog_ends.remove(p);
            }),
            _ => {}
        }
        e
    }

    /// True when the counter has read everything the partition held when last asked.
    pub fn caught_up(&self, partition: u32) -> bool {
        self.at_end.contains(&partition)
    }

    /// True once the counter has read the partition to its end since it was assigned, even if
    /// records arrived since: the backlog from the commit point has been re-read.
    pub fn reached_end(&self, partition: u32) -> bool {
        self.reached_end.contains(&partition)
    }

    /// Commits the given next offsets; `wait` blocks until the broker confirmed (shutdown,
    /// revocation), otherwise the commit is sent and the counting goes on.
    pub fn commit(&self, cuts: &[CommitPoint], wait: bool) -> Result<(), BusError> {
        if cuts.is_empty() {
            return Ok(());
        }
        let mut tpl = TopicPartitionList::new();
        for cut in cuts {
            let mut e = tpl.add_partition(&self.topic, cut.partition as i32);
            e.set_offset(Offset::Offset(cut.next_offset as i64))?;
            e.set_metadata(commit_metadata::write(cut.drop_horizon));
        }
        let mode = if wait {
            CommitMode::Sync
        } else {
            CommitMode::Async
        };
        self.consumer.commit(&tpl, mode)?;
        Ok(())
    }

    /// Asks the broker for each owned partition's lag and for the group's size. Returns a
    /// closure to run on a blocking thread, since librdkafka's metadata calls block.
    pub fn probe(&self) -> impl FnOnce() -> GroupProbe + Send + 'static {
        let consumer = self.consumer.clone();
        let topic = self.topic.clone();
        let group = self.group.clone();
        let positions: BTreeMap<u32, u64> = self.positions.clone();
        move || {
            let mut lag = BTreeMap::new();
            let assigned = consumer
                .assignment()
                .map(|t| partitions_of(&t))
                .unwrap_or_default();
            for p in assigned {
                if let Ok((low, high)) =
                    consumer.fetch_watermarks(&topic, p as i32, Duration::from_millis(500))
                {
                    let pos = positions.get(&p).copied().unwrap_or(low.max(0) as u64);
                    lag.insert(p, (high.max(0) as u64).saturating_sub(pos));
                }
            }
            let members = consumer
                .fetch_group_list(Some(&group), Duration::from_millis(500))
                .ok()
                .and_then(|l| l.groups().first().map(|g| g.members().len() as u32));
            GroupProbe { lag, members }
        }
    }

    pub fn consumer(&self) -> Arc<StreamConsumer<RebalanceForwarder>> {
        self.consumer.clone()
    }
}

impl Drop for KafkaInput {
    /// The reader holds the consumer: without this it would keep the group membership alive.
    fn drop(&mut self) {
        self.reader.abort();
    }
}
