//! Counting across faults that outlast a second's allowed lateness, against the real broker:
//! the broker away for longer than the lateness, and a relay SIGKILLed after a second was
//! complete, written and dropped, then fed a straggler of that second from a producer with a
//! slow clock. In both, each second's total stays the exact count of what was acknowledged.

use std::time::Duration;

use rdkafka::ClientConfig;
use rdkafka::producer::{FutureProducer, FutureRecord};
use support::broker::{Broker, brokers};
use support::load::{self, Load};
use support::recording::{fetch_counts, now_ms, rfc3339};
use support::relay_process::{RelayProcess, env_refs, kafka_env};

const TOKEN: &str = "counting-faults";
/// Short, so that an outage of a few seconds outlasts it.
const LATENESS_MS: i64 = 1_000;
const DELAY_MS: i64 = 1_000;
/// The counter keeps a window this long past its lateness before dropping it.
const SLACK_MS: i64 = 10_000;

fn env(brokers: &str, tag: &str) -> Vec<(String, String)> {
    let mut env = kafka_env(brokers, tag);
    env.extend([
        ("RELAY_INGEST_TOKEN".into(), TOKEN.into()),
        ("RELAY_PARTITIONS".into(), "1".into()),
        ("RELAY_WATERMARK_DELAY_MS".into(), DELAY_MS.to_string()),
        ("RELAY_ALLOWED_LATENESS_MS".into(), LATENESS_MS.to_string()),
        (
            "RELAY_KAFKA_OPTION".into(),
            "session.timeout.ms=6000".into(),
        ),
    ]);
    env
}

#[tokio::test]
async fn an_outage_longer_than_the_lateness_loses_no_second() -> support::Result<()> {
    let mut broker = Broker::start()?;
    let env = env(&broker.brokers(), "long-outage");
    let mut relay = RelayProcess::spawn("long-outage", &["--no-upstream"], &env_refs(&env))?;
    relay.wait_healthy().await?;
    let load = Load::steady(relay.url("/v1/events"), TOKEN)?;
    tokio::time::sleep(Duration::from_secs(4)).await;

    // Away long enough for every second counted before it to close, age out and be dropped.
    broker.kill();
    let outage = DELAY_MS + LATENESS_MS + SLACK_MS + 4_000;
    tokio::time::sleep(Duration::from_millis(outage as u64)).await;
    broker.resume()?;
    tokio::time::sleep(Duration::from_secs(4)).await;

    let outcome = load.stop().await?;
    assert!(outcome.unexpected.is_empty(), "{:?}", outcome.unexpected);
    assert!(outcome.unavailable > 0, "the broker was never away");
    assert!(outcome.total_acked() > 200, "{outcome:?}");
    load::assert_counted(&relay.base_url(), &outcome.acked, Duration::from_secs(60)).await;
    Ok(())
}

