//! Bare rdkafka clients: the limits the relay is compared with, and the topic pre-filler.
//! Their settings copy the relay's (relay/src/bus/kafka.rs), so a ratio measures the relay's
//! own work, not a different client configuration.

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use futures::StreamExt;
use futures::stream::FuturesUnordered;
use rdkafka::ClientConfig;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Header, Message, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};

use relay::summary::{HEADER, Summary};

use crate::events::Fresh;

fn base(brokers: &str) -> ClientConfig {
    let mut c = ClientConfig::new();
    c.set("bootstrap.servers", brokers);
    c.set("socket.keepalive.enable", "true");
    c.set("reconnect.backoff.ms", "100");
    c.set("reconnect.backoff.max.ms", "2000");
    c
}

/// The relay's producer settings: idempotent, `acks=all`, 5 ms linger.
pub fn producer(brokers: &str) -> anyhow::Result<FutureProducer> {
    let mut c = base(brokers);
    c.set("enable.idempotence", "true");
    c.set("acks", "all");
    c.set("linger.ms", "5");
    c.set("batch.num.messages", "10000");
    c.set("queue.buffering.max.messages", "500000");
    c.set("message.timeout.ms", "30000");
    Ok(c.create()?)
}

/// Writes every event (keyed by wiki, timestamped `ingest_ms` or now) and waits for every
/// acknowledgement. Returns events per second from the first send to the last ack. With
/// `summarized` each record carries the summary header exactly as a relay writes it (made
/// before the clock starts); without, it is a record from some other producer.
pub async fn produce_all(
    producer: &FutureProducer,
    topic: &str,
    events: &[Fresh],
    ingest_ms: Option<i64>,
    summarized: bool,
) -> anyhow::Result<f64> {
    let summaries = events
        .iter()
        .map(|e| {
            let edit = relay::event::parse(&e.json).map_err(|err| anyhow::anyhow!("{err}"))?;
            Ok(summarized.then(|| Summary::of(&edit).encode()))
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
    for (e, summary) in events.iter().zip(&summaries) {
        let ts = ingest_ms.unwrap_or_else(|| relay::clock::now().0);
        loop {
            let mut record = FutureRecord::to(topic)
                .key(e.wiki.as_str())
                .payload(&e.json[..])
                .timestamp(ts);
            if let Some(s) = summary {
                record = record.headers(OwnedHeaders::new_with_capacity(1).insert(Header {
                    key: HEADER,
                    value: Some(s.as_slice()),
                }));
            }
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

/// The relay's counter-consumer settings (without its end-of-partition signal, which a bare
/// reader does not need).
pub fn consumer(brokers: &str, group: &str) -> anyhow::Result<StreamConsumer> {
    let mut c = base(brokers);
    c.set("group.id", group);
    c.set("enable.auto.commit", "false");
    c.set("auto.offset.reset", "earliest");
    c.set("session.timeout.ms", "10000");
    c.set("heartbeat.interval.ms", "1000");
    c.set("fetch.wait.max.ms", "50");
    Ok(c.create()?)
}

/// A bare consumer reading `n` records of `topic` in a fresh group: records per second from
/// the first record on (the group join before it is not timed).
pub async fn consume_n(
    brokers: &str,
    topic: &str,
    n: u64,
    timeout: Duration,
) -> anyhow::Result<f64> {
    let consumer = consumer(brokers, &crate::procs::unique("bench-bare"))?;
    consumer.subscribe(&[topic])?;
    let deadline = tokio::time::Instant::now() + timeout;
    let mut first: Option<Instant> = None;
    let mut got = 0u64;
    let mut bytes = 0usize;
    while got < n {
        let m = tokio::time::timeout_at(deadline, consumer.recv())
            .await
            .with_context(|| format!("bare consumer read {got} of {n} records in {timeout:?}"))?;
        match m {
            Ok(m) => {
                if first.is_none() {
                    first = Some(Instant::now());
                }
                // Touch the payload, as any reader would.
                bytes += m.payload().map_or(0, <[u8]>::len);
                got += 1;
            }
            Err(e) => eprintln!("[bench] bare consumer: {e}"),
        }
    }
    std::hint::black_box(bytes);
    let secs = first.map_or(f64::NAN, |t| t.elapsed().as_secs_f64());
    // The first record is the start mark; the other n - 1 are what was timed.
    Ok((n - 1) as f64 / secs)
}
