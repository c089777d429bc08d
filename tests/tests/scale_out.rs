//! Several relays in one consumer group share a 4-partition input topic; every one of them
//! serves the same exact totals — in steady state, after a relay joins, and after one is
//! SIGKILLed mid-stream. A `--serve-only` relay serves them too, and events taken in by an
//! `--ingest-only` relay are counted by the others.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use support::broker::brokers;
use support::load::{self, Load};
use support::names::unique;
use support::relay_process::RelayProcess;

const TOKEN: &str = "scale-token";

fn owned(h: &serde_json::Value) -> BTreeSet<u64> {
    h["bus"]["partitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["partition"].as_u64().unwrap())
        .collect()
}

async fn health(relay: &RelayProcess) -> support::Result<serde_json::Value> {
    relay.health(&reqwest::Client::new()).await
}

/// Waits until the relays own disjoint sets of partitions that together are all four.
async fn wait_split(relays: &[&RelayProcess]) -> support::Result<Vec<BTreeSet<u64>>> {
    let deadline = Instant::now() + Duration::from_secs(45);
    loop {
        let mut sets = Vec::new();
        for r in relays {
            sets.push(owned(&health(r).await?));
        }
        let all: BTreeSet<u64> = sets.iter().flatten().copied().collect();
        let total: usize = sets.iter().map(BTreeSet::len).sum();
        if all == (0..4).collect() && total == 4 && sets.iter().all(|s| !s.is_empty()) {
            return Ok(sets);
        }
        assert!(
            Instant::now() < deadline,
            "partitions never split between the relays: {sets:?}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

#[tokio::test]
async fn relays_share_partitions_and_agree_on_exact_totals() -> support::Result<()> {
    let env: Vec<(String, String)> = vec![
        ("RELAY_BROKERS".into(), brokers()?),
        ("RELAY_INPUT_TOPIC".into(), unique("scale-in")),
        ("RELAY_OUTPUT_TOPIC".into(), unique("scale-out")),
        ("RELAY_GROUP_ID".into(), unique("scale-group")),
        ("RELAY_PARTITIONS".into(), "4".into()),
        ("RELAY_INGEST_TOKEN".into(), TOKEN.into()),
        ("RELAY_WATERMARK_DELAY_MS".into(), "1000".into()),
        (
            "RELAY_KAFKA_OPTION".into(),
            "session.timeout.ms=6000".into(),
        ),
    ];
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let mut a = RelayProcess::spawn("scale-a", &["--no-upstream"], &env)?;
    let mut b = RelayProcess::spawn("scale-b", &["--no-upstream"], &env)?;
    a.wait_healthy().await?;
    b.wait_healthy().await?;
    let split = wait_split(&[&a, &b]).await?;
    eprintln!("two relays own {split:?}");

    // Steady state with two relays.
    let steady = Load::steady(a.url("/v1/events"), TOKEN)?;
    tokio::time::sleep(Duration::from_secs(4)).await;
    let steady = steady.stop().await?;
    assert!(steady.unexpected.is_empty(), "{:?}", steady.unexpected);
    load::assert_counted(&a.base_url(), &steady.acked, Duration::from_secs(30)).await;
    load::assert_counted(&b.base_url(), &steady.acked, Duration::from_secs(30)).await;

    // A third relay joins mid-stream, while the events go in through an ingest-only relay
    // (a gateway tier); a serve-only relay adds SSE capacity.
    let mut gate = RelayProcess::spawn("scale-gate", &["--no-upstream", "--ingest-only"], &env)?;
    gate.wait_healthy().await?;
    let joined = Load::steady(gate.url("/v1/events"), TOKEN)?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let mut c = RelayProcess::spawn("scale-c", &["--no-upstream"], &env)?;
    c.wait_healthy().await?;
    let mut serve = RelayProcess::spawn("scale-serve", &["--serve-only"], &env)?;
    serve.wait_healthy().await?;
    let split = wait_split(&[&a, &b, &c]).await?;
    eprintln!("three relays own {split:?}");
    assert!(
        owned(&health(&serve).await?).is_empty(),
        "a serve-only relay counts nothing"
    );
    assert!(
        owned(&health(&gate).await?).is_empty(),
        "an ingest-only relay counts nothing"
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    let joined = joined.stop().await?;
    assert!(joined.unexpected.is_empty(), "{:?}", joined.unexpected);
    assert!(
        joined.total_acked() > 0,
        "the ingest-only relay acknowledged nothing"
    );
    for r in [&a, &b, &c, &serve, &gate] {
        load::assert_counted(&r.base_url(), &joined.acked, Duration::from_secs(45)).await;
    }

    // One relay is SIGKILLed mid-stream: the others take its partitions over.
    let killed = Load::steady(a.url("/v1/events"), TOKEN)?;
    tokio::time::sleep(Duration::from_secs(2)).await;
    b.kill();
    let split = wait_split(&[&a, &c]).await?;
    eprintln!("after the kill, two relays own {split:?}");
    tokio::time::sleep(Duration::from_secs(2)).await;
    let killed = killed.stop().await?;
    assert!(killed.unexpected.is_empty(), "{:?}", killed.unexpected);
    for r in [&a, &c, &serve] {
        load::assert_counted(&r.base_url(), &killed.acked, Duration::from_secs(60)).await;
    }
    let h = health(&a).await?;
    assert!(
        h["bus"]["group_members"].as_u64().is_some(),
        "health shows the group's size: {h}"
    );
    eprintln!(
        "scale-out: {} + {} + {} events acknowledged and counted exactly",
        steady.total_acked(),
        joined.total_acked(),
        killed.total_acked()
    );
    Ok(())
}
