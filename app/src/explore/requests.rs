//! The read API's addresses the explore panels ask, each built in one place: the range in
//! epoch ms, then the endpoint's own parameters, then the filter as [`Filter::to_query`]
//! writes it (the relay refuses anything else, so a typo here would be a 400, not a wrong
//! number).

use wire::{EditsPage, Filter, TopBy, TopList};

use crate::relay::get::{get, with_query, with_timeout};

/// The span the panels rank by page or editor: the last hour, within what the relay reads
/// ([`wire::explore::MAX_EDITS_RANGE_MS`]; longer is a 400).
pub const PAGE_RANK_MAX_MS: i64 = 3_600_000;
const _: () = assert!(PAGE_RANK_MAX_MS <= wire::explore::MAX_EDITS_RANGE_MS);
/// How long a panel waits for an answer before it says the relay did not give one.
const TIMEOUT_MS: u32 = 30_000;

pub fn top_url(by: TopBy, from: i64, to: i64, n: usize, filter: &Filter) -> String {
    with_query(
        &format!("/v1/top?from={from}&to={to}&by={}&n={n}", by.name()),
        &filter.to_query(),
    )
}

pub fn edits_url(
    from: i64,
    to: i64,
    filter: &Filter,
    limit: usize,
    cursor: Option<&str>,
) -> String {
    let mut url = with_query(
        &format!("/v1/edits?from={from}&to={to}"),
        &filter.to_query(),
    );
    url.push_str(&format!("&limit={limit}"));
    if let Some(c) = cursor {
        let c: String = form_urlencoded::byte_serialize(c.as_bytes()).collect();
        url.push_str(&format!("&cursor={c}"));
    }
    url
}

pub async fn top(
    by: TopBy,
    from: i64,
    to: i64,
    n: usize,
    filter: &Filter,
) -> Result<TopList, String> {
    with_timeout(TIMEOUT_MS, get(&top_url(by, from, to, n, filter))).await
}

pub async fn edits(
    from: i64,
    to: i64,
    filter: &Filter,
    limit: usize,
    cursor: Option<&str>,
) -> Result<EditsPage, String> {
    with_timeout(TIMEOUT_MS, get(&edits_url(from, to, filter, limit, cursor))).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_carry_range_parameters_and_filter() {
        let f = Filter::from_pairs([("wiki", "enwiki"), ("bot", "false")])
            .unwrap()
            .0;
        assert_eq!(
            top_url(TopBy::Page, 1_000, 2_000, 10, &f),
            "/v1/top?from=1000&to=2000&by=page&n=10&wiki=enwiki&bot=false"
        );
        assert_eq!(
            edits_url(1_000, 2_000, &Filter::all(), 100, Some("a b/c")),
            "/v1/edits?from=1000&to=2000&limit=100&cursor=a+b%2Fc"
        );
        assert_eq!(
            edits_url(1_000, 2_000, &f, 5, None),
            "/v1/edits?from=1000&to=2000&wiki=enwiki&bot=false&limit=5"
        );
    }
}
