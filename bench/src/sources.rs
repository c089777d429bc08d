//! The events/s the relay sustains through each source, on this machine.
//!
//! Each source is driven as hard as it goes for a few seconds on a fresh relay, and the rates
//! come from the relay's own `/metrics` counters between two samples after a warm-up:
//! `bus_produced_total` (acknowledged by the bus) and `windows_counted_total` (counted).
//! - replay: `--replay <file> --replay-speed 1000000` of a recording made of the real events,
//!   1000 per recorded second (whole-second times, as Wikimedia's), played once; timed from
//!   the first event produced to the last (a looping replay starts at most one pass per
//!   second, so it cannot show the path's capacity),
//! - gateway: NDJSON batches of 1000 over 8 connections, posted in a loop,
//! - upstream: a local fake EventStreams server (this process) writing Wikimedia-framed events
//!   with fresh ids as fast as the relay reads them.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use support::names::{TempDir, unique};
use support::relay_process::RelayProcess;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use crate::Ctx;
use crate::events::{Generator, ndjson_bodies, reround};
use crate::report::Metric;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Source {
    Replay,
    Gateway,
    Upstream,
}

impl Source {
    fn name(self) -> &'static str {
        match self {
            Source::Replay => "replay",
            Source::Gateway => "gateway",
            Source::Upstream => "upstream",
        }
    }
}

pub async fn run(ctx: &Ctx, out: &mut Vec<Metric>) -> anyhow::Result<()> {
    let buses: &[bool] = if ctx.quick { &[true] } else { &[true, false] };
    for &kafka in buses {
        for source in [Source::Replay, Source::Gateway, Source::Upstream] {
            one(ctx, out, source, kafka).await?;
        }
    }
    Ok(())
}

