//! Independent counts of a recording: parsed with chrono, not with the relay's own code, so a
//! parsing bug in the relay cannot hide in the test's expectations.

use std::collections::BTreeMap;
use std::path::Path;

use chrono::DateTime;
use serde_json::Value;

pub fn load(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).expect("recordings are JSON lines"))
        .collect()
}

/// An event's `meta.dt` in Unix milliseconds.
pub fn event_ms(e: &Value) -> i64 {
    let dt = e["meta"]["dt"].as_str().expect("meta.dt");
    DateTime::parse_from_rfc3339(dt)
        .unwrap_or_else(|err| panic!("{dt}: {err}"))
        .timestamp_millis()
}

/// Events per whole second (start in Unix ms), including the zeros between the first and the
/// last second.
pub fn per_second(events: &[Value]) -> BTreeMap<i64, u64> {
    let mut counts = BTreeMap::new();
    for e in events {
        *counts
            .entry(event_ms(e).div_euclid(1_000) * 1_000)
            .or_insert(0) += 1;
    }
    if let (Some(&first), Some(&last)) = (counts.keys().next(), counts.keys().next_back()) {
        for s in (first..=last).step_by(1_000) {
            counts.entry(s).or_insert(0);
        }
    }
    counts
}

/// The events with `meta.dt` moved by `shift_ms`, as NDJSON.
pub fn shifted_ndjson(events: &[Value], shift_ms: i64) -> String {
    let mut out = String::new();
    for e in events {
        let mut e = e.clone();
        let t = DateTime::from_timestamp_millis(event_ms(&e) + shift_ms).expect("in range");
        e["meta"]["dt"] = Value::String(t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true));
        out.push_str(&e.to_string());
        out.push('\n');
    }
    out
}

/// A shipped recording, by file name, from `<workspace>/data`.
pub fn data_file(name: &str) -> std::path::PathBuf {
    crate::workspace_root().join("data").join(name)
}

/// Seconds are the relay's `/v1/counts` items: `(start ms, count, final)`.
pub fn counts_of(body: &Value) -> BTreeMap<i64, (u64, bool)> {
    body.as_array()
        .expect("/v1/counts is an array")
        .iter()
        .map(|w| {
            let start = DateTime::parse_from_rfc3339(w["start"].as_str().unwrap())
                .unwrap()
                .timestamp_millis();
            (
                start,
                (w["count"].as_u64().unwrap(), w["final"].as_bool().unwrap()),
            )
        })
        .collect()
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
    let mut mismatches = Vec::new();
    for (s, want) in expected {
        match relay.get(&(s + shift)) {
            Some((got, true)) if got == want => {}
            other => mismatches.push(format!(
                "second {}: want {want}, relay has {other:?}",
                s + shift
            )),
        }
    }
    let last = *expected.keys().next_back().unwrap();
    for s in [first_expected - 1_000, last + 1_000, last + 2_000] {
        if let Some((n, _)) = relay.get(&(s + shift))
            && *n != 0
        {
            mismatches.push(format!(
                "second {} outside the recording has {n}",
                s + shift
            ));
        }
    }
    assert!(
        mismatches.is_empty(),
        "counts differ from the recording:\n{}",
        mismatches.join("\n")
    );
    shift
}

/// `GET <base_url>/v1/counts` as `(start ms, count, final)` per second.
pub async fn fetch_counts(base_url: &str) -> BTreeMap<i64, (u64, bool)> {
    let url = format!("{base_url}/v1/counts");
    let resp = reqwest::get(&url)
        .await
        .unwrap_or_else(|e| panic!("GET {url}: {e}"));
    let body: Value = resp
        .json()
        .await
        .unwrap_or_else(|e| panic!("GET {url}: not JSON: {e}"));
    counts_of(&body)
}
