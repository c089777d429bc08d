//! The dashboard's built files (trunk's `dist/`): compressed ahead of time, cached by name,
//! under a strict Content-Security-Policy.
//!
//! **Compression.** The build writes `NAME.br` and `NAME.gz` next to every file worth
//! compressing (scripts/precompress.sh, trunk's post_build hook). A request whose
//! `Accept-Encoding` allows one of them gets it, with `Content-Encoding`; any other request
//! gets the file itself, and so does every request for a file that has no compressed copy.
//! Nothing is compressed per request, and only these files are: the API and the SSE stream
//! never go through here.
//!
//! **Caching.** Trunk names the app's wasm, JS and CSS after a hash of their content
//! (`app-<hash>_bg.wasm`, `style-<hash>.css`), so such a name always means the same bytes:
//! they are `immutable` for a year. Everything else (`index.html`, which names the current
//! hashes, and `boot.js`) is `no-cache`: stored, but revalidated (`Last-Modified`) before each
//! use, so a new build is picked up on the next load. Every response says
//! `Vary: Accept-Encoding`, so a shared cache keeps the encodings apart.

use std::path::Path;

use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Response};
use tower::Layer;
use tower_http::services::{ServeDir, ServeFile};
use tower_http::set_header::SetResponseHeaderLayer;

/// Only what the dashboard needs: its own scripts, wasm and styles, and requests back to
/// this relay. `wasm-unsafe-eval` is what compiling WebAssembly requires; nothing inline runs.
pub const CSP: &str = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; \
connect-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'";

/// `Cache-Control` of the files named after their content.
pub const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// `Cache-Control` of everything else served here.
pub const NO_CACHE: &str = "no-cache";

pub fn service(dir: &Path) -> Router {
    let index = dir.join("index.html");
    let router = if index.exists() {
        // index.html also answers every path that is not a file, so its answer is never
        // cached under that path, however hashed the name looks.
        let index = SetResponseHeaderLayer::overriding(
            header::CACHE_CONTROL,
            HeaderValue::from_static(NO_CACHE),
        )
        .layer(
            ServeFile::new(index)
                .precompressed_br()
                .precompressed_gzip(),
        );
        Router::new().fallback_service(
            ServeDir::new(dir)
                .precompressed_br()
                .precompressed_gzip()
                .fallback(index),
        )
    } else {
        tracing::warn!(dir = %dir.display(), "no dashboard build found; / explains how to build it");
        let dir = dir.display().to_string();
        Router::new().fallback(move || std::future::ready(not_built(&dir)))
    };
    router
        .layer(middleware::from_fn(cache_headers))
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

/// `Vary: Accept-Encoding` on every response, and a `Cache-Control` on those that have none
/// yet: immutable for a file found under a hashed name, no-cache for anything else.
async fn cache_headers(req: Request, next: Next) -> Response {
    let hashed = is_hashed_name(req.uri().path());
    let mut resp = next.run(req).await;
    let found = resp.status().is_success() || resp.status() == StatusCode::NOT_MODIFIED;
    let headers = resp.headers_mut();
    headers.append(header::VARY, HeaderValue::from_static("accept-encoding"));
    if !headers.contains_key(header::CACHE_CONTROL) {
        let policy = if hashed && found { IMMUTABLE } else { NO_CACHE };
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(policy));
    }
    resp
}

/// Whether the last segment of `path` is a name trunk derived from the file's content:
/// `<stem>-<hash>` followed by `.` or `_`, where the hash is a 64-bit hash in lowercase hex
/// (8 to 16 digits: `{:x}` drops leading zeros) — `app-<hash>_bg.wasm`, `app-<hash>.js`,
/// `style-<hash>.css`.
pub fn is_hashed_name(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or_default();
    let Some((_, rest)) = name.rsplit_once('-') else {
        return false;
    };
    let Some(end) = rest.find(['.', '_']) else {
        return false;
    };
    let hash = &rest[..end];
    (8..=16).contains(&hash.len())
        && hash
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
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

#[cfg(test)]
mod tests {
    use super::is_hashed_name;

    #[test]
    fn hashed_names_are_trunks_content_hashes() {
        for hashed in [
            "/app-6ee9b5bd4a0d9f1c_bg.wasm",
            "/app-6ee9b5bd4a0d9f1c.js",
            "/style-0a1b2c3d4e5f6789.css",
            "/sub/dir/style-9b5bd4a0d.css",
            "/app-6ee9b5bd4a0d9f1c_bg.wasm.br",
        ] {
            assert!(is_hashed_name(hashed), "{hashed}");
        }
        for plain in [
            "/",
            "/index.html",
            "/boot.js",
            "/app_bg.wasm",
            "/app-6ee9b5bd4a0d9f1c",
            "/app-6EE9B5BD4A0D9F1C.js",
            "/app-123.js",
            "/app-0123456789abcdef0.js",
            "/snippets/app-6ee9b5bd4a0d9f1c/inline0.js",
            "/my-page.html",
        ] {
            assert!(!is_hashed_name(plain), "{plain}");
        }
    }
}
