//! One GET against the relay's read API, shared by every panel: JSON in, the relay's own
//! words out on a refusal (its `{"error": "..."}` body says which parameter is wrong and why),
//! and a deadline, so a wait never turns into a silent hang.

use futures::future::{Either, select};
use gloo_timers::future::TimeoutFuture;
use serde::Deserialize;
use serde::de::DeserializeOwned;

/// The relay's error answers: `{"error": "..."}`.
#[derive(Deserialize)]
struct ErrorBody {
    error: String,
}

/// GETs `url` and decodes its JSON, or says why not.
pub async fn get<T: DeserializeOwned>(url: &str) -> Result<T, String> {
    let response = gloo_net::http::Request::get(url)
        .header("Accept", "application/json")
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if !response.ok() {
        // The relay explains a refusal in its JSON error body; show it when there is one.
        let detail = response.json::<ErrorBody>().await.ok().map(|b| b.error);
        let status = format!("HTTP {} {}", response.status(), response.status_text());
        return Err(detail.map_or(status.clone(), |d| format!("{status}: {d}")));
    }
    response.json::<T>().await.map_err(|e| e.to_string())
}

/// `fetch`, or an error naming the deadline once `ms` have passed without an answer.
pub async fn with_timeout<T>(
    ms: u32,
    fetch: impl std::future::Future<Output = Result<T, String>>,
) -> Result<T, String> {
    let fetch = std::pin::pin!(fetch);
    match select(fetch, TimeoutFuture::new(ms)).await {
        Either::Left((answer, _)) => answer,
        Either::Right(_) => Err(format!("no answer within {} s", ms / 1_000)),
    }
}

/// `path?query`, or `path&query` when `path` already has a query, or `path` for an empty one.
pub fn with_query(path: &str, query: &str) -> String {
    if query.is_empty() {
        path.to_owned()
    } else if path.contains('?') {
        format!("{path}&{query}")
    } else {
        format!("{path}?{query}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_query_joins_what_is_there() {
        assert_eq!(with_query("/v1/counts", ""), "/v1/counts");
        assert_eq!(with_query("/v1/counts", "wiki=a"), "/v1/counts?wiki=a");
        assert_eq!(
            with_query("/v1/counts?from=1", "wiki=a"),
            "/v1/counts?from=1&wiki=a"
        );
    }
}
