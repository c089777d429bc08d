//! The dashboard's built files (trunk's `dist/`), under a strict Content-Security-Policy.

use std::path::Path;

use axum::Router;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse};
use tower_http::services::{ServeDir, ServeFile};
use tower_http::set_header::SetResponseHeaderLayer;

/// Only what the dashboard needs: its own scripts, wasm and styles, and requests back to
/// this relay. `wasm-unsafe-eval` is what compiling WebAssembly requires; nothing inline runs.
pub const CSP: &str = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; \
connect-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'";

pub fn service(dir: &Path) -> Router {
    let index = dir.join("index.html");
    let router = if index.exists() {
        Router::new().fallback_service(ServeDir::new(dir).fallback(ServeFile::new(index)))
    } else {
        tracing::warn!(dir = %dir.display(), "no dashboard build found; / explains how to build it");
        let dir = dir.display().to_string();
        Router::new().fallback(move || std::future::ready(not_built(&dir)))
    };
    router
        .layer(SetResponseHeaderLayer::overriding(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CSP),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ))
}

fn not_built(dir: &str) -> axum::response::Response {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        Html(format!(
            "<!doctype html><title>EditPulse</title><h1>The dashboard is not built</h1>\
             <p>No <code>index.html</code> in <code>{dir}</code>. Build it with <code>trunk build --release</code> \
             (or run <code>bash scripts/run.sh</code>), or point <code>--static-dir</code> at the build. \
             The API is up: <a href=\"/v1/health\">/v1/health</a>.</p>"
        )),
    )
        .into_response()
}
