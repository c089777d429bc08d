//! Fetching the buckets the [`crate::history::History`] asks for: `/v1/counts` with an explicit
//! `step`, or without one for single seconds (drawn as seconds, like the short ranges). Asked
//! again when the connection to the relay comes back, since a restarted relay may hold other
//! history.

use leptos::prelude::*;
use wire::{Bucket, Buckets, Filter, Millis, WindowRecord, roll_up};

use crate::history::Fetch;
use crate::relay::get::{get, with_query, with_timeout};
use crate::relay::reconnect::LinkState;
use crate::store::Store;

/// A day of buckets is computed on request: give the relay longer than the backfill.
const FETCH_TIMEOUT_MS: u32 = 30_000;

/// Runs the fetches the store's history asks for, for as long as the calling component lives.
pub fn load_history(store: Store) {
    let pending = Memo::new(move |_| store.history.with(|h| h.pending()));
    Effect::new(move |_| {
        let Some(fetch) = pending.get() else { return };
        // The filter of the moment: a new filter restarts the history, which makes this
        // fetch's generation stale, so its answer cannot land under another filter.
        let filter = store.filter.get_untracked();
        wasm_bindgen_futures::spawn_local(async move {
            let answer = with_timeout(FETCH_TIMEOUT_MS, fetch_buckets(fetch, &filter)).await;
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

/// The buckets of `fetch`, and where the relay's history starts when it says.
async fn fetch_buckets(
    fetch: Fetch,
    filter: &Filter,
) -> Result<(Vec<Bucket>, Option<Millis>), String> {
    let range = with_query(
        &format!("/v1/counts?from={}&to={}", fetch.from, fetch.to),
        &filter.to_query(),
    );
    if fetch.step == 1 {
        let seconds: Vec<WindowRecord> = get(&range).await?;
        return Ok((roll_up(&seconds, 1), None));
    }
    let answer: Buckets = get(&format!("{range}&step={}", fetch.step)).await?;
    Ok((answer.buckets, answer.earliest))
}
