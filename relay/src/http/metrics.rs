//! `GET /metrics`: the registry of [`crate::metrics`] in the Prometheus text format.

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;

use super::{ApiError, AppState};
use crate::metrics::{CONTENT_TYPE, encode};

pub async fn metrics(State(state): State<AppState>) -> Result<impl IntoResponse, ApiError> {
    let body = encode(&state.metrics)?;
    Ok(([(header::CONTENT_TYPE, CONTENT_TYPE)], body))
}
