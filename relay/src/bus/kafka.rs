//! Kafka through librdkafka: topic set-up, the input producer, the counters' consumer group,
//! and the output topic's producer and reader.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rdkafka::ClientContext;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{
    BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance, StreamConsumer,
};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::Message;
use rdkafka::producer::{
    BaseRecord, DeliveryFuture, DeliveryResult, FutureProducer, FutureRecord, Producer,
    ProducerContext, ThreadedProducer,
};
use rdkafka::topic_partition_list::{Offset, TopicPartitionList};
use tokio::sync::{Notify, mpsc};
use tokio::task::JoinHandle;
use wire::Millis;

use super::kafka_read::{self, Read};
use super::{BusError, InputEvent, InputRecord, OutputRecord};

const METADATA_TIMEOUT: Duration = Duration::from_secs(5);

/// Connection settings shared by every client the relay makes.
#[derive(Debug, Clone)]
pub struct KafkaSettings {
    pub brokers: String,
    /// `--kafka-option KEY=VALUE` pairs, applied last so they can override ours.
    pub extra: Vec<(String, String)>,
}

impl KafkaSettings {
    pub fn new(brokers: &str, options: &[String]) -> Result<Self, BusError> {
        let extra = options
            .iter()
            .map(|o| {
                o.split_once('=')
                    .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
                    .ok_or_else(|| {
                        BusError::Unreachable(format!("--kafka-option {o:?} is not KEY=VALUE"))
                    })
            })
            .collect::<Result<_, _>>()?;
        Ok(KafkaSettings {
            brokers: brokers.to_string(),
            extra,
        })
    }

    fn config(&self) -> ClientConfig {
        let mut c = ClientConfig::new();
        c.set("bootstrap.servers", &self.brokers);
        c.set("socket.keepalive.enable", "true");
        // A broker restart must not strand the relay: retry connections quickly.
        c.set("reconnect.backoff.ms", "100");
        c.set("reconnect.backoff.max.ms", "2000");
        c
    }

    fn finish(&self, mut c: ClientConfig) -> ClientConfig {
        for (k, v) in &self.extra {
            c.set(k, v);
        }
        c
    }

    /// A counter's consumer settings. Public so the benchmark's bare consumer, the limit the
    /// counting loop is measured against, reads with exactly these.
    pub fn counter_consumer_config(&self, group: &str) -> ClientConfig {
        let mut c = self.config();
        c.set("group.id", group);
        // Offsets are committed by hand, only up to a point from which a restart recomputes every
        // open window whole (see `window::counter`).
        c.set("enable.auto.commit", "false");
        c.set("auto.offset.reset", "earliest");
        // Reaching the end of a partition is how a counter knows it is caught up and may let
        // the wall clock advance the watermark.
        c.set("enable.partition.eof", "true");
        c.set("session.timeout.ms", "10000");
        c.set("heartbeat.interval.ms", "1000");
        // How long the broker may hold a fetch that finds nothing new. A count's latency to the
        // browser includes it twice (input, then output topic) when the broker does not answer
        // a waiting fetch as soon as records arrive (nisshi re-checks at halving intervals), so
        // keep it short; idle, it costs ~100 small requests a second per consumer.
        c.set("fetch.wait.max.ms", "10");
        // librdkafka pauses fetching for a second whenever its prefetch queue fills; with a
        // backlog that stalls the reader ~0.9 s in every second (measured: 3.7× the rate).
        c.set("fetch.queue.backoff.ms", "10");
        self.finish(c)
    }

    /// `linger_ms`: how long librdkafka waits to fill a batch. The input producer waits a little
    /// (many small gateway requests make one batch); the output sink does not, since a tick's
    /// windows are handed over together and every millisecond shows in the count's latency.
    /// Public, like the consumer's, for the benchmark's bare producer.
    pub fn producer_config(&self, linger_ms: u32) -> ClientConfig {
        let mut c = self.config();
        c.set("enable.idempotence", "true");
        c.set("acks", "all");
        c.set("linger.ms", linger_ms.to_string());
        c.set("batch.num.messages", "10000");
        c.set("queue.buffering.max.messages", "500000");
        // A gateway request waits for this at most before it is answered 503: long enough to
        // ride out a leader change, short enough for a client to retry elsewhere.
        c.set("message.timeout.ms", "10000");
        self.finish(c)
    }
}

