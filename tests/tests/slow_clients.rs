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

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use editpulse_e2e::RelayProcess;
use editpulse_e2e::recording;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::watch;

const READERS: usize = 450;
const STALLED: usize = 50;
const MEASURE: Duration = Duration::from_secs(15);
const CYCLES: usize = 1_000;
const CYCLE_WORKERS: usize = 8;
/// The relay's resident memory must stay under this with all 500 clients connected.
const RSS_BOUND_KB: u64 = 300 * 1024;
const FD_MARGIN: usize = 10;

/// Decodes a chunked HTTP/1.1 body incrementally.
#[derive(Default)]
struct Dechunk {
    raw: Vec<u8>,
    /// Bytes of the current chunk's data still to come; `None` while reading a size line.
    left: Option<usize>,
    /// The CRLF after a chunk's data is still to be skipped.
    crlf: bool,
    ended: bool,
}

impl Dechunk {
    fn feed(&mut self, bytes: &[u8], body: &mut Vec<u8>) -> Result<(), String> {
        self.raw.extend_from_slice(bytes);
        let mut at = 0;
        loop {
            if self.crlf {
                if self.raw.len() - at < 2 {
                    break;
                }
                if &self.raw[at..at + 2] != b"\r\n" {
                    return Err("chunk data not followed by CRLF".into());
                }
                at += 2;
                self.crlf = false;
            }
            match self.left {
                None => {
                    let Some(nl) = self.raw[at..].windows(2).position(|w| w == b"\r\n") else {
                        break;
                    };
                    let line =
                        std::str::from_utf8(&self.raw[at..at + nl]).map_err(|e| e.to_string())?;
                    let size =
                        usize::from_str_radix(line.split(';').next().unwrap_or("").trim(), 16)
                            .map_err(|e| format!("chunk size {line:?}: {e}"))?;
                    at += nl + 2;
                    if size == 0 {
                        self.ended = true;
                        break;
                    }
                    self.left = Some(size);
                }
                Some(n) => {
                    let take = n.min(self.raw.len() - at);
                    if take == 0 {
                        break;
                    }
                    body.extend_from_slice(&self.raw[at..at + take]);
                    at += take;
                    if take == n {
                        self.left = None;
                        self.crlf = true;
                    } else {
                        self.left = Some(n - take);
                    }
                }
            }
        }
        self.raw.drain(..at);
        Ok(())
    }
}

/// A raw SSE connection: request sent, response headers checked, body dechunked into frames.
struct RawSse {
    stream: TcpStream,
    chunked: Option<Dechunk>,
    head: Vec<u8>,
    body: Vec<u8>,
    scanned: usize,
    buf: Vec<u8>,
}

/// One `event: count` frame: its id, a hash of its bytes, and when it was read.
type Seen = (u64, u64, Instant);

const REQUEST: &[u8] =
    b"GET /v1/stream HTTP/1.1\r\nhost: 127.0.0.1\r\naccept: text/event-stream\r\n\r\n";

/// Connects (with a small receive buffer if asked) and sends the request, reading nothing.
async fn connect(port: u16, recv_buffer: Option<u32>) -> std::io::Result<TcpStream> {
    let socket = TcpSocket::new_v4()?;
    if let Some(size) = recv_buffer {
        socket.set_recv_buffer_size(size)?;
    }
    let mut stream = tokio::time::timeout(
        Duration::from_secs(10),
        socket.connect(([127, 0, 0, 1], port).into()),
    )
    .await
    .map_err(|_| std::io::Error::other("connect timed out"))??;
    stream.write_all(REQUEST).await?;
    Ok(stream)
}

impl RawSse {
    async fn open(port: u16) -> Result<RawSse, String> {
        let stream = connect(port, None)
            .await
            .map_err(|e| format!("connect: {e}"))?;
        Ok(RawSse {
            stream,
            chunked: None,
            head: Vec::new(),
            body: Vec::new(),
            scanned: 0,
            buf: vec![0; 16 * 1024],
        })
    }

