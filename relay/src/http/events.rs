//! `POST /v1/events`: the HTTP gateway. All or nothing: every event is validated before any
//! is written, and 202 comes only after the bus acknowledged every record.

use std::time::Duration;

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use bytes::Bytes;
use codec::event;
use codec::ndjson::{self, BodyFormat, SplitError};
use serde::Serialize;
use subtle::ConstantTimeEq;

use super::{ApiError, AppState};
use crate::bus::BusError;
use crate::clock;
use crate::telemetry::add;

#[derive(Serialize)]
pub struct Accepted {
    pub accepted: usize,
}

pub async fn post_events(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> Result<(StatusCode, Json<Accepted>), ApiError> {
    add(&state.telemetry.gateway.requests, 1);
    let result = accept(&state, &headers, body).await;
    match &result {
        Ok(n) => state
            .telemetry
            .gateway_accepted(*n as u64, crate::clock::now().0),
        Err(e) => state.telemetry.reject(e.reason_key()),
    }
    result.map(|accepted| (StatusCode::ACCEPTED, Json(Accepted { accepted })))
}

async fn accept(state: &AppState, headers: &HeaderMap, body: Body) -> Result<usize, ApiError> {
    let config = &state.config;
    authorize(config.ingest_token.as_deref(), headers)?;
    let ingest = state.ingest.as_ref().ok_or(ApiError::NotIngesting)?;
    let format = body_format(headers)?;
    if let Some(len) = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok())
        && len > config.max_body_bytes as u64
    {
        return Err(ApiError::TooLarge {
            limit: config.max_body_bytes,
        });
    }
    let body = read_body(body, config.max_body_bytes, config.body_timeout).await?;

    let items = ndjson::split(&body, format, config.max_batch_events).map_err(|e| match e {
        SplitError::TooMany(n) => ApiError::TooManyEvents(n),
        other => ApiError::BadEvent {
            line: other.line(),
            reason: other.to_string(),
        },
    })?;
    let now = clock::now();
    let mut records = Vec::with_capacity(items.len());
    for item in &items {
        let bad = |reason: String| ApiError::BadEvent {
            line: Some(item.line),
            reason: format!("line {}: {reason}", item.line),
        };
        let edit = event::parse(item.bytes).map_err(|e| bad(e.to_string()))?;
        ingest
            .check_time(&edit, now)
            .map_err(|e| bad(e.to_string()))?;
        records.push(crate::source::ingest::Ingest::record(
            &edit,
            body.slice_ref(item.bytes),
            now,
        ));
    }
    let n = records.len();
    ingest.submit(records).await.map_err(unavailable)?;
    Ok(n)
}

/// The token is compared in constant time, so response timing reveals nothing about it.
fn authorize(token: Option<&str>, headers: &HeaderMap) -> Result<(), ApiError> {
    let Some(token) = token else { return Ok(()) };
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .unwrap_or("");
    if bool::from(given.as_bytes().ct_eq(token.as_bytes())) {
        Ok(())
    } else {
        Err(ApiError::Unauthorized)
    }
}

fn body_format(headers: &HeaderMap) -> Result<BodyFormat, ApiError> {
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let mime = ct
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    match mime.as_str() {
        "application/json" => Ok(BodyFormat::Json),
        "application/x-ndjson" | "application/ndjson" | "application/jsonl" => {
            Ok(BodyFormat::Ndjson)
        }
        _ => Err(ApiError::UnsupportedMediaType(
            ct.chars().take(100).collect(),
        )),
    }
}

/// Reads at most `limit` bytes, whatever Content-Length claimed (or whether it was sent at all).
async fn read_body(body: Body, limit: usize, timeout: Duration) -> Result<Bytes, ApiError> {
    match tokio::time::timeout(timeout, axum::body::to_bytes(body, limit)).await {
        Err(_) => Err(ApiError::BodyTimeout(timeout.as_millis() as u64)),
        Ok(Ok(b)) => Ok(b),
        Ok(Err(e)) => {
            if std::error::Error::source(&e)
                .is_some_and(|s| s.is::<http_body_util::LengthLimitError>())
                || e.to_string().contains("length limit")
            {
                Err(ApiError::TooLarge { limit })
            } else {
                Err(ApiError::BodyRead(e.to_string()))
            }
        }
    }
}

fn unavailable(e: BusError) -> ApiError {
    ApiError::Unavailable {
        reason: e.to_string(),
        retry_after_secs: 2,
    }
}
