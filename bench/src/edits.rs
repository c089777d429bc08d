//! The edits behind the counts: an embedded-bus relay whose log holds an hour of real events
//! (the bundled recordings, cycled, at Wikimedia's rate of ~40 a second, already counted and
//! committed), and how long it takes to list one second's edits (`/v1/edits`) and to rank an
//! hour's pages (`/v1/top?by=page`). Both read the bus back through the counter's admission
//! rules; one second needs the ~6 minutes of records whose ingest times can decide it. The
//! same on Kafka: [`crate::edits_kafka`].

use std::hash::{Hash, Hasher};
use std::time::Instant;

use anyhow::Context;
use clap::Parser;
use codec::summary::Summary;
use history::{Commit, InputLog, NewEntry};
use serde_json::Value;
use support::names::TempDir;
use wire::Millis;

use crate::Ctx;
use crate::report::{Metric, Target};
use crate::stats::{median, percentile};

const PARTITIONS: u32 = 4;

/// A record to write: partition, offset, ingest time, key, summary tag, payload.
type Row = (u32, u64, i64, String, Vec<u8>, Vec<u8>);

pub async fn run(ctx: &Ctx, out: &mut Vec<Metric>) -> anyhow::Result<()> {
    let (rate, shape) = Shape::ending_now(ctx);
    let dir = TempDir::new("bench-edits")?;
    let held = fill(dir.path(), &ctx.data, shape.start, shape.span_s, rate)?;

    let args = [
        "--no-upstream",
        "--keep-edits",
        "2h",
        "--state-dir",
        dir.path().to_str().context("UTF-8 temp dir")?,
    ];
    let m = measured(&args, &shape).await?;
    push(
        out,
        "",
        &m,
        &shape,
        &format!("embedded bus holding {held} records ({rate}/s)"),
    );
    crate::edits_kafka::run(ctx, out).await
}

/// The hour a relay holds, and how many requests to time on it.
#[derive(Debug, Clone, Copy)]
pub struct Shape {
    /// The first ingest time held.
    pub start: i64,
    pub span_s: i64,
    pub now: i64,
    pub seconds_asked: i64,
    pub hours_asked: usize,
}

impl Shape {
    /// The events a second to hold, and the span held, ending now: an hour and the minutes
    /// around it at Wikimedia's rate (quick: a quarter of an hour at a quarter of it).
    pub fn ending_now(ctx: &Ctx) -> (i64, Shape) {
        let (rate, span_s, seconds_asked, hours_asked) = if ctx.quick {
            (10, 900, 10, 1)
        } else {
            (40, 3_700, 50, 5)
        };
        let now = relay::clock::now().0;
        let shape = Shape {
            start: now - span_s * 1_000,
            span_s,
            now,
            seconds_asked,
            hours_asked,
        };
        (rate, shape)
    }
}

/// What the requests took.
pub struct Measured {
    /// `/v1/edits` for one second, each in ms.
    pub one_second: Vec<f64>,
    /// Edits those seconds listed, in all.
    pub listed: usize,
    /// `/v1/top?by=page` for an hour, each in ms.
    pub hour: Vec<f64>,
    /// Edits the last hour's ranking counted.
    pub total: u64,
}

/// Starts a relay (in-process, with `args` and its own `--static-dir` and `--listen`) and times
/// one-second listings spread over the hour held, then hour-long rankings.
pub async fn measured(args: &[&str], shape: &Shape) -> anyhow::Result<Measured> {
    let statics = TempDir::new("bench-edits-static")?;
    let mut all = vec!["relay"];
    all.extend_from_slice(args);
    all.extend([
        "--static-dir",
        statics.path().to_str().context("UTF-8 temp dir")?,
        "--listen",
        "127.0.0.1:0",
    ]);
    let relay = relay::Relay::start(relay::Config::try_parse_from(all)?).await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(relay.serve(listener, async {
        let _ = stopped.await;
    }));
    let client = reqwest::Client::new();
    let get = |uri: String| {
        let client = client.clone();
        async move {
            let t = Instant::now();
            let bytes = client
                .get(format!("http://{addr}{uri}"))
                .send()
                .await?
                .error_for_status()?
                .bytes()
                .await?;
            let body: Value = serde_json::from_slice(&bytes)?;
            anyhow::Ok((t.elapsed().as_secs_f64() * 1_000.0, body))
        }
    };

    let Shape {
        start,
        span_s,
        now,
        seconds_asked,
        hours_asked,
    } = *shape;
    // Seconds from the middle of the hour: the records deciding each are all held.
    let mut one_second = Vec::new();
    let mut listed = 0;
    for i in 0..seconds_asked {
        let s = start + 420_000 + i * (span_s * 1_000 - 600_000) / seconds_asked;
        let s = s - s.rem_euclid(1_000);
        let (ms, body) = get(format!("/v1/edits?from={s}&to={}&limit=1000", s + 1_000)).await?;
        listed += body["edits"].as_array().map_or(0, Vec::len);
        one_second.push(ms);
    }
    let mut hour = Vec::new();
    let mut total = 0;
    let to = now - 60_000;
    for _ in 0..hours_asked {
        let from = (to - 3_600_000).max(start);
        let (ms, body) = get(format!("/v1/top?by=page&from={from}&to={to}&n=10")).await?;
        total = body["total"].as_u64().unwrap_or(0);
        hour.push(ms);
    }
    let _ = stop.send(());
    let _ = server.await;
    Ok(Measured {
        one_second,
        listed,
        hour,
        total,
    })
}

