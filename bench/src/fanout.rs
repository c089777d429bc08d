//! Metric 5: fan-out. N raw-TCP SSE clients (one tokio task each) on one relay; every client
//! must receive every `count` update (consecutive ids), the delivery skew is the time between
//! the first and the last client receiving the same update, and the relay's RSS is read from
//! /proc. The relay replays a real recording at its recorded pace (so updates carry real top-ten
//! lists) on the embedded bus. Once unfiltered, and once with the clients spread over 50
//! distinct filters ([`FILTERS`]): each filter's stream has its own ids, so skew and delivery are
//! taken among the clients of one filter.
//!
//! "Receiving" is timed twice: when the kernel took the bytes into the client's socket
//! (`SO_TIMESTAMPNS`, the delivery the target is about), and when this process's task got to
//! read them, which adds the scheduling of 10,000 reader tasks sharing the relay's cores.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime};

use anyhow::bail;
use support::proc_stats::{cpu_secs, nofile_limit, own_cpu_secs, rss_kb};
use support::raw_sse::{SseConn, frames};
use tokio::sync::{Semaphore, watch};

use crate::Ctx;
use crate::procs::running_pid;
use crate::report::{Metric, Target};
use crate::stats::percentile;

/// Fifty distinct filters: every type × bots, humans or both × articles, others or both
/// (45), and five busy wikis.
fn filters() -> Vec<String> {
    let mut out = Vec::new();
    for t in ["edit", "new", "log", "categorize", "other"] {
        for bot in ["", "&bot=true", "&bot=false"] {
            for ns in ["", "&namespace=article", "&namespace=other"] {
                out.push(format!("type={t}{bot}{ns}"));
            }
        }
    }
    for wiki in ["enwiki", "wikidatawiki", "commonswiki", "dewiki", "frwiki"] {
        out.push(format!("wiki={wiki}"));
    }
    out
}

/// How many clients, and over how many distinct filters (0: unfiltered).
const FILTERED: (usize, usize) = (1_000, 50);

#[derive(Default)]
struct ClientLog {
    /// Update id, when the kernel received it, when this task read it.
    got: Vec<(u64, SystemTime, Instant)>,
    /// Ids skipped or repeated between consecutive count updates.
    gaps: u64,
    /// The filter's index: ids are comparable within one filter's stream only.
    group: usize,
}

pub async fn run(ctx: &Ctx, out: &mut Vec<Metric>) -> anyhow::Result<()> {
    let sizes: &[(usize, usize)] = if ctx.quick {
        &[(100, 0), (100, 10)]
    } else {
        &[(1_000, 0), (10_000, 0), FILTERED]
    };
    let limit = crate::procs::raise_nofile(65_536)?;
    let all_filters = filters();
    for &(n, nf) in sizes {
        if (limit as usize) < n + 512 {
            bail!("open-files limit {limit} is too low for {n} clients");
        }
        let name = match nf {
            0 => n.to_string(),
            _ => format!("{n}_over_{nf}_filters"),
        };
        let mut runs = Vec::new();
        for rep in 0..ctx.reps(3) {
            let r = one(ctx, n, &all_filters[..nf]).await?;
            eprintln!(
                "[bench] fanout {name} rep {rep}: skew p99 {:.1} ms (read by the task: {:.1} ms), \
                 delivered {:.4}, RSS {:.1} MB",
                r.skew_p99, r.read_skew_p99, r.fraction, r.rss_mb
            );
            runs.push(r);
        }
        let col = |f: fn(&Run) -> f64| runs.iter().map(f).collect::<Vec<f64>>();
        let note = runs.last().map_or(String::new(), |r| r.note.clone());
        out.push(
            Metric::median_of(
                &format!("fanout_{name}_skew_p99_ms"),
                col(|r| r.skew_p99),
                "ms",
            )
            .target(Target::AtMost(200.0))
            .note(format!("median of runs; last run: {note}")),
        );
        out.push(Metric::median_of(
            &format!("fanout_{name}_skew_p50_ms"),
            col(|r| r.skew_p50),
            "ms",
        ));
        out.push(
            Metric::median_of(
                &format!("fanout_{name}_read_skew_p99_ms"),
                col(|r| r.read_skew_p99),
                "ms",
            )
            .note("the same spread timed when each reader task read the update (informational)"),
        );
        let worst = col(|r| r.fraction).into_iter().fold(1.0, f64::min);
        let gaps: u64 = runs.iter().map(|r| r.gaps).sum();
        out.push(
            Metric::new(&format!("fanout_{name}_delivered_fraction"), worst, "ratio")
                .target(Target::AtLeast(1.0))
                .note(format!(
                    "worst run; {gaps} id gaps seen by clients in all runs"
                )),
        );
        let hwm = col(|r| r.hwm_mb).into_iter().fold(0.0, f64::max);
        let mut m = Metric::new(
            &format!("fanout_{name}_relay_rss_mb"),
            col(|r| r.rss_mb).into_iter().fold(0.0, f64::max),
            "MB",
        )
        .target(Target::AtMost(300.0))
        .note(format!(
            "largest VmRSS seen while serving, over all runs; VmHWM {hwm:.1} MB"
        ));
        m.samples = col(|r| r.rss_mb);
        out.push(m);
    }
    Ok(())
}

