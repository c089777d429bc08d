//! The chart's controls: range buttons, a custom range, "Reset zoom" while zoomed (the keyboard's
//! way out of a drag's zoom) and the humans-vs-bots toggle. Plain `<button>`s with
//! `aria-pressed`, so keyboard and screen reader users get them for free.

use leptos::prelude::*;

use crate::chart::custom_range::CustomRange;
use crate::range::Range;
use crate::store::Store;

#[component]
pub fn Controls(store: Store) -> impl IntoView {
    let range_buttons = Range::ALL
        .into_iter()
        .map(|r| {
            let pressed = move || store.range.get() == r && store.focus.with(|f| f.span.is_none());
            view! {
                <button
                    type="button"
                    class="toggle"
                    data-range=r.minutes()
                    aria-pressed=move || pressed().to_string()
                    aria-label=format!("{}: {}", r.short_label(), r.long_label())
                    title=r.long_label()
                    on:click=move |_| {
                        store.range.set(r);
                        store.focus.update(|f| f.show(None));
                    }
                >
                    {r.short_label()}
                </button>
            }
        })
        .collect_view();
    view! {
        <div class="controls">
            <div class="button-group" role="group" aria-label="Time range">{range_buttons}</div>
            <Show when=move || store.focus.with(|f| f.zoomed())>
                <button
                    type="button"
                    class="toggle"
                    id="reset-zoom"
                    on:click=move |_| store.focus.update(|f| f.reset())
                >
                    "Reset zoom"
                </button>
            </Show>
            <button
                type="button"
                class="toggle"
                id="split-toggle"
                aria-pressed=move || store.split.get().to_string()
                on:click=move |_| store.split.update(|s| *s = !*s)
            >
                "Humans vs bots"
            </button>
            <CustomRange store=store />
        </div>
    }
}
