//! The input topic is open to other producers: their plain JSON events are counted exactly next
//! to the relay's own, records that are not events are counted as unreadable and skipped, and
//! what the relay writes is still the event as JSON for any other reader.

use std::time::Duration;

use rdkafka::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{Header, Message, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};
use serde_json::Value;
use support::broker::brokers;
use support::names::unique;
use support::paths::data_file;
use support::recording::{self, assert_counts_match, now_ms};
use support::relay_process::RelayProcess;

const FILE: &str = "recentchange-2024-02-06-all-wikis.jsonl";
const TOKEN: &str = "s3cret-token";
/// Events posted through the gateway; the rest come from another producer.
const POSTED: usize = 40;

async fn produce(producer: &FutureProducer, topic: &str, key: &str, payload: &[u8], v1: bool) {
    let mut record = FutureRecord::to(topic).key(key).payload(payload);
    if v1 {
        // A record with the `editpulse-summary-v1` header: the header is ignored, the
        // payload parsed.
        record = record.headers(OwnedHeaders::new().insert(Header {
            key: "editpulse-summary-v1",
            value: Some(&[0u8; 19][..]),
        }));
    }
    producer
        .send(record, Duration::from_secs(10))
        .await
        .unwrap_or_else(|(e, _)| panic!("produce to {topic}: {e}"));
}

#[tokio::test]
async fn other_producers_records_are_counted_exactly_and_bad_ones_skipped() -> support::Result<()> {
    let brokers = brokers()?;
    let (input, output, group) = (unique("fr-in"), unique("fr-out"), unique("fr-group"));
    let mut relay = RelayProcess::spawn(
        "foreign-records",
        &["--no-upstream", "--watermark-delay-ms", "1000"],
        &[
            ("RELAY_INGEST_TOKEN", TOKEN),
            ("RELAY_BROKERS", &brokers),
            ("RELAY_INPUT_TOPIC", &input),
            ("RELAY_OUTPUT_TOPIC", &output),
            ("RELAY_GROUP_ID", &group),
        ],
    )?;
    relay.wait_healthy().await?;

    let events = recording::load(&data_file(FILE))?;
    let expected = recording::per_second(&events)?;
    let first = *expected.keys().next().unwrap();
    let shift = (now_ms() / 1_000 + 3) * 1_000 - first;
    let body = recording::shifted_ndjson(&events, shift)?;
    let lines: Vec<&str> = body.lines().collect();

    let resp = reqwest::Client::new()
        .post(relay.url("/v1/events"))
        .header("content-type", "application/x-ndjson")
        .bearer_auth(TOKEN)
        .body(lines[..POSTED].join("\n"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 202, "{}", resp.text().await.unwrap());

    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", &brokers)
        .create()
        .expect("producer");
    for (i, line) in lines[POSTED..].iter().enumerate() {
        let wiki = serde_json::from_str::<Value>(line).unwrap()["wiki"]
            .as_str()
            .unwrap()
            .to_string();
        produce(&producer, &input, &wiki, line.as_bytes(), i % 2 == 0).await;
    }
    let bad: [&[u8]; 5] = [
        b"not json",
        b"",
        br#"{"meta":{"id":"no-time"}}"#,
        // The relay's tag, spoofed and broken: not trusted, and no event either.
        br#"{"editpulse-summary-v3":"zz","wiki":"enwiki"}"#,
        br#"{"editpulse-summary-v2":"0400"#,
    ];
    for payload in bad {
        produce(&producer, &input, "enwiki", payload, false).await;
    }

    let total: u64 = expected.values().sum();
    let last = *expected.keys().next_back().unwrap() + shift;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(40);
    let counts = loop {
        let counts = recording::fetch_counts(&relay.base_url()).await?;
        if counts.get(&(last + 2_000)).is_some_and(|(_, f)| *f) {
            break counts;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "not final in time: {counts:?}\n{}",
            relay.log_tail(30)
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    assert_eq!(counts.values().map(|(n, _)| n).sum::<u64>(), total);
    assert_eq!(assert_counts_match(&counts, &expected), shift);

    let metrics = reqwest::get(relay.url("/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let unreadable: f64 = metrics
        .lines()
        .find_map(|l| {
            l.strip_prefix("editpulse_windows_unreadable_total ")?
                .trim()
                .parse()
                .ok()
        })
        .expect("editpulse_windows_unreadable_total");
    assert_eq!(unreadable, bad.len() as f64);
    assert!(relay.try_exit_status()?.is_none(), "the relay exited");

    // What the relay wrote is the posted event with one member more, as JSON.
    let reader: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", &brokers)
        .set("group.id", unique("fr-reader"))
        .set("auto.offset.reset", "earliest")
        .create()
        .expect("consumer");
    reader.subscribe(&[&input]).unwrap();
    let posted: Vec<Value> = lines[..POSTED]
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let mut tagged = 0;
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while tagged < POSTED && std::time::Instant::now() < deadline {
        let Some(Ok(m)) = reader.poll(Duration::from_millis(200)) else {
            continue;
        };
        let Ok(mut value) = serde_json::from_slice::<Value>(m.payload().unwrap_or_default()) else {
            continue;
        };
        let Some(obj) = value.as_object_mut() else {
            continue;
        };
        let tag = obj.remove("editpulse-summary-v3");
        // 22 hex digits, then the event's own meta.id. The spoofed tags above are JSON with the
        // member too, but not this.
        let id = obj
            .get("meta")
            .and_then(|m| m["id"].as_str())
            .unwrap_or_default();
        let well_formed = |v: &Value| {
            v.as_str().is_some_and(|t| {
                t.len() == 22 + id.len()
                    && t.bytes().take(22).all(|b| b.is_ascii_hexdigit())
                    && &t[22..] == id
            })
        };
        if tag.as_ref().is_some_and(well_formed) {
            assert!(posted.contains(&value), "not a posted event: {value}");
            tagged += 1;
        }
    }
    assert_eq!(tagged, POSTED, "tagged records read back");
    Ok(())
}
