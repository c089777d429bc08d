//! The edits behind the counts: an embedded-bus relay whose log holds an hour of real events
//! (the bundled recordings, cycled, at Wikimedia's rate of ~40 a second, already counted and
//! committed), and how long it takes to list one second's edits (`/v1/edits`) and to rank an
//! hour's pages (`/v1/top?by=page`). Both read the bus back through the counter's admission
//! rules; one second needs the ~6 minutes of records whose ingest times can decide it.

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
    let (rate, span_s, seconds_asked, hours_asked) = if ctx.quick {
        (10, 900, 10, 1)
    } else {
        (40, 3_700, 50, 5)
    };
    let dir = TempDir::new("bench-edits")?;
    let now = relay::clock::now().0;
    let start = now - span_s * 1_000;
    let held = fill(dir.path(), &ctx.data, start, span_s, rate)?;

    let args = [
        "relay",
        "--no-upstream",
        "--keep-edits",
        "2h",
        "--state-dir",
        dir.path().to_str().context("UTF-8 temp dir")?,
        "--static-dir",
        dir.path().to_str().context("UTF-8 temp dir")?,
        "--listen",
        "127.0.0.1:0",
    ];
    let relay = relay::Relay::start(relay::Config::try_parse_from(args)?).await?;
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

    out.push(
        Metric::median_of("edits_one_second_ms", one_second.clone(), "ms")
            .target(Target::AtMost(200.0))
            .note(format!(
                "GET /v1/edits for one second ({:.1} edits on average), embedded bus holding \
                 {held} records ({rate}/s); p99 {:.1} ms",
                listed as f64 / seconds_asked as f64,
                percentile(&one_second, 99.0)
            )),
    );
    out.push(
        Metric::new("edits_top_pages_hour_ms", median(&hour), "ms").note(format!(
            "GET /v1/top?by=page for an hour ({total} edits), median of {hours_asked}"
        )),
    );
    Ok(())
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
