//! The HTTP surface: the gateway, the SSE stream, history, health, metrics and the dashboard.

pub mod counts;
pub mod edits;
pub mod error;
pub mod events;
pub mod health;
pub mod metrics;
pub mod query;
pub mod server;
pub mod static_files;
pub mod stream;
pub mod top;

use std::sync::Arc;

use axum::Router;
use axum::http::Uri;
use axum::http::{HeaderValue, Method};
use axum::routing::{any, get, post};
use bytes::Bytes;
use prometheus_client::registry::Registry;
use tokio::sync::watch;
use tower::limit::ConcurrencyLimitLayer;
use tower_http::cors::{AllowOrigin, CorsLayer};

use crate::config::Config;
use crate::explore::store::EditsStore;
use crate::publish::Published;
use crate::source::ingest::Ingest;
use crate::telemetry::Telemetry;

pub use error::ApiError;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    pub published: Arc<Published>,
    pub telemetry: Arc<Telemetry>,
    /// None on a `--serve-only` relay.
    pub ingest: Option<Ingest>,
    /// The latest health report, serialized once per second for every client.
    pub health: watch::Receiver<(wire::Health, Bytes)>,
    /// What `GET /metrics` encodes (see [`crate::metrics`]).
    pub metrics: Arc<Registry>,
    pub shutdown: watch::Receiver<bool>,
    /// The events themselves, read back from the bus (`/v1/edits`, `/v1/top` by page or user).
    pub edits: Arc<EditsStore>,
}

pub fn router(state: AppState) -> Router {
    let api = Router::new()
        .route("/v1/stream", get(stream::stream))
        .route("/v1/counts", get(counts::counts))
        .route("/v1/edits", get(edits::edits))
        .route("/v1/top", get(top::top))
        .route("/v1/health", get(health::health))
        .route("/metrics", get(metrics::metrics));
    let api = match cors(&state.config) {
        Some(layer) => api.layer(layer),
        None => api,
    };
    Router::new()
        // Bounded so that bodies waiting for the bus cannot add up without limit.
        .route(
            "/v1/events",
            post(events::post_events).layer(ConcurrencyLimitLayer::new(
                state.config.max_ingest_requests.max(1),
            )),
        )
        .merge(api)
        .route("/v1/{*rest}", any(not_found))
        .method_not_allowed_fallback(method_not_allowed)
        .fallback_service(static_files::service(&state.config.static_dir))
        .with_state(state)
}

/// Cross-origin reads only for the origins configured; the gateway is never cross-origin.
fn cors(config: &Config) -> Option<CorsLayer> {
    if config.cors_origins.is_empty() {
        return None;
    }
    let origins: Vec<HeaderValue> = config
        .cors_origins
        .iter()
        .filter_map(|o| o.parse().ok())
        .collect();
    Some(
        CorsLayer::new()
            .allow_origin(AllowOrigin::list(origins))
            .allow_methods([Method::GET]),
    )
}

async fn not_found(uri: Uri) -> ApiError {
    ApiError::NotFound(uri.path().chars().take(200).collect())
}

async fn method_not_allowed(method: Method) -> ApiError {
    ApiError::MethodNotAllowed(method.to_string())
}
