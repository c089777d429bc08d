//! Count history at scale: a day (and a week) of final seconds written as relays write them —
//! to the history file (embedded bus), and as four partitions' partials and watermarks to an
//! output topic (Kafka) — then a relay started on it. Measured: how long until it serves the
//! whole range, how long `/v1/counts` takes for a day in 60-second buckets, and the relay's
//! memory with the day held.

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use history::FinalSecond;
use history::History;
use support::names::TempDir;
use support::proc_stats::rss_kb;
use support::relay_process::{RelayProcess, RelaySpec};
use wire::{Buckets, Cell, ChangeType, Cube, Millis, WindowRecord};

use crate::Ctx;
use crate::procs::running_pid;
use crate::report::{Metric, Target};
use crate::stats::{median, percentile};

const DAY_S: i64 = 86_400;
/// A second's top ten: the busiest wikis of a real recording.
const WIKIS: [&str; 10] = [
    "wikidatawiki",
    "commonswiki",
    "enwiki",
    "dewiki",
    "frwiki",
    "eswiki",
    "ruwiki",
    "jawiki",
    "itwiki",
    "zhwiki",
];

pub async fn run(ctx: &Ctx, out: &mut Vec<Metric>) -> anyhow::Result<()> {
    let day = held(ctx, "24h", DAY_S).await?;
    out.push(
        Metric::new(
            "history_24h_serve_after_start_s",
            day.serve_after_start,
            "s",
        )
        .target(Target::AtMost(5.0))
        .note(format!(
            "{} seconds in the history file; relay start to /v1/counts answering the whole day",
            day.seconds
        )),
    );
    out.push(
        Metric::new("history_24h_counts_step60_ms", day.counts_median_ms, "ms")
            .target(Target::AtMost(250.0))
            .note(format!(
                "median of {} GET /v1/counts for the day in 60 s buckets; p99 {:.1} ms",
                day.requests, day.counts_p99_ms
            )),
    );
    out.push(
        Metric::new(
            "history_24h_counts_filtered_step60_ms",
            day.filtered_median_ms,
            "ms",
        )
        .target(Target::AtMost(250.0))
        .note("median, the same day under wiki=enwiki&bot=false, from the seconds' cubes"),
    );
    out.push(
        Metric::new("top_wikis_24h_ms", day.top_median_ms, "ms")
            .target(Target::AtMost(250.0))
            .note(format!(
                "median GET /v1/top?by=wiki&n=20 over the day; p99 {:.1} ms",
                day.top_p99_ms
            )),
    );
    out.push(
        Metric::new("history_24h_relay_rss_mb", day.rss_mb, "MB")
            .target(Target::AtMost(300.0))
            .note("VmRSS with the day held, after the requests"),
    );
    let kafka = rebuilt_from_topic(ctx).await?;
    out.push(
        Metric::new(
            "history_24h_kafka_serve_after_start_s",
            kafka.serve_after_start,
            "s",
        )
        .target(Target::AtMost(5.0))
        .note(format!(
            "a serve-only relay reading {} seconds (x{PARTITIONS} partials and watermarks) back \
                 from the output topic; day query {:.1} ms, RSS {:.0} MB",
            kafka.seconds, kafka.counts_median_ms, kafka.rss_mb
        )),
    );
    if !ctx.quick {
        let week = held(ctx, "7d", 7 * DAY_S).await?;
        out.push(
            Metric::new(
                "history_7d_serve_after_start_s",
                week.serve_after_start,
                "s",
            )
            .note(format!(
                "{} seconds; whole week in 600 s buckets; RSS {:.0} MB; day query {:.1} ms",
                week.seconds, week.rss_mb, week.counts_median_ms
            )),
        );
    }
    Ok(())
}

struct Held {
    seconds: usize,
    serve_after_start: f64,
    requests: usize,
    counts_median_ms: f64,
    counts_p99_ms: f64,
    filtered_median_ms: f64,
    top_median_ms: f64,
    top_p99_ms: f64,
    rss_mb: f64,
}

/// Writes `span_s` seconds of history ending now, starts a relay keeping `history` on it, and
/// measures it.
async fn held(ctx: &Ctx, history: &str, span_s: i64) -> anyhow::Result<Held> {
    let state = TempDir::new("editpulse-bench-history")?;
    let now_s = relay::clock::now().0 / 1_000;
    let seconds = written(state.path(), now_s - span_s + 60, now_s - 1)?;
    eprintln!("[bench] {seconds} seconds of history written for --history {history}");

    let args = [
        "--no-upstream",
        "--history",
        history,
        "--state-dir",
        &state.path().display().to_string(),
    ];
    measured(ctx, history, &args, &[], now_s, span_s, seconds).await
}

