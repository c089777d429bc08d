//! Partials of the old format — no `cube` member, as relays wrote them before breakdowns — on
//! the output topic: a relay reading them serves their seconds' totals exactly, marked
//! `no_breakdown`, counts them in its health, and leaves them out of every filtered answer and
//! of the top lists' totals, which otherwise stay the brute force's.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use anyhow::{Context, ensure};
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::message::Message;
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};
use serde_json::{Value, json};
use support::broker::brokers;
use support::names::unique;
use support::recording::rfc3339;
use support::relay_process::{RelayProcess, env_refs, kafka_env};
use support::truth::{Filter, Rng, Truth};

use super::check::{self, Held};
use super::events::{self, Posted, TOKEN};

/// The latest record of every key on `topic` up to its end as of now, with the partition it
/// is on.
async fn latest_records(
    brokers: &str,
    topic: &str,
) -> support::Result<BTreeMap<String, (i32, Value)>> {
    let reader: StreamConsumer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("group.id", unique("explore-old-reader"))
        .create()
        .context("consumer")?;
    // Every partition from its start to its current end, without a group to join.
    let metadata = reader.fetch_metadata(Some(topic), Duration::from_secs(10))?;
    let mut assignment = TopicPartitionList::new();
    let mut ends = BTreeMap::new();
    for p in metadata.topics().iter().flat_map(|t| t.partitions()) {
        let (low, high) = reader.fetch_watermarks(topic, p.id(), Duration::from_secs(10))?;
        assignment.add_partition_offset(topic, p.id(), Offset::Offset(low))?;
        if high > low {
            ends.insert(p.id(), high);
        }
    }
    ensure!(!ends.is_empty(), "{topic} is empty");
    reader.assign(&assignment)?;
    let mut latest = BTreeMap::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while !ends.is_empty() {
        let m = tokio::time::timeout_at(deadline, reader.recv())
            .await
            .with_context(|| format!("{topic}: not read to {ends:?} within 30 s"))??;
        let key = String::from_utf8_lossy(m.key().unwrap_or_default()).into_owned();
        let value: Value = serde_json::from_slice(m.payload().unwrap_or_default())
            .with_context(|| format!("{topic}: a record that is not JSON, key {key}"))?;
        if ends
            .get(&m.partition())
            .is_some_and(|&end| m.offset() + 1 >= end)
        {
            ends.remove(&m.partition());
        }
        latest.insert(key, (m.partition(), value));
    }
    Ok(latest)
}

pub async fn run() -> support::Result<()> {
    let brokers = brokers()?;
    let mut env = kafka_env(&brokers, "explore-old");
    env.push(("RELAY_INGEST_TOKEN".into(), TOKEN.into()));
    let output = env
        .iter()
        .find(|(k, _)| k == "RELAY_OUTPUT_TOPIC")
        .map(|(_, v)| v.clone())
        .context("output topic")?;
    let envs = env_refs(&env);
    let mut counter = RelayProcess::spawn("explore-old-counter", &super::ARGS, &envs)?;
    counter.wait_healthy().await?;
    let posted = events::post_all(&counter).await?;
    check::settle(&counter, &posted).await?;

    // Every other second of the recording written again the old way.
    let old: BTreeSet<i64> = posted
        .truth
        .seconds()
        .into_iter()
        .filter(|s| (s / 1_000) % 2 == 0)
        .collect();
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", &brokers)
        .create()
        .context("producer")?;
    let mut rewritten = 0;
    for (key, (partition, mut record)) in latest_records(&brokers, &output).await? {
        if record["kind"] != "window" || !old.contains(&check::ms(&record["start"])?) {
            continue;
        }
        ensure!(
            record.get("cube").is_some(),
            "a partial without a cube: {record}"
        );
        record.as_object_mut().map(|o| o.remove("cube"));
        let payload = record.to_string();
        producer
            .send(
                FutureRecord::to(&output)
                    .partition(partition)
                    .key(&key)
                    .payload(&payload),
                Duration::from_secs(10),
            )
            .await
            .map_err(|(e, _)| anyhow::anyhow!("produce to {output}: {e}"))?;
        rewritten += 1;
    }
    ensure!(rewritten >= old.len(), "{rewritten} partials for {old:?}");

    let mut serve = RelayProcess::spawn("explore-old-serve", &["--serve-only"], &envs)?;
    serve.wait_healthy().await?;
    let client = reqwest::Client::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let h = serve.health(&client).await?;
        if h["windows"]["without_breakdown"].as_u64() == Some(old.len() as u64) {
            break;
        }
        ensure!(
            tokio::time::Instant::now() < deadline,
            "health never counted the {} seconds without a breakdown: {}",
            old.len(),
            h["windows"]
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let held = check::settle(&serve, &posted).await?;

    // Unfiltered, every second is exact, the old ones marked.
    let (lo, hi) = posted.span();
    let body = check::get(&serve, &format!("/v1/counts?from={lo}&to={hi}")).await?;
    let mut wrong = Vec::new();
    for w in body.as_array().context("seconds")? {
        let got = check::comparable_second(w)?;
        let s = got["start"].as_i64().unwrap_or_default();
        let mut want = check::second(&posted.truth, s, &Filter::default());
        if old.contains(&s) {
            want["no_breakdown"] = json!(true);
        }
        if got != want {
            wrong.push(format!("   got {got}\n  want {want}"));
        }
    }
    ensure!(
        wrong.is_empty(),
        "unfiltered seconds:\n{}",
        wrong.join("\n")
    );

    // Everything else sees only the seconds with a breakdown.
    let new_only = Posted {
        truth: Truth {
            edits: (posted.truth.edits.iter())
                .filter(|e| !old.contains(&e.second))
                .cloned()
                .collect(),
        },
        ..posted
    };
    let top = check::get(&serve, &format!("/v1/top?by=wiki&from={lo}&to={hi}&n=5")).await?;
    let r = new_only
        .truth
        .top(lo, hi, &Filter::default(), 5, |e| Some(e.wiki.clone()));
    ensure!(
        top["items"] == json!(r.items)
            && top["total"] == json!(r.total)
            && top["distinct"] == json!(r.distinct)
            && top["seconds_without_breakdown"] == json!(old.len()),
        "unfiltered top of {} to {}: got {top}, want {r:?} and {} seconds without a breakdown",
        rfc3339(lo),
        rfc3339(hi),
        old.len()
    );
    let held = Held {
        seconds: held.seconds.difference(&old).copied().collect(),
        settled: held.settled,
    };
    let mut rng = Rng::from_env("explore-old");
    for i in 0..super::CASES {
        let mut c = check::Case::draw(&mut rng, &new_only);
        while c.filter == Filter::default() {
            c.filter = rng.filter(&new_only.truth.wikis());
        }
        check::case(&serve, &new_only, &held, &c).await?;
        if i < super::STREAMS {
            check::stream(&serve, &new_only, &held, &c).await?;
        }
    }
    Ok(())
}
