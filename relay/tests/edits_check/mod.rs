//! What the `/v1/edits` and `/v1/top?by=page|user` tests share: real recordings moved to now
//! and posted through the gateway, an independent brute-force reading of them (serde_json, not
//! the relay's code), and the checks of every answer against it.
//!
//! Over 400 lines: the posting, the brute force and the checks share one model of the events,
//! which splitting would have to restate. Each test binary uses part of it, hence the
//! `dead_code` allowance.

#![allow(dead_code)]

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::Value;
use tower::ServiceExt;
use wire::Millis;

const RECORDINGS: [&str; 3] = [
    include_str!("../../../data/recentchange-2024-02-06-all-wikis.jsonl"),
    include_str!("../../../data/recentchange-2024-02-07-all-wikis.jsonl"),
    include_str!("../../../data/legacy-2018-03-07-wikidata-first400.jsonl"),
];
/// Repeats of earlier events (same `meta.id`, same time) posted after them: not counted.
const REPEATS: usize = 25;

/// One posted event as the brute force reads it.
#[derive(Debug, Clone)]
pub struct Truth {
    pub time: i64,
    pub wiki: String,
    pub kind: String,
    pub bot: bool,
    pub article: bool,
    pub title: Option<String>,
    pub user: Option<String>,
    pub id: String,
}

/// The recordings with each one's last event moved to `end_ms`, and their repeats: the NDJSON
/// body, and what of it counts (repeats dropped, first copy kept).
pub fn recording(end_ms: i64, seed: u64) -> (String, Vec<Truth>) {
    let mut lines: Vec<Value> = Vec::new();
    for rec in RECORDINGS {
        let events: Vec<Value> = rec
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        let time = |e: &Value| {
            Millis::parse_rfc3339(e["meta"]["dt"].as_str().unwrap())
                .unwrap()
                .0
        };
        let last = events.iter().map(time).max().unwrap();
        for mut e in events {
            let t = time(&e) - last + end_ms;
            e["meta"]["dt"] = Value::String(Millis(t).to_string());
            lines.push(e);
        }
    }
    let mut rng = StdRng::seed_from_u64(seed);
    for _ in 0..REPEATS {
        let copy = lines[rng.random_range(0..lines.len())].clone();
        lines.push(copy);
    }
    let body = lines
        .iter()
        .map(|l| l.to_string())
        .collect::<Vec<_>>()
        .join("\n");
    let mut seen = HashSet::new();
    let truths = lines
        .iter()
        .map(truth)
        .filter(|t| seen.insert((t.wiki.clone(), t.time.div_euclid(1_000), t.id.clone())))
        .collect();
    (body, truths)
}

fn truth(e: &Value) -> Truth {
    let s = |v: &Value| v.as_str().map(str::to_string);
    Truth {
        time: Millis::parse_rfc3339(e["meta"]["dt"].as_str().unwrap())
            .unwrap()
            .0,
        wiki: s(&e["wiki"])
            .or_else(|| s(&e["meta"]["domain"]))
            .unwrap_or_default(),
        kind: match e["type"].as_str() {
            Some(t @ ("edit" | "new" | "log" | "categorize")) => t.to_string(),
            _ => "other".into(),
        },
        bot: e["bot"].as_bool().unwrap_or(false),
        article: e["namespace"].as_i64() == Some(0),
        title: s(&e["title"]),
        user: s(&e["user"]),
        id: s(&e["meta"]["id"]).unwrap(),
    }
}

/// A random filter over what the recording holds, as a query string (may be empty).
pub fn random_filter(rng: &mut StdRng, truths: &[Truth]) -> String {
    let mut q = Vec::new();
    if rng.random_bool(0.4) {
        for _ in 0..rng.random_range(1..4) {
            q.push(format!(
                "wiki={}",
                truths[rng.random_range(0..truths.len())].wiki
            ));
        }
    }
    if rng.random_bool(0.4) {
        for t in ["edit", "new", "log", "categorize"] {
            if rng.random_bool(0.5) {
                q.push(format!("type={t}"));
            }
        }
    }
    if rng.random_bool(0.4) {
        q.push(format!("bot={}", rng.random_bool(0.5)));
    }
    if rng.random_bool(0.4) {
        q.push(format!(
            "namespace={}",
            if rng.random_bool(0.5) {
                "article"
            } else {
                "other"
            }
        ));
    }
    q.join("&")
}