/// `n` clients, client `i` on filter `i % filters.len()` (unfiltered if there are none).
async fn one(ctx: &Ctx, n: usize, filters: &[String]) -> anyhow::Result<Run> {
    let recording = ctx.data.join(crate::events::RECORDINGS[0]);
    let mut relay = crate::procs::relay(
        ctx,
        &format!("fanout-{n}"),
        &[
            "--replay".into(),
            recording.display().to_string(),
            "--replay-loop".into(),
        ],
    )
    .await?;
    let pid = running_pid(&relay)?;
    let relay_nofile = nofile_limit(pid).ok();
    let (stop, stopped) = watch::channel(false);
    let connected = Arc::new(AtomicUsize::new(0));
    let connecting = Arc::new(Semaphore::new(256));
    let mut tasks = Vec::with_capacity(n);
    let port = relay.port();
    let connect_start = Instant::now();
    for i in 0..n {
        let (connected, connecting, mut stopped) =
            (connected.clone(), connecting.clone(), stopped.clone());
        let (group, path) = match filters.len() {
            0 => (0, "/v1/stream".to_string()),
            k => (i % k, format!("/v1/stream?{}", filters[i % k])),
        };
        tasks.push(tokio::spawn(async move {
            let permit = connecting.acquire_owned().await?;
            let mut conn = SseConn::open(port, &path).await?;
            drop(permit);
            connected.fetch_add(1, Ordering::Relaxed);
            let mut log = ClientLog {
                group,
                ..ClientLog::default()
            };
            let mut last: Option<u64> = None;
            loop {
                tokio::select! {
                    more = conn.read_more() => if !more? { bail!("stream ended") },
                    _ = stopped.changed() => return Ok::<ClientLog, anyhow::Error>(log),
                }
                let at = Instant::now();
                let Some(received) = conn.received else {
                    bail!("the kernel gave no receive timestamp (SO_TIMESTAMPNS)");
                };
                frames(&mut conn.body, |f| {
                    if f.event != "count" {
                        return;
                    }
                    let Some(id) = f.id.and_then(|v| v.trim().parse::<u64>().ok()) else {
                        return;
                    };
                    if let Some(prev) = last
                        && id != prev + 1
                    {
                        log.gaps += 1;
                    }
                    last = Some(id);
                    log.got.push((id, received, at));
                });
            }
        }));
    }
    let deadline = Instant::now() + Duration::from_secs(120);
    while connected.load(Ordering::Relaxed) < n {
        if Instant::now() > deadline || tasks.iter().any(|t| t.is_finished()) {
            let _ = stop.send(true);
            let failed = tasks.iter().filter(|t| t.is_finished()).count();
            let first_error = match tasks.into_iter().find(|t| t.is_finished()) {
                Some(t) => format!("{:?}", t.await.map(|r| r.err())),
                None => "timeout".into(),
            };
            bail!(
                "only {} of {n} clients connected ({failed} ended): {first_error}",
                connected.load(Ordering::Relaxed)
            );
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let connect_secs = connect_start.elapsed().as_secs_f64();
    let measure = Duration::from_secs(if ctx.quick { 3 } else { 6 });
    let mut max_rss = 0u64;
    let cpu0 = (cpu_secs(pid).ok(), own_cpu_secs().ok(), Instant::now());
    let until = Instant::now() + measure;
    while Instant::now() < until {
        if let Ok((rss, _)) = rss_kb(pid) {
            max_rss = max_rss.max(rss);
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let hwm = rss_kb(pid).map_or(0, |(_, h)| h);
    let wall = cpu0.2.elapsed().as_secs_f64();
    let share = |a: Option<f64>, b: Option<f64>| match (a, b) {
        (Some(a), Some(b)) => format!("{:.0}%", (b - a) / wall * 100.0),
        _ => "?".into(),
    };
    let cpu = format!(
        "CPU while measuring: relay {}, these clients {} (of one core; 2 cores in all)",
        share(cpu0.0, cpu_secs(pid).ok()),
        share(cpu0.1, own_cpu_secs().ok())
    );
    let _ = stop.send(true);
    let mut logs = Vec::with_capacity(n);
    for t in tasks {
        logs.push(t.await??);
    }
    relay.check_alive()?;
    drop(relay);

    let (mut delivered, mut expected, mut span) = (0, 0, 0);
    let (mut skews, mut read_skews) = (Vec::new(), Vec::new());
    for group in 0..filters.len().max(1) {
        let logs: Vec<&ClientLog> = logs.iter().filter(|l| l.group == group).collect();
        let g = deliveries(&logs, connect_start)?;
        delivered += g.delivered;
        expected += logs.len() * g.span;
        span = span.max(g.span);
        skews.extend(g.skews);
        read_skews.extend(g.read_skews);
    }
    let gaps: u64 = logs.iter().map(|l| l.gaps).sum();
    let fraction = delivered as f64 / expected as f64;
    let filtered = match filters.len() {
        0 => String::new(),
        k => format!(" over {k} filters (skew among each filter's clients)"),
    };
    Ok(Run {
        skew_p99: percentile(&skews, 99.0),
        skew_p50: percentile(&skews, 50.0),
        read_skew_p99: percentile(&read_skews, 99.0),
        fraction,
        gaps,
        rss_mb: max_rss as f64 / 1024.0,
        hwm_mb: hwm as f64 / 1024.0,
        note: format!(
            "{n} clients{filtered} (connected in {connect_secs:.1} s), {span} updates over {} s, \
             embedded bus, replay at speed 1; relay open-files limit {}; {cpu}",
            measure.as_secs(),
            relay_nofile.map_or("?".into(), |l| l.to_string())
        ),
    })
}

/// What one stream's clients received.
struct Deliveries {
    /// Updates every client was connected for.
    span: usize,
    /// Of those, how many reached a client, summed over clients.
    delivered: usize,
    skews: Vec<f64>,
    read_skews: Vec<f64>,
}

/// The updates every client of one stream was connected for (after the last one's first, up
/// to the earliest one's last) and their spread.
fn deliveries(logs: &[&ClientLog], connect_start: Instant) -> anyhow::Result<Deliveries> {
    let n = logs.len();
    let lo = logs.iter().filter_map(|l| l.got.first().map(|g| g.0)).max();
    let hi = logs.iter().filter_map(|l| l.got.last().map(|g| g.0)).min();
    let (Some(lo), Some(hi)) = (lo, hi) else {
        bail!("some of the {n} clients received no count update");
    };
    if hi < lo {
        bail!("no update reached all {n} clients (ids {lo}..{hi})");
    }
    let span = (hi - lo + 1) as usize;
    let in_span = |id: u64| (lo..=hi).contains(&id).then(|| (id - lo) as usize);
    let got = || logs.iter().flat_map(|l| &l.got);
    Ok(Deliveries {
        span,
        delivered: got().filter(|g| in_span(g.0).is_some()).count(),
        skews: spreads(
            span,
            got().filter_map(|g| {
                let at = g.1.duration_since(SystemTime::UNIX_EPOCH).ok()?;
                Some((in_span(g.0)?, at))
            }),
        ),
        read_skews: spreads(
            span,
            got().filter_map(|g| Some((in_span(g.0)?, g.2.duration_since(connect_start)))),
        ),
    })
}

/// Per update (index < span): last receipt − first receipt, in ms.
fn spreads(span: usize, receipts: impl Iterator<Item = (usize, Duration)>) -> Vec<f64> {
    let mut bounds = vec![None::<(Duration, Duration)>; span];
    for (i, at) in receipts {
        let b = &mut bounds[i];
        *b = Some(b.map_or((at, at), |(lo, hi)| (lo.min(at), hi.max(at))));
    }
    bounds
        .into_iter()
        .flatten()
        .map(|(lo, hi)| (hi - lo).as_secs_f64() * 1e3)
        .collect()
}

struct Run {
    skew_p99: f64,
    skew_p50: f64,
    read_skew_p99: f64,
    fraction: f64,
    gaps: u64,
    rss_mb: f64,
    hwm_mb: f64,
    note: String,
}
