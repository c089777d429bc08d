//! The chart's controls: range buttons and the humans-vs-bots toggle. Plain `<button>`s with
//! `aria-pressed`, so keyboard and screen reader users get them for free.

use leptos::prelude::*;

use crate::range::Range;
use crate::store::Store;

#[component]
pub fn Controls(store: Store) -> impl IntoView {
    let range_buttons = Range::ALL
        .into_iter()
        .map(|r| {
            let pressed = move || store.range.get() == r;
            view! {
                <button
                    type="button"
                    class="toggle"
                    data-range=r.minutes()
                    aria-pressed=move || pressed().to_string()
                    aria-label=format!("{}: {}", r.short_label(), r.long_label())
                    title=r.long_label()
                    on:click=move |_| store.range.set(r)
                >
                    {r.short_label()}
                </button>
            }
        })
        .collect_view();
    view! {
        <div class="controls">
            <div class="button-group" role="group" aria-label="Time range">{range_buttons}</div>
            <button
                type="button"
                class="toggle"
                id="split-toggle"
                aria-pressed=move || store.split.get().to_string()
                on:click=move |_| store.split.update(|s| *s = !*s)
            >
                "Humans vs bots"
            </button>
        </div>
    }
}
