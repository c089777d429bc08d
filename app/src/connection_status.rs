//! How the link to the relay is doing and where the numbers come from, as the page shows it:
//! the badge (connecting / reconnecting / offline, else the source in words), the tagline, the
//! banner that says so loudly when the relay has gone quiet, and the dismissable line with the
//! latest error.

use leptos::prelude::*;

use crate::health_panel::format_age;
use crate::source_status;
use crate::store::Store;

/// The badge: the link to the relay while it is not delivering (connecting, reconnecting,
/// offline), else where the numbers come from (see [`crate::source_status`]). `data-state` is
/// the link's state, `data-tone` the colour of what it says.
#[component]
pub fn ConnectionBadge(store: Store) -> impl IntoView {
    let state = Memo::new(move |_| store.connection.with(|c| c.state()));
    let said = Memo::new(move |_| {
        let ever = store.connection.with(|c| c.ever_live());
        store
            .health
            .with(|h| source_status::badge(state.get(), ever, h.as_ref()))
    });
    view! {
        <p
            id="connection-badge"
            class="badge"
            data-state=move || state.get().as_str()
            data-tone=move || said.get().0
            role="status"
        >
            <span class="badge-dot" aria-hidden="true"></span>
            <span class="badge-text">{move || said.get().1}</span>
        </p>
    }
}

/// The line under the title: what the counts are counting.
#[component]
pub fn Tagline(store: Store) -> impl IntoView {
    let text = Memo::new(move |_| store.health.with(|h| source_status::tagline(h.as_ref())));
    view! { <p class="tagline" id="tagline">{move || text.get()}</p> }
}

#[component]
pub fn UnreachableBanner(store: Store) -> impl IntoView {
    // Rounded to whole seconds so the text (and the screen reader) is not updated every tick.
    let silent_s = Memo::new(move |_| {
        let now = store.clock.get();
        store.connection.with(|c| {
            c.unreachable(now)
                .then(|| c.silence_ms(now).unwrap_or(0.0) as u64 / 1_000)
        })
    });
    view! {
        <Show when=move || silent_s.get().is_some()>
            <div id="unreachable-banner" class="banner">
                // Only the unchanging sentence is a live region: a counter inside an alert
                // would be re-announced every second.
                <p role="alert">
                    <strong>"Relay unreachable."</strong>
                    " The figures below are not live. Retrying…"
                </p>
                <p class="banner-detail">
                    "Nothing heard for "
                    {move || match silent_s.get().unwrap_or(0) {
                        s @ 0..60 => format!("{s} s"),
                        s => format_age(s * 1_000),
                    }}
                    "."
                </p>
            </div>
        </Show>
    }
}

#[component]
pub fn ErrorLine(store: Store) -> impl IntoView {
    view! {
        <Show when=move || store.error.with(|e| e.is_some())>
            <p id="error-line" class="error-line" role="status">
                <span>{move || store.error.with(|e| e.as_ref().map(|e| e.to_string()))}</span>
                <button type="button" class="link-button" on:click=move |_| store.error.set(None)>
                    "Dismiss"
                </button>
            </p>
        </Show>
    }
}
