//! `GET /v1/edits?from=&to=&limit=&cursor=&<filter>`: the events a range counted, newest
//! first, a page at a time; and the page and editor rankings `/v1/top` answers with
//! ([`top_names`]). The work is in [`crate::explore`]; this file reads and checks parameters.
//! A range is read in whole seconds, like `/v1/counts`: `from` back to its second's start, `to`
//! on to the end of the second it falls in.

use std::time::Duration;

use axum::Json;
use axum::extract::{RawQuery, State};
use tokio::sync::{Semaphore, SemaphorePermit};
use wire::{EditsPage, Millis, TopBy, TopList};

use super::counts::{parse_instant, whole_seconds};
use super::query::Params;
use super::{ApiError, AppState};
use crate::clock;
use crate::explore::cursor::Position;
use crate::explore::{self, DEFAULT_LIMIT, MAX_LIMIT, MAX_RANGE_MS};
use crate::window::Timing;

/// Reads of the bus's events at once, over every request: each reads minutes (a ranking, an
/// hour) of events on a blocking thread, and the counter and the gateway share the cores.
const MAX_READS: usize = 3;
static READS: Semaphore = Semaphore::const_new(MAX_READS);
/// How long a request waits for a turn before it is told to come back.
const READ_WAIT: Duration = Duration::from_secs(10);

/// A turn to read the bus, or a 503 once the others have kept it for [`READ_WAIT`].
async fn read_permit() -> Result<SemaphorePermit<'static>, ApiError> {
    match tokio::time::timeout(READ_WAIT, READS.acquire()).await {
        Ok(Ok(permit)) => Ok(permit),
        _ => Err(ApiError::EditsUnavailable(format!(
            "{MAX_READS} reads of the events are running and none ended within {} s: try again",
            READ_WAIT.as_secs()
        ))),
    }
}

/// Without `from`, `/v1/edits` lists the last minute.
const DEFAULT_SPAN_MS: i64 = 60_000;

pub async fn edits(
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
) -> Result<Json<EditsPage>, ApiError> {
    let params = Params::parse(raw.as_deref(), &["from", "to", "limit", "cursor"])?;
    let to = match params.get("to") {
        Some(s) => parse_instant(s)?,
        None => clock::now(),
    };
    let from = match params.get("from") {
        Some(s) => parse_instant(s)?,
        None => to.plus(-DEFAULT_SPAN_MS),
    };
    check_range(from, to, "/v1/edits")?;
    let (from, to) = whole_seconds(from, to);
    let limit = match params.get("limit") {
        None => DEFAULT_LIMIT,
        Some(s) => s
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=MAX_LIMIT).contains(n))
            .ok_or_else(|| {
                ApiError::BadQuery(format!(
                    "limit={:?} is not a whole number from 1 to {MAX_LIMIT}",
                    short(s)
                ))
            })?,
    };
    let after = params
        .get("cursor")
        .map(|c| {
            Position::decode(c).ok_or_else(|| {
                ApiError::BadQuery(format!(
                    "cursor={:?} is not a cursor this relay gave: pass next_cursor as it came",
                    short(c)
                ))
            })
        })
        .transpose()?;
    let _read = read_permit().await?;
    let page = explore::edits_page(
        &state.edits,
        Timing::from_config(&state.config),
        from,
        to,
        &params.filter,
        limit,
        after,
    )
    .await
    .map_err(|e| ApiError::EditsUnavailable(e.to_string()))?;
    Ok(Json(page))
}

/// The `n` busiest pages or editors of `[from, to)` under the request's filter, for
/// `/v1/top?by=page|user`; `from`, `to` and `n` are read and checked by the caller. A range
/// longer than an hour is a 400 (the events are read one by one).
pub async fn top_names(
    state: &AppState,
    params: &Params,
    by: TopBy,
    from: Millis,
    to: Millis,
    n: usize,
) -> Result<TopList, ApiError> {
    if by == TopBy::Wiki {
        return Err(ApiError::BadQuery(
            "by=wiki is ranked from the per-second counts, not from the edits".into(),
        ));
    }
    check_range(from, to, &format!("/v1/top?by={}", by.name()))?;
    let (from, to) = whole_seconds(from, to);
    let _read = read_permit().await?;
    let (rows, earliest) = explore::read::<explore::edit_row::Names>(
        &state.edits,
        Timing::from_config(&state.config),
        from,
        to,
        &params.filter,
    )
    .await
    .map_err(|e| ApiError::EditsUnavailable(e.to_string()))?;
    Ok(explore::top_names::rank(
        &rows,
        by,
        from,
        to,
        &params.filter,
        n,
        earliest,
    ))
}

fn check_range(from: Millis, to: Millis, what: &str) -> Result<(), ApiError> {
    if from > to {
        return Err(ApiError::BadQuery(format!(
            "from ({from}) is after to ({to})"
        )));
    }
    if to.0 - from.0 > MAX_RANGE_MS {
        return Err(ApiError::BadQuery(format!(
            "from {from} to {to} is longer than an hour; {what} reads the edits one by one, \
             so ask for an hour (and a second) or less"
        )));
    }
    Ok(())
}

fn short(s: &str) -> String {
    s.chars().take(80).collect()
}