    /// Reads once more; appends the complete frames (without their blank line) to `frames`.
    /// Returns false at the end of the stream.
    async fn read_frames(&mut self, frames: &mut Vec<Vec<u8>>) -> Result<bool, String> {
        let n = self
            .stream
            .read(&mut self.buf)
            .await
            .map_err(|e| format!("read: {e}"))?;
        if n == 0 {
            return Ok(false);
        }
        let mut data = &self.buf[..n];
        let owned;
        if self.chunked.is_none() {
            self.head.extend_from_slice(data);
            let Some(end) = self.head.windows(4).position(|w| w == b"\r\n\r\n") else {
                return Ok(true);
            };
            let head = String::from_utf8_lossy(&self.head[..end]).to_ascii_lowercase();
            if !head.starts_with("http/1.1 200") {
                return Err(format!("response: {head}"));
            }
            if !head.contains("transfer-encoding: chunked") || !head.contains("text/event-stream") {
                return Err(format!("expected a chunked event stream: {head}"));
            }
            self.chunked = Some(Dechunk::default());
            owned = self.head.split_off(end + 4);
            data = &owned;
        }
        let dechunk = self.chunked.as_mut().unwrap();
        dechunk.feed(data, &mut self.body)?;
        while let Some(i) = self.body[self.scanned..]
            .windows(2)
            .position(|w| w == b"\n\n")
        {
            let end = self.scanned + i;
            frames.push(self.body[..end].to_vec());
            self.body.drain(..end + 2);
            self.scanned = 0;
        }
        self.scanned = self.body.len().saturating_sub(1);
        Ok(!dechunk.ended)
    }
}

/// `(event, id)` of a frame.
fn parse_frame(frame: &[u8]) -> (Option<&str>, Option<&str>) {
    let (mut event, mut id) = (None, None);
    for line in frame.split(|&b| b == b'\n') {
        let line = std::str::from_utf8(line).unwrap_or("");
        if let Some(v) = line.strip_prefix("event: ") {
            event = Some(v);
        } else if let Some(v) = line.strip_prefix("id: ") {
            id = Some(v);
        }
    }
    (event, id)
}

/// Reads count frames until told to stop; `ready` counts readers that got their first one.
async fn reader(
    port: u16,
    ready: Arc<AtomicUsize>,
    mut stop: watch::Receiver<bool>,
) -> Result<Vec<Seen>, String> {
    let mut sse = RawSse::open(port).await?;
    let mut seen: Vec<Seen> = Vec::with_capacity(1_024);
    let mut frames = Vec::new();
    let hard_stop = tokio::time::Instant::now() + Duration::from_secs(120);
    loop {
        tokio::select! {
            r = sse.read_frames(&mut frames) => {
                let now = Instant::now();
                if !r? {
                    return Err(format!("the relay ended the stream after {} counts", seen.len()));
                }
                for f in frames.drain(..) {
                    if let (Some("count"), Some(id)) = parse_frame(&f) {
                        let id: u64 = id.parse().map_err(|e| format!("count id {id:?}: {e}"))?;
                        let mut h = DefaultHasher::new();
                        f.hash(&mut h);
                        if seen.is_empty() {
                            ready.fetch_add(1, Ordering::Relaxed);
                        }
                        seen.push((id, h.finish(), now));
                    }
                }
            }
            _ = stop.changed() => return Ok(seen),
            _ = tokio::time::sleep_until(hard_stop) => return Err("never told to stop".into()),
        }
    }
}

/// Connects, reads the first frame, hangs up.
async fn one_cycle(port: u16) -> Result<(), String> {
    let mut sse = RawSse::open(port).await?;
    let mut frames = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while frames.is_empty() {
        match tokio::time::timeout_at(deadline, sse.read_frames(&mut frames)).await {
            Ok(Ok(true)) => {}
            Ok(Ok(false)) => return Err("stream ended before its first frame".into()),
            Ok(Err(e)) => return Err(e),
            Err(_) => return Err("no first frame within 5 s".into()),
        }
    }
    Ok(())
}

fn proc_status_kb(pid: u32, field: &str) -> u64 {
    let status =
        std::fs::read_to_string(format!("/proc/{pid}/status")).expect("read /proc/<pid>/status");
    status
        .lines()
        .find_map(|l| {
            l.strip_prefix(field)?
                .trim()
                .strip_suffix("kB")?
                .trim()
                .parse()
                .ok()
        })
        .unwrap_or_else(|| panic!("no {field} in /proc/{pid}/status"))
}

fn open_fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .expect("read /proc/<pid>/fd")
        .count()
}

