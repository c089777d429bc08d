//! Independent counts of a recording: parsed with chrono, not with the relay's own code, so a
//! parsing bug in the relay cannot hide in the test's expectations.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, bail};
use chrono::DateTime;
use serde_json::Value;

/// The wall clock in Unix milliseconds, the unit of event times.
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// Unix milliseconds as RFC 3339 with milliseconds (`2024-02-06T12:00:00.000Z`).
pub fn rfc3339(ms: i64) -> String {
    DateTime::from_timestamp_millis(ms).map_or_else(
        || format!("{ms} ms"),
        |t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
    )
}

/// The events of a JSON-lines recording.
pub fn load(path: &Path) -> anyhow::Result<Vec<Value>> {
    std::fs::read_to_string(path)
        .with_context(|| format!("cannot read {}", path.display()))?
        .lines()
        .filter(|l| !l.trim().is_empty())
        .enumerate()
        .map(|(i, l)| {
            serde_json::from_str(l)
                .with_context(|| format!("{} line {}: not JSON", path.display(), i + 1))
        })
        .collect()
}

/// An event's `meta.dt` in Unix milliseconds.
pub fn event_ms(e: &Value) -> anyhow::Result<i64> {
    let dt = e["meta"]["dt"]
        .as_str()
        .context("an event without meta.dt")?;
    Ok(DateTime::parse_from_rfc3339(dt)
        .with_context(|| format!("meta.dt {dt}"))?
        .timestamp_millis())
}

/// Events per whole second (start in Unix ms), including the zeros between the first and the
/// last second.
pub fn per_second(events: &[Value]) -> anyhow::Result<BTreeMap<i64, u64>> {
    let mut counts = BTreeMap::new();
    for e in events {
        *counts
            .entry(event_ms(e)?.div_euclid(1_000) * 1_000)
            .or_insert(0) += 1;
    }
    if let (Some(&first), Some(&last)) = (counts.keys().next(), counts.keys().next_back()) {
        for s in (first..=last).step_by(1_000) {
            counts.entry(s).or_insert(0);
        }
    }
    Ok(counts)
}

/// The events with `meta.dt` moved by `shift_ms`, as NDJSON.
pub fn shifted_ndjson(events: &[Value], shift_ms: i64) -> anyhow::Result<String> {
    let mut out = String::new();
    for e in events {
        let mut e = e.clone();
        e["meta"]["dt"] = Value::String(rfc3339(event_ms(&e)? + shift_ms));
        out.push_str(&e.to_string());
        out.push('\n');
    }
    Ok(out)
}

/// The events with `meta.dt` and the Unix-seconds `timestamp` (where there is one) moved by
/// `shift_ms`, one JSON text each: what a live stream would carry now.
pub fn shifted_events(events: &[Value], shift_ms: i64) -> anyhow::Result<Vec<String>> {
    events
        .iter()
        .map(|e| {
            let mut e = e.clone();
            let t = event_ms(&e)? + shift_ms;
            e["meta"]["dt"] = Value::String(rfc3339(t));
            if e["timestamp"].is_number() {
                e["timestamp"] = Value::from(t.div_euclid(1_000));
            }
            Ok(e.to_string())
        })
        .collect()
}

/// Seconds are the relay's `/v1/counts` items: `(start ms, count, final)`.
pub fn counts_of(body: &Value) -> anyhow::Result<BTreeMap<i64, (u64, bool)>> {
    let Some(items) = body.as_array() else {
        bail!("/v1/counts is not an array: {body}");
    };
    items
        .iter()
        .map(|w| {
            let item = || -> Option<(i64, (u64, bool))> {
                let start = DateTime::parse_from_rfc3339(w["start"].as_str()?).ok()?;
                Some((
                    start.timestamp_millis(),
                    (w["count"].as_u64()?, w["final"].as_bool()?),
                ))
            };
            item().with_context(|| format!("unreadable /v1/counts item {w}"))
        })
        .collect()
}

