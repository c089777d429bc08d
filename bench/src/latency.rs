//! Metric 4: latency.
//!
//! - Provisional: single events are posted one after another at a fixed rate; each one's
//!   latency runs from its 202 to the first `count` update, on an SSE client, of its second
//!   with a count that includes it. Every event goes to one wiki, hence one partition, which
//!   the counter reads in order; each post waits for the previous 202, so "the k-th event
//!   accepted in second W is counted" is exactly "W's count reached k".
//! - Final: from a second's end to its final count reaching the client. The target allows the
//!   watermark delay (2 s by default) + 50 ms.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use support::names::unique;
use support::raw_sse::{SseConn, frames};
use tokio::sync::watch;
use wire::{Millis, WindowRecord};

use crate::Ctx;
use crate::events::Generator;
use crate::report::{Metric, Target};
use crate::stats::percentile;

/// The relay's default `--watermark-delay-ms`, which these runs keep.
const WATERMARK_DELAY_MS: f64 = 2_000.0;
const RATE_PER_S: u64 = 50;

#[derive(Debug, Clone, Copy)]
struct Seen {
    at: Instant,
    wall_ms: i64,
    start: i64,
    count: u64,
    is_final: bool,
}

pub async fn run(ctx: &Ctx, out: &mut Vec<Metric>, kafka: bool) -> anyhow::Result<()> {
    let broker = crate::procs::bus_broker(ctx, kafka)?;
    let mut args = vec!["--no-upstream".to_string()];
    if let Some(b) = &broker {
        args.extend([
            "--brokers".into(),
            b.brokers(),
            "--input-topic".into(),
            "bench-lat-in".into(),
            "--output-topic".into(),
            "bench-lat-out".into(),
        ]);
    }
    let bus = if kafka { "kafka" } else { "embedded" };
    let mut relay = crate::procs::relay(ctx, &format!("latency-{bus}"), &args).await?;

    let seen: Arc<Mutex<Vec<Seen>>> = Arc::default();
    let (stop, stopped) = watch::channel(false);
    let mut conn = SseConn::open(relay.port(), "/v1/stream").await?;
    let reader = {
        let seen = seen.clone();
        let mut stopped = stopped.clone();
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    more = conn.read_more() => if !more? { bail!("the SSE stream ended") },
                    _ = stopped.changed() => return Ok::<(), anyhow::Error>(()),
                }
                let at = Instant::now();
                let wall_ms = relay::clock::now().0;
                let mut bad = None;
                frames(&mut conn.body, |f| {
                    if f.event == "count" {
                        match serde_json::from_str::<WindowRecord>(f.data) {
                            Ok(w) => seen.lock().expect("lock").push(Seen {
                                at,
                                wall_ms,
                                start: w.start.0,
                                count: w.count,
                                is_final: w.is_final,
                            }),
                            Err(e) => bad = Some(e),
                        }
                    }
                });
                if let Some(e) = bad {
                    bail!("unreadable count update: {e}");
                }
            }
        })
    };

    let secs = if ctx.quick { 4 } else { 20 };
    let client = crate::gateway::http_client(1)?;
    let url = relay.url("/v1/events");
    let mut g = Generator::new(&ctx.data, &unique("lat"))?;
    // (second, k-th accepted in it, when its 202 came)
    let mut accepted: Vec<(i64, u64, Instant)> = Vec::new();
    let mut per_second = std::collections::BTreeMap::<i64, u64>::new();
    // Warm up, as in every other part: a fresh relay's first counts wait for its producers'
    // first acknowledgements (~0.5 s on nisshi for a new idempotent producer) and its first
    // fetches. One event, counted and seen before the measured seconds begin.
    let warm_at = relay::clock::now();
    post_one(
        &client,
        &url,
        g.next_for_wiki(warm_at, "benchlatencywarmup").json,
    )
    .await?;
    let warm_second = warm_at.floor_second().0;
    let warm_deadline = Instant::now() + Duration::from_secs(30);
    while !seen
        .lock()
        .expect("lock")
        .iter()
        .any(|s| s.start == warm_second && s.count >= 1)
    {
        if Instant::now() > warm_deadline {
            bail!("the warm-up event was not counted within 30 s");
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let mut tick = tokio::time::interval(Duration::from_micros(1_000_000 / RATE_PER_S));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // Start on a second boundary so the first and last seconds are whole.
    let now = relay::clock::now().0;
    tokio::time::sleep(Duration::from_millis(
        (1_000 - now.rem_euclid(1_000)) as u64,
    ))
    .await;
    let begin = relay::clock::now().0;
    let posting_ends = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < posting_ends {
        tick.tick().await;
        let t = relay::clock::now();
        let done = post_one(&client, &url, g.next_for_wiki(t, "benchlatencywiki").json).await?;
        let second = t.floor_second().0;
        let k = per_second.entry(second).or_default();
        *k += 1;
        accepted.push((second, *k, done));
    }
    let end = relay::clock::now().0;
    // Wait for the last second to close and its final to arrive.
    tokio::time::sleep(Duration::from_millis(WATERMARK_DELAY_MS as u64 + 1_500)).await;
    let _ = stop.send(true);
    reader.await??;
    relay.check_alive()?;
    let seen = seen.lock().expect("lock").clone();

    let mut provisional = Vec::with_capacity(accepted.len());
    let mut never = 0usize;
    for &(second, k, done) in &accepted {
        match seen.iter().find(|s| s.start == second && s.count >= k) {
            Some(s) => provisional.push(s.at.saturating_duration_since(done).as_secs_f64() * 1e3),
            None => never += 1,
        }
    }
    let mut finals = Vec::new();
    let mut wrong = Vec::new();
    let last_whole = Millis(end).floor_second().0; // seconds before this were posted in whole
    for (&second, &n) in per_second.range(begin..last_whole) {
        match seen.iter().find(|s| s.start == second && s.is_final) {
            Some(s) => {
                finals.push((s.wall_ms - (second + 1_000)) as f64);
                if s.count != n {
                    wrong.push(format!("{second}: final {} != accepted {n}", s.count));
                }
            }
            None => wrong.push(format!("{second}: no final count")),
        }
    }
    if provisional.is_empty() || finals.is_empty() {
        bail!(
            "latency: {} events accepted, {} seen, {} finals; log {}",
            accepted.len(),
            provisional.len(),
            finals.len(),
            relay.log_path().display()
        );
    }
    let note = format!(
        "{bus} bus, {} single events at {RATE_PER_S}/s over {secs} s, one SSE client",
        accepted.len()
    );
    let p = |v: &[f64], q| percentile(v, q);
    out.push(
        Metric::new(
            &format!("latency_{bus}_provisional_p50_ms"),
            p(&provisional, 50.0),
            "ms",
        )
        .note(note.clone()),
    );
    out.push(
        Metric::new(
            &format!("latency_{bus}_provisional_p99_ms"),
            p(&provisional, 99.0),
            "ms",
        )
        .target(Target::AtMost(100.0))
        .note(if never > 0 {
            format!("{note}; {never} events never seen counted")
        } else {
            note.clone()
        }),
    );
    out.push(Metric::new(
        &format!("latency_{bus}_final_after_end_p50_ms"),
        p(&finals, 50.0),
        "ms",
    ));
    out.push(
        Metric::new(
            &format!("latency_{bus}_final_after_end_p99_ms"),
            p(&finals, 99.0),
            "ms",
        )
        .target(Target::AtMost(WATERMARK_DELAY_MS + 50.0))
        .note(format!(
            "{} seconds; from the second's end; watermark delay {WATERMARK_DELAY_MS} ms{}",
            finals.len(),
            if wrong.is_empty() {
                String::new()
            } else {
                format!("; WRONG: {}", wrong.join(", "))
            }
        )),
    );
    if !wrong.is_empty() || never > 0 {
        bail!(
            "latency ({bus}): counts did not match what was accepted: {never} events never \
             counted; {}",
            wrong.join(", ")
        );
    }
    drop(relay);
    drop(broker);
    Ok(())
}

/// Posts one event and returns when its 202 came.
async fn post_one(
    client: &reqwest::Client,
    url: &str,
    json: impl Into<reqwest::Body>,
) -> anyhow::Result<Instant> {
    let resp = client
        .post(url)
        .header("content-type", "application/json")
        .body(json)
        .send()
        .await
        .context("POST /v1/events")?;
    let done = Instant::now();
    if resp.status() != reqwest::StatusCode::ACCEPTED {
        bail!("POST /v1/events answered {}", resp.status());
    }
    Ok(done)
}
