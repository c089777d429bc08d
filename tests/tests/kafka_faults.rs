//! Faults against the real broker: the broker killed and restarted mid-stream, the relay
//! SIGKILLed mid-stream, and a graceful shutdown under load. After each, the final per-second
//! counts equal an independent count of every event that got a 2xx — nothing lost, nothing
//! counted twice.

use std::time::{Duration, Instant};

use support::broker::{Broker, brokers};
use support::load::{self, Load};
use support::relay_process::{RelayProcess, env_refs, kafka_env};
use support::sse_client::SseStream;

const TOKEN: &str = "fault-token";

fn relay_env(brokers: &str, tag: &str) -> Vec<(String, String)> {
    let mut env = kafka_env(brokers, tag);
    env.extend([
        ("RELAY_INGEST_TOKEN".into(), TOKEN.into()),
        ("RELAY_WATERMARK_DELAY_MS".into(), "1000".into()),
        // A dead member must leave the group quickly for the test to be short.
        (
            "RELAY_KAFKA_OPTION".into(),
            "session.timeout.ms=6000".into(),
        ),
    ]);
    env
}

/// A relay in Kafka mode (`name` also tags its topics and group) under [`Load::steady`],
/// four seconds into it.
async fn relay_under_load(name: &str, brokers: &str) -> support::Result<(RelayProcess, Load)> {
    let env = relay_env(brokers, name);
    let mut relay = RelayProcess::spawn(name, &["--no-upstream"], &env_refs(&env))?;
    relay.wait_healthy().await?;
    let load = Load::steady(relay.url("/v1/events"), TOKEN)?;
    tokio::time::sleep(Duration::from_secs(4)).await;
    Ok((relay, load))
}

#[tokio::test]
async fn broker_killed_and_restarted_mid_stream() -> support::Result<()> {
    let mut broker = Broker::start()?;
    let (mut relay, load) = relay_under_load("broker-kill", &broker.brokers()).await?;
    broker.kill();

    // While it is down the relay says so, and the gateway refuses (503 + Retry-After).
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(8);
    let down = loop {
        let h = relay.health(&client).await?;
        if h["bus"]["broker_reachable"] == false {
            break h;
        }
        assert!(
            Instant::now() < deadline,
            "health never noticed the broker was gone: {h}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_ne!(down["status"], "ok", "{down}");
    assert!(
        down["reasons"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r.as_str().unwrap().starts_with("bus")),
        "{down}"
    );
    let resp = reqwest::Client::new()
        .post(relay.url("/v1/events"))
        .bearer_auth(TOKEN)
        .header("content-type", "application/json")
        .body(format!(
            r#"{{"meta":{{"dt":"{}"}}}}"#,
            chrono::Utc::now().to_rfc3339()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 503);
    assert!(resp.headers().contains_key("retry-after"));
    tokio::time::sleep(Duration::from_secs(2)).await;

    broker.resume()?;
    tokio::time::sleep(Duration::from_secs(5)).await;
    let outcome = load.stop().await?;
    assert!(outcome.unexpected.is_empty(), "{:?}", outcome.unexpected);
    assert!(
        outcome.unavailable > 0,
        "the gateway never refused while the broker was down"
    );
    assert!(outcome.total_acked() > 500, "{outcome:?}");
    // The relay was never restarted: it recovers on its own.
    load::assert_counted(&relay.base_url(), &outcome.acked, Duration::from_secs(60)).await;
    let h = relay.wait_healthy().await?;
    assert_eq!(h["bus"]["broker_reachable"], true);
    eprintln!(
        "broker kill: {} events acknowledged in {} requests, {} refused with 503",
        outcome.total_acked(),
        outcome.accepted_requests,
        outcome.unavailable
    );
    Ok(())
}

#[tokio::test]
async fn relay_sigkilled_mid_stream_recomputes_exactly() -> support::Result<()> {
    let (mut relay, load) = relay_under_load("relay-kill", &brokers()?).await?;
    relay.kill();
    tokio::time::sleep(Duration::from_millis(500)).await;
    relay.restart()?;
    relay.wait_healthy().await?;
    tokio::time::sleep(Duration::from_secs(4)).await;
    let outcome = load.stop().await?;
    assert!(outcome.unexpected.is_empty(), "{:?}", outcome.unexpected);
    assert!(outcome.unreachable > 0, "the relay was not really down");
    load::assert_counted(&relay.base_url(), &outcome.acked, Duration::from_secs(90)).await;

    // A browser reconnecting after the restart sees the same history over SSE.
    let first = *outcome.acked.keys().next().unwrap();
    let since = chrono::DateTime::from_timestamp_millis(first)
        .unwrap()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let mut s = SseStream::connect(&relay.url(&format!("/v1/stream?since={since}")), None).await?;
    let mut seen = std::collections::BTreeMap::new();
    let last = *outcome.acked.keys().next_back().unwrap();
    while seen.len() < outcome.acked.len()
        || !(first..=last).step_by(1_000).all(|t| seen.contains_key(&t))
    {
        let ev = s
            .next_named("count", Duration::from_secs(5))
            .await
            .expect("history arrives over SSE");
        let w: wire::WindowRecord = serde_json::from_str(&ev.data).unwrap();
        seen.insert(w.start.0, w.count);
    }
    for t in (first..=last).step_by(1_000) {
        assert_eq!(
            seen[&t],
            outcome.acked.get(&t).copied().unwrap_or(0),
            "SSE history at {t}"
        );
    }
    eprintln!(
        "relay kill: {} events acknowledged, {} requests refused while it was down",
        outcome.total_acked(),
        outcome.unreachable
    );
    Ok(())
}

#[tokio::test]
async fn graceful_shutdown_under_load_loses_nothing() -> support::Result<()> {
    let env = relay_env(&brokers()?, "graceful");
    let mut relay = RelayProcess::spawn("graceful", &["--no-upstream"], &env_refs(&env))?;
    relay.wait_healthy().await?;
    let mut streams = Vec::new();
    for _ in 0..20 {
        streams.push(SseStream::connect(&relay.url("/v1/stream"), None).await?);
    }
    let load = Load::start(
        relay.url("/v1/events"),
        Some(TOKEN.into()),
        50,
        Duration::from_millis(20),
    )?;
    tokio::time::sleep(Duration::from_secs(3)).await;

    let started = Instant::now();
    relay.terminate()?;
    let status = relay
        .wait_exit(Duration::from_secs(15))?
        .expect("the relay exits after SIGTERM");
    let took = started.elapsed();
    assert!(status.success(), "exit status {status}");
    assert!(took < Duration::from_secs(10), "shutdown took {took:?}");
    // Every SSE stream was ended by the relay, not left hanging.
    for s in &mut streams {
        while let Some(_ev) = s.next(Duration::from_secs(2)).await {}
    }
    let log = relay.log_tail(200);
    assert!(
        log.contains("all connections closed") && !log.contains("connections still open"),
        "open SSE streams end at shutdown instead of being dropped after the drain: {log}"
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    let outcome = load.stop().await?;
    assert!(outcome.unexpected.is_empty(), "{:?}", outcome.unexpected);

    relay.restart()?;
    relay.wait_healthy().await?;
    load::assert_counted(&relay.base_url(), &outcome.acked, Duration::from_secs(60)).await;
    eprintln!(
        "graceful shutdown took {took:?}; {} events acknowledged before it",
        outcome.total_acked()
    );
    Ok(())
}
