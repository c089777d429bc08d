//! `GET /metrics` as Prometheus's own linter sees it: a relay started in-process on the embedded
//! bus takes a few events and a few bad requests (so that the labelled families have series),
//! then its exposition is piped into `promtool check metrics`, which must exit 0 and print
//! nothing (no parse error, no lint problem). The families and their types are checked against
//! the list README documents.
//!
//! promtool comes from Debian's `prometheus` package (`bash scripts/setup.sh prometheus`);
//! `EDITPULSE_PROMTOOL` names another one. Without it the test fails, saying so.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use relay::Relay;
use tower::ServiceExt;

/// Every family `GET /metrics` exports, with its type.
const FAMILIES: &[(&str, &str)] = &[
    ("editpulse_source_events_total", "counter"),
    ("editpulse_source_canaries_total", "counter"),
    ("editpulse_source_duplicates_total", "counter"),
    ("editpulse_source_malformed_total", "counter"),
    ("editpulse_source_reconnects_total", "counter"),
    ("editpulse_source_connected", "gauge"),
    ("editpulse_gateway_requests_total", "counter"),
    ("editpulse_history_write_errors_total", "counter"),
    ("editpulse_gateway_accepted_events_total", "counter"),
    ("editpulse_gateway_rejected_total", "counter"),
    ("editpulse_bus_produced_total", "counter"),
    ("editpulse_bus_produce_errors_total", "counter"),
    ("editpulse_bus_broker_reachable", "gauge"),
    ("editpulse_bus_producer_queue", "gauge"),
    ("editpulse_bus_partition_lag", "gauge"),
    ("editpulse_windows_counted_total", "counter"),
    ("editpulse_windows_late_total", "counter"),
    ("editpulse_windows_too_late_total", "counter"),
    ("editpulse_windows_too_early_total", "counter"),
    ("editpulse_windows_duplicates_total", "counter"),
    ("editpulse_windows_unreadable_total", "counter"),
    ("editpulse_windows_open", "gauge"),
    ("editpulse_windows_watermark_delay_seconds", "gauge"),
    ("editpulse_clients_connected", "gauge"),
    ("editpulse_clients_connections_total", "counter"),
    ("editpulse_clients_lagged_total", "counter"),
    ("editpulse_clients_resynced_total", "counter"),
];

/// promtool: `EDITPULSE_PROMTOOL`, else `promtool` on `PATH`. Panics, saying how to install it,
/// when there is none.
fn promtool() -> PathBuf {
    if let Some(p) = std::env::var_os("EDITPULSE_PROMTOOL") {
        let p = PathBuf::from(p);
        assert!(
            p.is_file(),
            "EDITPULSE_PROMTOOL={} does not exist",
            p.display()
        );
        return p;
    }
    std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .map(|d| d.join("promtool"))
        .find(|p| p.is_file())
        .expect(
            "no promtool on PATH: install it with `bash scripts/setup.sh prometheus` (Debian's \
             prometheus package) or set EDITPULSE_PROMTOOL=/path/to/promtool",
        )
}

mod in_process;

async fn start(dir: &std::path::Path) -> Relay {
    in_process::gateway_relay(dir, &[])
        .await
        .expect("relay starts on the embedded bus")
}

