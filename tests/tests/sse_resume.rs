//! SSE resume: a client that reconnects with `Last-Event-ID` gets exactly what it missed —
//! the same events, in the same order, as a client that never disconnected.

use std::time::Duration;

use support::paths::data_file;
use support::relay_process::RelayProcess;
use support::sse_client::{Event, SseStream};

async fn counts(stream: &mut SseStream, n: usize) -> Vec<Event> {
    let mut out = Vec::new();
    while out.len() < n {
        let ev = stream
            .next_named("count", Duration::from_secs(10))
            .await
            .expect("count events keep coming");
        out.push(ev);
    }
    out
}

#[tokio::test]
async fn last_event_id_resumes_without_gap_or_duplicate() -> support::Result<()> {
    let file = data_file("recentchange-2024-02-06-all-wikis.jsonl")
        .display()
        .to_string();
    let mut relay = RelayProcess::spawn("sse-resume", &["--replay", &file, "--replay-loop"], &[])?;
    relay.wait_healthy().await?;
    let url = relay.url("/v1/stream");

    let mut steady = SseStream::connect(&url, None).await?;
    let mut flaky = SseStream::connect(&url, None).await?;
    let first = counts(&mut flaky, 5).await;
    let resume_from = first
        .last()
        .unwrap()
        .id
        .clone()
        .expect("count events carry ids");
    drop(flaky);
    // Stay away long enough for a few updates to happen while disconnected.
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let mut resumed = SseStream::connect(&url, Some(&resume_from)).await?;
    let after = counts(&mut resumed, 20).await;

    let reference = counts(&mut steady, 60).await;
    let pos = reference
        .iter()
        .position(|e| e.id.as_deref() == Some(resume_from.as_str()))
        .expect("the steady client saw the resume point");
    assert_eq!(
        &reference[pos + 1..pos + 1 + after.len()],
        &after[..],
        "resumed stream differs from the steady one"
    );

    let ids: Vec<u64> = reference
        .iter()
        .map(|e| e.id.as_ref().unwrap().parse().unwrap())
        .collect();
    assert!(
        ids.windows(2).all(|w| w[1] == w[0] + 1),
        "count ids are consecutive: {ids:?}"
    );

    // Health events carry the id of the last count, so resuming from one is safe too.
    let mut s = SseStream::connect(&url, None).await?;
    let h = s
        .next_named("health", Duration::from_secs(5))
        .await
        .expect("health every second");
    assert!(h.id.is_some());
    let health: wire::Health =
        serde_json::from_str(&h.data).expect("health parses as the wire type");
    assert_eq!(health.bus.kind, "embedded");

    // Health is the keep-alive and goes out on the second, the same instant as the new
    // second's count, so a client gets both in one wake. Nothing else is sent.
    let mut seen = Vec::new();
    let mut starts = Vec::new();
    while starts.len() < 3 {
        let ev = s
            .next(Duration::from_secs(5))
            .await
            .expect("events keep coming");
        if ev.event == "health" {
            let h: wire::Health = serde_json::from_str(&ev.data).expect("health parses");
            starts.push(h.time.0);
        }
        seen.push(ev.event);
    }
    assert!(
        seen.iter().all(|e| e == "count" || e == "health"),
        "only count and health events: {seen:?}"
    );
    assert!(
        starts.iter().all(|t| t.rem_euclid(1_000) < 200),
        "health reports are made on the second (ms past it: {:?})",
        starts
            .iter()
            .map(|t| t.rem_euclid(1_000))
            .collect::<Vec<_>>()
    );
    Ok(())
}

#[tokio::test]
async fn an_unknown_or_stale_id_gets_the_stored_history() -> support::Result<()> {
    let file = data_file("recentchange-2024-02-06-all-wikis.jsonl")
        .display()
        .to_string();
    let mut relay = RelayProcess::spawn("sse-stale", &["--replay", &file], &[])?;
    relay.wait_healthy().await?;
    tokio::time::sleep(Duration::from_secs(3)).await;
    // An id from an earlier run of the relay (ids start at the boot time) or from another relay.
    let mut s = SseStream::connect(&relay.url("/v1/stream"), Some("1")).await?;
    let first = s
        .next_named("count", Duration::from_secs(5))
        .await
        .expect("history is sent");
    let w: wire::WindowRecord = serde_json::from_str(&first.data).unwrap();
    let stored: Vec<wire::WindowRecord> = reqwest::get(relay.url("/v1/counts"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        w.start, stored[0].start,
        "the backfill starts with the oldest stored second"
    );
    Ok(())
}