/// Starts a relay with `args` and `envs` on history of `seconds` seconds ending at `now_s`,
/// and measures it.
async fn measured(
    ctx: &Ctx,
    name: &str,
    args: &[&str],
    envs: &[(String, String)],
    now_s: i64,
    span_s: i64,
    seconds: usize,
) -> anyhow::Result<Held> {
    let mut all_envs = vec![("RUST_LOG".to_string(), "relay=info,warn".to_string())];
    all_envs.extend(envs.iter().cloned());
    let started = Instant::now();
    let relay = RelayProcess::start(RelaySpec {
        name: format!("history-{name}"),
        bin: ctx.relay_bin.clone(),
        logs: ctx.logs.clone(),
        log_prefix: "bench-relay".into(),
        args: args.iter().map(|a| a.to_string()).collect(),
        envs: all_envs,
    })?;
    let client = reqwest::Client::new();
    let whole = format!(
        "/v1/counts?from={}&to={}",
        (now_s - span_s) * 1_000,
        now_s * 1_000
    );
    let serve_after_start = loop {
        // At least: the open second at the end may be there too.
        if let Ok(b) = buckets(&client, &relay, &whole).await
            && b.buckets.iter().map(|b| b.seconds as usize).sum::<usize>() >= seconds
        {
            break started.elapsed().as_secs_f64();
        }
        if started.elapsed() > Duration::from_secs(120) {
            bail!("the relay did not serve {seconds} seconds within 120 s");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };

    let day = format!(
        "/v1/counts?from={}&to={}&step=60",
        (now_s - DAY_S) * 1_000,
        now_s * 1_000
    );
    let requests = if ctx.quick { 20 } else { 100 };
    let mut ms = Vec::with_capacity(requests);
    for _ in 0..requests {
        let t = Instant::now();
        let b = buckets(&client, &relay, &day).await?;
        ms.push(t.elapsed().as_secs_f64() * 1e3);
        if b.buckets.len() < 1_400 {
            bail!("a day in 60 s buckets came back as {}", b.buckets.len());
        }
    }
    // The same day under a filter, and its busiest wikis: summed from every second's cube.
    let filtered = timed(
        &client,
        &relay,
        &format!("{day}&wiki=enwiki&bot=false"),
        requests,
    )
    .await?;
    let range = format!("from={}&to={}", (now_s - DAY_S) * 1_000, now_s * 1_000);
    let top = timed(
        &client,
        &relay,
        &format!("/v1/top?by=wiki&n=20&{range}"),
        requests,
    )
    .await?;
    let (rss, _) = rss_kb(running_pid(&relay)?)?;
    Ok(Held {
        seconds,
        serve_after_start,
        requests,
        counts_median_ms: median(&ms),
        counts_p99_ms: percentile(&ms, 99.0),
        filtered_median_ms: median(&filtered),
        top_median_ms: median(&top),
        top_p99_ms: percentile(&top, 99.0),
        rss_mb: rss as f64 / 1024.0,
    })
}

/// `requests` GETs of `path`, each timed to its whole body, in ms.
async fn timed(
    client: &reqwest::Client,
    relay: &RelayProcess,
    path: &str,
    requests: usize,
) -> anyhow::Result<Vec<f64>> {
    let mut ms = Vec::with_capacity(requests);
    for _ in 0..requests {
        let t = Instant::now();
        let resp = client.get(relay.url(path)).send().await?;
        let status = resp.status();
        let body = resp.bytes().await?;
        if !status.is_success() || body.is_empty() {
            bail!("GET {path}: {status}");
        }
        ms.push(t.elapsed().as_secs_f64() * 1e3);
    }
    Ok(ms)
}

const PARTITIONS: u32 = 4;

/// A day of four partitions' partials and watermarks on a fresh output topic, read back by a
/// serve-only relay.
async fn rebuilt_from_topic(ctx: &Ctx) -> anyhow::Result<Held> {
    use relay::bus::OutputRecord;
    use relay::bus::kafka::{KafkaOutputSink, KafkaSettings, ensure_topics};
    use wire::PartialWindow;

    let broker = crate::procs::broker(ctx, support::broker::Storage::Memory, "0s")?;
    let brokers = broker.brokers();
    let (input, output) = ("bench-history-in", "bench-history-out");
    let settings = KafkaSettings::new(&brokers, &[]);
    let keep = Duration::from_secs(DAY_S as u64);
    ensure_topics(&settings, input, output, PARTITIONS, 1, keep)
        .await
        .map_err(|e| anyhow::anyhow!("create topics: {e}"))?;
    let sink =
        KafkaOutputSink::new(&settings, output, PARTITIONS).map_err(|e| anyhow::anyhow!("{e}"))?;
    let now_s = relay::clock::now().0 / 1_000;
    let (from_s, to_s) = (now_s - DAY_S + 60, now_s - 1);
    let mut x: u64 = 0x2545_F491_4F6C_DD1D;
    let mut records = Vec::new();
    let t = Instant::now();
    for s in from_s..to_s {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let (whole, cube) = second(s, x);
        for partition in 0..PARTITIONS {
            // Each partition's share, its wikis (input is keyed by wiki): what the merger adds
            // up again.
            let share = Cube(
                cube.0
                    .iter()
                    .filter(|c| {
                        WIKIS.iter().position(|w| *w == c.wiki()).unwrap_or(0) % PARTITIONS as usize
                            == partition as usize
                    })
                    .cloned()
                    .collect(),
            );
            let mut window = WindowRecord::empty(whole.start, whole.end, true);
            share.totals_into(|_| true, &mut window);
            records.push(OutputRecord::Window(PartialWindow {
                partition,
                window,
                cube: Some(share),
            }));
            records.push(OutputRecord::Watermark {
                partition,
                watermark: whole.end,
            });
        }
        if records.len() >= 8 * 3_600 {
            sink.send(&records, relay::clock::now())
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            records.clear();
        }
    }
    sink.send(&records, relay::clock::now())
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    sink.flush().await.map_err(|e| anyhow::anyhow!("{e}"))?;
    drop(sink);
    let seconds = (to_s - from_s) as usize;
    eprintln!(
        "[bench] {seconds} seconds of partials written to {output} in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    let envs = [
        ("RELAY_BROKERS", brokers.as_str()),
        ("RELAY_INPUT_TOPIC", input),
        ("RELAY_OUTPUT_TOPIC", output),
    ]
    .map(|(k, v)| (k.to_string(), v.to_string()));
    let held = measured(
        ctx,
        "kafka",
        &["--serve-only", "--history", "24h"],
        &envs,
        now_s,
        DAY_S,
        seconds,
    )
    .await;
    drop(broker);
    held
}

async fn buckets(
    client: &reqwest::Client,
    relay: &RelayProcess,
    path: &str,
) -> anyhow::Result<Buckets> {
    let resp = client.get(relay.url(path)).send().await?;
    if !resp.status().is_success() {
        bail!("GET {path}: {}", resp.status());
    }
    let bytes = resp.bytes().await?;
    serde_json::from_slice(&bytes).with_context(|| format!("GET {path}: not buckets"))
}

/// Writes the final seconds `[from_s, to_s)` with cubes like a live day's, in
/// batches of an hour; returns how many.
pub fn written(dir: &std::path::Path, from_s: i64, to_s: i64) -> anyhow::Result<usize> {
    let mut history = History::open_in(dir)?;
    let mut x: u64 = 0x2545_F491_4F6C_DD1D;
    let mut batch = Vec::with_capacity(3_600);
    let mut n = 0;
    for s in from_s..to_s {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let (record, cube) = second(s, x);
        batch.push(FinalSecond {
            record,
            partials: None,
            cube: Some(cube),
        });
        if batch.len() == 3_600 {
            n += history.write_seconds(&batch)?;
            batch.clear();
        }
    }
    n += history.write_seconds(&batch)?;
    Ok(n)
}

/// A second as a relay records it: up to 40 cells over the ten wikis (a live second has a few
/// dozen), and the totals summed from them.
fn second(s: i64, x: u64) -> (WindowRecord, Cube) {
    let kinds = [
        (ChangeType::Edit, false, true),
        (ChangeType::Edit, true, false),
        (ChangeType::New, false, true),
        (ChangeType::Log, true, false),
    ];
    let cube = Cube::of(WIKIS.iter().enumerate().flat_map(|(i, wiki)| {
        kinds
            .iter()
            .enumerate()
            .map(move |(k, &(kind, bot, article))| {
                let n = x.rotate_left((i * 4 + k) as u32) & 3;
                Cell::new(wiki, kind, bot, article, n)
            })
    }));
    let start = Millis(s * 1_000);
    let mut w = WindowRecord::empty(start, start.plus(1_000), true);
    cube.totals_into(|_| true, &mut w);
    (w, cube)
}
