//! Count history across restarts of the relay binary: a recording posted, its seconds final,
//! then the relay stopped with SIGTERM and killed with SIGKILL; after each restart every second
//! it had served as final is served again as it was — from the history file on the embedded
//! bus, from the output topic on Kafka. A late event revises its second and the buckets over
//! it, and the revision is what a restart brings back.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::Value;
use support::broker::brokers;
use support::paths::data_file;
use support::recording::{self, now_ms};
use support::relay_process::{RelayProcess, env_refs, kafka_env};

const FILE: &str = "recentchange-2024-02-06-all-wikis.jsonl";
const TOKEN: &str = "history-token";

/// Posts the recording moved to start two seconds from now; returns its last second's start.
async fn post_recording(relay: &RelayProcess) -> support::Result<i64> {
    let events = recording::load(&data_file(FILE))?;
    let expected = recording::per_second(&events)?;
    let first = *expected.keys().next().unwrap();
    let shift = (now_ms() / 1_000 + 2) * 1_000 - first;
    post(relay, &recording::shifted_ndjson(&events, shift)?).await?;
    Ok(*expected.keys().next_back().unwrap() + shift)
}

async fn post(relay: &RelayProcess, ndjson: &str) -> support::Result<()> {
    let resp = reqwest::Client::new()
        .post(relay.url("/v1/events"))
        .header("content-type", "application/x-ndjson")
        .bearer_auth(TOKEN)
        .body(ndjson.to_owned())
        .send()
        .await?;
    let status = resp.status();
    let text = resp.text().await?;
    anyhow::ensure!(status == 202, "POST /v1/events: {status} {text}");
    Ok(())
}

async fn get(relay: &RelayProcess, path_and_query: &str) -> support::Result<Value> {
    let resp = reqwest::get(relay.url(path_and_query)).await?;
    anyhow::ensure!(
        resp.status() == 200,
        "GET {path_and_query}: {}",
        resp.status()
    );
    Ok(resp.json().await?)
}

/// Every final second the relay serves from the last hour, by start.
async fn final_seconds(relay: &RelayProcess) -> support::Result<BTreeMap<String, Value>> {
    let body = get(relay, "/v1/counts").await?;
    Ok(body
        .as_array()
        .ok_or_else(|| anyhow::anyhow!("not an array: {body}"))?
        .iter()
        .filter(|w| w["final"] == true)
        .map(|w| {
            (
                w["start"].as_str().unwrap_or_default().to_owned(),
                w.clone(),
            )
        })
        .collect())
}