fn event(id: &str) -> String {
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970")
        .as_millis();
    let dt = wire::Millis(now_ms as i64).to_string();
    format!(r#"{{"type":"edit","wiki":"enwiki","bot":false,"meta":{{"id":"{id}","dt":"{dt}"}}}}"#)
}

async fn post(app: &Router, body: String, content_type: &str) -> StatusCode {
    let req = Request::post("/v1/events")
        .header(header::CONTENT_TYPE, content_type)
        .body(Body::from(body))
        .expect("request");
    app.clone().oneshot(req).await.expect("router").status()
}

/// `GET path` (200, or 503 from a health report that says down): the Content-Type and the body.
async fn get(app: &Router, path: &str) -> (String, String) {
    let req = Request::get(path).body(Body::empty()).expect("request");
    let resp = app.clone().oneshot(req).await.expect("router");
    assert!(
        matches!(
            resp.status(),
            StatusCode::OK | StatusCode::SERVICE_UNAVAILABLE
        ),
        "GET {path}: {}",
        resp.status()
    );
    let content_type = resp.headers()[header::CONTENT_TYPE]
        .to_str()
        .expect("ASCII content type")
        .to_owned();
    let body = resp.into_body().collect().await.expect("body").to_bytes();
    (
        content_type,
        String::from_utf8(body.to_vec()).expect("UTF-8"),
    )
}

/// The value of the series written exactly as `series` (name and labels).
fn value(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

/// Family name → type, from the `# TYPE` lines.
fn families(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .filter_map(|l| {
            let (name, kind) = l.strip_prefix("# TYPE ")?.split_once(' ')?;
            Some((name.to_owned(), kind.to_owned()))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn promtool_accepts_the_metrics_without_a_lint_problem() {
    let promtool = promtool();
    let dir = std::env::temp_dir().join(format!("editpulse-metrics-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let relay = start(&dir).await;
    let app = relay.router();

    let batch = (0..3).map(|i| event(&format!("m{i}"))).collect::<Vec<_>>();
    assert_eq!(
        post(&app, batch.join("\n"), "application/x-ndjson").await,
        StatusCode::ACCEPTED
    );
    assert_eq!(
        post(&app, "{\"no\":\"time\"}".into(), "application/json").await,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        post(&app, event("t"), "text/plain").await,
        StatusCode::UNSUPPORTED_MEDIA_TYPE
    );

    // The partitions' lag comes from the health report (once a second); the count from the
    // counter, once it has read the events.
    let deadline = Instant::now() + Duration::from_secs(30);
    let (content_type, text) = loop {
        let health = get(&app, "/v1/health").await.1;
        let health: serde_json::Value = serde_json::from_str(&health).expect("health is JSON");
        let partitions = health["bus"]["partitions"].as_array().map_or(0, Vec::len);
        let (content_type, text) = get(&app, "/metrics").await;
        if value(&text, "editpulse_windows_counted_total") == Some(3.0) && partitions > 0 {
            break (content_type, text);
        }
        assert!(
            Instant::now() < deadline,
            "3 events not counted, or no partitions in the health report, within 30 s:\n{text}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let _ = std::fs::remove_dir_all(&dir);

    let mut child = Command::new(&promtool)
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", promtool.display()));
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(text.as_bytes())
        .expect("write to promtool");
    let out = child.wait_with_output().expect("promtool runs");
    let complaints = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success() && complaints.trim().is_empty(),
        "promtool check metrics: {}\n{complaints}\n--- the exposition:\n{text}",
        out.status
    );

    assert_eq!(content_type, "text/plain; version=0.0.4; charset=utf-8");
    let expected: BTreeMap<String, String> = FAMILIES
        .iter()
        .map(|(n, k)| (n.to_string(), k.to_string()))
        .collect();
    assert_eq!(families(&text), expected);

    assert_eq!(
        value(
            &text,
            "editpulse_gateway_rejected_total{reason=\"bad_event\"}"
        ),
        Some(1.0)
    );
    assert_eq!(
        value(
            &text,
            "editpulse_gateway_rejected_total{reason=\"unsupported_media_type\"}"
        ),
        Some(1.0)
    );
    assert_eq!(
        value(
            &text,
            "editpulse_gateway_rejected_total{reason=\"unauthorized\"}"
        ),
        Some(0.0)
    );
    assert_eq!(
        value(&text, "editpulse_gateway_accepted_events_total"),
        Some(3.0)
    );
    let delay = value(&text, "editpulse_windows_watermark_delay_seconds").expect("delay");
    assert!((0.0..60.0).contains(&delay), "watermark delay {delay} s");
}
