//! The output reader: every partial window and watermark on the output topic, from `history`
//! ago on, for the merger.

use std::collections::BTreeMap;
use std::time::Duration;

use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::error::KafkaError;
use rdkafka::message::Message;
use rdkafka::topic_partition_list::{Offset, TopicPartitionList};

use super::context::QuietContext;
use super::{KafkaSettings, METADATA_TIMEOUT, topic_partitions};
use crate::bus::{BusError, OutputEvent, OutputRecord};

/// Reads every partial window and watermark from the output topic — every relay reads all of
/// them, so each can serve the merged totals to its browsers.
pub struct KafkaOutputSource {
    consumer: StreamConsumer<QuietContext>,
    /// Per partition still loading, the offset its history ends at (its end at start-up). The
    /// history is loaded when every partition reached it: under steady writes a fetch is never
    /// empty, so waiting for end-of-partition alone could wait forever.
    history_ends: BTreeMap<u32, i64>,
    loaded: bool,
}

impl KafkaOutputSource {
    /// Starts `history` before now, so a restarted relay serves the last hour again.
    pub async fn new(
        settings: &KafkaSettings,
        topic: &str,
        history: Duration,
    ) -> Result<Self, BusError> {
        let partitions = topic_partitions(settings, topic).await?;
        let consumer: StreamConsumer<QuietContext> = settings
            .output_reader_config()
            .create_with_context(QuietContext)?;
        let since = crate::clock::now().0 - history.as_millis() as i64;
        let mut tpl = TopicPartitionList::new();
        for p in 0..partitions {
            tpl.add_partition_offset(topic, p as i32, Offset::Offset(since))?;
        }
        let starts =
            tokio::task::block_in_place(|| consumer.offsets_for_times(tpl, METADATA_TIMEOUT))?;
        let mut assignment = TopicPartitionList::new();
        let mut history_ends = BTreeMap::new();
        for e in starts.elements() {
            let (_, high) = tokio::task::block_in_place(|| {
                consumer.fetch_watermarks(topic, e.partition(), METADATA_TIMEOUT)
            })?;
            // No record that recent: start at the partition's current end — as a number, not
            // the logical `End`, which librdkafka resolves only when it first fetches, and
            // counts written before that would be skipped.
            let start = match e.offset() {
                Offset::Offset(o) => o,
                _ => high.max(0),
            };
            if start < high {
                history_ends.insert(e.partition() as u32, high);
            }
            assignment.add_partition_offset(topic, e.partition(), Offset::Offset(start))?;
        }
        consumer.assign(&assignment)?;
        Ok(KafkaOutputSource {
            consumer,
            history_ends,
            loaded: false,
        })
    }

    pub async fn next(&mut self) -> OutputEvent {
        if !self.loaded && self.history_ends.is_empty() {
            self.loaded = true;
            return OutputEvent::Loaded;
        }
        match tokio::time::timeout(Duration::from_millis(100), self.consumer.recv()).await {
            Err(_) => OutputEvent::Idle,
            Ok(Ok(m)) => {
                let (partition, offset) = (m.partition() as u32, m.offset());
                if self
                    .history_ends
                    .get(&partition)
                    .is_some_and(|&end| offset + 1 >= end)
                {
                    self.history_ends.remove(&partition);
                }
                match m.payload().map(serde_json::from_slice::<OutputRecord>) {
                    Some(Ok(r)) => OutputEvent::Record(r),
                    _ => {
                        tracing::warn!(partition, offset, "unreadable output record skipped");
                        OutputEvent::Idle
                    }
                }
            }
            Ok(Err(KafkaError::PartitionEOF(p))) => {
                self.history_ends.remove(&(p as u32));
                OutputEvent::Idle
            }
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "output consumer");
                OutputEvent::Idle
            }
        }
    }
}