/// Whether the brute force's event passes a filter query.
pub fn admits(query: &str, t: &Truth) -> bool {
    let pairs: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect();
    let all = |k: &str| {
        pairs
            .iter()
            .filter(|(n, _)| n == k)
            .map(|(_, v)| v.as_str())
            .collect::<Vec<_>>()
    };
    let (wikis, types, bot, ns) = (all("wiki"), all("type"), all("bot"), all("namespace"));
    (wikis.is_empty() || wikis.contains(&t.wiki.as_str()))
        && (types.is_empty() || types.contains(&t.kind.as_str()))
        && bot.first().is_none_or(|b| *b == t.bot.to_string())
        && ns.first().is_none_or(|n| (*n == "article") == t.article)
}

pub async fn get(app: &Router, uri: &str) -> (StatusCode, Value) {
    let resp = app
        .clone()
        .oneshot(Request::get(uri).body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = resp.status();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

pub async fn post(app: &Router, ndjson: String) {
    let resp = app
        .clone()
        .oneshot(
            Request::post("/v1/events")
                .header("content-type", "application/x-ndjson")
                .body(Body::from(ndjson))
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::ACCEPTED);
}

/// Whether an event of time `t` is in the seconds `[from, to)` touches: a range is read in
/// whole seconds, as `/v1/counts` reads it.
fn in_seconds(t: i64, from: i64, to: i64) -> bool {
    let second = t.div_euclid(1_000) * 1_000;
    from < to && second < to && second + 1_000 > from
}

/// Waits until `/v1/counts` over `[from, to)` sums to `want` (the counter has read it all).
pub async fn wait_counted(app: &Router, from: i64, to: i64, want: usize) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let (_, body) = get(app, &format!("/v1/counts?from={from}&to={to}")).await;
        let sum: u64 = body
            .as_array()
            .map_or(0, |a| a.iter().map(|w| w["count"].as_u64().unwrap()).sum());
        if sum as usize == want {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "counted {sum} of {want}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Every page of `/v1/edits` for a range and filter, `limit` at a time: each edit exactly once,
/// newest first, and the same ids as the brute force.
pub async fn check_edits(
    app: &Router,
    from: i64,
    to: i64,
    filter: &str,
    limit: usize,
    truths: &[Truth],
) {
    let mut cursor: Option<String> = None;
    let mut got: Vec<(i64, String)> = Vec::new();
    let mut pages = 0;
    loop {
        let mut uri = format!("/v1/edits?from={from}&to={to}&limit={limit}");
        if !filter.is_empty() {
            uri.push_str(&format!("&{filter}"));
        }
        if let Some(c) = &cursor {
            uri.push_str(&format!("&cursor={c}"));
        }
        let (status, page) = get(app, &uri).await;
        assert_eq!(status, StatusCode::OK, "{uri}: {page}");
        let edits = page["edits"].as_array().unwrap();
        assert!(edits.len() <= limit);
        for e in edits {
            let t = Millis::parse_rfc3339(e["time"].as_str().unwrap())
                .unwrap()
                .0;
            got.push((t, e["id"].as_str().unwrap().to_string()));
        }
        pages += 1;
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
        assert!(pages < 10_000);
    }
    assert!(
        got.windows(2).all(|w| w[0].0 >= w[1].0),
        "not newest first: {filter}"
    );
    let ids: Vec<&String> = got.iter().map(|(_, id)| id).collect();
    let unique: HashSet<&String> = ids.iter().copied().collect();
    assert_eq!(
        unique.len(),
        ids.len(),
        "an edit listed twice across pages ({filter})"
    );
    let mut want: Vec<(i64, String)> = truths
        .iter()
        .filter(|t| in_seconds(t.time, from, to) && admits(filter, t))
        .map(|t| (t.time, t.id.clone()))
        .collect();
    want.sort();
    got.sort();
    assert_eq!(got, want, "edits of [{from}, {to}) under {filter:?}");
}

/// `/v1/top?by=page|user` against a brute-force count.
pub async fn check_top(
    app: &Router,
    by: &str,
    from: i64,
    to: i64,
    filter: &str,
    n: usize,
    truths: &[Truth],
) {
    let mut uri = format!("/v1/top?by={by}&from={from}&to={to}&n={n}");
    if !filter.is_empty() {
        uri.push_str(&format!("&{filter}"));
    }
    let (status, top) = get(app, &uri).await;
    assert_eq!(status, StatusCode::OK, "{uri}: {top}");
    let mut counts: HashMap<String, u64> = HashMap::new();
    let mut total = 0;
    for t in truths
        .iter()
        .filter(|t| in_seconds(t.time, from, to) && admits(filter, t))
    {
        total += 1;
        let name = if by == "page" { &t.title } else { &t.user };
        if let Some(name) = name {
            *counts.entry(format!("{}:{name}", t.wiki)).or_default() += 1;
        }
    }
    let mut all: Vec<(String, u64)> = counts.iter().map(|(k, v)| (k.clone(), *v)).collect();
    all.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    all.truncate(n);
    let items: Vec<(String, u64)> = serde_json::from_value(top["items"].clone()).unwrap();
    assert_eq!(items, all, "{uri}");
    assert_eq!(top["total"].as_u64(), Some(total), "{uri}");
    assert_eq!(top["distinct"].as_u64(), Some(counts.len() as u64), "{uri}");
}

/// Each second's count (the counter's) equals the edits listed for it.
pub async fn check_seconds_agree(app: &Router, from: i64, to: i64) {
    let (_, counts) = get(app, &format!("/v1/counts?from={from}&to={to}")).await;
    let mut checked = 0;
    for w in counts.as_array().unwrap() {
        let start = Millis::parse_rfc3339(w["start"].as_str().unwrap())
            .unwrap()
            .0;
        let (_, page) = get(
            app,
            &format!("/v1/edits?from={start}&to={}&limit=1000", start + 1_000),
        )
        .await;
        assert_eq!(
            page["edits"].as_array().unwrap().len() as u64,
            w["count"].as_u64().unwrap(),
            "second {start}"
        );
        checked += 1;
    }
    assert!(checked > 0);
}

/// Hostile parameters: each a 400 whose message names the problem.
pub async fn check_hostile(app: &Router) {
    for (uri, want) in [
        ("/v1/edits?from=yesterday", "yesterday"),
        ("/v1/edits?from=2000&to=1000", "is after"),
        ("/v1/edits?limit=0", "limit="),
        ("/v1/edits?limit=1001", "limit="),
        ("/v1/edits?limit=ten", "limit="),
        ("/v1/edits?cursor=abc", "cursor="),
        ("/v1/edits?cursor=e1-1-2", "cursor="),
        ("/v1/edits?from=0&to=7200000", "longer than an hour"),
        ("/v1/edits?page=2", "unknown parameter \"page\""),
        ("/v1/edits?limit=1&limit=2", "given twice"),
        ("/v1/edits?bot=maybe", "not true or false"),
        ("/v1/top?by=page&from=0&to=3601001", "longer than an hour"),
        ("/v1/top?by=editor", "by=\"editor\""),
        ("/v1/top?by=user&n=0", "n="),
        ("/v1/top?by=user&n=1001", "n="),
    ] {
        let (status, body) = get(app, uri).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{uri}: {body}");
        let msg = body["error"].as_str().unwrap_or_default();
        assert!(msg.contains(want), "{uri}: {msg:?} does not say {want:?}");
    }
}

/// Random ranges within `[lo, hi)` and random filters, checked both ways.
pub async fn check_random(
    app: &Router,
    lo: i64,
    hi: i64,
    truths: &[Truth],
    seed: u64,
    rounds: usize,
    limits: &[usize],
) {
    let mut rng = StdRng::seed_from_u64(seed);
    for _ in 0..rounds {
        let a = rng.random_range(lo..hi);
        let b = rng.random_range(lo..hi);
        let (from, to) = (a.min(b), a.max(b) + 1);
        let filter = random_filter(&mut rng, truths);
        let limit = limits[rng.random_range(0..limits.len())];
        check_edits(app, from, to, &filter, limit, truths).await;
        let by = if rng.random_bool(0.5) { "page" } else { "user" };
        check_top(app, by, from, to, &filter, rng.random_range(1..20), truths).await;
    }
    // The whole recording: every edit, and the busiest pages and editors.
    check_edits(app, lo, hi, "", 100, truths).await;
    check_top(app, "page", lo, hi, "", 1000, truths).await;
    check_top(app, "user", lo, hi, "", 10, truths).await;
}

pub fn seed() -> u64 {
    let seed = std::env::var("EDITS_TEST_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
        });
    eprintln!("EDITS_TEST_SEED={seed}");
    seed
}

pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// The span the posted recording covers.
pub fn span(truths: &[Truth]) -> (i64, i64) {
    let lo = truths.iter().map(|t| t.time).min().unwrap();
    let hi = truths.iter().map(|t| t.time).max().unwrap() + 1;
    (lo, hi)
}

pub fn per_second(truths: &[Truth]) -> BTreeMap<i64, usize> {
    let mut m = BTreeMap::new();
    for t in truths {
        *m.entry(t.time.div_euclid(1_000)).or_default() += 1;
    }
    m
}
