//! Every HTTP error the relay answers, mapped to its status in one place.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::metrics::MetricsError;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{reason}")]
    BadEvent { line: Option<usize>, reason: String },
    #[error("request body larger than {limit} bytes")]
    TooLarge { limit: usize },
    #[error("more than {0} events in one request")]
    TooManyEvents(usize),
    #[error("unsupported content type {0:?}: send application/json or application/x-ndjson")]
    UnsupportedMediaType(String),
    #[error("missing or wrong bearer token")]
    Unauthorized,
    #[error("cannot take events now: {reason}")]
    Unavailable {
        reason: String,
        retry_after_secs: u64,
    },
    #[error("{0}")]
    BadQuery(String),
    #[error("request body not received within {0} ms")]
    BodyTimeout(u64),
    #[error("reading the request body failed: {0}")]
    BodyRead(String),
    #[error("no such endpoint: {0}")]
    NotFound(String),
    #[error("method {0} not allowed here")]
    MethodNotAllowed(String),
    #[error("this relay serves only (--serve-only): send events to a relay that ingests")]
    NotIngesting,
    #[error(transparent)]
    Metrics(#[from] MetricsError),
    #[error(transparent)]
    TooManyFeeds(#[from] crate::publish::feeds::TooManyFeeds),
    #[error("the edits cannot be read now: {0}")]
    EditsUnavailable(String),
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    line: Option<usize>,
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadEvent { .. } | ApiError::BadQuery(_) | ApiError::BodyRead(_) => {
                StatusCode::BAD_REQUEST
            }
            ApiError::TooLarge { .. } | ApiError::TooManyEvents(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::Unauthorized => StatusCode::UNAUTHORIZED,
            ApiError::Unavailable { .. }
            | ApiError::NotIngesting
            | ApiError::TooManyFeeds(_)
            | ApiError::EditsUnavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::BodyTimeout(_) => StatusCode::REQUEST_TIMEOUT,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Metrics(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// Every [`Self::reason_key`] of an error `POST /v1/events` can answer. `GET /metrics`
    /// exports each from the start, at 0 until it happens, so that `rate()` and `increase()`
    /// see the first rejection.
    pub const GATEWAY_REASONS: [&'static str; 6] = [
        "bad_event",
        "too_large",
        "unsupported_media_type",
        "unauthorized",
        "unavailable",
        "timeout",
    ];

    /// The key the gateway's rejection counters (health, metrics) use.
    pub fn reason_key(&self) -> &'static str {
        match self {
            ApiError::BadEvent { .. } | ApiError::BodyRead(_) => "bad_event",
            ApiError::TooLarge { .. } | ApiError::TooManyEvents(_) => "too_large",
            ApiError::UnsupportedMediaType(_) => "unsupported_media_type",
            ApiError::Unauthorized => "unauthorized",
            ApiError::Unavailable { .. } | ApiError::NotIngesting => "unavailable",
            ApiError::BadQuery(_) => "bad_query",
            ApiError::BodyTimeout(_) => "timeout",
            ApiError::NotFound(_) | ApiError::MethodNotAllowed(_) => "bad_route",
            ApiError::Metrics(_) => "internal",
            ApiError::TooManyFeeds(_) => "busy",
            ApiError::EditsUnavailable(_) => "store",
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let line = match &self {
            ApiError::BadEvent { line, .. } => *line,
            _ => None,
        };
        let message = self.to_string();
        let mut resp = (
            status,
            Json(ErrorBody {
                error: &message,
                line,
            }),
        )
            .into_response();
        match &self {
            ApiError::Unavailable {
                retry_after_secs, ..
            } => {
                resp.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(*retry_after_secs));
            }
            ApiError::Unauthorized => {
                resp.headers_mut()
                    .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            }
            _ => {}
        }
        resp
    }
}

#[cfg(test)]
mod tests {
    use super::ApiError;

    #[test]
    fn every_error_the_gateway_answers_has_a_listed_reason() {
        let gateway_errors = [
            ApiError::BadEvent {
                line: Some(1),
                reason: "x".into(),
            },
            ApiError::BodyRead("x".into()),
            ApiError::TooLarge { limit: 1 },
            ApiError::TooManyEvents(1),
            ApiError::UnsupportedMediaType("text/plain".into()),
            ApiError::Unauthorized,
            ApiError::Unavailable {
                reason: "x".into(),
                retry_after_secs: 1,
            },
            ApiError::NotIngesting,
            ApiError::BodyTimeout(1),
        ];
        for e in &gateway_errors {
            assert!(
                ApiError::GATEWAY_REASONS.contains(&e.reason_key()),
                "{e:?}: {} is not in GATEWAY_REASONS",
                e.reason_key()
            );
        }
    }
}
