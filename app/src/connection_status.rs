//! How the link to the relay is doing, as the page shows it: the connection badge (live /
//! reconnecting / offline), the banner that says so loudly when the relay has gone quiet, and
//! the dismissable line with the latest error.

use leptos::prelude::*;

use crate::health_panel::format_age;
use crate::relay::reconnect::LinkState;
use crate::store::Store;

#[component]
pub fn ConnectionBadge(store: Store) -> impl IntoView {
    let state = Memo::new(move |_| store.connection.with(|c| c.state()));
    let label = move || match state.get() {
        LinkState::Live => "live",
        LinkState::Reconnecting if !store.connection.with(|c| c.ever_live()) => "connecting…",
        LinkState::Reconnecting => "reconnecting…",
        LinkState::Offline => "offline",
    };
    view! {
        <p
            id="connection-badge"
            class="badge"
            data-state=move || state.get().as_str()
            role="status"
            aria-label=move || format!("Connection: {}", label())
        >
            <span class="badge-dot" aria-hidden="true"></span>
            <span class="badge-text">{label}</span>
        </p>
    }
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
