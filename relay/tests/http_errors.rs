//! The HTTP surface in-process: a relay started on the embedded bus, its router driven with
//! `oneshot` (no socket), every error answered with its status, headers and a JSON body that
//! names what is wrong, and `/v1/counts` in steps against the seconds it rolls up. Faults that need real processes (a broker going away, a SIGKILL) are
//! tested in tests/, against the relay binary.

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use relay::Relay;
use serde_json::Value;
use tower::ServiceExt;

const TOKEN: &str = "s3cret";

mod in_process;

/// A relay that takes events through the gateway only, with small limits so that each one
/// can be crossed by a small request.
async fn relay(state_dir: &std::path::Path) -> Relay {
    let limits = [
        "--ingest-token",
        TOKEN,
        "--max-batch-events",
        "3",
        "--max-body-bytes",
        "4096",
    ];
    in_process::gateway_relay(state_dir, &limits)
        .await
        .expect("relay starts on the embedded bus")
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970")
        .as_millis() as i64
}

fn event(id: &str) -> String {
    event_at(id, now_ms() / 1_000 * 1_000, false)
}

fn event_at(id: &str, ms: i64, bot: bool) -> String {
    let dt = wire::Millis(ms).to_string();
    format!(r#"{{"type":"edit","wiki":"enwiki","bot":{bot},"meta":{{"id":"{id}","dt":"{dt}"}}}}"#)
}

fn post(body: impl Into<String>, content_type: &str, token: Option<&str>) -> Request<Body> {
    let mut req = Request::post("/v1/events").header(header::CONTENT_TYPE, content_type);
    if let Some(t) = token {
        req = req.header(header::AUTHORIZATION, format!("Bearer {t}"));
    }
    req.body(Body::from(body.into())).expect("request")
}

/// Status, headers and JSON body of one request.
async fn send(app: &Router, req: Request<Body>) -> (StatusCode, header::HeaderMap, Value) {
    let resp = app
        .clone()
        .oneshot(req)
        .await
        .expect("the router never fails");
    let (parts, body) = resp.into_parts();
    let bytes = body.collect().await.expect("body").to_bytes();
    let json = serde_json::from_slice(&bytes).unwrap_or_else(|e| {
        panic!(
            "{}: not JSON ({e}): {:?}",
            parts.status,
            String::from_utf8_lossy(&bytes)
        )
    });
    (parts.status, parts.headers, json)
}

fn error_text(body: &Value) -> &str {
    body["error"]
        .as_str()
        .unwrap_or_else(|| panic!("no error member in {body}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_gateway_error_has_its_status_and_says_why() {
    let dir = tempfile::tempdir().expect("temp dir");
    let relay = relay(dir.path()).await;
    let app = relay.router();

    let (status, headers, body) = send(&app, post(event("a"), "application/json", None)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(headers[header::WWW_AUTHENTICATE], "Bearer");
    assert!(error_text(&body).contains("bearer token"), "{body}");

    let (status, _, _) = send(&app, post(event("a"), "application/json", Some("wrong"))).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    let (status, _, body) = send(&app, post(event("a"), "text/plain", Some(TOKEN))).await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert!(error_text(&body).contains("text/plain"), "{body}");

    let ndjson = format!("{}\n{{not json\n", event("b"));
    let (status, _, body) = send(&app, post(ndjson, "application/x-ndjson", Some(TOKEN))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["line"], 2, "{body}");

    let four = (0..4)
        .map(|i| event(&format!("m{i}")))
        .collect::<Vec<_>>()
        .join("\n");
    let (status, _, body) = send(&app, post(four, "application/x-ndjson", Some(TOKEN))).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(error_text(&body).contains("more than 3 events"), "{body}");

    let (status, _, body) = send(
        &app,
        post("x".repeat(5_000), "application/json", Some(TOKEN)),
    )
    .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(error_text(&body).contains("4096 bytes"), "{body}");

    let (status, _, body) = send(
        &app,
        post(r#"{"meta":{"id":"x"}}"#, "application/json", Some(TOKEN)),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(error_text(&body).contains("meta.dt"), "{body}");

    // Nothing refused above was taken in; a good request still is.
    let (status, _, body) = send(&app, post(event("ok"), "application/json", Some(TOKEN))).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(body["accepted"], 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queries_and_routes_are_checked() {
    let dir = tempfile::tempdir().expect("temp dir");
    let relay = relay(dir.path()).await;
    let app = relay.router();
    let get = |uri: &str| Request::get(uri).body(Body::empty()).expect("request");

    let (status, _, body) = send(&app, get("/v1/counts?from=yesterday")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(error_text(&body).contains("yesterday"), "{body}");

    let (status, _, body) = send(&app, get("/v1/counts?from=2000&to=1000")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(error_text(&body).contains("after"), "{body}");

    let (status, _, body) = send(&app, get("/v1/counts?from=0&to=1000")).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    for step in ["0", "-5", "1.5", "ten", "86401"] {
        let (status, _, body) = send(&app, get(&format!("/v1/counts?step={step}"))).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "step={step}: {body}");
        assert!(error_text(&body).contains("step"), "{body}");
    }
    // A day in seconds is far more than a chart can draw: the answer names a step that fits.
    let (status, _, body) = send(&app, get("/v1/counts?from=0&to=86400000&step=1")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(error_text(&body).contains("at least 44 s"), "{body}");
    let (status, _, body) = send(&app, get("/v1/counts?from=0&to=86400000&step=44")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["step"], 44);

    let (status, _, body) = send(&app, get("/v1/nothing-here")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(error_text(&body).contains("/v1/nothing-here"), "{body}");

    let delete = Request::delete("/v1/counts")
        .body(Body::empty())
        .expect("request");
    let (status, _, body) = send(&app, delete).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert!(error_text(&body).contains("DELETE"), "{body}");
}

/// `/v1/counts?step=` buckets are the sums of the seconds `/v1/counts` serves for the same span.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn counts_in_steps_are_sums_of_their_seconds() {
    let dir = tempfile::tempdir().expect("temp dir");
    let relay = relay(dir.path()).await;
    let app = relay.router();
    let get = |uri: &str| Request::get(uri).body(Body::empty()).expect("request");

    // 36 events over the last 12 seconds, some by bots, three to a batch (the relay's limit).
    let now = now_ms();
    let first = (now / 1_000 - 12) * 1_000;
    let lines: Vec<String> = (0..36)
        .map(|i| event_at(&format!("s{i}"), first + i * 333, i % 4 == 0))
        .collect();
    for batch in lines.chunks(3) {
        let (status, _, body) = send(
            &app,
            post(batch.join("\n"), "application/x-ndjson", Some(TOKEN)),
        )
        .await;
        assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    }
    // Every second of a span aligned to the step final (the watermark trails the clock by
    // 2 s), so the buckets cover exactly the seconds fetched.
    let from = first.div_euclid(5_000) * 5_000;
    let range = format!("from={from}&to={}", from + 20_000);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let seconds = loop {
        let (_, _, body) = send(&app, get(&format!("/v1/counts?{range}"))).await;
        let seconds = body.as_array().expect("an array").clone();
        let counted: u64 = seconds.iter().map(|w| w["count"].as_u64().unwrap()).sum();
        if counted == 36 && seconds.iter().all(|w| w["final"] == true) {
            break seconds;
        }
        assert!(std::time::Instant::now() < deadline, "{body}");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    };

    // The plain answer names the stream's update it was read at, for a client to resume from.
    let (_, headers, _) = send(&app, get(&format!("/v1/counts?{range}"))).await;
    let seq: u64 = headers[wire::stream::COUNTS_SEQ_HEADER]
        .to_str()
        .unwrap()
        .parse()
        .expect("a number");
    assert!(seq > 0);

    let (status, _, body) = send(&app, get(&format!("/v1/counts?{range}&step=5"))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["step"], 5);
    let buckets = body["buckets"].as_array().expect("buckets");
    assert!(buckets.len() >= 3, "{body}");
    let mut total = 0;
    for b in buckets {
        let start = wire::Millis::parse_rfc3339(b["start"].as_str().unwrap()).unwrap();
        assert_eq!(start.0 % 5_000, 0, "aligned to the step: {b}");
        let inside: Vec<&Value> = seconds
            .iter()
            .filter(|w| {
                let s = wire::Millis::parse_rfc3339(w["start"].as_str().unwrap()).unwrap();
                s.0 >= start.0 && s.0 < start.0 + 5_000
            })
            .collect();
        let sum = |key: &str| inside.iter().map(|w| w[key].as_u64().unwrap()).sum::<u64>();
        assert_eq!(b["count"].as_u64(), Some(sum("count")), "{b}");
        assert_eq!(b["bots"].as_u64(), Some(sum("bots")), "{b}");
        assert_eq!(b["seconds"].as_u64(), Some(inside.len() as u64), "{b}");
        let max = inside.iter().map(|w| w["count"].as_u64().unwrap()).max();
        assert_eq!(b["max"].as_u64(), max, "{b}");
        total += b["count"].as_u64().unwrap();
    }
    assert_eq!(total, 36);
}