#[tokio::test]
async fn a_restarted_relay_does_not_rebuild_a_written_second_from_a_straggler()
-> support::Result<()> {
    let brokers = brokers()?;
    let env = env(&brokers, "straggler");
    let input = env[1].1.clone();
    let mut relay = RelayProcess::spawn("straggler", &["--no-upstream"], &env_refs(&env))?;
    relay.wait_healthy().await?;

    // Five events of one second, through the gateway.
    let second = (now_ms() / 1_000 + 1) * 1_000;
    let event = |id: &str| {
        format!(
            r#"{{"type":"edit","wiki":"enwiki","bot":false,"meta":{{"id":"{id}","dt":"{}"}}}}"#,
            rfc3339(second + 300)
        )
    };
    let body: Vec<String> = (0..5).map(|i| event(&format!("straggler-{i}"))).collect();
    tokio::time::sleep(Duration::from_millis((second - now_ms()).max(0) as u64)).await;
    let resp = reqwest::Client::new()
        .post(relay.url("/v1/events"))
        .bearer_auth(TOKEN)
        .header("content-type", "application/x-ndjson")
        .body(body.join("\n"))
        .send()
        .await?;
    assert_eq!(resp.status(), 202, "{}", resp.text().await?);

    // Wait until the second is final, dropped by the counter and committed past.
    let dropped_at = second + 1_000 + DELAY_MS + LATENESS_MS + SLACK_MS + 1_000;
    tokio::time::sleep(Duration::from_millis(
        (dropped_at - now_ms()).max(0) as u64 + 3_000,
    ))
    .await;
    let before = fetch_counts(&relay.base_url()).await?;
    assert_eq!(before.get(&second), Some(&(5, true)), "{before:?}");
    relay.kill();

    // A producer whose clock is slow stamps a sixth event of that second within its lateness.
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", &brokers)
        .create()?;
    let payload = event("straggler-late");
    let stamped = second + 1_000 + DELAY_MS + LATENESS_MS / 2;
    producer
        .send(
            FutureRecord::to(&input)
                .key("enwiki")
                .payload(payload.as_bytes())
                .timestamp(stamped),
            Duration::from_secs(10),
        )
        .await
        .map_err(|(e, _)| e)?;

    relay.restart()?;
    relay.wait_healthy().await?;
    // The restarted counter reads the straggler and refuses it as too late.
    let client = reqwest::Client::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let h = relay.health(&client).await?;
        if h["windows"]["too_late"].as_u64().unwrap_or(0) >= 1 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the straggler was not read as too late: {h}\n{}",
            relay.log_tail(30)
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Whatever the counter writes from now on, the second keeps its whole count.
    for _ in 0..10 {
        let counts = fetch_counts(&relay.base_url()).await?;
        assert_eq!(counts.get(&second).map(|c| c.0), Some(5), "{counts:?}");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    Ok(())
}

/// By ingest time a second is when the bus took the event, so a client that sends a batch again
/// (its answer was lost, or a 503 came after part of it was written) puts the same `meta.id`s
/// in a later second. Within the allowed lateness of the first copy they count once, there.
#[tokio::test]
async fn by_ingest_time_a_batch_sent_again_seconds_later_counts_once() -> support::Result<()> {
    let brokers = brokers()?;
    let mut env = env(&brokers, "ingest-retry");
    env.retain(|(k, _)| k != "RELAY_ALLOWED_LATENESS_MS");
    env.extend([
        ("RELAY_TIME".into(), "ingest".into()),
        ("RELAY_ALLOWED_LATENESS_MS".into(), "10000".into()),
    ]);
    let mut relay = RelayProcess::spawn("ingest-retry", &["--no-upstream"], &env_refs(&env))?;
    relay.wait_healthy().await?;

    let event = |id: &str| {
        format!(
            r#"{{"type":"edit","wiki":"enwiki","bot":false,"meta":{{"id":"{id}","dt":"{}"}}}}"#,
            rfc3339(now_ms())
        )
    };
    let first: Vec<String> = (0..5).map(|i| event(&format!("retry-{i}"))).collect();
    let mut again = first.clone();
    again.extend((5..7).map(|i| event(&format!("retry-{i}"))));
    let client = reqwest::Client::new();
    let post = |lines: Vec<String>| {
        client
            .post(relay.url("/v1/events"))
            .bearer_auth(TOKEN)
            .header("content-type", "application/x-ndjson")
            .body(lines.join("\n"))
            .send()
    };
    let sent_at = now_ms();
    let resp = post(first).await?;
    assert_eq!(resp.status(), 202, "{}", resp.text().await?);
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    let resp = post(again).await?;
    assert_eq!(resp.status(), 202, "{}", resp.text().await?);

    // Both seconds final: a second closes DELAY_MS after it ends.
    tokio::time::sleep(Duration::from_millis(DELAY_MS as u64 + 2_500)).await;
    let counts = fetch_counts(&relay.base_url()).await?;
    let posted: Vec<(i64, u64)> = counts
        .iter()
        .filter(|&(&s, &(n, _))| s >= sent_at - 1_000 && n > 0)
        .map(|(&s, &(n, _))| (s, n))
        .collect();
    assert_eq!(posted.len(), 2, "{counts:?}");
    assert_eq!((posted[0].1, posted[1].1), (5, 2), "{counts:?}");
    assert!(posted[1].0 - posted[0].0 >= 2_000, "{posted:?}");
    let h = relay.health(&client).await?;
    assert_eq!(h["windows"]["duplicates"].as_u64(), Some(5), "{h}");
    Ok(())
}
