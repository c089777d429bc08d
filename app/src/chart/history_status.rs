//! How the fetch of a long range, custom range or zoom is going: "loading 24 h…" while it
//! runs, and when it failed, why, with a button to try again.

use leptos::prelude::*;

use crate::history::Load;
use crate::store::Store;

#[component]
pub fn HistoryStatus(store: Store) -> impl IntoView {
    let load = Memo::new(move |_| store.history.with(|h| h.load().clone()));
    let loading = move || {
        matches!(load.get(), Load::Loading)
            .then(|| format!("loading {}…", store.view().short_label()))
    };
    let failed = move || match load.get() {
        Load::Failed(reason) => Some(reason),
        _ => None,
    };
    let retry = move |_| {
        store
            .series
            .with_untracked(|s| store.history.update(|h| h.refetch(s)));
    };
    view! {
        // Always in the page, so screen readers announce what it comes to say.
        <p id="history-status" class="history-status" role="status">{loading}</p>
        {move || {
            failed()
                .map(|reason| {
                    view! {
                        <p id="history-error" class="error-line" role="alert">
                            <span>
                                "Could not load the " {store.view().label()} " from the relay: "
                                {reason}
                            </span>
                            <button type="button" class="link-button" id="history-retry" on:click=retry>
                                "Retry"
                            </button>
                        </p>
                    }
                })
        }}
    }
}
