//! The output sink: partial windows and watermarks onto the output topic, acknowledged before
//! the input offsets that fed them are committed.

use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{DeliveryFuture, FutureProducer, FutureRecord};
use wire::Millis;

use super::KafkaSettings;
use crate::bus::{BusError, OutputRecord};

/// Writes partial windows and watermarks to the output topic.
///
/// Each input partition's records go to one output partition, in order, so a reader never
/// sees a partition's watermark pass a window before that window's final partial.
pub struct KafkaOutputSink {
    producer: FutureProducer,
    topic: String,
    partitions: u32,
    pending: Mutex<Vec<DeliveryFuture>>,
    reachable: Arc<AtomicBool>,
}

impl KafkaOutputSink {
    pub fn new(settings: &KafkaSettings, topic: &str, partitions: u32) -> Result<Self, BusError> {
        Ok(KafkaOutputSink {
            producer: settings.producer_config(0).create()?,
            topic: topic.to_string(),
            partitions: partitions.max(1),
            pending: Mutex::new(Vec::new()),
            reachable: Arc::new(AtomicBool::new(true)),
        })
    }

    pub fn reachable(&self) -> Arc<AtomicBool> {
        self.reachable.clone()
    }

    pub async fn send(&self, records: &[OutputRecord], now: Millis) -> Result<(), BusError> {
        let mut futures = Vec::with_capacity(records.len());
        for r in records {
            let payload = serde_json::to_vec(r).expect("output records serialize");
            let partition = (r.partition() % self.partitions) as i32;
            futures.push(
                enqueue(
                    &self.producer,
                    &self.topic,
                    Some(partition),
                    &r.key(),
                    &payload,
                    now,
                )
                .await?,
            );
        }
        self.pending.lock().expect("pending lock").extend(futures);
        Ok(())
    }

    /// Waits until everything sent so far is acknowledged; input offsets are committed only
    /// after this, so a crash can never commit past a window whose count was not written.
    pub async fn flush(&self) -> Result<(), BusError> {
        let pending: Vec<DeliveryFuture> =
            std::mem::take(&mut *self.pending.lock().expect("pending lock"));
        let mut first_error = None;
        for f in pending {
            if let Err(e) = delivered(f.await)
                && first_error.is_none()
            {
                first_error = Some(e);
            }
        }
        first_error.map_or(Ok(()), Err)
    }
}

/// Hands a record to librdkafka, waiting (asynchronously) while its queue is full.
async fn enqueue(
    producer: &FutureProducer,
    topic: &str,
    partition: Option<i32>,
    key: &str,
    payload: &[u8],
    ingest: Millis,
) -> Result<DeliveryFuture, BusError> {
    loop {
        let mut record = FutureRecord::to(topic)
            .key(key)
            .payload(payload)
            .timestamp(ingest.0);
        if let Some(p) = partition {
            record = record.partition(p);
        }
        match producer.send_result(record) {
            Ok(f) => return Ok(f),
            Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), _)) => {
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
            Err((e, _)) => return Err(e.into()),
        }
    }
}

fn delivered(
    done: Result<
        rdkafka::producer::future_producer::OwnedDeliveryResult,
        futures::channel::oneshot::Canceled,
    >,
) -> Result<(), BusError> {
    match done {
        Ok(Ok(_)) => Ok(()),
        Ok(Err((e, _))) => Err(e.into()),
        Err(_) => Err(BusError::Closed),
    }
}
