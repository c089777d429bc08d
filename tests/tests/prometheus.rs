//! A real Prometheus server scrapes a relay: the recorded events are posted to the relay's
//! gateway (embedded bus, `--no-upstream`), and Prometheus's query API answers the relay's
//! counters with exactly the number of events posted.
//!
//! Prometheus comes from Debian's `prometheus` package (`bash scripts/setup.sh prometheus`);
//! `EDITPULSE_PROMETHEUS` names another one. Without it the test fails, saying so.

use std::time::Duration;

use serde_json::Value;
use support::paths::data_file;
use support::prometheus::{JOB, PrometheusServer};
use support::recording::{self, now_ms};
use support::relay_process::RelayProcess;

const FILE: &str = "recentchange-2024-02-06-all-wikis.jsonl";

/// Generous: Prometheus scrapes every second; the relay counts within a few.
const DEADLINE: Duration = Duration::from_secs(60);

#[tokio::test]
async fn prometheus_scrapes_the_exact_number_of_events_posted() -> support::Result<()> {
    let mut relay = RelayProcess::spawn("prometheus", &["--no-upstream"], &[])?;
    relay.wait_healthy().await?;
    let prometheus = PrometheusServer::start(&[format!("127.0.0.1:{}", relay.port())]).await?;

    // The recording, moved to start now, in batches of 50.
    let events = recording::load(&data_file(FILE))?;
    let first = *recording::per_second(&events)?
        .keys()
        .next()
        .expect("a recording with events");
    let body = recording::shifted_ndjson(&events, now_ms() / 1_000 * 1_000 - first)?;
    let lines: Vec<&str> = body.lines().collect();
    let client = reqwest::Client::new();
    let mut accepted = 0;
    for batch in lines.chunks(50) {
        let resp = client
            .post(relay.url("/v1/events"))
            .header("content-type", "application/x-ndjson")
            .body(batch.join("\n"))
            .send()
            .await?;
        assert_eq!(resp.status(), 202, "{}", resp.text().await?);
        accepted += resp.json::<Value>().await?["accepted"]
            .as_u64()
            .expect("accepted is a number");
    }
    assert_eq!(accepted, events.len() as u64);
    let posted = accepted as f64;

    for metric in [
        "editpulse_gateway_accepted_events_total",
        "editpulse_bus_produced_total",
        "editpulse_windows_counted_total",
    ] {
        let promql = format!("{metric}{{job=\"{JOB}\"}}");
        prometheus
            .wait_for_value(&promql, posted, DEADLINE)
            .await
            .map_err(|e| e.context(format!("relay log:\n{}", relay.log_tail(30))))?;
    }

    // The target is up, and the families that carry a unit or labels are there.
    prometheus
        .wait_for_value(&format!("up{{job=\"{JOB}\"}}"), 1.0, DEADLINE)
        .await?;
    let delay = prometheus
        .query("editpulse_windows_watermark_delay_seconds")
        .await?;
    assert_eq!(delay.len(), 1, "{delay:?}");
    let lag = prometheus.query("editpulse_bus_partition_lag").await?;
    assert_eq!(lag.len(), 4, "one series per partition: {lag:?}");
    let rejected = prometheus
        .query("sum(editpulse_gateway_rejected_total)")
        .await?;
    assert_eq!(rejected.iter().map(|s| s.value).collect::<Vec<_>>(), [0.0]);
    relay.check_alive()?;
    Ok(())
}
