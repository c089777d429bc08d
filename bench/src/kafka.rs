//! Bare rdkafka clients: the limits the relay is compared with, and the topic pre-filler.
//! Their settings are the relay's own (`relay::bus::kafka::KafkaSettings`), so a ratio
//! measures the relay's work, not a different client configuration.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use anyhow::bail;
use futures::StreamExt;
use futures::stream::FuturesUnordered;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::Message;
use rdkafka::producer::{FutureProducer, FutureRecord};

/// The output topics' retention when a benchmark creates them: a run needs no history.
pub const BENCH_HISTORY: Duration = Duration::from_secs(3_600);

use codec::summary::Summary;
use relay::bus::kafka::KafkaSettings;

use crate::events::Fresh;

/// The relay's input producer settings (`KafkaSettings::producer_config`: idempotent,
/// `acks=all`, 5 ms linger), with a longer delivery timeout for filling large topics.
pub fn producer(brokers: &str) -> anyhow::Result<FutureProducer> {
    let settings = KafkaSettings::new(brokers, &[]);
    let mut c = settings.producer_config(5);
    c.set("message.timeout.ms", "30000");
    Ok(c.create()?)
}

/// Writes every event (keyed by wiki, timestamped `ingest_ms` or now) and waits for every
/// acknowledgement. Returns events per second from the first send to the last ack. With
/// `summarized` each payload is tagged with its summary exactly as a relay tags it (before the
/// clock starts); without, it is a record from some other producer.
pub async fn produce_all(
    producer: &FutureProducer,
    topic: &str,
    events: &[Fresh],
    ingest_ms: Option<i64>,
    summarized: bool,
) -> anyhow::Result<f64> {
    let stamp = |_: usize| ingest_ms.unwrap_or_else(|| relay::clock::now().0);
    produce_stamped(producer, topic, events, &stamp, summarized).await
}

/// As [`produce_all`], the `i`th event timestamped `stamp(i)`: a topic that took events in
/// over a past span, as a relay's gateway stamps them when they arrive.
pub async fn produce_stamped(
    producer: &FutureProducer,
    topic: &str,
    events: &[Fresh],
    stamp: &(dyn Fn(usize) -> i64 + Sync),
    summarized: bool,
) -> anyhow::Result<f64> {
    let payloads = events
        .iter()
        .map(|e| {
            let edit = codec::event::parse(&e.json).map_err(|err| anyhow::anyhow!("{err}"))?;
            Ok(summarized.then(|| {
                let mut tagged = Vec::new();
                Summary::of(&edit).tag(&e.json, &mut tagged);
                tagged
            }))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let start = Instant::now();
    let mut pending = FuturesUnordered::new();
    let mut acked = 0usize;
    let mut first_error = None;
    let mut note = |r: Result<rdkafka::producer::future_producer::OwnedDeliveryResult, _>| match r {
        Ok(Ok(_)) => acked += 1,
        Ok(Err((e, _))) => {
            first_error.get_or_insert_with(|| format!("{e}"));
        }
        Err(_) => {
            first_error.get_or_insert_with(|| "delivery canceled".to_string());
        }
    };
    for (i, (e, payload)) in events.iter().zip(&payloads).enumerate() {
        let ts = stamp(i);
        loop {
            let record = FutureRecord::to(topic)
                .key(e.wiki.as_str())
                .payload(payload.as_deref().unwrap_or(&e.json))
                .timestamp(ts);
            match producer.send_result(record) {
                Ok(f) => {
                    pending.push(f);
                    break;
                }
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), _)) => {
                    match pending.next().await {
                        Some(r) => note(r),
                        None => tokio::time::sleep(Duration::from_millis(1)).await,
                    }
                }
                Err((e, _)) => bail!("produce: {e}"),
            }
        }
    }
    while let Some(r) = pending.next().await {
        note(r);
    }
    let secs = start.elapsed().as_secs_f64();
    if let Some(e) = first_error {
        bail!(
            "{} of {} events not acknowledged: {e}",
            events.len() - acked,
            events.len()
        );
    }
    Ok(acked as f64 / secs)
}

/// A consumer with exactly the relay's counter settings (`KafkaSettings::counter_consumer_config`).
pub fn consumer(brokers: &str, group: &str) -> anyhow::Result<StreamConsumer> {
    let settings = KafkaSettings::new(brokers, &[]);
    Ok(settings.counter_consumer_config(group).create()?)
}

/// `k` bare consumers in one fresh group reading `n` records of `topic` between them: records
/// per second from the first record on (the group join before it is not timed). More than one
/// finds out whether one reader, rather than the broker, is what limits the rate.
pub async fn consume_n(
    brokers: &str,
    topic: &str,
    n: u64,
    k: usize,
    timeout: Duration,
) -> anyhow::Result<f64> {
    let group = support::names::unique("bench-bare");
    let got = Arc::new(AtomicU64::new(0));
    let first = Arc::new(OnceLock::<Instant>::new());
    let done = Arc::new(tokio::sync::Notify::new());
    let end = Arc::new(OnceLock::<Instant>::new());
    let deadline = tokio::time::Instant::now() + timeout;
    let mut readers = Vec::new();
    for _ in 0..k {
        let consumer = consumer(brokers, &group)?;
        consumer.subscribe(&[topic])?;
        let (got, first, end, done) = (got.clone(), first.clone(), end.clone(), done.clone());
        readers.push(tokio::spawn(async move {
            let mut bytes = 0usize;
            loop {
                match consumer.recv().await {
                    Ok(m) => {
                        first.get_or_init(Instant::now);
                        // Touch the payload, as any reader would.
                        bytes += m.payload().map_or(0, <[u8]>::len);
                        if got.fetch_add(1, Ordering::Relaxed) + 1 == n {
                            end.get_or_init(Instant::now);
                            done.notify_one();
                        }
                    }
                    // The relay's settings ask for end-of-partition signals; a bare reader skips them.
                    Err(KafkaError::PartitionEOF(_)) => {}
                    Err(e) => eprintln!("[bench] bare consumer: {e}"),
                }
                std::hint::black_box(bytes);
            }
        }));
    }
    // The readers run until aborted: one whose partitions are read waits for more.
    let finished = tokio::time::timeout_at(deadline, done.notified()).await;
    readers.iter().for_each(tokio::task::JoinHandle::abort);
    let (Ok(()), Some(t0), Some(end)) = (finished, first.get(), end.get()) else {
        let read = got.load(Ordering::Relaxed);
        bail!("{k} bare consumer(s) read {read} of {n} records in {timeout:?}");
    };
    // The first record is the start mark; the other n - 1 are what was timed.
    Ok((n - 1) as f64 / end.duration_since(*t0).as_secs_f64())
}
