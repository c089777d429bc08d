//! `/v1/edits` and `/v1/top?by=page|user` on the embedded bus: real recordings (moved to now,
//! with repeats added) posted through the gateway, and every answer for random ranges and
//! filters equal to a brute-force reading of them; every page of a listing covering each edit
//! once; each second's list as long as its count; hostile parameters refused by name.
//! The same against Kafka and from a `--serve-only` relay: `edits_kafka.rs`.

mod edits_check;
mod in_process;

use edits_check::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn edits_and_top_names_equal_a_brute_force_reading_on_the_embedded_bus() {
    let seed = seed();
    let dir = tempfile::tempdir().unwrap();
    let relay = in_process::gateway_relay(
        dir.path(),
        &[
            "--allowed-lateness-ms",
            "600000",
            "--watermark-delay-ms",
            "300",
        ],
    )
    .await
    .expect("relay starts");
    let app = relay.router();
    let (body, truths) = recording(now_ms() - 2_000, seed);
    post(&app, body).await;
    let (lo, hi) = span(&truths);
    wait_counted(&app, lo - 1_000, hi + 1_000, truths.len()).await;

    check_seconds_agree(&app, lo - 1_000, hi + 1_000).await;
    check_random(&app, lo, hi, &truths, seed, 25, &[1, 7, 50, 1000]).await;
    check_hostile(&app).await;
}

/// Records counted and older than `--keep-edits` are let go; a range before what is held
/// answers with what is held and says from when (`earliest`), never an error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_range_before_the_retention_answers_what_is_held_and_says_from_when() {
    use codec::summary::Summary;
    use history::{Commit, InputLog, NewEntry};

    let dir = tempfile::tempdir().unwrap();
    let now = now_ms();
    // Ten minutes of events, one a second, counted and committed by an earlier run.
    let records: Vec<(i64, Vec<u8>, Vec<u8>)> = (0..600)
        .map(|i| {
            let ingest = now - 600_000 + i * 1_000;
            let json = format!(
                r#"{{"meta":{{"dt":"{}","id":"old-{i}"}},"type":"edit","wiki":"enwiki","title":"T{i}","namespace":0}}"#,
                wire::Millis(ingest - 100)
            );
            let edit = codec::event::parse(json.as_bytes()).unwrap();
            let mut tag = Vec::new();
            Summary::of(&edit).tag(b"{}", &mut tag);
            (ingest, tag, json.into_bytes())
        })
        .collect();
    {
        let mut log = InputLog::open_in(dir.path()).unwrap();
        let entries: Vec<NewEntry<'_>> = records
            .iter()
            .enumerate()
            .map(|(o, (ingest, tag, payload))| NewEntry {
                partition: 0,
                offset: o as u64,
                ingest_ms: *ingest,
                key: "enwiki",
                summary: tag,
                payload,
            })
            .collect();
        log.append(&entries).unwrap();
        log.commit(&[Commit {
            partition: 0,
            next_offset: 600,
            drop_horizon_ms: Some(now),
        }])
        .unwrap();
    }
    let relay = in_process::gateway_relay(dir.path(), &["--keep-edits", "2m"])
        .await
        .expect("relay starts");
    let app = relay.router();
    // Pruning runs with the counter's commits: new events keep it committing.
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
    let earliest = loop {
        let t = now_ms();
        post(
            &app,
            format!(
                r#"{{"meta":{{"dt":"{}","id":"new-{t}"}},"wiki":"dewiki"}}"#,
                wire::Millis(t)
            ),
        )
        .await;
        let (status, page) = get(
            &app,
            &format!("/v1/edits?from={}&to={}", now - 600_000, now - 540_000),
        )
        .await;
        assert_eq!(status, axum::http::StatusCode::OK, "{page}");
        if let Some(e) = page["earliest"].as_str() {
            // Nothing of that minute is held any more, and the answer says so.
            assert_eq!(page["edits"].as_array().unwrap().len(), 0, "{page}");
            break wire::Millis::parse_rfc3339(e).unwrap().0;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "nothing was let go: {page}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    };
    // Kept: the last two minutes' records, so what they decide (all but the `--max-future-ms`
    // an event may be stamped ahead of its ingest time, and a margin) is complete.
    let held_from = now - 120_000;
    assert!(
        earliest > held_from && earliest <= held_from + 2_000 + 300_000 + 10_000,
        "{earliest}"
    );
    let (_, page) = get(
        &app,
        &format!("/v1/edits?from={}&to={}&limit=1000", now - 60_000, now),
    )
    .await;
    // Stamped 100 ms before their ingest times: old-541 to old-599.
    assert_eq!(page["edits"].as_array().unwrap().len(), 59, "{page}");
}
