//! Metric 3: gateway ingest. Events acknowledged (202) through `POST /v1/events` — NDJSON
//! batches, several connections at once — on a relay in Kafka mode, next to a bare rdkafka
//! producer (idempotent, acks=all) writing the same events to the same broker.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use bytes::Bytes;

use crate::Ctx;
use crate::events::{Fresh, Generator, fresh_now, ndjson_bodies};
use crate::procs::{Nisshi, Relay, Storage, unique};
use crate::report::{Metric, Target};
use crate::stats::median;

pub const BATCH: usize = 1_000;
pub const CONNECTIONS: usize = 8;

pub async fn run(ctx: &Ctx, out: &mut Vec<Metric>) -> anyhow::Result<()> {
    let n = if ctx.quick { 20_000 } else { 200_000 };
    on(ctx, out, Storage::Memory, n).await?;
    if !ctx.quick {
        // What a broker that keeps its data costs; fewer events, it is ~4x slower.
        on(ctx, out, Storage::Sqlite, 30_000).await?;
    }
    Ok(())
}

async fn on(ctx: &Ctx, out: &mut Vec<Metric>, storage: Storage, n: usize) -> anyhow::Result<()> {
    let (mut gw, mut bare, mut ratio) = (vec![], vec![], vec![]);
    for rep in 0..ctx.reps(3) {
        let (r, b) = one_rep(ctx, storage, n, rep).await?;
        eprintln!(
            "[bench] gateway ({}) rep {rep}: relay {r:.0}/s, bare producer {b:.0}/s",
            storage.name()
        );
        gw.push(r);
        bare.push(b);
        ratio.push(r / b);
    }
    let note = format!(
        "{n} real events per run, NDJSON batches of {BATCH}, {CONNECTIONS} connections, \
         Kafka mode, nisshi {} storage, a fresh broker for each writer",
        storage.name()
    );
    let prefix = match storage {
        Storage::Memory => "gateway",
        Storage::Sqlite => "gateway_sqlite",
    };
    out.push(
        Metric::median_of(&format!("{prefix}_ingest_events_per_s"), gw, "events/s").note(note),
    );
    out.push(
        Metric::median_of(
            &format!("{prefix}_bare_producer_events_per_s"),
            bare,
            "events/s",
        )
        .note("rdkafka FutureProducer, idempotent, acks=all, the relay's linger/batch settings"),
    );
    let mut m = Metric::new(&format!("{prefix}_ratio_to_bare"), median(&ratio), "ratio")
        .target(Target::AtLeast(0.7));
    m.samples = ratio;
    out.push(m);
    Ok(())
}

/// One repetition: the relay and the bare producer each on a broker of its own, made for it.
/// On one shared broker whoever wrote second was slower (nisshi's memory storage slows as it
/// fills: a relay writing after the bare producer ran at 57–66 k/s, first at 104–106 k/s), so
/// the order decided the ratio. Who goes first still alternates, against drift in the machine.
async fn one_rep(ctx: &Ctx, storage: Storage, n: usize, rep: usize) -> anyhow::Result<(f64, f64)> {
    let mut g = Generator::new(&ctx.data, &unique("gw"))?;
    // Made before the clock starts, stamped now: well within the relay's lateness.
    let events = fresh_now(&mut g, n);
    if rep.is_multiple_of(2) {
        let r = through_relay(ctx, storage, &mut g, &events).await?;
        Ok((r, bare(ctx, storage, &mut g, &events).await?))
    } else {
        let b = bare(ctx, storage, &mut g, &events).await?;
        Ok((through_relay(ctx, storage, &mut g, &events).await?, b))
    }
}

async fn through_relay(
    ctx: &Ctx,
    storage: Storage,
    g: &mut Generator,
    events: &[Fresh],
) -> anyhow::Result<f64> {
    let broker = Nisshi::start(ctx.nisshi()?, storage, "0s", &ctx.logs)?;
    let relay = Relay::start(
        &ctx.relay_bin,
        "gateway",
        &[
            "--brokers".into(),
            broker.brokers(),
            "--no-upstream".into(),
            "--input-topic".into(),
            "bench-gw-in".into(),
            "--output-topic".into(),
            "bench-gw-out".into(),
        ],
        &ctx.logs,
    )
    .await?;
    let client = http_client(CONNECTIONS)?;
    let url = relay.url("/v1/events");
    // Warm up: the first request opens the relay's producer connection.
    post_all(&client, &url, ndjson_bodies(&fresh_now(g, 100), 100), 1).await?;
    post_all(&client, &url, ndjson_bodies(events, BATCH), CONNECTIONS).await
}

async fn bare(
    ctx: &Ctx,
    storage: Storage,
    g: &mut Generator,
    events: &[Fresh],
) -> anyhow::Result<f64> {
    let broker = Nisshi::start(ctx.nisshi()?, storage, "0s", &ctx.logs)?;
    let brokers = broker.brokers();
    let topic = "bench-gw-bare";
    let settings =
        relay::bus::kafka::KafkaSettings::new(&brokers, &[]).map_err(|e| anyhow::anyhow!("{e}"))?;
    relay::bus::kafka::ensure_topics(&settings, topic, "bench-gw-bare-out", 4, 1)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let producer = crate::kafka::producer(&brokers)?;
    // Warm-up, as for the relay: a new idempotent producer's first acknowledgement takes ~0.5 s.
    crate::kafka::produce_all(&producer, topic, &fresh_now(g, 100), None, true).await?;
    crate::kafka::produce_all(&producer, topic, events, None, true).await
}

pub fn http_client(connections: usize) -> anyhow::Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .pool_max_idle_per_host(connections)
        // Under the relay's 5 s header timeout, which closes idle keep-alive connections: a
        // connection reused just as the relay drops it is reset (seen once in the sources part).
        .pool_idle_timeout(Duration::from_secs(2))
        .timeout(Duration::from_secs(60))
        .build()?)
}

/// Posts every body over `connections` concurrent requests; events acknowledged per second
/// from the first request to the last 202. Anything but 202 fails the run.
pub async fn post_all(
    client: &reqwest::Client,
    url: &str,
    bodies: Vec<Bytes>,
    connections: usize,
) -> anyhow::Result<f64> {
    let bodies = Arc::new(bodies);
    let next = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..connections {
        let (client, url, bodies, next) = (
            client.clone(),
            url.to_string(),
            bodies.clone(),
            next.clone(),
        );
        tasks.spawn(async move {
            let mut acked = 0usize;
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(body) = bodies.get(i) else {
                    return Ok::<usize, anyhow::Error>(acked);
                };
                let resp = client
                    .post(&url)
                    .header("content-type", "application/x-ndjson")
                    .body(body.clone())
                    .send()
                    .await
                    .context("POST /v1/events")?;
                let status = resp.status();
                let text = resp.text().await.unwrap_or_default();
                if status != reqwest::StatusCode::ACCEPTED {
                    bail!(
                        "POST /v1/events answered {status}: {}",
                        &text[..text.len().min(300)]
                    );
                }
                let v: serde_json::Value = serde_json::from_str(&text)?;
                acked += v["accepted"].as_u64().unwrap_or(0) as usize;
            }
        });
    }
    let mut acked = 0;
    while let Some(r) = tasks.join_next().await {
        acked += r??;
    }
    Ok(acked as f64 / start.elapsed().as_secs_f64())
}
