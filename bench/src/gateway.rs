//! Metric 3: gateway ingest. Events acknowledged (202) through `POST /v1/events` — NDJSON
//! batches, several connections at once — on a relay in Kafka mode, next to a bare rdkafka
//! producer (idempotent, acks=all) writing the same events to the same kind of broker.
//!
//! Two relays are measured: `--ingest-only` (a gateway tier: it takes events in and leaves the
//! counting to the group), the like-for-like peer of a bare producer and the one the target is
//! on; and the all-in-one relay, which also reads every event back and counts it on the same
//! cores. CPU per event of each writer and of its broker says where the difference goes.
//!
//! Beside them, the same load on a relay on the embedded bus, where a 202 means the batch is
//! in the state directory's SQLite file (durable against the relay's death): the rate a
//! single relay without a broker takes events in at, counting them too.

use crate::kafka::BENCH_HISTORY;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use bytes::Bytes;
use support::broker::Storage;
use support::names::unique;
use support::proc_stats::cpu_secs;

use crate::Ctx;
use crate::events::{Fresh, Generator, fresh_now, ndjson_bodies};
use crate::procs::running_pid;
use crate::report::{Metric, Target};
use crate::stats::median;

pub const BATCH: usize = 1_000;
pub const CONNECTIONS: usize = 8;

pub async fn run(ctx: &Ctx, out: &mut Vec<Metric>) -> anyhow::Result<()> {
    let n = if ctx.quick { 20_000 } else { 200_000 };
    // Five: on 2 shared cores a writer's rate moves by up to ±30 % between repetitions.
    on(ctx, out, Storage::Memory, n, ctx.reps(5)).await?;
    embedded(ctx, out, n, ctx.reps(5)).await?;
    if !ctx.quick {
        // What a broker that keeps its data costs; fewer events, it is ~6x slower.
        on(ctx, out, Storage::Sqlite, 30_000, 3).await?;
    }
    Ok(())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Writer {
    IngestOnly,
    AllInOne,
    Bare,
}

impl Writer {
    const ALL: [Writer; 3] = [Writer::IngestOnly, Writer::AllInOne, Writer::Bare];

    fn name(self) -> &'static str {
        match self {
            Writer::IngestOnly => "ingest",
            Writer::AllInOne => "all_in_one",
            Writer::Bare => "bare_producer",
        }
    }
}

/// One writer's run: events/s, and CPU microseconds per event of the writer (the relay; None
/// for the bare producer, which shares this process with the load generator) and the broker.
#[derive(Default)]
struct Runs {
    rate: Vec<f64>,
    writer_cpu: Vec<f64>,
    broker_cpu: Vec<f64>,
}

