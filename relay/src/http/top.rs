//! `GET /v1/top?from=&to=&by=wiki|page|user&n=&<filter>`: the busiest wikis, pages or editors
//! of a range, exact. Wikis are summed from the seconds' cubes over any range held; pages and
//! users are counted from the edits themselves (see [`crate::explore`]), for ranges up to an
//! hour.

use axum::Json;
use axum::extract::{RawQuery, State};
use wire::{TopBy, TopList};

use super::counts::range;
use super::query::Params;
use super::{ApiError, AppState};
use crate::clock;

/// The longest list one answer holds.
pub const MAX_N: usize = 1_000;
const DEFAULT_N: usize = 10;

pub async fn top(
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
) -> Result<Json<TopList>, ApiError> {
    let q = Params::parse(raw.as_deref(), &["from", "to", "by", "n"])?;
    let (from, to) = range(&q, clock::now())?;
    let by = match q.get("by") {
        None => TopBy::Wiki,
        Some(by) => TopBy::parse(by).ok_or_else(|| {
            ApiError::BadQuery(format!(
                "by={:?} is not one of wiki, page, user",
                by.chars().take(40).collect::<String>()
            ))
        })?,
    };
    let n = match q.get("n") {
        None => DEFAULT_N,
        Some(n) => n
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=MAX_N).contains(n))
            .ok_or_else(|| {
                ApiError::BadQuery(format!(
                    "n={:?} is not a whole number from 1 to {MAX_N}",
                    n.chars().take(40).collect::<String>()
                ))
            })?,
    };
    match by {
        TopBy::Wiki => {
            let merger = state.published.merger.read().expect("merger lock");
            let totals = merger.top_wikis(from, to, &merger.compile(&q.filter), n);
            Ok(Json(TopList {
                by,
                from,
                to,
                filter: q.filter.clone(),
                items: totals.items,
                total: totals.total,
                distinct: totals.distinct,
                earliest: merger.earliest(),
                seconds_without_breakdown: totals.without_breakdown,
            }))
        }
        TopBy::Page | TopBy::User => super::edits::top_names(&state, &q, by, from, to, n)
            .await
            .map(Json),
    }
}
