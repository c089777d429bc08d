//! Slow and stalled SSE clients: 450 clients reading and 50 that never read, on one relay.
//!
//! Every reader must get every count update — consecutive ids, none missing, the same bytes as
//! a reference reader — and about when the reference does, while the relay's memory stays
//! bounded; afterwards every connection is released. Then 1,000 connect/read/close cycles must
//! leave no file descriptor and no client behind.
//!
//! Why memory is bounded (relay/src/publish/updates.rs, relay/src/http/stream.rs): each update
//! is framed once into a shared log capped at `--update-log` frames, and a client is only a
//! position in that log plus `Bytes` handles to frames the log already holds. A client that
//! does not read is held back by TCP backpressure — its socket buffers fill, hyper stops polling
//! its body stream — not by a buffer of its own; if it falls behind the log's start it is
//! resynced from the window store. So 50 stalled clients cost the same as 50 idle ones.
//!
//! At this load (about 7 KB/s of updates per client) the stalled clients' unread bytes mostly
//! sit in the kernel's socket buffers for the length of the test — the test checks they are
//! there, on the relay's side — so the RSS bound is a ceiling, not a measure of backpressure.

use std::cell::Cell;
use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::Value;
use support::paths::data_file;
use support::proc_stats::{open_fds, rss_kb, tcp_queues};
use support::raw_sse::{self, SseConn, frames};
use support::relay_process::RelayProcess;
use tokio::sync::watch;

const READERS: usize = 450;
const STALLED: usize = 50;
const MEASURE: Duration = Duration::from_secs(15);
const CYCLES: usize = 1_000;
const CYCLE_WORKERS: usize = 8;
/// The relay's resident memory must stay under this with all 500 clients connected.
const RSS_BOUND_KB: u64 = 300 * 1024;
const FD_MARGIN: usize = 10;
const STREAM: &str = "/v1/stream";

/// One `event: count` frame: its id, a hash of its bytes, and when it was read.
type Seen = (u64, u64, Instant);

/// Reads count frames until told to stop; `ready` counts readers that got their first one.
async fn reader(
    port: u16,
    ready: Arc<AtomicUsize>,
    mut stop: watch::Receiver<bool>,
) -> Result<Vec<Seen>, String> {
    let mut sse = SseConn::open(port, STREAM)
        .await
        .map_err(|e| format!("{e:#}"))?;
    let mut seen: Vec<Seen> = Vec::with_capacity(1_024);
    let hard_stop = tokio::time::Instant::now() + Duration::from_secs(120);
    loop {
        tokio::select! {
            r = sse.read_more() => {
                let now = Instant::now();
                if !r.map_err(|e| format!("read: {e:#}"))? {
                    return Err(format!("the relay ended the stream after {} counts", seen.len()));
                }
                let mut bad = None;
                frames(&mut sse.body, |f| {
                    let (Some(id), "count") = (f.id, f.event) else { return };
                    let id: u64 = match id.parse() {
                        Ok(id) => id,
                        Err(e) => return bad = Some(format!("count id {id:?}: {e}")),
                    };
                    let mut h = DefaultHasher::new();
                    f.raw.hash(&mut h);
                    if seen.is_empty() {
                        ready.fetch_add(1, Ordering::Relaxed);
                    }
                    seen.push((id, h.finish(), now));
                });
                if let Some(e) = bad {
                    return Err(e);
                }
            }
            _ = stop.changed() => return Ok(seen),
            _ = tokio::time::sleep_until(hard_stop) => return Err("never told to stop".into()),
        }
    }
}

/// Connects, reads the first frame, hangs up.
async fn one_cycle(port: u16) -> Result<(), String> {
    let mut sse = SseConn::open(port, STREAM)
        .await
        .map_err(|e| format!("{e:#}"))?;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let mut got = false;
        frames(&mut sse.body, |_| got = true);
        if got {
            return Ok(());
        }
        match tokio::time::timeout_at(deadline, sse.read_more()).await {
            Ok(Ok(true)) => {}
            Ok(Ok(false)) => return Err("stream ended before its first frame".into()),
            Ok(Err(e)) => return Err(format!("{e:#}")),
            Err(_) => return Err("no first frame within 5 s".into()),
        }
    }
}