async fn one(ctx: &Ctx, out: &mut Vec<Metric>, source: Source, kafka: bool) -> anyhow::Result<()> {
    let broker = crate::procs::bus_broker(ctx, kafka)?;
    let bus = if kafka { "kafka" } else { "embedded" };
    let mut args: Vec<String> = Vec::new();
    if let Some(b) = &broker {
        args.extend(["--brokers".into(), b.brokers()]);
    }
    let stop = Arc::new(AtomicBool::new(false));
    let mut load = None;
    let dir = TempDir::new("editpulse-bench-replay")?;
    let replay_n = if ctx.quick { 10_000 } else { 100_000 };
    match source {
        Source::Replay => {
            let rec = dir.path().join("recording.jsonl");
            write_recording(ctx, &rec, replay_n)?;
            args.extend([
                "--replay".into(),
                rec.display().to_string(),
                "--replay-speed".into(),
                "1000000".into(),
            ]);
        }
        Source::Gateway => args.push("--no-upstream".into()),
        Source::Upstream => {
            let listener = TcpListener::bind("127.0.0.1:0").await?;
            let port = listener.local_addr()?.port();
            args.extend([
                "--upstream".into(),
                format!("http://127.0.0.1:{port}/v2/stream/recentchange"),
                "--no-fallback".into(),
            ]);
            let g = Generator::new(&ctx.data, &unique("up"))?;
            load = Some(tokio::spawn(fake_upstream(listener, g, stop.clone())));
        }
    }
    let relay = crate::procs::relay(ctx, &format!("source-{}-{bus}", source.name()), &args).await?;
    if source == Source::Gateway {
        let mut g = Generator::new(&ctx.data, &unique("src-gw"))?;
        let now = relay::clock::now();
        let events: Vec<_> = (0..if ctx.quick { 20_000 } else { 100_000 })
            .map(|_| g.next_marked(now))
            .collect();
        let bodies = ndjson_bodies(&events, 1_000);
        let client = crate::gateway::http_client(8)?;
        let url = relay.url("/v1/events");
        let stop = stop.clone();
        load = Some(tokio::spawn(async move {
            // The same events again under new ids (counters drop a repeated id), with times
            // well within the allowed lateness for a run this short.
            let mut round = 0;
            while !stop.load(Ordering::Relaxed) {
                round += 1;
                let fresh = bodies.iter().map(|b| reround(b, round)).collect();
                crate::gateway::post_all(&client, &url, fresh, 8).await?;
            }
            Ok(())
        }));
    }

    let client = crate::gateway::http_client(8)?;
    if source == Source::Replay {
        let (produced, counted) = replay_pass(&relay, &client, replay_n as f64).await?;
        eprintln!(
            "[bench] source replay ({bus}): produced {produced:.0}/s, counted {counted:.0}/s"
        );
        let base = format!("source_replay_{bus}");
        let note = format!(
            "one pass of {replay_n} real events (1000 per recorded second) at \
             --replay-speed 1000000: from the pass's start to its last event on the bus \
             (produced) or counted"
        );
        let metric = |name: String, v: f64| {
            if v.is_finite() {
                Metric::new(&name, v, "events/s").note(note.clone())
            } else {
                Metric::missing(
                    &name,
                    "events/s",
                    "the pass went by between two /metrics samples",
                )
            }
        };
        out.push(metric(format!("{base}_produced_events_per_s"), produced));
        out.push(metric(format!("{base}_counted_events_per_s"), counted));
        return Ok(());
    }
    // Warm-up: until the bus has taken something, then one more second.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let m = relay.metrics(&client).await?;
        if m.get("bus_produced_total").copied().unwrap_or(0.0) > 0.0 {
            break;
        }
        if Instant::now() > deadline {
            bail!(
                "{}: nothing produced within 30 s; log {}",
                source.name(),
                relay.log_path().display()
            );
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(if ctx.quick { 300 } else { 1_000 })).await;
    let m0 = relay.metrics(&client).await?;
    let t0 = Instant::now();
    tokio::time::sleep(Duration::from_secs(if ctx.quick { 1 } else { 5 })).await;
    let m1 = relay.metrics(&client).await?;
    let secs = t0.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    let rate =
        |k: &str| (m1.get(k).copied().unwrap_or(0.0) - m0.get(k).copied().unwrap_or(0.0)) / secs;
    let produced = rate("bus_produced_total");
    let counted = rate("windows_counted_total");
    let errors = rate("bus_produce_errors_total");
    eprintln!(
        "[bench] source {} ({bus}): produced {produced:.0}/s, counted {counted:.0}/s",
        source.name()
    );
    let base = format!("source_{}_{bus}", source.name());
    out.push(
        Metric::new(
            &format!("{base}_produced_events_per_s"),
            produced,
            "events/s",
        )
        .note(format!(
            "bus_produced_total over {secs:.1} s; produce errors {errors:.0}/s"
        )),
    );
    out.push(Metric::new(
        &format!("{base}_counted_events_per_s"),
        counted,
        "events/s",
    ));
    drop(relay);
    if let Some(l) = load {
        l.abort();
        let _ = l.await;
    }
    drop(broker);
    Ok(())
}

/// `n` fresh real events, 1000 per second from now on, whole-second times.
fn write_recording(ctx: &Ctx, path: &std::path::Path, n: usize) -> anyhow::Result<()> {
    let mut g = Generator::new(&ctx.data, &unique("replay"))?;
    let base = relay::clock::now().floor_second().0;
    let mut text = Vec::with_capacity(n * 1_400);
    for i in 0..n {
        let e = g.next_at(wire::Millis(base + (i / 1_000) as i64 * 1_000));
        text.extend_from_slice(&e.json);
        text.push(b'\n');
    }
    std::fs::write(path, text)?;
    Ok(())
}

