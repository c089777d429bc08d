//! The input topic read by time: per partition, `offsets_for_times` finds the first record
//! stamped at the start of the range's ingest times, and a plain consumer (assigned, no group,
//! nothing committed) reads from there until a record is stamped past their end or the
//! partition's end as it was when the read began.
//!
//! Consumers are kept between reads ([`KafkaReaders`]): making one costs a connection to the
//! broker and its metadata, several round trips that a second's listing would otherwise pay
//! every time. Each read assigns its own offsets and unassigns after; librdkafka discards
//! what was fetched for an earlier assignment.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::message::Message;
use rdkafka::{Offset, TopicPartitionList};
use wire::Millis;

use super::store::{Reader, StoreError};
use crate::bus::Content;
use crate::bus::kafka::{KafkaSettings, QuietContext};

/// How long a metadata request (partitions, offsets by time, watermarks) may take.
const METADATA: Duration = Duration::from_secs(5);
/// How long one read may take in all: a range is a few minutes of records.
const READ: Duration = Duration::from_secs(20);
/// Consumers kept between reads; more are made while reads overlap and dropped after.
const MAX_IDLE: usize = 2;

/// A reader of the input topic. Quiet about reaching a partition's end, which every read of
/// the latest minutes does: librdkafka reports it as an error, logged at ERROR by default.
type Edits = BaseConsumer<QuietContext>;

/// The input topic's readers: idle consumers, taken by one read at a time.
pub struct KafkaReaders {
    settings: KafkaSettings,
    topic: String,
    idle: Mutex<Vec<Edits>>,
}

impl KafkaReaders {
    /// One consumer made now, so settings librdkafka refuses stop the relay at start; it
    /// connects on its first read.
    pub fn new(settings: KafkaSettings, topic: String) -> Result<KafkaReaders, StoreError> {
        let first: Edits = settings
            .edits_reader_config()
            .create_with_context(QuietContext)?;
        Ok(KafkaReaders {
            settings,
            topic,
            idle: Mutex::new(vec![first]),
        })
    }

    /// Reads the range `reader` asks for with an idle consumer (or a new one), which goes
    /// back to the idle ones unless the read failed: a consumer in an unknown state is dropped.
    pub(super) fn scan(&self, reader: &mut Reader<'_>) -> Result<(), StoreError> {
        let taken = self.idle.lock().unwrap_or_else(|p| p.into_inner()).pop();
        let consumer = match taken {
            Some(c) => c,
            None => self
                .settings
                .edits_reader_config()
                .create_with_context(QuietContext)?,
        };
        let result = scan(&consumer, &self.topic, reader);
        // Stops the fetches of this read, and its buffered records are dropped.
        let unassigned = consumer.unassign();
        if result.is_ok() && unassigned.is_ok() {
            let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
            if idle.len() < MAX_IDLE {
                idle.push(consumer);
            }
        }
        result
    }
}

fn scan(consumer: &Edits, topic: &str, reader: &mut Reader<'_>) -> Result<(), StoreError> {
    let started = Instant::now();
    let metadata = consumer.fetch_metadata(Some(topic), METADATA)?;
    let partitions = metadata
        .topics()
        .iter()
        .find(|t| t.name() == topic)
        .map(|t| t.partitions().len() as i32)
        .filter(|&n| n > 0)
        .ok_or_else(|| StoreError::NoTopic(topic.to_string()))?;
    let (lo, hi) = reader.ingest_range();
    // Three requests for all partitions at once: the first offset stamped at `lo`, the
    // oldest held and the end (timestamps -2 and -1 ask for those).
    let starts = offsets(consumer, topic, partitions, Offset::Offset(lo.0))?;
    let lows = offsets(consumer, topic, partitions, Offset::Beginning)?;
    let highs = offsets(consumer, topic, partitions, Offset::End)?;
    // Per partition: where to stop (the end when the read began), whether records before the
    // start were deleted, and whether it is done.
    let mut ends = Vec::with_capacity(partitions as usize);
    let mut assign = TopicPartitionList::new();
    for p in 0..partitions {
        let (low, high) = (
            lows[p as usize].unwrap_or(0),
            highs[p as usize].unwrap_or(0),
        );
        let start = match starts[p as usize] {
            Some(o) => o.max(low),
            // No record stamped that late: nothing to read.
            None => high,
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
    let located = started.elapsed();
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
                finish(&mut ends, p);
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
        let last = m.offset() + 1 >= end.high;
        if ingest >= hi {
            finish(&mut ends, p);
            continue;
        }
        // As the counter's reader decodes it (bus/kafka/group_reader.rs).
        let payload = m.payload().unwrap_or_default();
        let content =
            Content::from_tag(payload, m.key()).unwrap_or_else(|| Content::parse(payload));
        reader.record(p as u32, m.offset() as u64, ingest, content, || {
            Ok(payload.to_vec())
        })?;
        if last {
            finish(&mut ends, p);
        }
    }
    tracing::debug!(
        located_ms = located.as_secs_f64() * 1e3,
        read_ms = (started.elapsed() - located).as_secs_f64() * 1e3,
        "input topic read by time"
    );
    Ok(())
}

/// Each partition's offset for `at` (a timestamp, or the oldest or end offset), None where
/// no record is stamped that late. A partition the broker answers with an error fails the
/// read, as one `fetch_watermarks` would.
fn offsets(
    consumer: &Edits,
    topic: &str,
    partitions: i32,
    at: Offset,
) -> Result<Vec<Option<i64>>, StoreError> {
    let mut asked = TopicPartitionList::new();
    for p in 0..partitions {
        asked.add_partition_offset(topic, p, at)?;
    }
    let found = consumer.offsets_for_times(asked, METADATA)?;
    (0..partitions)
        .map(|p| {
            let Some(e) = found.find_partition(topic, p) else {
                return Ok(None);
            };
            e.error()?;
            Ok(match e.offset() {
                Offset::Offset(o) => Some(o),
                _ => None,
            })
        })
        .collect()
}

/// Partition `p` is read. It is not paused: measured, a partition paused in one read and
/// assigned again in the next stalled that read by a second in a quarter of reads; what it
/// still fetches is at most a fetch's worth, dropped.
fn finish(ends: &mut [End], p: i32) {
    if let Some(end) = ends.get_mut(p as usize) {
        end.done = true;
    }
}

struct End {
    high: i64,
    trimmed: bool,
    done: bool,
}