/// Send and receive queues (bytes) of the relay's sockets on `port`, by peer port.
fn tcp_queues(port: u16) -> HashMap<u16, (u64, u64)> {
    let table = std::fs::read_to_string("/proc/net/tcp").expect("read /proc/net/tcp");
    let port_of = |addr: &str| {
        addr.rsplit(':')
            .next()
            .and_then(|p| u16::from_str_radix(p, 16).ok())
    };
    table
        .lines()
        .skip(1)
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            if port_of(f.get(1)?)? != port {
                return None;
            }
            let (tx, rx) = f.get(4)?.split_once(':')?;
            Some((
                port_of(f[2])?,
                (
                    u64::from_str_radix(tx, 16).ok()?,
                    u64::from_str_radix(rx, 16).ok()?,
                ),
            ))
        })
        .collect()
}

async fn health(client: &reqwest::Client, relay: &RelayProcess) -> Value {
    let resp = client
        .get(relay.url("/v1/health"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET /v1/health: {e}\n{}", relay.log_tail(40)));
    resp.json()
        .await
        .unwrap_or_else(|e| panic!("/v1/health: {e}\n{}", relay.log_tail(40)))
}

/// Polls until `clients.connected` is `want` (and `extra` holds); the last health on timeout.
async fn wait_connected(
    client: &reqwest::Client,
    relay: &RelayProcess,
    want: u64,
    within: Duration,
    extra: impl Fn() -> bool,
) -> Result<Value, Value> {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let h = health(client, relay).await;
        if h["clients"]["connected"].as_u64() == Some(want) && extra() {
            return Ok(h);
        }
        if tokio::time::Instant::now() > deadline {
            return Err(h);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_and_stalled_clients_cost_nothing_and_leave_nothing_behind() {
    let started = Instant::now();
    let file = recording::data_file("recentchange-2024-02-06-all-wikis.jsonl")
        .display()
        .to_string();
    let mut relay = RelayProcess::spawn(
        "slow-clients",
        &["--replay", &file, "--replay-loop", "--replay-speed", "4"],
        &[],
    );
    relay.wait_healthy().await;
    let pid = relay.pid().expect("relay running");
    let port = relay.port();
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let rss_before = proc_status_kb(pid, "VmRSS:");
    let fds_idle = open_fds(pid);

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
        let s = connect(port, Some(4096))
            .await
            .unwrap_or_else(|e| panic!("stalled client: {e}\n{}", relay.log_tail(40)));
        stalled.push(s);
    }
    let stalled_ports: Vec<u16> = stalled
        .iter()
        .map(|s| s.local_addr().unwrap().port())
        .collect();
    let all = (READERS + STALLED) as u64;
    let ready_now = || ready.load(Ordering::Relaxed) == READERS;
    if let Err(h) = wait_connected(&client, &relay, all, Duration::from_secs(20), ready_now).await {
        panic!(
            "{} of {READERS} readers got a count, health clients {}\n{}",
            ready.load(Ordering::Relaxed),
            h["clients"],
            relay.log_tail(40)
        );
    }
    let fds_busy = open_fds(pid);
    let t0 = Instant::now();
    tokio::time::sleep(MEASURE).await;
    let t1 = Instant::now();
    let queues = tcp_queues(port);
    let rss_after = proc_status_kb(pid, "VmRSS:");
    let rss_peak = proc_status_kb(pid, "VmHWM:");
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
    let health_busy = health(&client, &relay).await;
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
    let fds_settled = std::cell::Cell::new(0);
    let settled = || {
        fds_settled.set(open_fds(pid));
        fds_settled.get() <= fds_idle + FD_MARGIN
    };
    if let Err(h) = wait_connected(&client, &relay, 0, Duration::from_secs(15), settled).await {
        panic!(
            "after closing every client: health clients {}, {} fds (idle {fds_idle})\n{}",
            h["clients"],
            fds_settled.get(),
            relay.log_tail(40)
        );
    }
    let fds_after_part1 = fds_settled.get();

    // 2. 1,000 connect / first-event / close cycles.
    let fds_before = open_fds(pid);
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
    let settled = || {
        fds_settled.set(open_fds(pid));
        fds_settled.get() <= fds_before + FD_MARGIN
    };
    if let Err(h) = wait_connected(&client, &relay, 0, Duration::from_secs(15), settled).await {
        panic!(
            "after {CYCLES} cycles: health clients {}, {} fds (before {fds_before})\n{}",
            h["clients"],
            fds_settled.get(),
            relay.log_tail(40)
        );
    }
    let fds_after = fds_settled.get();

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
        relay.try_exit_status().is_none(),
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
}
