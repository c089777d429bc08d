//! Upstream misbehaves: a stand-in for Wikimedia EventStreams serves the real recording but
//! drops the connection every 40 frames (half of the time mid-body, half with a clean end),
//! once goes silent mid-stream for longer than the relay's watchdog, once does not answer a
//! request at all (not even with headers), sends a frame that is not JSON, an event without
//! `meta.dt` and a canary, and — like the real service, which resumes by
//! timestamp — re-sends the boundary event on every resume.
//!
//! The relay must still count every real event exactly once in its second (an independent count
//! of the file, zeros included), resume each time from the last event it received, account for
//! every fault in /v1/health, and after a SIGKILL resume from the position it persisted,
//! dropping the boundary event it had already forwarded.

use std::time::Duration;

use serde_json::Value;
use support::fake_upstream::{End, FakeUpstream, Plan};
use support::names::unique;
use support::paths::data_file;
use support::recording::{self, Outside, assert_counts_match, now_ms, rfc3339};
use support::relay_process::RelayProcess;

const FILE: &str = "recentchange-2024-02-06-all-wikis.jsonl";
const DROP_EVERY: usize = 40;
/// Connection 2 goes silent after 20 frames.
const STALL: (usize, usize) = (2, 20);
/// Connection 4 is never answered.
const MUTE: usize = 4;
const STALL_MS: u64 = 1_500;
/// Feed positions of the three frames that are not edits.
const NOT_JSON_AT: usize = 50;
const NO_DT_AT: usize = 120;
const CANARY_AT: usize = 160;

/// The recording moved by `shift_ms` (`meta.dt` and the Unix-seconds `timestamp`), as JSON lines.
fn shifted(events: &[Value], shift_ms: i64) -> support::Result<Vec<String>> {
    events
        .iter()
        .map(|e| {
            let mut e = e.clone();
            let t = recording::event_ms(&e)? + shift_ms;
            e["meta"]["dt"] = Value::String(rfc3339(t));
            if e["timestamp"].is_number() {
                e["timestamp"] = Value::from(t.div_euclid(1_000));
            }
            Ok(e.to_string())
        })
        .collect()
}

/// The feed positions a relay that resumes correctly reconnects at: each connection re-sends
/// the position the previous one ended on (the mute one sends nothing).
fn expected_resume_points(len: usize) -> Vec<usize> {
    let mut points = vec![0];
    for conn in 0.. {
        let frames = match conn {
            MUTE => continue,
            c if c == STALL.0 => STALL.1,
            _ => DROP_EVERY,
        };
        let start = *points.last().unwrap();
        if start + frames >= len {
            break;
        }
        points.push(start + frames - 1);
    }
    points
}

fn fail(relay: &RelayProcess, upstream: &FakeUpstream, why: String) -> ! {
    panic!(
        "{why}\n--- upstream connections:\n{}\n--- relay log:\n{}",
        upstream.describe(),
        relay.log_tail(40)
    )
}

