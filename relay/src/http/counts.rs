//! `GET /v1/counts?from=&to=`: the latest value of every stored second in a range.

use axum::Json;
use axum::extract::{Query, State};
use serde::Deserialize;
use wire::{Millis, WindowRecord};

use super::{ApiError, AppState};
use crate::clock;

#[derive(Debug, Deserialize)]
pub struct Range {
    from: Option<String>,
    to: Option<String>,
}

pub async fn counts(
    State(state): State<AppState>,
    Query(range): Query<Range>,
) -> Result<Json<Vec<WindowRecord>>, ApiError> {
    let now = clock::now();
    let to = range
        .to
        .as_deref()
        .map(parse_instant)
        .transpose()?
        .unwrap_or(now.plus(1_000));
    let from = range
        .from
        .as_deref()
        .map(parse_instant)
        .transpose()?
        .unwrap_or(now.plus(-3_600_000));
    if from > to {
        return Err(ApiError::BadQuery(format!(
            "from ({from}) is after to ({to})"
        )));
    }
    Ok(Json(state.published.counts(from, to)))
}

/// RFC 3339, or Unix epoch milliseconds.
pub fn parse_instant(s: &str) -> Result<Millis, ApiError> {
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit() || b == b'-') {
        // Years 0000–9999, like RFC 3339: arithmetic on instants near i64's ends overflows.
        const RANGE: std::ops::RangeInclusive<i64> = -62_167_219_200_000..=253_402_300_799_999;
        return s
            .parse::<i64>()
            .ok()
            .filter(|ms| RANGE.contains(ms))
            .map(Millis)
            .ok_or_else(|| {
                ApiError::BadQuery(format!(
                    "{s:?} is not epoch milliseconds within years 0–9999"
                ))
            });
    }
    // An unencoded `+00:00` in a query string arrives as ` 00:00`: take it as meant.
    let fixed = match s.get(19..).and_then(|tail| tail.find(' ')) {
        Some(i) => format!("{}+{}", &s[..19 + i], &s[20 + i..]),
        None => s.to_string(),
    };
    Millis::parse_rfc3339(&fixed).map_err(|e| ApiError::BadQuery(format!("{s:?}: {e}")))
}