/// Waits until the second starting at `start_ms` is final, and returns every final second.
async fn until_final(
    relay: &RelayProcess,
    start_ms: i64,
) -> support::Result<BTreeMap<String, Value>> {
    let key = recording::rfc3339(start_ms);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(40);
    loop {
        let seconds = final_seconds(relay).await?;
        if seconds.contains_key(&key) {
            return Ok(seconds);
        }
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "{key} not final within 40 s: {seconds:?}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

#[derive(Debug, Clone, Copy)]
enum Stop {
    Term,
    Kill,
}

/// Stops the relay the way `how` says and starts it again on the same directory and port.
async fn stop_and_restart(relay: &mut RelayProcess, how: Stop) -> support::Result<()> {
    match how {
        Stop::Term => {
            relay.terminate()?;
            relay
                .wait_exit(Duration::from_secs(15))?
                .ok_or_else(|| relay.fail("did not exit within 15 s of SIGTERM"))?;
        }
        Stop::Kill => relay.kill(),
    }
    relay.restart()?;
    relay.wait_healthy().await?;
    Ok(())
}

/// Asserts that every second of `before` is served again as it was, `ignoring` some fields.
async fn assert_served_as_before(
    relay: &RelayProcess,
    before: &BTreeMap<String, Value>,
    ignoring: &[&str],
    after: Stop,
) -> support::Result<()> {
    let last = before.keys().next_back().cloned().unwrap_or_default();
    let last_ms = wire::Millis::parse_rfc3339(&last)
        .map_err(anyhow::Error::msg)?
        .0;
    let now = until_final(relay, last_ms).await?;
    let strip = |w: &Value| {
        let mut w = w.clone();
        for f in ignoring {
            w.as_object_mut().map(|o| o.remove(*f));
        }
        w
    };
    let differ: Vec<String> = before
        .iter()
        .filter(|(k, w)| now.get(*k).map(strip) != Some(strip(w)))
        .map(|(k, w)| format!("{k}: before {w}, after {:?}", now.get(k)))
        .collect();
    anyhow::ensure!(
        differ.is_empty(),
        "after {after:?} and a restart, {} of {} seconds differ:\n{}",
        differ.len(),
        before.len(),
        differ.join("\n")
    );
    Ok(())
}

/// What a rebuild is to bring back of the seconds a relay served.
#[derive(Debug, Clone, Copy)]
enum Rebuilt {
    /// Every second, as it was.
    All,
    /// Every second but the quiet ones before the first edit: those the relay watched before
    /// its counters first reported, which the output topic cannot tell from unwatched ones.
    FromFirstEdit,
}

async fn history_survives_restarts(
    name: &str,
    envs: &[(&str, &str)],
    ignoring: &[&str],
    rebuilt: Rebuilt,
) -> support::Result<()> {
    let mut relay = RelayProcess::spawn(
        name,
        &["--no-upstream", "--watermark-delay-ms", "1000"],
        envs,
    )?;
    relay.wait_healthy().await?;
    let last = post_recording(&relay).await?;
    let mut before = until_final(&relay, last + 2_000).await?;
    let counted: u64 = before
        .values()
        .map(|w| w["count"].as_u64().unwrap_or(0))
        .sum();
    anyhow::ensure!(counted > 0, "nothing counted: {before:?}");
    if let Rebuilt::FromFirstEdit = rebuilt {
        while before
            .first_key_value()
            .is_some_and(|(_, w)| w["count"] == 0)
        {
            before.pop_first();
        }
    }
    for how in [Stop::Term, Stop::Kill] {
        stop_and_restart(&mut relay, how).await?;
        assert_served_as_before(&relay, &before, ignoring, how).await?;
    }
    Ok(())
}

#[tokio::test]
async fn embedded_history_survives_sigterm_and_sigkill() -> support::Result<()> {
    let envs = [("RELAY_INGEST_TOKEN", TOKEN)];
    history_survives_restarts("history-embedded", &envs, &[], Rebuilt::All).await
}

#[tokio::test]
async fn kafka_history_is_rebuilt_from_the_output_topic() -> support::Result<()> {
    let mut env = kafka_env(&brokers()?, "history-kafka");
    env.push(("RELAY_INGEST_TOKEN".into(), TOKEN.into()));
    // A second's revision number counts the changes one relay saw after it closed; a relay
    // rebuilding the second from the topic sees its final value at once.
    let envs = env_refs(&env);
    history_survives_restarts(
        "history-kafka",
        &envs,
        &["revision"],
        Rebuilt::FromFirstEdit,
    )
    .await
}

#[tokio::test]
async fn a_late_event_revises_its_second_its_buckets_and_the_record() -> support::Result<()> {
    let mut relay = RelayProcess::spawn(
        "history-late",
        &["--no-upstream", "--watermark-delay-ms", "1000"],
        &[("RELAY_INGEST_TOKEN", TOKEN)],
    )?;
    relay.wait_healthy().await?;
    let last = post_recording(&relay).await?;
    let before = until_final(&relay, last + 1_000).await?;
    let key = recording::rfc3339(last);
    let was = before[&key]["count"].as_u64().unwrap();
    let step_from = last.div_euclid(60_000) * 60_000;
    let bucket = |body: &Value| -> (u64, Value) {
        let b = body["buckets"]
            .as_array()
            .and_then(|b| b.first().cloned())
            .unwrap_or_default();
        (b["count"].as_u64().unwrap_or(0), b)
    };
    let range = format!(
        "/v1/counts?from={step_from}&to={}&step=60",
        step_from + 60_000
    );
    let (bucket_was, _) = bucket(&get(&relay, &range).await?);

    // One more edit in that second, late but within the allowed lateness.
    let late = format!(
        r#"{{"type":"edit","wiki":"dewiki","bot":false,"meta":{{"id":"late-1","dt":"{}"}}}}"#,
        recording::rfc3339(last + 500)
    );
    post(&relay, &late).await?;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let revised = loop {
        let seconds = final_seconds(&relay).await?;
        if seconds[&key]["count"].as_u64() == Some(was + 1) {
            break seconds;
        }
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "the late edit never revised {key}: {}",
            seconds[&key]
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    assert_eq!(revised[&key]["revision"], 1, "{}", revised[&key]);
    let (bucket_now, b) = bucket(&get(&relay, &range).await?);
    assert_eq!(
        bucket_now,
        bucket_was + 1,
        "the bucket over the second: {b}"
    );

    stop_and_restart(&mut relay, Stop::Kill).await?;
    let after = final_seconds(&relay).await?;
    assert_eq!(
        after.get(&key),
        revised.get(&key),
        "the revision after a SIGKILL"
    );
    let (bucket_after, b) = bucket(&get(&relay, &range).await?);
    assert_eq!(bucket_after, bucket_now, "{b}");
    Ok(())
}