/// The part's two metrics, named with `suffix` (`""`, `"_kafka"`); `held` says what the relay
/// read from.
pub fn push(out: &mut Vec<Metric>, suffix: &str, m: &Measured, shape: &Shape, held: &str) {
    out.push(
        Metric::median_of(
            &format!("edits_one_second{suffix}_ms"),
            m.one_second.clone(),
            "ms",
        )
        .target(Target::AtMost(200.0))
        .note(format!(
            "GET /v1/edits for one second ({:.1} edits on average), {held}; p99 {:.1} ms",
            m.listed as f64 / shape.seconds_asked as f64,
            percentile(&m.one_second, 99.0)
        )),
    );
    out.push(
        Metric::new(
            &format!("edits_top_pages_hour{suffix}_ms"),
            median(&m.hour),
            "ms",
        )
        .note(format!(
            "GET /v1/top?by=page for an hour ({} edits), median of {}",
            m.total, shape.hours_asked
        )),
    );
}

/// Writes `span_s` seconds of events at `rate` a second to the log in `dir`, counted and
/// committed: what a relay that took them in live holds. Returns how many.
fn fill(
    dir: &std::path::Path,
    data: &std::path::Path,
    start: i64,
    span_s: i64,
    rate: i64,
) -> anyhow::Result<usize> {
    let mut events: Vec<Value> = Vec::new();
    for f in [
        "recentchange-2024-02-06-all-wikis.jsonl",
        "recentchange-2024-02-07-all-wikis.jsonl",
        "legacy-2018-03-07-wikidata-after-first400.jsonl",
    ] {
        let text = std::fs::read_to_string(data.join(f)).with_context(|| f.to_string())?;
        for line in text.lines() {
            events.push(serde_json::from_str(line)?);
        }
    }
    let mut log = InputLog::open_in(dir)?;
    let mut next = [0u64; PARTITIONS as usize];
    let n = (span_s * rate) as usize;
    let mut rows: Vec<Row> = Vec::with_capacity(10_000);
    let mut flush = |rows: &mut Vec<Row>| {
        let entries: Vec<NewEntry<'_>> = rows
            .iter()
            .map(|(p, o, t, k, s, b)| NewEntry {
                partition: *p,
                offset: *o,
                ingest_ms: *t,
                key: k,
                summary: s,
                payload: b,
            })
            .collect();
        let r = log.append(&entries);
        rows.clear();
        r
    };
    for i in 0..n {
        let ingest = start + (i as i64) * 1_000 / rate;
        let mut e = events[i % events.len()].clone();
        // Stamped a little before it was taken in, as Wikimedia's events are.
        e["meta"]["dt"] = Value::String(Millis(ingest - 700).to_string());
        e["meta"]["id"] = Value::String(format!("bench-{i}"));
        let payload = serde_json::to_vec(&e)?;
        let edit = codec::event::parse(&payload).map_err(|e| anyhow::anyhow!("{e}"))?;
        let mut tag = Vec::new();
        Summary::of(&edit).tag(b"{}", &mut tag);
        let key = edit.wiki.to_string();
        let mut h = std::collections::hash_map::DefaultHasher::new();
        key.hash(&mut h);
        let p = (h.finish() % u64::from(PARTITIONS)) as u32;
        rows.push((p, next[p as usize], ingest, key, tag, payload));
        next[p as usize] += 1;
        if rows.len() == 10_000 {
            flush(&mut rows)?;
        }
    }
    flush(&mut rows)?;
    let commits: Vec<Commit> = (0..PARTITIONS)
        .map(|p| Commit {
            partition: p,
            next_offset: next[p as usize],
            drop_horizon_ms: Some(relay::clock::now().0),
        })
        .collect();
    log.commit(&commits)?;
    Ok(n)
}
