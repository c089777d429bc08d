//! The input topic read by time: per partition, `offsets_for_times` finds the first record
//! stamped at the start of the range's ingest times, and a plain consumer (assigned, no group,
//! nothing committed) reads from there until a record is stamped past their end or the
//! partition's end as it was when the read began.

use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::message::Message;
use rdkafka::{Offset, TopicPartitionList};
use wire::Millis;

use super::store::{Reader, StoreError};
use crate::bus::Content;
use crate::bus::kafka::KafkaSettings;

/// How long a metadata request (partitions, offsets by time, watermarks) may take.
const METADATA: Duration = Duration::from_secs(5);
/// How long one read may take in all: a range is a few minutes of records.
const READ: Duration = Duration::from_secs(20);

pub(super) fn scan(
    settings: &KafkaSettings,
    topic: &str,
    reader: &mut Reader<'_>,
) -> Result<(), StoreError> {
    let consumer: BaseConsumer = settings.edits_reader_config().create()?;
    let metadata = consumer.fetch_metadata(Some(topic), METADATA)?;
    let partitions = metadata
        .topics()
        .iter()
        .find(|t| t.name() == topic)
        .map(|t| t.partitions().len() as i32)
        .filter(|&n| n > 0)
        .ok_or_else(|| StoreError::NoTopic(topic.to_string()))?;
    let (lo, hi) = reader.ingest_range();
    let mut by_time = TopicPartitionList::new();
    for p in 0..partitions {
        by_time.add_partition_offset(topic, p, Offset::Offset(lo.0))?;
    }
    let starts = consumer.offsets_for_times(by_time, METADATA)?;
    // Per partition: where to stop (the end when the read began), whether records before the
    // start were deleted, and whether it is done.
    let mut ends = Vec::with_capacity(partitions as usize);
    let mut assign = TopicPartitionList::new();
    for p in 0..partitions {
        let (low, high) = consumer.fetch_watermarks(topic, p, METADATA)?;
        let start = match starts.find_partition(topic, p).map(|e| e.offset()) {
            Some(Offset::Offset(o)) => o.max(low),
            // No record stamped that late: nothing to read.
            _ => high,
        };
        let done = start >= high;
        if !done {
            assign.add_partition_offset(topic, p, Offset::Offset(start))?;
        }
        ends.push(End {
            high,
            trimmed: low > 0 && start <= low,
            done,
        });
    }
    if assign.count() == 0 {
        return Ok(());
    }
    consumer.assign(&assign)?;
    let deadline = Instant::now() + READ;
    while ends.iter().any(|e| !e.done) {
        if Instant::now() >= deadline {
            return Err(StoreError::Timeout(READ.as_secs()));
        }
        let Some(m) = consumer.poll(Duration::from_millis(100)) else {
            continue;
        };
        let m = match m {
            Ok(m) => m,
            Err(KafkaError::PartitionEOF(p)) => {
                if let Some(e) = ends.get_mut(p as usize) {
                    e.done = true;
                }
                continue;
            }
            Err(e) => return Err(e.into()),
        };
        let p = m.partition();
        let Some(end) = ends.get_mut(p as usize) else {
            continue;
        };
        if end.done {
            continue;
        }
        let ingest = Millis(m.timestamp().to_millis().unwrap_or(0));
        if std::mem::take(&mut end.trimmed) {
            // The partition's oldest record held: older ones were deleted by retention.
            reader.held_from(ingest);
        }
        if m.offset() + 1 >= end.high {
            end.done = true;
        }
        if ingest >= hi {
            end.done = true;
            continue;
        }
        // As the counter's reader decodes it (bus/kafka/group_reader.rs).
        let payload = m.payload().unwrap_or_default();
        let content =
            Content::from_tag(payload, m.key()).unwrap_or_else(|| Content::parse(payload));
        reader.record(p as u32, m.offset() as u64, ingest, content, || {
            Ok(payload.to_vec())
        })?;
    }
    Ok(())
}

struct End {
    high: i64,
    trimmed: bool,
    done: bool,
}
