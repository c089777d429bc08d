//! EditPulse dashboard: Wikipedia's edits per second, live, with the health of the pipeline
//! that counts them.
//!
//! State lives in [`store::Store`]; [`relay_client`] fills it from the relay and the
//! components only read it, so [`Dashboard`] can be mounted over a hand-filled store in tests.

pub mod badge;
pub mod chart;
pub mod chart_view;
pub mod connection;
pub mod controls;
pub mod envelope;
pub mod error;
pub mod headline;
pub mod health_panel;
pub mod local_time;
pub mod range;
pub mod recent_table;
pub mod relay_client;
pub mod series;
pub mod store;
pub mod stream_event;
pub mod theme;
pub mod time_axis;

use leptos::prelude::*;

use crate::badge::{ConnectionBadge, ErrorLine, UnreachableBanner};
use crate::chart_view::Chart;
use crate::controls::Controls;
use crate::headline::{Headline, TopWikis};
use crate::health_panel::HealthPanel;
use crate::recent_table::RecentTable;
use crate::relay_client::RelayClient;
use crate::store::Store;

/// The page: a fresh store fed by the relay.
#[component]
pub fn App() -> impl IntoView {
    let store = Store::new();
    // Owned by the component so that unmounting closes the stream and stops the timers.
    let client = StoredValue::new_local(RelayClient::start(store));
    on_cleanup(move || client.dispose());
    view! { <Dashboard store=store /> }
}

/// Everything visible, over whatever fills `store`.
#[component]
pub fn Dashboard(store: Store) -> impl IntoView {
    view! {
        <div class="page">
            <header class="top">
                <div class="title">
                    <h1>"EditPulse"</h1>
                    <p class="tagline">"Wikipedia edits per second, live"</p>
                </div>
                <ConnectionBadge store=store />
            </header>
            <UnreachableBanner store=store />
            <ErrorLine store=store />
            <main class="grid" class:stale=move || store.connection.with(|c| c.unreachable(store.clock.get()))>
                <Headline store=store />
                <section class="card chart-card" aria-labelledby="chart-title">
                    <div class="card-head">
                        <h2 id="chart-title">"Edits per second"</h2>
                        <Controls store=store />
                    </div>
                    <Chart store=store />
                </section>
                <TopWikis store=store />
                <HealthPanel store=store />
            </main>
            <RecentTable store=store />
        </div>
    }
}

/// Mounts the app on `<body>`; what `main` calls.
pub fn mount() {
    leptos::mount::mount_to_body(App);
}
