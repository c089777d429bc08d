//! `GET /v1/counts?from=&to=&step=&<filter>`: the latest value of every stored second in a
//! range, or with `step` those seconds rolled up into buckets of that many seconds. A range
//! longer than an hour without `step` gets buckets too, of the shortest step in [`AUTO_STEPS`]
//! that keeps them within [`MAX_BUCKETS`]: a day of seconds is more than any chart draws.
//!
//! Under a filter (`wiki=`, `type=`, `bot=`, `namespace=`: see [`wire::Filter`]) every count
//! is the filtered count, computed from the seconds' cubes; seconds held without one are left
//! out.

use axum::Json;
use axum::extract::{RawQuery, State};
use axum::http::HeaderValue;
use axum::response::{IntoResponse, Response};
use wire::Millis;
use wire::stream::COUNTS_SEQ_HEADER;

use super::query::Params;
use super::{ApiError, AppState};
use crate::clock;

/// The most buckets one answer holds: more than a chart has columns to draw them in.
pub const MAX_BUCKETS: i64 = 2_000;
/// The longest step: a day.
const MAX_STEP: u32 = 86_400;
/// The longest range answered second by second without `step`: the dashboard's hour, and the
/// second still open at its end.
const MAX_SECONDS: i64 = 3_601;
/// The steps picked for a long range without `step`: each divides the next one's multiples
/// into whole minutes, hours or days, so the buckets line up with a time axis.
pub const AUTO_STEPS: [u32; 18] = [
    1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1_800, 3_600, 7_200, 10_800, 21_600, 43_200,
    86_400,
];

pub async fn counts(
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let q = Params::parse(raw.as_deref(), &["from", "to", "step"])?;
    let (from, to) = range(&q, clock::now())?;
    let filter = &q.filter;
    let step = match q.get("step").map(parse_step).transpose()? {
        Some(step) => step,
        None if to.0 - from.0 > MAX_SECONDS * Millis::SECOND => auto_step(from, to)?,
        None => {
            // Read before the windows: an update published meanwhile is then after this id
            // (on the stream) or in the answer, or both; never in neither. A filtered stream
            // has its own ids, of the filter's feed.
            // Without a position (every feed busy) the answer stands; a stream opened after it
            // backfills instead of resuming.
            let seq = if filter.is_all() {
                Some(state.published.updates.last_seq())
            } else {
                state
                    .published
                    .feeds
                    .get(filter)
                    .ok()
                    .map(|f| f.log.last_seq())
            };
            let mut resp = Json(state.published.filtered_counts(from, to, filter)).into_response();
            if let Some(seq) = seq {
                resp.headers_mut()
                    .insert(COUNTS_SEQ_HEADER, HeaderValue::from(seq));
            }
            return Ok(resp);
        }
    };
    let (first, last) = bucket_span(from, to, step);
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
    let step_ms = i64::from(step) * Millis::SECOND;
    let buckets = state.published.buckets(
        Millis(first * step_ms),
        Millis((last + 1) * step_ms),
        step,
        filter,
    );
    Ok(Json(buckets).into_response())
}

/// `from=` and `to=` of a read query: an hour back from `now` and the second still open by
/// default.
pub fn range(q: &Params, now: Millis) -> Result<(Millis, Millis), ApiError> {
    let to = q
        .get("to")
        .map(parse_instant)
        .transpose()?
        .unwrap_or(now.plus(1_000));
    let from = q
        .get("from")
        .map(parse_instant)
        .transpose()?
        .unwrap_or(now.plus(-3_600_000));
    if from > to {
        return Err(ApiError::BadQuery(format!(
            "from ({from}) is after to ({to})"
        )));
    }
    Ok((from, to))
}

/// `[from, to)` widened to the seconds it touches, as `/v1/counts` reads a range: an edit is
/// listed for a range exactly when its second is counted in it. An empty range stays empty.
pub fn whole_seconds(from: Millis, to: Millis) -> (Millis, Millis) {
    if from >= to {
        return (from, from);
    }
    let end = to.plus(Millis::SECOND - 1).floor_second();
    (from.floor_second(), end)
}

/// Buckets are aligned to the step, so the range's ends widen to whole buckets: the first and
/// last bucket's index since the epoch. An empty range (`from` = `to`) has no bucket, wherever
/// it falls: `last` is then `first - 1`.
fn bucket_span(from: Millis, to: Millis, step: u32) -> (i64, i64) {
    let step_ms = i64::from(step) * Millis::SECOND;
    let first = from.0.div_euclid(step_ms);
    if to <= from {
        return (first, first - 1);
    }
    (first, (to.0 - 1).div_euclid(step_ms))
}

/// The shortest of [`AUTO_STEPS`] that answers `[from, to)` in at most [`MAX_BUCKETS`].
fn auto_step(from: Millis, to: Millis) -> Result<u32, ApiError> {
    AUTO_STEPS
        .into_iter()
        .find(|&step| {
            let (first, last) = bucket_span(from, to, step);
            last - first < MAX_BUCKETS
        })
        .ok_or_else(|| {
            ApiError::BadQuery(format!(
                "from {from} to {to} is more than {MAX_BUCKETS} days; ask for a shorter range"
            ))
        })
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_range_has_no_bucket_wherever_it_falls() {
        for (at, step) in [
            (7_000, 7),
            (7_500, 7),
            (60_000, 60),
            (61_234, 60),
            (-500, 5),
        ] {
            let (first, last) = bucket_span(Millis(at), Millis(at), step);
            assert_eq!(last - first + 1, 0, "[{at}, {at}) in steps of {step} s");
        }
        assert_eq!(bucket_span(Millis(7_500), Millis(7_501), 7), (1, 1));
        assert_eq!(bucket_span(Millis(6_999), Millis(7_001), 7), (0, 1));
    }
}
