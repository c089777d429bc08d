//! The latest edits under the filter, as they come: `/v1/edits` over the last minute asked
//! every two seconds (a page of rows, not a second stream to keep alive), newest first.
//! Pausing stops the asking, so a row being read does not scroll away.

use gloo_timers::callback::Interval;
use leptos::prelude::*;
use wire::{EditRow, Filter};

use crate::explore::edit_row::EditItem;
use crate::explore::loading::{Load, LoadLine, status_of};
use crate::explore::requests;
use crate::store::Store;

const POLL_MS: u32 = 2_000;
/// How far back the feed looks: a quiet filter still shows its last edits.
const LOOK_BACK_MS: i64 = 60_000;
const ROWS: usize = 12;

#[component]
pub fn LiveFeed(store: Store) -> impl IntoView {
    let paused = RwSignal::new(false);
    let rows = RwSignal::new(Vec::<EditRow>::new());
    let load = RwSignal::new(Load::<()>::Idle);
    let in_flight = StoredValue::new(false);
    // Rows of another filter are dropped at once, not at the next answer.
    let shown_for = StoredValue::new(Filter::all());
    let poll = move || {
        if paused.get_untracked() || in_flight.get_value() {
            return;
        }
        let filter = store.filter.get_untracked();
        if shown_for.with_value(|f| *f != filter) {
            rows.set(Vec::new());
            load.set(Load::Loading(js_sys::Date::now()));
            shown_for.set_value(filter.clone());
        }
        // The newer of the relay's live edge and the browser's clock, plus the open second.
        let to = store.live_end().max(js_sys::Date::now() as i64) + 1_000;
        in_flight.set_value(true);
        wasm_bindgen_futures::spawn_local(async move {
            let page = requests::edits(to - LOOK_BACK_MS, to, &filter, ROWS, None).await;
            in_flight.try_set_value(false);
            if paused.get_untracked() || store.filter.with_untracked(|f| *f != filter) {
                return;
            }
            match page {
                Ok(p) => {
                    rows.try_set(p.edits);
                    load.try_set(Load::Ready(()));
                }
                Err(e) => {
                    load.try_set(Load::Failed(e));
                }
            }
        });
    };
    let ticker = StoredValue::new_local(Some(Interval::new(POLL_MS, poll)));
    on_cleanup(move || {
        ticker.try_update_value(Option::take);
    });
    Effect::new(move |_| {
        store.filter.track();
        poll();
    });
    let toggle = move |_| {
        paused.update(|p| *p = !*p);
        if !paused.get_untracked() {
            poll();
        }
    };
    view! {
        <section class="card live-feed-card" aria-labelledby="live-feed-title">
            <div class="card-head">
                <h2 id="live-feed-title">"Latest edits"</h2>
                <button
                    type="button"
                    class="toggle"
                    id="live-pause"
                    aria-pressed=move || paused.get().to_string()
                    on:click=toggle
                >
                    {move || if paused.get() { "Resume" } else { "Pause" }}
                </button>
            </div>
            <p class="muted small" id="live-feed-state">
                {move || if paused.get() { "Paused: not updating." } else { "Updating every 2 s." }}
            </p>
            <LoadLine id="live-feed-status" what="the latest edits" status=status_of(load) />
            <Show when=move || load.with(|l| l.ready().is_some()) && rows.with(Vec::is_empty)>
                <p class="muted">"No edits in the last minute under this filter."</p>
            </Show>
            <ol class="edits" id="live-feed" data-paused=move || paused.get().to_string()>
                <For
                    each=move || rows.get()
                    key=|e| (e.id.clone(), e.time.0, e.title.clone())
                    children=|e| view! { <EditItem edit=e /> }
                />
            </ol>
        </section>
    }
}
