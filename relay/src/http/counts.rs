//! `GET /v1/counts?from=&to=&step=`: the latest value of every stored second in a range, or
//! with `step` those seconds rolled up into buckets of that many seconds.

use axum::Json;
use axum::extract::{Query, State};
use axum::http::HeaderValue;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use wire::stream::COUNTS_SEQ_HEADER;
use wire::{Buckets, Millis, roll_up};

use super::{ApiError, AppState};
use crate::clock;

/// The most buckets one answer holds: more than a chart has columns to draw them in.
pub const MAX_BUCKETS: i64 = 2_000;
/// The longest step: a day.
const MAX_STEP: u32 = 86_400;

#[derive(Debug, Deserialize)]
pub struct Range {
    from: Option<String>,
    to: Option<String>,
    /// Seconds per bucket; taken as text so that a bad value gets this API's own error.
    step: Option<String>,
}

pub async fn counts(
    State(state): State<AppState>,
    Query(range): Query<Range>,
) -> Result<Response, ApiError> {
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
    let Some(step) = range.step.as_deref().map(parse_step).transpose()? else {
        // Read before the windows: an update published meanwhile is then after this id (on
        // the stream) or in the answer, or both; never in neither.
        let seq = state.published.updates.last_seq();
        let mut resp = Json(state.published.counts(from, to)).into_response();
        resp.headers_mut()
            .insert(COUNTS_SEQ_HEADER, HeaderValue::from(seq));
        return Ok(resp);
    };
    let step_ms = i64::from(step) * Millis::SECOND;
    // Buckets are aligned to the step, so the range's ends widen to whole buckets.
    let (first, last) = (from.0.div_euclid(step_ms), (to.0 - 1).div_euclid(step_ms));
    let n = last - first + 1;
    if n > MAX_BUCKETS {
        return Err(ApiError::BadQuery(format!(
            "from {from} to {to} in steps of {step} s is {n} buckets; at most {MAX_BUCKETS}: \
             use a step of at least {} s",
            // A step this long gives at most MAX_BUCKETS - 1 whole buckets, plus one where
            // the range's ends are not aligned to it.
            (to.0 - from.0 + (MAX_BUCKETS - 1) * Millis::SECOND - 1)
                / ((MAX_BUCKETS - 1) * Millis::SECOND)
        )));
    }
    let seconds = state
        .published
        .counts(Millis(first * step_ms), Millis((last + 1) * step_ms));
    let buckets = roll_up(&seconds, step);
    Ok(Json(Buckets {
        step,
        buckets,
        earliest: None,
    })
    .into_response())
}

fn parse_step(s: &str) -> Result<u32, ApiError> {
    s.parse::<u32>()
        .ok()
        .filter(|n| (1..=MAX_STEP).contains(n))
        .ok_or_else(|| {
            ApiError::BadQuery(format!(
                "step {s:?} is not a whole number of seconds from 1 to {MAX_STEP}"
            ))
        })
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
