//! `GET /v1/top?by=page|user&from=&to=&n=&<filter>`: the busiest pages or editors of a range
//! (at most an hour; default the last hour), from the edits themselves ([`super::edits::top_names`]).
//! `by=wiki` is answered from the per-second counts elsewhere.

use axum::Json;
use axum::extract::{RawQuery, State};
use wire::{TopBy, TopList};

use super::counts::parse_instant;
use super::query::Params;
use super::{ApiError, AppState};
use crate::clock;

const MAX_N: usize = 1_000;

pub async fn top(
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
) -> Result<Json<TopList>, ApiError> {
    let params = Params::parse(raw.as_deref(), &["from", "to", "by", "n"])?;
    let by = match params.get("by") {
        Some(s) => TopBy::parse(s).ok_or_else(|| {
            ApiError::BadQuery(format!(
                "by={:?} is not one of wiki, page, user",
                s.chars().take(80).collect::<String>()
            ))
        })?,
        None => TopBy::Page,
    };
    let to = match params.get("to") {
        Some(s) => parse_instant(s)?,
        None => clock::now(),
    };
    let from = match params.get("from") {
        Some(s) => parse_instant(s)?,
        None => to.plus(-3_600_000),
    };
    let n = match params.get("n") {
        None => 10,
        Some(s) => s
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=MAX_N).contains(n))
            .ok_or_else(|| {
                ApiError::BadQuery(format!(
                    "n={:?} is not a whole number from 1 to {MAX_N}",
                    s.chars().take(80).collect::<String>()
                ))
            })?,
    };
    super::edits::top_names(&state, &params, by, from, to, n)
        .await
        .map(Json)
}
