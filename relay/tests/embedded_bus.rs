//! The embedded bus's log in-process: a 202 from the gateway means the events are in the state
//! directory's file; a relay starting on a log a killed relay left behind counts what follows
//! each commit point exactly once, and nothing before it (the stored drop horizon refuses a
//! straggler for a second the dead relay had already closed and dropped); a log holding a
//! partition the configuration no longer reads stops the relay instead of leaving its records
//! uncounted. SIGKILLs of the real binary under load are in tests/tests/embedded_faults.rs.

use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use clap::Parser;
use codec::summary::Summary;
use history::{Commit, InputLog, NewEntry};
use http_body_util::BodyExt;
use relay::{Config, Relay};
use serde_json::Value;
use tower::ServiceExt;

const PARTITIONS: u32 = 4;

mod in_process;

async fn start(state_dir: &std::path::Path) -> Relay {
    in_process::gateway_relay(state_dir, &["--watermark-delay-ms", "300"])
        .await
        .expect("relay starts")
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

fn rfc3339(ms: i64) -> String {
    wire::Millis(ms).to_string()
}

fn event(id: &str, at_ms: i64) -> String {
    format!(
        r#"{{"meta":{{"dt":"{}","id":"{id}"}},"type":"edit","wiki":"enwiki","bot":false}}"#,
        rfc3339(at_ms)
    )
}

/// Every record the log holds, over all partitions: (partition, offset, payload).
fn held(state_dir: &std::path::Path) -> Vec<(u32, u64, Vec<u8>)> {
    let log = InputLog::open_in(state_dir).unwrap();
    let mut out = Vec::new();
    for p in 0..PARTITIONS {
        for e in log.read(p, 0, 100_000).unwrap() {
            out.push((
                p,
                e.offset,
                log.payload(p, e.offset).unwrap().expect("payload kept"),
            ));
        }
    }
    out
}

/// The final count of the second starting at `start`, waiting up to 10 s for it.
async fn final_count(app: &Router, start: i64) -> Option<u64> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let uri = format!("/v1/counts?from={}&to={}", start - 60_000, start + 1_000);
        let resp = app
            .clone()
            .oneshot(Request::get(uri).body(Body::empty()).unwrap())
            .await
            .unwrap();
        let bytes = resp.into_body().collect().await.unwrap().to_bytes();
        let body: Value = serde_json::from_slice(&bytes).unwrap();
        let second = body
            .as_array()
            .unwrap()
            .iter()
            .find(|w| w["start"] == rfc3339(start))
            .cloned();
        if let Some(w) = &second
            && w["final"] == true
        {
            return w["count"].as_u64();
        }
        if tokio::time::Instant::now() > deadline {
            return second.and_then(|w| w["count"].as_u64());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_202_means_the_events_are_in_the_state_directory() {
    let dir = tempfile::tempdir().unwrap();
    let relay = start(dir.path()).await;
    let now = now_ms();
    let lines: Vec<String> = (0..300).map(|i| event(&format!("ack-{i}"), now)).collect();
    let resp = relay
        .router()
        .oneshot(
            Request::post("/v1/events")
                .header("content-type", "application/x-ndjson")
                .body(Body::from(lines.join("\n")))
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::ACCEPTED);
    // Read at once through a connection of our own, as a restarted relay would read it.
    let mut payloads: Vec<String> = held(dir.path())
        .into_iter()
        .map(|(_, _, p)| String::from_utf8(p).unwrap())
        .collect();
    payloads.sort();
    let mut want = lines.clone();
    want.sort();
    assert_eq!(payloads, want);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_log_left_by_a_killed_relay_is_counted_from_its_commit_points_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let now = now_ms();
    let second = (now - 1_000).div_euclid(1_000) * 1_000;
    let closed = second - 20_000;
    // What a relay killed just now left: in partition 0, five records of a second it had
    // closed and dropped, behind its commit point (horizon: that second's end); after it, 40
    // records of the last second, acknowledged but never counted, and a straggler for the
    // dropped second (within the allowed lateness, but its second is gone). In partition 2,
    // 25 more of the last second and no commit point at all.
    let mut records: Vec<(u32, u64, i64, String)> = Vec::new();
    for i in 0..5 {
        records.push((0, i, closed + 100, event(&format!("old-{i}"), closed + 10)));
    }
    for i in 0..40 {
        records.push((
            0,
            5 + i,
            second + 500,
            event(&format!("p0-{i}"), second + 20),
        ));
    }
    records.push((0, 45, second + 600, event("straggler", closed + 30)));
    for i in 0..25 {
        records.push((2, i, second + 700, event(&format!("p2-{i}"), second + 40)));
    }
    let tags: Vec<Vec<u8>> = records
        .iter()
        .map(|(_, _, _, json)| {
            let edit = codec::event::parse(json.as_bytes()).unwrap();
            let mut tag = Vec::new();
            Summary::of(&edit).tag(b"{}", &mut tag);
            tag
        })
        .collect();
    {
        let mut log = InputLog::open_in(dir.path()).unwrap();
        let entries: Vec<NewEntry<'_>> = records
            .iter()
            .zip(&tags)
            .map(|((p, offset, ingest, json), tag)| NewEntry {
                partition: *p,
                offset: *offset,
                ingest_ms: *ingest,
                key: "enwiki",
                summary: tag,
                payload: json.as_bytes(),
            })
            .collect();
        log.append(&entries).unwrap();
        log.commit(&[Commit {
            partition: 0,
            next_offset: 5,
            drop_horizon_ms: Some(closed + 1_000),
        }])
        .unwrap();
    }
    let relay = start(dir.path()).await;
    let app = relay.router();
    assert_eq!(final_count(&app, second).await, Some(65));
    // Neither re-read from before the commit point nor rebuilt from the straggler.
    assert_eq!(final_count(&app, closed).await, None);

    // New records follow the old ones in their partitions: nothing is overwritten.
    let resp = app
        .clone()
        .oneshot(
            Request::post("/v1/events")
                .header("content-type", "application/json")
                .body(Body::from(event("after-restart", now_ms())))
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::ACCEPTED);
    // (The five records before partition 0's commit point may have been pruned meanwhile.)
    let after_commits: Vec<_> = held(dir.path())
        .into_iter()
        .filter(|&(p, offset, _)| p != 0 || offset >= 5)
        .collect();
    assert_eq!(after_commits.len(), records.len() - 5 + 1);
    let new: Vec<_> = after_commits
        .iter()
        .filter(|(_, _, json)| String::from_utf8_lossy(json).contains("after-restart"))
        .collect();
    assert_eq!(new.len(), 1);
    let (p, offset, _) = new[0];
    let before = records.iter().filter(|r| r.0 == *p).count() as u64;
    assert_eq!(*offset, before, "partition {p}");
}

#[tokio::test]
async fn a_log_with_more_partitions_than_configured_stops_the_relay() {
    let dir = tempfile::tempdir().unwrap();
    let json = event("in-partition-6", now_ms());
    let mut tag = Vec::new();
    Summary::of(&codec::event::parse(json.as_bytes()).unwrap()).tag(b"{}", &mut tag);
    InputLog::open_in(dir.path())
        .unwrap()
        .append(&[NewEntry {
            partition: 6,
            offset: 0,
            ingest_ms: now_ms(),
            key: "enwiki",
            summary: &tag,
            payload: json.as_bytes(),
        }])
        .unwrap();
    let path = dir.path().to_str().unwrap();
    let config = Config::try_parse_from([
        "relay",
        "--no-upstream",
        "--state-dir",
        path,
        "--static-dir",
        path,
    ])
    .unwrap();
    let err = Relay::start(config)
        .await
        .err()
        .expect("a record nobody would count stops the relay");
    assert!(err.to_string().contains("--partitions 7"), "{err}");
}
