//! Fetching the buckets the [`crate::history::History`] asks for: `/v1/counts` with an explicit
//! `step`, or without one for single seconds (drawn as seconds, like the short ranges). Asked
//! again when the connection to the relay comes back, since a restarted relay may hold other
//! history.

use futures::future::{Either, select};
use gloo_timers::future::TimeoutFuture;
use leptos::prelude::*;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use wire::{Bucket, Buckets, Millis, WindowRecord, roll_up};

use crate::history::Fetch;
use crate::relay::reconnect::LinkState;
use crate::store::Store;

/// A day of buckets is computed on request: give the relay longer than the backfill.
const FETCH_TIMEOUT_MS: u32 = 30_000;

/// Runs the fetches the store's history asks for, for as long as the calling component lives.
pub fn load_history(store: Store) {
    let pending = Memo::new(move |_| store.history.with(|h| h.pending()));
    Effect::new(move |_| {
        let Some(fetch) = pending.get() else { return };
        wasm_bindgen_futures::spawn_local(async move {
            let answer = with_timeout(fetch_buckets(fetch)).await;
            store.series.with_untracked(|s| {
                store.history.update(|h| match answer {
                    Ok((buckets, earliest)) => {
                        h.receive(fetch.generation, buckets, earliest, s);
                    }
                    Err(reason) => {
                        h.fail(fetch.generation, reason);
                    }
                })
            });
        });
    });

    let live = Memo::new(move |_| store.connection.with(|c| c.state() == LinkState::Live));
    Effect::new(move |was_live: Option<bool>| {
        let live = live.get();
        if live && was_live == Some(false) {
            store
                .series
                .with_untracked(|s| store.history.update(|h| h.refetch(s)));
        }
        live
    });
}

async fn with_timeout<T>(
    fetch: impl std::future::Future<Output = Result<T, String>>,
) -> Result<T, String> {
    let fetch = std::pin::pin!(fetch);
    match select(fetch, TimeoutFuture::new(FETCH_TIMEOUT_MS)).await {
        Either::Left((answer, _)) => answer,
        Either::Right(_) => Err(format!("no answer within {} s", FETCH_TIMEOUT_MS / 1_000)),
    }
}

/// The buckets of `fetch`, and where the relay's history starts when it says.
async fn fetch_buckets(fetch: Fetch) -> Result<(Vec<Bucket>, Option<Millis>), String> {
    let range = format!("/v1/counts?from={}&to={}", fetch.from, fetch.to);
    if fetch.step == 1 {
        let seconds: Vec<WindowRecord> = get(&range).await?;
        return Ok((roll_up(&seconds, 1), None));
    }
    let answer: Buckets = get(&format!("{range}&step={}", fetch.step)).await?;
    Ok((answer.buckets, answer.earliest))
}

/// The relay's error answers: `{"error": "..."}`.
#[derive(Deserialize)]
struct ErrorBody {
    error: String,
}

async fn get<T: DeserializeOwned>(url: &str) -> Result<T, String> {
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
