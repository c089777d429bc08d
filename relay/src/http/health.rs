//! `GET /v1/health`: 200 while the relay works (ok or degraded), 503 when a stage is down,
//! so a load balancer or container healthcheck can act on it.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;

use super::AppState;

pub async fn health(State(state): State<AppState>) -> (StatusCode, Json<wire::Health>) {
    let h = state.health.borrow().0.clone();
    let status = if h.status == wire::Status::Down {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::OK
    };
    (status, Json(h))
}
