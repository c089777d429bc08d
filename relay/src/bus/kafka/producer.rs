//! The input producer: a gateway request's or a source's records onto the input topic, with
//! one acknowledgement count per batch.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rdkafka::ClientContext;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{BaseRecord, DeliveryResult, Producer, ProducerContext, ThreadedProducer};
use tokio::sync::Notify;

use super::KafkaSettings;
use super::context::log_client_error;
use crate::bus::{BusError, InputRecord};

/// The input producer's librdkafka client, also used to probe the broker.
pub type InputClient = Arc<ThreadedProducer<Acks>>;

pub struct KafkaInputProducer {
    producer: InputClient,
    topic: String,
    in_flight: Arc<AtomicU64>,
    reachable: Arc<AtomicBool>,
}

impl KafkaInputProducer {
    pub fn new(settings: &KafkaSettings, topic: &str) -> Result<Self, BusError> {
        let c = settings.producer_config(5);
        Ok(KafkaInputProducer {
            producer: Arc::new(c.create_with_context(Acks)?),
            topic: topic.to_string(),
            in_flight: Arc::new(AtomicU64::new(0)),
            reachable: Arc::new(AtomicBool::new(true)),
        })
    }

    pub fn in_flight(&self) -> u64 {
        self.in_flight.load(Ordering::Relaxed)
    }

    /// The flag the broker probe keeps current; the gateway refuses at once while it is down
    /// instead of holding requests for the full delivery timeout.
    pub fn reachable(&self) -> Arc<AtomicBool> {
        self.reachable.clone()
    }

    pub fn client(&self) -> InputClient {
        self.producer.clone()
    }

    pub async fn send(&self, records: Vec<InputRecord>) -> Result<(), BusError> {
        if !self.reachable.load(Ordering::Relaxed) {
            return Err(BusError::Unreachable(
                "no broker answered the last probe".into(),
            ));
        }
        let n = records.len() as u64;
        self.in_flight.fetch_add(n, Ordering::Relaxed);
        let result = self.send_all(records).await;
        self.in_flight.fetch_sub(n, Ordering::Relaxed);
        result
    }

    /// One acknowledgement count per batch rather than a future per record: librdkafka's
    /// delivery callback counts the batch down, and the last one wakes the request.
    async fn send_all(&self, records: Vec<InputRecord>) -> Result<(), BusError> {
        let batch = Arc::new(Batch::new(records.len()));
        // librdkafka copies each payload in, so one buffer serves the whole batch.
        let mut payload = Vec::with_capacity(4096);
        for r in &records {
            r.summary.tag(&r.payload, &mut payload);
            loop {
                let record = BaseRecord::with_opaque_to(&self.topic, batch.clone())
                    .key(&r.key)
                    .payload(&payload[..])
                    .timestamp(r.ingest.0);
                match self.producer.send(record) {
                    Ok(()) => break,
                    Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), _)) => {
                        tokio::time::sleep(Duration::from_millis(2)).await;
                    }
                    // What was handed over is still delivered, and counted down, in the background.
                    Err((e, _)) => return Err(e.into()),
                }
            }
        }
        batch.acked.notified().await;
        match batch.error.lock().expect("batch lock").take() {
            Some(e) => Err(e.into()),
            None => Ok(()),
        }
    }

    pub async fn flush(&self) {
        let p = self.producer.clone();
        let _ = tokio::task::spawn_blocking(move || p.flush(Duration::from_secs(10))).await;
    }
}

/// A gateway request's (or a source chunk's) records in flight.
pub struct Batch {
    remaining: AtomicUsize,
    error: Mutex<Option<KafkaError>>,
    acked: Notify,
}

impl Batch {
    fn new(n: usize) -> Batch {
        let b = Batch {
            remaining: AtomicUsize::new(n),
            error: Mutex::new(None),
            acked: Notify::new(),
        };
        if n == 0 {
            b.acked.notify_one();
        }
        b
    }
}

/// The input producer's context: delivery reports count their batch down.
pub struct Acks;

impl ClientContext for Acks {
    fn error(&self, error: KafkaError, reason: &str) {
        log_client_error(error, reason);
    }
}

impl ProducerContext for Acks {
    type DeliveryOpaque = Arc<Batch>;

    fn delivery(&self, result: &DeliveryResult<'_>, batch: Arc<Batch>) {
        if let Err((e, _)) = result {
            batch
                .error
                .lock()
                .expect("batch lock")
                .get_or_insert_with(|| e.clone());
        }
        // `notify_one` keeps the wake-up if the request is not waiting yet.
        if batch.remaining.fetch_sub(1, Ordering::AcqRel) == 1 {
            batch.acked.notify_one();
        }
    }
}