/// `GET <base_url>/v1/counts` as `(start ms, count, final)` per second.
pub async fn fetch_counts(base_url: &str) -> anyhow::Result<BTreeMap<i64, (u64, bool)>> {
    let url = format!("{base_url}/v1/counts");
    let text = async { reqwest::get(&url).await?.text().await }
        .await
        .with_context(|| format!("GET {url}"))?;
    let body: Value =
        serde_json::from_str(&text).with_context(|| format!("GET {url}: not JSON: {text}"))?;
    counts_of(&body)
}

/// Polls `/v1/counts` until `done` makes something of the counts (start → (count, final)),
/// and fails with the last counts read if `within` passes first.
pub async fn until_counts<T>(
    base_url: &str,
    within: std::time::Duration,
    mut done: impl FnMut(&BTreeMap<i64, (u64, bool)>) -> Option<T>,
) -> anyhow::Result<T> {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let counts = fetch_counts(base_url).await?;
        if let Some(t) = done(&counts) {
            return Ok(t);
        }
        if tokio::time::Instant::now() > deadline {
            bail!("not there within {within:?}: {counts:?}");
        }
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    }
}

/// What the two seconds just after a recording must hold. The one before it must hold nothing
/// counted, by either rule: it may be the second the relay started in, which a relay does not
/// publish (it did not watch it whole).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outside {
    /// No count, or a count of 0.
    NothingCounted,
    /// A final count of 0.
    FinalZero,
}

/// Where the relay's counts differ from the recording's per-second counts shifted by `shift`
/// ms: each second of the recording must be final and equal, zeros included, and the seconds
/// just outside it must hold what `outside` says. One line per difference.
pub fn differences(
    relay: &BTreeMap<i64, (u64, bool)>,
    expected: &BTreeMap<i64, u64>,
    shift: i64,
    outside: Outside,
) -> Vec<String> {
    let (Some(&first), Some(&last)) = (expected.keys().next(), expected.keys().next_back()) else {
        return vec!["no expected counts".into()];
    };
    let at = |s: i64| format!("second {} ({})", s + shift, rfc3339(s + shift));
    let mut out = Vec::new();
    for (&s, want) in expected {
        match relay.get(&(s + shift)) {
            Some((got, true)) if got == want => {}
            other => out.push(format!("{}: want {want} final, got {other:?}", at(s))),
        }
    }
    for s in [first - 1_000, last + 1_000, last + 2_000] {
        let got = relay.get(&(s + shift));
        let fine = match outside {
            _ if s < first => got.is_none_or(|(n, _)| *n == 0),
            Outside::NothingCounted => got.is_none_or(|(n, _)| *n == 0),
            Outside::FinalZero => got == Some(&(0, true)),
        };
        if !fine {
            out.push(format!("{} outside the recording: got {got:?}", at(s)));
        }
    }
    out
}

/// Asserts that the relay's counts hold the recording's per-second counts shifted by a whole
/// number of seconds — every second of it, zeros included, every one final — with nothing
/// counted in the seconds just before and after. Returns the shift found.
pub fn assert_counts_match(
    relay: &BTreeMap<i64, (u64, bool)>,
    expected: &BTreeMap<i64, u64>,
) -> i64 {
    let first_expected = *expected.keys().next().expect("expected counts");
    let first_relay = relay
        .iter()
        .find(|(_, (n, _))| *n > 0)
        .map(|(s, _)| *s)
        .unwrap_or_else(|| panic!("the relay counted nothing: {relay:?}"));
    let shift = first_relay - first_expected;
    assert_eq!(shift % 1_000, 0, "shift must be whole seconds");
    let mismatches = differences(relay, expected, shift, Outside::NothingCounted);
    assert!(
        mismatches.is_empty(),
        "counts differ from the recording:\n{}",
        mismatches.join("\n")
    );
    shift
}
