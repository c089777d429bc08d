//! The filter bar: which wikis, which types of change, humans or bots, articles only. A change
//! rescopes everything at once (headline, chart, panels, lists: they all read the store's
//! filter), and the bar always says in words what is counted, with one click back to all.

use leptos::prelude::*;
use wire::{ChangeType, Filter};

use crate::explore::filter_edit::{describe, shows_type, toggle_type};
use crate::explore::wiki_picker::WikiPicker;
use crate::store::Store;

/// Applies `edit` to the store's filter.
pub fn edit_filter(store: Store, edit: impl FnOnce(&mut Filter)) {
    let mut f = store.filter.get_untracked();
    edit(&mut f);
    if store.filter.with_untracked(|old| *old != f) {
        store.filter.set(f);
    }
}

#[component]
pub fn FilterBar(store: Store) -> impl IntoView {
    let summary = move || store.filter.with(describe);
    let filtered = move || store.filter.with(|f| !f.is_all());
    let types = ChangeType::ALL
        .into_iter()
        .map(|t| {
            view! {
                <label class="check">
                    <input
                        type="checkbox"
                        data-type=t.name()
                        prop:checked=move || store.filter.with(|f| shows_type(f, t))
                        on:change=move |_| edit_filter(store, |f| toggle_type(f, t))
                    />
                    {t.name()}
                </label>
            }
        })
        .collect_view();
    let who = [
        (None, "all", "everyone"),
        (Some(false), "false", "humans"),
        (Some(true), "true", "bots"),
    ]
    .into_iter()
    .map(|(bot, key, label)| {
        view! {
            <button
                type="button"
                class="toggle"
                data-bot=key
                aria-pressed=move || (store.filter.with(|f| f.bot) == bot).to_string()
                on:click=move |_| edit_filter(store, |f| f.bot = bot)
            >
                {label}
            </button>
        }
    })
    .collect_view();
    view! {
        <section class="card filter-bar" id="filter-bar" aria-label="Filter">
            <div class="filter-head">
                <p class="filter-summary" aria-live="polite">
                    "Counting "
                    <strong id="filter-summary" data-filtered=move || filtered().to_string()>
                        {summary}
                    </strong>
                </p>
                <Show when=filtered>
                    <button
                        type="button"
                        class="toggle"
                        id="filter-clear"
                        on:click=move |_| store.filter.set(Filter::all())
                    >
                        "Clear filter"
                    </button>
                </Show>
            </div>
            <div class="filter-controls">
                <WikiPicker store=store />
                <fieldset class="filter-types">
                    <legend>"Types"</legend>
                    {types}
                </fieldset>
                <div class="button-group" role="group" aria-label="Who edited">
                    {who}
                </div>
                <label class="check">
                    <input
                        type="checkbox"
                        id="filter-articles"
                        prop:checked=move || store.filter.with(|f| f.article == Some(true))
                        on:change=move |ev| {
                            let on = event_target_checked(&ev);
                            edit_filter(store, |f| f.article = on.then_some(true));
                        }
                    />
                    "articles only"
                </label>
            </div>
        </section>
    }
}
