//! The HTTP surface in-process: a relay started on the embedded bus, its router driven with
//! `oneshot` (no socket), every error answered with its status, headers and a JSON body that
//! names what is wrong. Faults that need real processes (a broker going away, a SIGKILL) are
//! tested in tests/, against the relay binary.

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use clap::Parser;
use http_body_util::BodyExt;
use relay::{Config, Relay};
use serde_json::Value;
use tower::ServiceExt;

const TOKEN: &str = "s3cret";

/// A relay that takes events through the gateway only, with small limits so that each one
/// can be crossed by a small request.
async fn relay(state_dir: &std::path::Path) -> Relay {
    let config = Config::try_parse_from([
        "relay",
        "--no-upstream",
        "--ingest-token",
        TOKEN,
        "--max-batch-events",
        "3",
        "--max-body-bytes",
        "4096",
        "--state-dir",
        state_dir.to_str().expect("UTF-8 temp dir"),
        "--static-dir",
        state_dir.to_str().expect("UTF-8 temp dir"),
    ])
    .expect("valid flags");
    Relay::start(config)
        .await
        .expect("relay starts on the embedded bus")
}

fn event(id: &str) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs();
    let dt = wire::Millis((now * 1_000) as i64).to_string();
    format!(r#"{{"type":"edit","wiki":"enwiki","bot":false,"meta":{{"id":"{id}","dt":"{dt}"}}}}"#)
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
    let dir = tempdir();
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
    let dir = tempdir();
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

/// A fresh directory under the system's temp dir, removed when dropped.
fn tempdir() -> TempDir {
    let path = std::env::temp_dir().join(format!(
        "editpulse-http-errors-{}-{:?}",
        std::process::id(),
        std::thread::current().id()
    ));
    std::fs::create_dir_all(&path).expect("temp dir");
    TempDir(path)
}

struct TempDir(std::path::PathBuf);

impl TempDir {
    fn path(&self) -> &std::path::Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
