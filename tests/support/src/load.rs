//! A gateway load generator that remembers exactly which events the relay acknowledged.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::Context;

const WIKIS: [&str; 6] = [
    "enwiki",
    "dewiki",
    "wikidatawiki",
    "frwiki",
    "commonswiki",
    "jawiki",
];
const TYPES: [&str; 4] = ["edit", "new", "log", "categorize"];

/// What the generator saw.
#[derive(Debug, Default, Clone)]
pub struct Outcome {
    /// Per second (Unix ms of its start): acknowledged events.
    pub acked: BTreeMap<i64, u64>,
    pub accepted_requests: u64,
    /// 503 answers (attempts, retries included), each checked to carry Retry-After.
    pub unavailable: u64,
    /// Attempts refused or cut off (the relay was down).
    pub unreachable: u64,
    /// Batches still unacknowledged when the generator was stopped.
    pub abandoned: u64,
    /// Batches whose retries came back so late that the gateway refused their events as older
    /// than the allowed lateness (400): given up by the client, never counted.
    pub too_old: u64,
    /// Anything else: a bug.
    pub unexpected: Vec<String>,
}

impl Outcome {
    pub fn total_acked(&self) -> u64 {
        self.acked.values().sum()
    }
}

/// What an attempt got that is not a plain answer.
enum Answer {
    BadRequest(String),
    Failed(reqwest::Error),
}

pub struct Load {
    stop: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<Outcome>,
}

impl Load {
    /// Posts `batch` synthetic events every `every` to `url` until stopped. Each event is stamped
    /// with the time it is first sent; a batch without a 202 is sent again until it gets one.
    /// Up to 64 requests are in flight at once, so a request held up by the bus does not
    /// keep the others from seeing how the relay answers meanwhile.
    pub fn start(
        url: String,
        token: Option<String>,
        batch: usize,
        every: Duration,
    ) -> anyhow::Result<Load> {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(20))
            .build()
            .context("reqwest client")?;
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let task = tokio::spawn(async move {
            let out = Arc::new(std::sync::Mutex::new(Outcome::default()));
            let slots = Arc::new(tokio::sync::Semaphore::new(64));
            let mut n: u64 = 0;
            let mut tick = tokio::time::interval(every);
            let mut tasks = tokio::task::JoinSet::new();
            while !flag.load(Ordering::Relaxed) {
                tick.tick().await;
                let Ok(permit) = slots.clone().try_acquire_owned() else {
                    continue;
                };
                let now = chrono::Utc::now().timestamp_millis();
                let mut body = String::new();
                for i in 0..batch {
                    n += 1;
                    body.push_str(&event(n, now, i));
                    body.push('\n');
                }
                let (client, url, token, out, stopped) = (
                    client.clone(),
                    url.clone(),
                    token.clone(),
                    out.clone(),
                    flag.clone(),
                );
                tasks.spawn(async move {
                    // A request that got no answer (the relay was killed mid-request, or the bus
                    // refused part way) may or may not have been written: like a real client, the
                    // generator sends the same events (same `meta.id`s) again until they are
                    // acknowledged, and the relay's per-window duplicate check must then count
                    // each once.
                    let deadline = tokio::time::Instant::now() + Duration::from_secs(45);
                    loop {
                        let mut req = client
                            .post(&url)
                            .header("content-type", "application/x-ndjson")
                            .body(body.clone());
                        if let Some(t) = &token {
                            req = req.bearer_auth(t);
                        }
                        // A 400 is read before taking the lock: its body says whether the
                        // events were refused as too old (given up, like a real client would).
                        let result = match req.send().await {
                            Ok(r) if r.status() == 400 => {
                                Err(Answer::BadRequest(r.text().await.unwrap_or_default()))
                            }
                            Ok(r) => Ok(r),
                            Err(e) => Err(Answer::Failed(e)),
                        };
                        {
                            let mut out = out.lock().unwrap();
                            match result {
                                Ok(r) if r.status() == 202 => {
                                    out.accepted_requests += 1;
                                    *out.acked.entry(now.div_euclid(1_000) * 1_000).or_default() +=
                                        batch as u64;
                                    break;
                                }
                                Ok(r) if r.status() == 503 => {
                                    if r.headers().get("retry-after").is_none() {
                                        out.unexpected.push("503 without Retry-After".into());
                                    }
                                    out.unavailable += 1;
                                }
                                Ok(r) => {
                                    out.unexpected.push(format!("HTTP {}", r.status()));
                                    break;
                                }
                                Err(Answer::BadRequest(body)) => {
                                    if body.contains("older than the allowed lateness") {
                                        out.too_old += 1;
                                    } else {
                                        out.unexpected.push(format!("HTTP 400: {body}"));
                                    }
                                    break;
                                }
                                Err(Answer::Failed(e)) if e.is_connect() || e.is_request() => {
                                    out.unreachable += 1
                                }
                                Err(Answer::Failed(e)) => {
                                    out.unexpected.push(e.to_string());
                                    break;
                                }
                            }
                            // Stopped: what is still unanswered is given up, never counted
                            // as acknowledged.
                            if stopped.load(Ordering::Relaxed) {
                                out.abandoned += 1;
                                break;
                            }
                            if tokio::time::Instant::now() > deadline {
                                out.unexpected
                                    .push("a batch never acknowledged in 45 s".into());
                                break;
                            }
                        }
                        tokio::time::sleep(Duration::from_millis(200)).await;
                    }
                    drop(permit);
                });
            }
            while tasks.join_next().await.is_some() {}
            out.lock().unwrap().clone()
        });
        Ok(Load { stop, task })
    }

    /// [`Load::start`] at the pace the fault tests use: 10 events every 50 ms, with `token`.
    pub fn steady(url: String, token: &str) -> anyhow::Result<Load> {
        Load::start(url, Some(token.into()), 10, Duration::from_millis(50))
    }

    /// Stops sending and waits for the requests in flight; what was acknowledged.
    pub async fn stop(self) -> anyhow::Result<Outcome> {
        self.stop.store(true, Ordering::Relaxed);
        self.task.await.context("the load generator's task failed")
    }
}

