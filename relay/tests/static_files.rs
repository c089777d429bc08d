//! The dashboard's files in-process: a relay started on the embedded bus over a build folder
//! like trunk's (with the compressed copies the build writes), its router driven with
//! `oneshot`. Each file goes out in the best encoding the request accepts, with the caching its
//! name allows; the API and the SSE stream are never compressed.

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use relay::Relay;
use tower::ServiceExt;

const WASM: &str = "app-6ee9b5bd4a0d9f1c_bg.wasm";
const CSS: &str = "style-0a1b2c3d4e5f6789.css";
const IMMUTABLE: &str = "public, max-age=31536000, immutable";

/// A build folder: each file, and its `.br`/`.gz` copies where the build would make them,
/// with distinct contents so that a body says which one was sent.
fn write_dist(dir: &std::path::Path) {
    let files: [(&str, &[u8]); 7] = [
        ("index.html", b"<!doctype html><title>index</title>"),
        ("index.html.br", b"index.html in brotli"),
        ("index.html.gz", b"index.html in gzip"),
        (WASM, b"\0asm wasm itself"),
        (&format!("{WASM}.br"), b"wasm in brotli"),
        (&format!("{WASM}.gz"), b"wasm in gzip"),
        // No compressed copies: served as it is.
        (CSS, b"body{}"),
    ];
    for (name, bytes) in files {
        std::fs::write(dir.join(name), bytes).expect("write a dist file");
    }
    std::fs::write(dir.join("boot.js"), b"import('./app.js')").expect("write boot.js");
}

mod in_process;

async fn relay(state: &std::path::Path, dist: &std::path::Path) -> Relay {
    let dist = dist.to_str().expect("UTF-8 temp dir");
    in_process::gateway_relay(state, &["--static-dir", dist])
        .await
        .expect("relay starts on the embedded bus")
}

struct Got {
    status: StatusCode,
    headers: header::HeaderMap,
    body: Vec<u8>,
}

impl Got {
    fn header(&self, name: header::HeaderName) -> &str {
        self.headers
            .get(&name)
            .map(|v| v.to_str().expect("ASCII header"))
            .unwrap_or_default()
    }
}

async fn get(app: &Router, path: &str, accept_encoding: Option<&str>) -> Got {
    let mut req = Request::get(path);
    if let Some(ae) = accept_encoding {
        req = req.header(header::ACCEPT_ENCODING, ae);
    }
    let resp = app
        .clone()
        .oneshot(req.body(Body::empty()).expect("request"))
        .await
        .expect("the router never fails");
    let (parts, body) = resp.into_parts();
    let body = body.collect().await.expect("body").to_bytes().to_vec();
    Got {
        status: parts.status,
        headers: parts.headers,
        body,
    }
}

/// Status, encoding, body and caching of one answer.
#[track_caller]
fn check(got: &Got, encoding: Option<&str>, body: &[u8], cache_control: &str) {
    assert_eq!(got.status, StatusCode::OK);
    assert_eq!(
        got.headers
            .get(header::CONTENT_ENCODING)
            .map(|v| v.to_str().unwrap()),
        encoding,
        "Content-Encoding"
    );
    assert_eq!(
        String::from_utf8_lossy(&got.body),
        String::from_utf8_lossy(body)
    );
    assert_eq!(got.header(header::CACHE_CONTROL), cache_control);
    assert!(
        got.header(header::VARY)
            .to_ascii_lowercase()
            .contains("accept-encoding"),
        "Vary: {:?}",
        got.headers.get(header::VARY)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn files_go_out_precompressed_and_cached_by_name() {
    let state = tempfile::tempdir().expect("temp dir");
    let dist = tempfile::tempdir().expect("temp dir");
    write_dist(dist.path());
    let relay = relay(state.path(), dist.path()).await;
    let app = relay.router();
    let wasm = format!("/{WASM}");

    let got = get(&app, &wasm, Some("gzip, deflate, br, zstd")).await;
    check(&got, Some("br"), b"wasm in brotli", IMMUTABLE);
    assert_eq!(got.header(header::CONTENT_TYPE), "application/wasm");
    check(
        &get(&app, &wasm, Some("gzip")).await,
        Some("gzip"),
        b"wasm in gzip",
        IMMUTABLE,
    );
    check(
        &get(&app, &wasm, None).await,
        None,
        b"\0asm wasm itself",
        IMMUTABLE,
    );
    check(
        &get(&app, &wasm, Some("br;q=0, gzip;q=0")).await,
        None,
        b"\0asm wasm itself",
        IMMUTABLE,
    );

    // The page itself names the current hashes: always revalidated.
    for path in ["/", "/index.html"] {
        check(
            &get(&app, path, Some("br, gzip")).await,
            Some("br"),
            b"index.html in brotli",
            "no-cache",
        );
    }
    let got = get(&app, "/", Some("br")).await;
    assert!(
        got.header(header::CONTENT_SECURITY_POLICY)
            .contains("script-src 'self'"),
        "{:?}",
        got.headers
    );

    // No compressed copy: the file itself, still cached by its hashed name.
    let got = get(&app, &format!("/{CSS}"), Some("br, gzip")).await;
    check(&got, None, b"body{}", IMMUTABLE);
    assert_eq!(got.header(header::CONTENT_TYPE), "text/css");
    // Not named after its content.
    check(
        &get(&app, "/boot.js", Some("br, gzip")).await,
        None,
        b"import('./app.js')",
        "no-cache",
    );
    // A hashed name that is not a file gets index.html, which must not be cached under it.
    check(
        &get(&app, "/app-0123456789abcdef.js", Some("gzip")).await,
        Some("gzip"),
        b"index.html in gzip",
        "no-cache",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_and_the_stream_are_never_compressed() {
    let state = tempfile::tempdir().expect("temp dir");
    let dist = tempfile::tempdir().expect("temp dir");
    write_dist(dist.path());
    let relay = relay(state.path(), dist.path()).await;
    let app = relay.router();

    // The stream never ends: only its head is read.
    let req = Request::get("/v1/stream")
        .header(header::ACCEPT_ENCODING, "gzip, deflate, br, zstd")
        .body(Body::empty())
        .expect("request");
    let resp = app.clone().oneshot(req).await.expect("stream response");
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()[header::CONTENT_TYPE], "text/event-stream");
    assert!(
        resp.headers().get(header::CONTENT_ENCODING).is_none(),
        "{:?}",
        resp.headers()
    );
    drop(resp);

    for path in ["/v1/health", "/v1/counts", "/metrics"] {
        let got = get(&app, path, Some("gzip, deflate, br, zstd")).await;
        assert!(
            got.headers.get(header::CONTENT_ENCODING).is_none(),
            "{path}: {:?}",
            got.headers
        );
        assert!(!got.body.is_empty(), "{path}: empty body");
        if path != "/metrics" {
            serde_json::from_slice::<serde_json::Value>(&got.body)
                .unwrap_or_else(|e| panic!("{path}: not JSON ({e})"));
        }
    }
}