/// Creates the input and output topics if missing and returns the input topic's partitions.
pub async fn ensure_topics(
    settings: &KafkaSettings,
    input: &str,
    output: &str,
    partitions: u32,
    replication: i32,
) -> Result<u32, BusError> {
    let admin: AdminClient<DefaultClientContext> = settings.finish(settings.config()).create()?;
    let topics = [
        NewTopic::new(
            input,
            partitions as i32,
            TopicReplication::Fixed(replication),
        ),
        NewTopic::new(
            output,
            partitions as i32,
            TopicReplication::Fixed(replication),
        ),
    ];
    let opts = AdminOptions::new().operation_timeout(Some(METADATA_TIMEOUT));
    for result in admin.create_topics(&topics, &opts).await? {
        match result {
            Ok(_) | Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
            Err((topic, code)) => {
                return Err(BusError::Unreachable(format!(
                    "cannot create topic {topic}: {code}"
                )));
            }
        }
    }
    topic_partitions(settings, input).await
}

/// The number of partitions of `topic`, waiting for fresh topics to show in metadata.
pub async fn topic_partitions(settings: &KafkaSettings, topic: &str) -> Result<u32, BusError> {
    let consumer: BaseConsumer = settings.finish(settings.config()).create()?;
    let topic = topic.to_string();
    tokio::task::spawn_blocking(move || {
        for _ in 0..50 {
            let md = consumer.fetch_metadata(Some(&topic), METADATA_TIMEOUT)?;
            if let Some(t) = md.topics().iter().find(|t| t.name() == topic)
                && !t.partitions().is_empty()
            {
                return Ok(t.partitions().len() as u32);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Err(BusError::Unreachable(format!(
            "topic {topic} has no partitions"
        )))
    })
    .await
    .map_err(|e| BusError::Unreachable(e.to_string()))?
}

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

/// Keeps the reachability flags current by asking for metadata once a second.
pub fn spawn_probe(
    producer: InputClient,
    flags: Vec<Arc<AtomicBool>>,
    on_change: impl Fn(Option<String>) + Send + 'static,
) {
    tokio::spawn(async move {
        let mut last = None;
        loop {
            let p = producer.clone();
            let answer = tokio::task::spawn_blocking(move || {
                p.client()
                    .fetch_metadata(None, Duration::from_millis(1_500))
                    .map(|m| m.brokers().len())
            })
            .await;
            let error = match answer {
                Ok(Ok(n)) if n > 0 => None,
                Ok(Ok(_)) => Some("the cluster reports no brokers".to_string()),
                Ok(Err(e)) => Some(e.to_string()),
                Err(e) => Some(e.to_string()),
            };
            for f in &flags {
                f.store(error.is_none(), Ordering::Relaxed);
            }
            if error != last {
                match &error {
                    None => tracing::info!("broker reachable"),
                    Some(e) => tracing::warn!(error = %e, "broker unreachable"),
                }
                on_change(error.clone());
                last = error;
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    });
}

/// Forwards consumer-group rebalances to the counting task.
pub struct RebalanceForwarder {
    tx: mpsc::UnboundedSender<InputEvent>,
}

impl ClientContext for RebalanceForwarder {
    fn error(&self, error: KafkaError, reason: &str) {
        log_client_error(error, reason);
    }
}

/// librdkafka reports reaching the end of a partition as an error; for us it is the signal
/// that a reader is caught up, not something to log.
fn log_client_error(error: KafkaError, reason: &str) {
    let eof = matches!(
        error,
        KafkaError::PartitionEOF(_) | KafkaError::Global(RDKafkaErrorCode::PartitionEOF)
    );
    if !eof && !reason.contains("PartitionEOF") {
        tracing::warn!(error = %error, reason, "kafka client");
    }
}

/// The context of the output topic's reader: quiet about end-of-partition.
pub struct QuietContext;

impl ClientContext for QuietContext {
    fn error(&self, error: KafkaError, reason: &str) {
        log_client_error(error, reason);
    }
}

impl ConsumerContext for QuietContext {}

impl ConsumerContext for RebalanceForwarder {
    fn pre_rebalance(&self, _: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if let Rebalance::Revoke(tpl) = rebalance {
            let _ = self.tx.send(InputEvent::Revoked(partitions_of(tpl)));
        }
    }

    fn post_rebalance(&self, _: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        match rebalance {
            Rebalance::Assign(tpl) => {
                let _ = self.tx.send(InputEvent::Assigned(partitions_of(tpl)));
            }
            Rebalance::Error(e) => tracing::warn!(error = %e, "rebalance failed"),
            Rebalance::Revoke(_) => {}
        }
    }
}

fn partitions_of(tpl: &TopicPartitionList) -> Vec<u32> {
    tpl.elements()
        .iter()
        .map(|e| e.partition() as u32)
        .collect()
}

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
    ends_tx: mpsc::UnboundedSender<(u64, u32, u64)>,
    ends_rx: mpsc::UnboundedReceiver<(u64, u32, u64)>,
}

impl KafkaInput {
    pub fn new(settings: &KafkaSettings, topic: &str, group: &str) -> Result<Self, BusError> {
        let (tx, rebalances) = mpsc::unbounded_channel();
        let consumer: StreamConsumer<RebalanceForwarder> = settings
            .counter_consumer_config(group)
            .create_with_context(RebalanceForwarder { tx })?;
        consumer.subscribe(&[topic])?;
        let consumer = Arc::new(consumer);
        let (reads, reader) = kafka_read::spawn(consumer.clone(), rebalances);
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
        while let Ok((generation, p, end)) = self.ends_rx.try_recv() {
            if generation == self.generation && !self.reached_end.contains(&p) {
                self.backlog_ends.insert(p, end);
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
                    let _ = tx.send((generation, p, high.max(0) as u64));
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
                ps.iter().for_each(|p| {
                    self.at_end.remove(p);
                    self.reached_end.remove(p);
                    self.backlog_ends.remove(p);
                });
                self.fetch_backlog_ends(ps.clone());
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
    pub fn commit(&self, cuts: &[(u32, u64)], wait: bool) -> Result<(), BusError> {
        if cuts.is_empty() {
            return Ok(());
        }
        let mut tpl = TopicPartitionList::new();
        for &(p, offset) in cuts {
            tpl.add_partition_offset(&self.topic, p as i32, Offset::Offset(offset as i64))?;
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
    pub fn probe(&self) -> impl FnOnce() -> (BTreeMap<u32, u64>, Option<u32>) + Send + 'static {
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
            (lag, members)
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

pub enum OutputEvent {
    Record(OutputRecord),
    /// The history that was in the topic at start-up has been read.
    Loaded,
    Idle,
}

impl KafkaOutputSource {
    /// Starts `history` before now, so a restarted relay serves the last hour again.
    pub async fn new(
        settings: &KafkaSettings,
        topic: &str,
        history: Duration,
    ) -> Result<Self, BusError> {
        let partitions = topic_partitions(settings, topic).await?;
        let mut c = settings.config();
        // Never committed and never shared: the group id only satisfies librdkafka.
        c.set(
            "group.id",
            format!("editpulse-reader-{}", std::process::id()),
        );
        c.set("enable.auto.commit", "false");
        c.set("enable.partition.eof", "true");
        c.set("fetch.wait.max.ms", "10");
        // librdkafka pauses fetching for a second whenever its prefetch queue fills; with a
        // backlog that stalls the reader ~0.9 s in every second (measured: 3.7× the rate).
        c.set("fetch.queue.backoff.ms", "10");
        let consumer: StreamConsumer<QuietContext> =
            settings.finish(c).create_with_context(QuietContext)?;
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
