//! The line that says what part of the page's address could not be used, with a way to
//! dismiss it: a bad link shows what it could, and says what it could not.

use leptos::prelude::*;

use crate::store::Store;

#[component]
pub fn Notice(store: Store) -> impl IntoView {
    view! {
        <Show when=move || store.notice.with(Option::is_some)>
            <p class="notice" id="address-notice" role="alert">
                {move || store.notice.get()}
                " "
                <button type="button" class="toggle" on:click=move |_| store.notice.set(None)>
                    "Dismiss"
                </button>
            </p>
        </Show>
    }
}