/// One replay pass: events per second from its start to the last event on the bus ("replay
/// finished" in the relay's log) and to the last one counted (`/metrics`). The start is the
/// second boundary after "replay starting": a replay waits for it (see source/replay.rs).
/// Times come from the log, not from polling, because an embedded-bus replay this fast keeps
/// the relay's runtime too busy to answer `/metrics` while it plays.
async fn replay_pass(
    relay: &RelayProcess,
    client: &reqwest::Client,
    n: f64,
) -> anyhow::Result<(f64, f64)> {
    let deadline = Instant::now() + Duration::from_secs(120);
    let (mut counted_at, mut finished) = (None, None);
    while counted_at.is_none() || finished.is_none() {
        if Instant::now() > deadline {
            bail!(
                "replay did not finish in 120 s; log {}",
                relay.log_path().display()
            );
        }
        if counted_at.is_none() {
            let m = relay.metrics(client).await?;
            if m.get("windows_counted_total").copied().unwrap_or(0.0) >= n {
                counted_at = Some(relay::clock::now().0);
            }
        }
        if finished.is_none() {
            finished = log_time(relay.log_path(), "replay finished");
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let started = log_time(relay.log_path(), "replay starting")
        .context("no \"replay starting\" in the log")?;
    let start = (started.div_euclid(1_000) + 1) * 1_000;
    let rate = |end: i64| n / ((end - start) as f64 / 1e3);
    Ok((
        rate(finished.expect("seen")),
        rate(counted_at.expect("seen")),
    ))
}

/// The time (Unix ms) of the first line of a relay log containing `needle`.
fn log_time(log: &std::path::Path, needle: &str) -> Option<i64> {
    let text = std::fs::read_to_string(log).ok()?;
    let line = text.lines().find(|l| l.contains(needle))?;
    // tracing's timestamp (…T…Z), maybe wrapped in colour codes.
    let z = line.find('Z')?;
    (20..=30)
        .filter_map(|len| line.get(z + 1 - len.min(z + 1)..=z))
        .find_map(|s| wire::Millis::parse_rfc3339(s).ok())
        .map(|m| m.0)
}

/// Serves `GET` with an endless Wikimedia-style SSE stream (`event: message`, a Kafka-position
/// `id:`, one `data:` line) of fresh events, as fast as the client reads.
async fn fake_upstream(
    listener: TcpListener,
    g: Generator,
    stop: Arc<AtomicBool>,
) -> anyhow::Result<()> {
    loop {
        let (mut sock, _) = listener.accept().await?;
        let mut g = g.clone();
        let stop = stop.clone();
        tokio::spawn(async move {
            let mut req = [0u8; 4096];
            let mut head = Vec::new();
            while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                match sock.read(&mut req).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => head.extend_from_slice(&req[..n]),
                }
            }
            let hdr = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\
                       Cache-Control: no-cache\r\nTransfer-Encoding: chunked\r\n\r\n";
            if sock.write_all(hdr.as_bytes()).await.is_err() {
                return;
            }
            let mut offset = 0u64;
            let mut chunk = Vec::with_capacity(96 * 1024);
            while !stop.load(Ordering::Relaxed) {
                chunk.clear();
                let now = relay::clock::now();
                let mut frames = Vec::with_capacity(80 * 1024);
                for _ in 0..50 {
                    let e = g.next_at(now);
                    offset += 1;
                    frames.extend_from_slice(b"event: message\nid: [{\"topic\":\"eqiad.mediawiki.recentchange\",\"partition\":0,\"offset\":");
                    frames.extend_from_slice(offset.to_string().as_bytes());
                    frames.extend_from_slice(b"}]\ndata: ");
                    frames.extend_from_slice(&e.json);
                    frames.extend_from_slice(b"\n\n");
                }
                support::chunked::encode_into(&mut chunk, &frames);
                if sock.write_all(&chunk).await.is_err() {
                    return;
                }
            }
        });
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn reads_tracing_timestamps_with_or_without_colour() {
        let dir = support::names::TempDir::new("bench-test-log").unwrap();
        let log = dir.path().join("relay.log");
        std::fs::write(
            &log,
            "\x1b[2m2026-12-01T19:24:46.683738Z\x1b[0m \x1b[32m INFO\x1b[0m replay starting\n\
             2026-12-01T19:24:48.420Z  INFO relay::source::replay: replay finished\n",
        )
        .unwrap();
        assert_eq!(
            super::log_time(&log, "replay starting"),
            Some(
                wire::Millis::parse_rfc3339("2026-12-01T19:24:46.683Z")
                    .unwrap()
                    .0
            )
        );
        assert_eq!(
            super::log_time(&log, "finished"),
            Some(
                wire::Millis::parse_rfc3339("2026-12-01T19:24:48.420Z")
                    .unwrap()
                    .0
            )
        );
        assert_eq!(super::log_time(&log, "nothing"), None);
    }
}