async fn on(
    ctx: &Ctx,
    out: &mut Vec<Metric>,
    storage: Storage,
    n: usize,
    reps: usize,
) -> anyhow::Result<()> {
    let mut runs: [Runs; 3] = Default::default();
    let (mut ratio, mut all_in_one_ratio) = (vec![], vec![]);
    for rep in 0..reps {
        let mut g = Generator::new(&ctx.data, &unique("gw"))?;
        // Made before the clock starts, stamped now: well within the relay's lateness.
        let events = fresh_now(&mut g, n);
        let mut rates = [0.0; 3];
        // Who goes first rotates, against drift in the machine.
        for k in 0..3 {
            let w = (rep + k) % 3;
            rates[w] = write(ctx, storage, Writer::ALL[w], &mut g, &events, &mut runs[w]).await?;
        }
        eprintln!(
            "[bench] gateway ({}) rep {rep}: ingest-only relay {:.0}/s, all-in-one relay {:.0}/s, \
             bare producer {:.0}/s",
            storage.name(),
            rates[0],
            rates[1],
            rates[2]
        );
        ratio.push(rates[0] / rates[2]);
        all_in_one_ratio.push(rates[1] / rates[2]);
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
    for (w, r) in Writer::ALL.into_iter().zip(runs) {
        let what = match w {
            Writer::IngestOnly => format!("relay --ingest-only; {note}"),
            Writer::AllInOne => format!("relay that also counts every event it takes in; {note}"),
            Writer::Bare => {
                "rdkafka FutureProducer, idempotent, acks=all, the relay's linger/batch settings"
                    .to_string()
            }
        };
        let name = format!("{prefix}_{}", w.name());
        out.push(Metric::median_of(&format!("{name}_events_per_s"), r.rate, "events/s").note(what));
        if !r.writer_cpu.is_empty() {
            out.push(Metric::median_of(
                &format!("{name}_relay_cpu_us_per_event"),
                r.writer_cpu,
                "us",
            ));
        }
        out.push(Metric::median_of(
            &format!("{name}_broker_cpu_us_per_event"),
            r.broker_cpu,
            "us",
        ));
    }
    let mut m = Metric::new(&format!("{prefix}_ratio_to_bare"), median(&ratio), "ratio")
        .target(Target::AtLeast(0.7))
        .note("ingest-only relay / bare producer, per repetition");
    m.samples = ratio;
    out.push(m);
    let mut m = Metric::new(
        &format!("{prefix}_all_in_one_ratio_to_bare"),
        median(&all_in_one_ratio),
        "ratio",
    )
    .note("informational: the relay also reads back and counts, on the same 2 cores");
    m.samples = all_in_one_ratio;
    out.push(m);
    Ok(())
}

/// The gateway on the embedded bus: a fresh relay (and state directory) per repetition, so
/// every run starts from an empty log file.
async fn embedded(ctx: &Ctx, out: &mut Vec<Metric>, n: usize, reps: usize) -> anyhow::Result<()> {
    let (mut rates, mut cpu) = (vec![], vec![]);
    for rep in 0..reps {
        let mut g = Generator::new(&ctx.data, &unique("gw-embedded"))?;
        let events = fresh_now(&mut g, n);
        let args = ["--no-upstream".to_string()];
        let relay = crate::procs::relay(ctx, "gateway-embedded", &args).await?;
        let client = http_client(CONNECTIONS)?;
        let url = relay.url("/v1/events");
        post_all(
            &client,
            &url,
            ndjson_bodies(&fresh_now(&mut g, 100), 100),
            1,
        )
        .await?;
        let bodies = ndjson_bodies(&events, BATCH);
        let relay_pid = running_pid(&relay)?;
        let mark = cpu_secs(relay_pid).ok();
        let rate = post_all(&client, &url, bodies, CONNECTIONS).await?;
        if let (Some(a), Ok(b)) = (mark, cpu_secs(relay_pid)) {
            cpu.push((b - a) * 1e6 / events.len() as f64);
        }
        eprintln!("[bench] gateway (embedded bus) rep {rep}: {rate:.0}/s");
        rates.push(rate);
    }
    let note = format!(
        "{n} real events per run, NDJSON batches of {BATCH}, {CONNECTIONS} connections, \
         relay on the embedded bus (a 202 once the batch is in its SQLite log), counting too"
    );
    out.push(
        Metric::median_of("gateway_embedded_events_per_s", rates, "events/s")
            .target(Target::AtLeast(50_000.0))
            .note(note),
    );
    out.push(Metric::median_of(
        "gateway_embedded_relay_cpu_us_per_event",
        cpu,
        "us",
    ));
    Ok(())
}

/// One writer on a broker of its own, made for it. nisshi's memory storage slows as it fills,
/// so on one shared broker whoever writes second is slower (a relay writing after the bare
/// producer runs at 57–66 k/s, first at 104–106 k/s) and the order would decide the ratio.
async fn write(
    ctx: &Ctx,
    storage: Storage,
    writer: Writer,
    g: &mut Generator,
    events: &[Fresh],
    runs: &mut Runs,
) -> anyhow::Result<f64> {
    let broker = crate::procs::broker(ctx, storage, "0s")?;
    let brokers = broker.brokers();
    let broker_cpu = || broker.pid().and_then(|pid| cpu_secs(pid).ok());
    let per_event = |a: Option<f64>, b: Option<f64>| Some((b? - a?) * 1e6 / events.len() as f64);
    if writer == Writer::Bare {
        let topic = "bench-gw-bare";
        let settings = relay::bus::kafka::KafkaSettings::new(&brokers, &[]);
        relay::bus::kafka::ensure_topics(
            &settings,
            topic,
            "bench-gw-bare-out",
            4,
            1,
            BENCH_HISTORY,
        )
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
        let producer = crate::kafka::producer(&brokers)?;
        // Warm-up, as for the relay: a new idempotent producer's first ack takes ~0.5 s.
        crate::kafka::produce_all(&producer, topic, &fresh_now(g, 100), None, true).await?;
        let mark = broker_cpu();
        let rate = crate::kafka::produce_all(&producer, topic, events, None, true).await?;
        runs.broker_cpu.extend(per_event(mark, broker_cpu()));
        runs.rate.push(rate);
        return Ok(rate);
    }
    let mut args: Vec<String> = [
        "--brokers",
        &brokers,
        "--no-upstream",
        "--input-topic",
        "bench-gw-in",
        "--output-topic",
        "bench-gw-out",
    ]
    .map(String::from)
    .into();
    if writer == Writer::IngestOnly {
        args.push("--ingest-only".into());
    }
    let relay = crate::procs::relay(ctx, &format!("gateway-{}", writer.name()), &args).await?;
    let client = http_client(CONNECTIONS)?;
    let url = relay.url("/v1/events");
    // Warm up: the first request opens the relay's producer connection.
    post_all(&client, &url, ndjson_bodies(&fresh_now(g, 100), 100), 1).await?;
    let bodies = ndjson_bodies(events, BATCH);
    let relay_pid = running_pid(&relay)?;
    let relay_cpu = || cpu_secs(relay_pid).ok();
    let mark = (relay_cpu(), broker_cpu());
    let rate = post_all(&client, &url, bodies, CONNECTIONS).await?;
    runs.writer_cpu.extend(per_event(mark.0, relay_cpu()));
    runs.broker_cpu.extend(per_event(mark.1, broker_cpu()));
    runs.rate.push(rate);
    Ok(rate)
}

pub fn http_client(connections: usize) -> anyhow::Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .pool_max_idle_per_host(connections)
        // Under the relay's 5 s header timeout, which closes idle keep-alive connections: a
        // connection reused just as the relay drops it is reset.
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