/// Polls until `clients.connected` is `want` (and `extra` holds); the last health on timeout.
async fn wait_connected(
    client: &reqwest::Client,
    relay: &RelayProcess,
    want: u64,
    within: Duration,
    extra: impl Fn() -> bool,
) -> support::Result<Result<Value, Value>> {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let h = relay.health(client).await?;
        if h["clients"]["connected"].as_u64() == Some(want) && extra() {
            return Ok(Ok(h));
        }
        if tokio::time::Instant::now() > deadline {
            return Ok(Err(h));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Waits until no client is counted as connected and the relay has at most `FD_MARGIN` file
/// descriptors more than `baseline` (named `label`) open; panics after 15 s, saying `when`.
/// Returns the descriptors open then.
async fn wait_released(
    client: &reqwest::Client,
    relay: &RelayProcess,
    pid: u32,
    when: &str,
    (label, baseline): (&str, usize),
) -> support::Result<usize> {
    let fds = Cell::new(0);
    let settled = || {
        fds.set(open_fds(pid).expect("the relay's open fds"));
        fds.get() <= baseline + FD_MARGIN
    };
    if let Err(h) = wait_connected(client, relay, 0, Duration::from_secs(15), settled).await? {
        panic!(
            "{when}: health clients {}, {} fds ({label} {baseline})\n{}",
            h["clients"],
            fds.get(),
            relay.log_tail(40)
        );
    }
    Ok(fds.get())
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_and_stalled_clients_cost_nothing_and_leave_nothing_behind() -> support::Result<()> {
    let started = Instant::now();
    let file = data_file("recentchange-2024-02-06-all-wikis.jsonl")
        .display()
        .to_string();
    let mut relay = RelayProcess::spawn(
        "slow-clients",
        &["--replay", &file, "--replay-loop", "--replay-speed", "4"],
        &[],
    )?;
    relay.wait_healthy().await?;
    let pid = relay.pid().expect("relay running");
    let port = relay.port();
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let rss_before = rss_kb(pid)?.0;
    let fds_idle = open_fds(pid)?;

    // 1. 450 readers and 50 clients that never read a byte. The stalled ones get a tiny receive
    // buffer so that backpressure reaches the relay within seconds.
    let ready = Arc::new(AtomicUsize::new(0));
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut readers = Vec::with_capacity(READERS);
    for i in 0..READERS {
        readers.push(tokio::spawn(reader(port, ready.clone(), stop_rx.clone())));
        if i == 0 {
            // The reference reader is connected before all the others.
            tokio::time::sleep(Duration::from_millis(50)).await;
        } else if i % 50 == 0 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
    let mut stalled = Vec::with_capacity(STALLED);
    for _ in 0..STALLED {
        let s = raw_sse::connect(port, STREAM, Some(4096))
            .await
            .map_err(|e| relay.fail(&format!("stalled client: {e:#}")))?;
        stalled.push(s);
    }
    let stalled_ports: Vec<u16> = stalled
        .iter()
        .map(|s| s.local_addr().unwrap().port())
        .collect();
    let all = (READERS + STALLED) as u64;
    let ready_now = || ready.load(Ordering::Relaxed) == READERS;
    if let Err(h) = wait_connected(&client, &relay, all, Duration::from_secs(20), ready_now).await?
    {
        panic!(
            "{} of {READERS} readers got a count, health clients {}\n{}",
            ready.load(Ordering::Relaxed),
            h["clients"],
            relay.log_tail(40)
        );
    }
    let fds_busy = open_fds(pid)?;
    let t0 = Instant::now();
    tokio::time::sleep(MEASURE).await;
    let t1 = Instant::now();
    let queues = tcp_queues(port)?;
    let (rss_after, rss_peak) = rss_kb(pid)?;
    // Let the last updates of the window reach everyone, then stop reading.
    tokio::time::sleep(Duration::from_secs(2)).await;
    stop_tx.send(true).unwrap();
    let mut seen = Vec::with_capacity(READERS);
    for (i, r) in readers.into_iter().enumerate() {
        match r.await.unwrap() {
            Ok(s) => seen.push(s),
            Err(e) => panic!("reader {i}: {e}\n{}", relay.log_tail(40)),
        }
    }
    let health_busy = relay.health(&client).await?;
    drop(stalled);

    // Every reader got every update in the window, the same bytes as the reference, in order.
    let reference: HashMap<u64, (u64, Instant)> =
        seen[0].iter().map(|&(id, h, t)| (id, (h, t))).collect();
    let window: Vec<u64> = {
        let mut w: Vec<u64> = seen[0]
            .iter()
            .filter(|(_, _, t)| *t >= t0 && *t <= t1)
            .map(|s| s.0)
            .collect();
        w.sort_unstable();
        w
    };
    assert!(
        window.len() >= 20,
        "only {} count updates in {MEASURE:?}: the replay should produce many more\n{}",
        window.len(),
        relay.log_tail(40)
    );
    let (first, last) = (window[0], *window.last().unwrap());
    assert_eq!(
        window,
        (first..=last).collect::<Vec<_>>(),
        "the reference reader's ids have gaps"
    );
    let mut lags = Vec::with_capacity(READERS * window.len());
    for (r, s) in seen.iter().enumerate() {
        let ids: Vec<u64> = s.iter().map(|x| x.0).collect();
        if let Some(w) = ids.windows(2).find(|w| w[1] != w[0] + 1) {
            panic!(
                "reader {r}: id {} followed by {} (missing or repeated updates)",
                w[0], w[1]
            );
        }
        let mine: HashMap<u64, (u64, Instant)> = s.iter().map(|&(id, h, t)| (id, (h, t))).collect();
        for id in first..=last {
            let Some(&(hash, at)) = mine.get(&id) else {
                panic!(
                    "reader {r} never got update {id} (it has {:?}..{:?})\n{}",
                    ids.first(),
                    ids.last(),
                    relay.log_tail(40)
                );
            };
            let (ref_hash, ref_at) = reference[&id];
            assert_eq!(
                hash, ref_hash,
                "reader {r}: update {id} differs from the reference's"
            );
            lags.push(if at >= ref_at {
                at - ref_at
            } else {
                ref_at - at
            });
        }
    }
    lags.sort_unstable();
    let (p50, p99, max) = (
        percentile(&lags, 0.5),
        percentile(&lags, 0.99),
        *lags.last().unwrap(),
    );
    assert!(
        p99 <= Duration::from_secs(2) && max <= Duration::from_secs(5),
        "delivery skew to the reference reader: p50 {p50:?}, p99 {p99:?}, max {max:?}"
    );

    // The stalled clients are really stalled: the relay holds unsent bytes for each of them.
    let held: Vec<u64> = stalled_ports
        .iter()
        .map(|p| queues.get(p).map_or(0, |q| q.0))
        .collect();
    let backpressured = held.iter().filter(|&&tx| tx > 0).count();
    assert!(
        backpressured >= STALLED * 9 / 10,
        "only {backpressured} of {STALLED} stalled clients have bytes queued on the relay's side: {held:?}"
    );
    assert!(
        rss_after < RSS_BOUND_KB && rss_peak < RSS_BOUND_KB,
        "relay RSS {rss_before} kB before, {rss_after} kB after (peak {rss_peak} kB), bound {RSS_BOUND_KB} kB"
    );

    // All gone: nobody is counted as connected any more, and their descriptors are closed.
    let closed = "after closing every client";
    let fds_after_part1 = wait_released(&client, &relay, pid, closed, ("idle", fds_idle)).await?;

    // 2. 1,000 connect / first-event / close cycles.
    let fds_before = open_fds(pid)?;
    let cycles_started = Instant::now();
    let next = Arc::new(AtomicUsize::new(0));
    let mut workers = Vec::new();
    for _ in 0..CYCLE_WORKERS {
        let next = next.clone();
        workers.push(tokio::spawn(async move {
            let mut failures = Vec::new();
            while next.fetch_add(1, Ordering::Relaxed) < CYCLES {
                if let Err(e) = one_cycle(port).await {
                    failures.push(e);
                }
            }
            failures
        }));
    }
    let mut failures = Vec::new();
    for w in workers {
        failures.extend(w.await.unwrap());
    }
    let cycles_took = cycles_started.elapsed();
    assert!(
        failures.is_empty(),
        "{} of {CYCLES} cycles failed, e.g. {:?}\n{}",
        failures.len(),
        &failures[..failures.len().min(5)],
        relay.log_tail(40)
    );
    let cycled = format!("after {CYCLES} cycles");
    let fds_after = wait_released(&client, &relay, pid, &cycled, ("before", fds_before)).await?;

    // And it still serves.
    let resp = client.get(relay.url("/v1/counts")).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    let counts: Value = resp.json().await.unwrap();
    assert!(counts.as_array().is_some_and(|a| !a.is_empty()), "{counts}");
    let (stop_tx, stop_rx) = watch::channel(false);
    let probe = tokio::spawn(reader(port, Arc::new(AtomicUsize::new(0)), stop_rx));
    tokio::time::sleep(Duration::from_secs(3)).await;
    stop_tx.send(true).unwrap();
    let probe = probe
        .await
        .unwrap()
        .unwrap_or_else(|e| panic!("probe: {e}\n{}", relay.log_tail(40)));
    assert!(
        probe.first().is_some_and(|s| s.0 > last),
        "a new client after the cycles gets fresh counts: {:?}\n{}",
        probe.first(),
        relay.log_tail(40)
    );
    assert!(
        relay.try_exit_status()?.is_none(),
        "the relay exited\n{}",
        relay.log_tail(40)
    );

    let stalled_bytes: u64 = held.iter().sum();
    eprintln!(
        "slow_clients: {READERS} readers + {STALLED} stalled; {} updates ({first}..={last}) in {MEASURE:?} \
         reached all readers; skew to reference p50 {p50:?} p99 {p99:?} max {max:?}; \
         RSS {rss_before} kB before -> {rss_after} kB with 500 clients (peak {rss_peak} kB); \
         {backpressured}/{STALLED} stalled clients backpressured, {stalled_bytes} B queued on the relay's side; \
         lagged {} resynced {}; fds idle {fds_idle}, busy {fds_busy}, after close {fds_after_part1}; \
         {CYCLES} cycles in {cycles_took:.1?}: fds {fds_before} -> {fds_after}, connected 0; \
         took {:.1?}",
        window.len(),
        health_busy["clients"]["lagged"],
        health_busy["clients"]["resynced"],
        started.elapsed()
    );
    Ok(())
}