fn event(n: u64, now_ms: i64, i: usize) -> String {
    let dt = crate::recording::rfc3339(now_ms);
    let wiki = WIKIS[(n as usize * 7 + i) % WIKIS.len()];
    serde_json::json!({
        "$schema": "/mediawiki/recentchange/1.0.0",
        "meta": {"dt": dt, "id": format!("load-{}-{n}", std::process::id()), "domain": "test.example"},
        "type": TYPES[n as usize % TYPES.len()],
        "bot": n.is_multiple_of(3),
        "wiki": wiki,
        "title": format!("Page {n}"),
    })
    .to_string()
}

/// Polls `GET /v1/counts` until every second from the first to the last acknowledged one is
/// final and equals what was acknowledged (zeros included), or panics after `timeout` with
/// the differences.
pub async fn assert_counted(base_url: &str, acked: &BTreeMap<i64, u64>, timeout: Duration) {
    let (Some(&first), Some(&last)) = (acked.keys().next(), acked.keys().next_back()) else {
        panic!("nothing was acknowledged");
    };
    let client = reqwest::Client::new();
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let mut diffs = Vec::new();
        match client.get(format!("{base_url}/v1/counts")).send().await {
            Ok(r) if r.status().is_success() => {
                let text = r.text().await.unwrap_or_default();
                let got = serde_json::from_str(&text)
                    .map_err(anyhow::Error::from)
                    .and_then(|body| crate::recording::counts_of(&body))
                    .unwrap_or_else(|e| panic!("/v1/counts: {e:#}: {text}"));
                for s in (first..=last + 1_000).step_by(1_000) {
                    let want = acked.get(&s).copied().unwrap_or(0);
                    match got.get(&s) {
                        Some((n, true)) if *n == want => {}
                        // A second no relay watched whole (a restart's) is not published.
                        None if want == 0 => {}
                        other => diffs.push(format!(
                            "{}: want {want}, got {other:?}",
                            crate::recording::rfc3339(s)
                        )),
                    }
                }
            }
            other => diffs.push(format!("/v1/counts: {other:?}")),
        }
        if diffs.is_empty() {
            return;
        }
        if tokio::time::Instant::now() > deadline {
            panic!(
                "counts differ from what was acknowledged after {timeout:?}:\n{}",
                diffs.join("\n")
            );
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}