/// Polls /v1/health until `done` holds for the report, which it returns; fails saying `what`
/// did not happen if that takes longer than `within`.
async fn wait_health(
    (client, relay, upstream): (&reqwest::Client, &RelayProcess, &FakeUpstream),
    within: Duration,
    what: &str,
    done: impl Fn(&Value) -> bool,
) -> support::Result<Value> {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        // A 503 while the upstream is down between two connections: the same report.
        let h = relay.health(client).await?;
        if done(&h) {
            return Ok(h);
        }
        if tokio::time::Instant::now() > deadline {
            fail(
                relay,
                upstream,
                format!("{what} within {within:?}; health: {h}"),
            );
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

#[tokio::test]
async fn a_misbehaving_upstream_loses_and_doubles_nothing() -> support::Result<()> {
    let started = std::time::Instant::now();
    let events = recording::load(&data_file(FILE))?;
    let expected = recording::per_second(&events)?;
    assert_eq!(events.len(), 218);

    // The recording's first second becomes the current one; frames go out every 25 ms, so every
    // event reaches the relay well within the allowed lateness (60 s) of its second.
    let first_second = *expected.keys().next().unwrap();
    let shift = now_ms().div_euclid(1_000) * 1_000 - first_second;
    let real = shifted(&events, shift)?;
    let sample: Value = serde_json::from_str(&real[0]).unwrap();

    let mut no_dt = sample.clone();
    no_dt["meta"].as_object_mut().unwrap().remove("dt");
    no_dt["meta"]["id"] = "00000000-0000-4000-8000-00000000d7d7".into();
    let canary = serde_json::json!({
        "$schema": "/mediawiki/recentchange/1.0.0",
        "meta": {
            "uri": "https://canary/wiki/Special:Blank",
            "id": "00000000-0000-4000-8000-0000ca4a41e5",
            "dt": rfc3339(now_ms()),
            "domain": "canary",
            "stream": "mediawiki.recentchange",
        },
        "type": "edit",
        "wiki": "canarywiki",
        "bot": false,
    });
    let mut feed = Vec::new();
    let mut real_at = Vec::new(); // feed position -> is a real event
    let mut next = real.into_iter();
    while feed.len() < events.len() + 3 {
        let extra = match feed.len() {
            NOT_JSON_AT => {
                Some(r#"{"$schema":"/mediawiki/recentchange/1.0.0","meta":{"dt":"#.to_string())
            }
            NO_DT_AT => Some(no_dt.to_string()),
            CANARY_AT => Some(canary.to_string()),
            _ => None,
        };
        real_at.push(extra.is_none());
        feed.push(extra.unwrap_or_else(|| next.next().unwrap()));
    }
    let resume_points = expected_resume_points(feed.len());
    assert!(
        resume_points.iter().all(|&p| real_at[p]),
        "test setup: a resume boundary {resume_points:?} falls on a non-edit frame"
    );

    let base_ms = now_ms();
    let upstream = FakeUpstream::start(
        feed.clone(),
        base_ms,
        Plan {
            drop_every: DROP_EVERY,
            stall: Some(STALL),
            mute: Some(MUTE),
            stall_cap: Duration::from_secs(15),
            pace: Duration::from_millis(25),
            heartbeat: Duration::from_millis(500),
        },
    )
    .await?;
    let state_dir = std::env::temp_dir().join(unique("editpulse-upstream-faults"));
    let url = upstream.url();
    let state_arg = state_dir.display().to_string();
    let stall_arg = STALL_MS.to_string();
    let mut relay = RelayProcess::spawn(
        "upstream-faults",
        &[
            "--upstream",
            &url,
            "--upstream-stall-ms",
            &stall_arg,
            "--upstream-max-backoff-ms",
            "500",
            "--no-fallback",
            "--state-dir",
            &state_arg,
        ],
        &[],
    )?;
    relay.wait_healthy().await?;
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();

    // 1. The whole feed goes out, and the relay forwards all 218 edits.
    let parts = (&client, &relay, &upstream);
    wait_health(
        parts,
        Duration::from_secs(40),
        "feed not delivered and forwarded",
        |h| upstream.delivered_all() && h["source"]["events"].as_u64() >= Some(events.len() as u64),
    )
    .await?;

    // 2. Every second of the recording is final and exact.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(40);
    loop {
        let counts = recording::fetch_counts(&relay.base_url()).await?;
        let diff = recording::differences(&counts, &expected, shift, Outside::FinalZero);
        if diff.is_empty() {
            assert_eq!(assert_counts_match(&counts, &expected), shift);
            break;
        }
        if tokio::time::Instant::now() > deadline {
            fail(
                &relay,
                &upstream,
                format!(
                    "counts not final and exact within 40 s:\n{}",
                    diff.join("\n")
                ),
            );
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }

    // 3. Each reconnect resumed from the last event the relay had received.
    let conns = upstream.connections();
    let why = |what: &str| format!("{what}\n--- connections:\n{}", upstream.describe());
    assert_eq!(
        conns[0].last_event_id,
        None,
        "{}",
        why("a fresh state dir must start without Last-Event-ID")
    );
    let mut received = None; // the id of the last frame written to the relay so far
    for c in &conns {
        assert!(
            c.last_event_id == received,
            "{}",
            why(&format!(
                "connection #{} resumed with {:?}, but the last event sent was {:?}",
                c.number, c.last_event_id, received
            ))
        );
        received = c.last_sent_id.clone().or(received);
    }
    let drops = conns
        .iter()
        .filter(|c| matches!(c.end, End::Dropped | End::Closed))
        .count();
    let stalls: Vec<Duration> = conns
        .iter()
        .filter_map(|c| match c.end {
            End::StalledThenClientLeft(d) => Some(d),
            _ => None,
        })
        .collect();
    let mutes: Vec<Duration> = conns
        .iter()
        .filter_map(|c| match c.end {
            End::MuteThenClientLeft(d) => Some(d),
            _ => None,
        })
        .collect();
    assert!(
        drops >= 5,
        "{}",
        why(&format!("only {drops} drops happened"))
    );
    assert_eq!(
        stalls.len(),
        1,
        "{}",
        why("the stall must happen once, and the relay must hang up on it")
    );
    assert_eq!(
        mutes.len(),
        1,
        "{}",
        why("one request goes unanswered, and the relay must give up on it")
    );
    for (what, held) in [("stalled", stalls[0]), ("unanswered", mutes[0])] {
        assert!(
            held >= Duration::from_millis(STALL_MS * 8 / 10) && held < Duration::from_secs(6),
            "{}",
            why(&format!(
                "the relay gave up on the {what} connection after {held:?}, watchdog is {STALL_MS} ms"
            ))
        );
    }
    // Every resume re-sent its boundary frame. The boundaries are planned on real events, but
    // a reconnect the plan did not cause (a slow machine tripping the watchdog) could land
    // elsewhere, so what the relay should have counted is derived from what was really sent.
    let sends = |pos: usize| conns.iter().filter(|c| c.sent.contains(&pos)).count() as u64;
    assert!(
        (0..feed.len()).all(|p| sends(p) >= 1),
        "{}",
        why("the feed has gaps")
    );
    let duplicates: u64 = (0..feed.len())
        .filter(|&p| real_at[p])
        .map(|p| sends(p) - 1)
        .sum();
    let resumes: Vec<usize> = conns[1..].iter().map(|c| c.resumed_at).collect();

    // 4. /v1/health accounts for every fault. Read a report made after the last frame.
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    let h = relay.health(&client).await?;
    let s = &h["source"];
    let reconnects = (conns.len() - 1) as u64;
    let context = format!(
        "health source: {s}\n--- connections:\n{}",
        upstream.describe()
    );
    assert_eq!(s["kind"], "upstream", "{context}");
    assert_eq!(s["connected"], true, "{context}");
    assert_eq!(s["events"].as_u64(), Some(events.len() as u64), "{context}");
    // Every drop, the stall and the unanswered request ended a connection.
    let ended = (drops + stalls.len() + mutes.len()) as u64;
    assert!(s["reconnects"].as_u64().unwrap() >= ended, "{context}");
    assert_eq!(s["reconnects"].as_u64(), Some(reconnects), "{context}");
    assert!(duplicates >= 1);
    assert_eq!(
        s["duplicates"].as_u64(),
        Some(duplicates),
        "every re-sent boundary event is dropped by meta.id\n{context}"
    );
    assert_eq!(
        s["malformed"].as_u64(),
        Some(sends(NOT_JSON_AT) + sends(NO_DT_AT)),
        "not-JSON and no-meta.dt frames\n{context}"
    );
    assert_eq!(s["canaries"].as_u64(), Some(sends(CANARY_AT)), "{context}");
    assert_eq!(h["windows"]["too_late"], 0, "{h}");
    let first_run = format!(
        "{} connections ({drops} drops, stall held {:?}, unanswered request held {:?}), \
         resumes at {resumes:?}, health source {s}",
        conns.len(),
        stalls[0],
        mutes[0]
    );

    // 5. SIGKILL and start again: the first connection resumes where the relay left off, and the
    // boundary event it re-sends is recognised from the persisted ids.
    let last_id = upstream.id_of(feed.len() - 1);
    let state: Value =
        serde_json::from_slice(&std::fs::read(state_dir.join("upstream.json")).unwrap()).unwrap();
    assert_eq!(
        state["last_event_id"],
        last_id.as_str(),
        "persisted state: {state}"
    );
    let before = conns.len();
    relay.restart()?;
    relay.wait_healthy().await?;
    let parts = (&client, &relay, &upstream);
    let h = wait_health(
        parts,
        Duration::from_secs(15),
        "the restarted relay did not resume",
        |h| upstream.connections().len() > before && h["source"]["duplicates"].as_u64() >= Some(1),
    )
    .await?;
    let after = upstream.connections();
    assert_eq!(
        after[before].last_event_id.as_deref(),
        Some(last_id.as_str()),
        "{}",
        why("after a restart the relay must resume with the persisted Last-Event-ID")
    );
    let s = &h["source"];
    assert_eq!(
        s["duplicates"], 1,
        "the re-sent boundary is a known id: {s}"
    );
    assert_eq!(
        s["events"], 0,
        "nothing is forwarded twice across a restart: {s}"
    );
    assert_eq!(s["kind"], "upstream", "{s}");
    assert_eq!(
        after.len(),
        before + 1,
        "{}",
        why("one connection after the restart")
    );

    let _ = std::fs::remove_dir_all(&state_dir);
    eprintln!(
        "upstream_faults: {first_run}; after SIGKILL and restart: resumed at position {} \
         (the persisted Last-Event-ID), health source {s}; took {:.1?}",
        after[before].resumed_at,
        started.elapsed()
    );
    Ok(())
}
