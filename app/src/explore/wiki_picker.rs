//! The wiki picker: the wikis seen in the visible range (under the rest of the filter, so a
//! picked wiki does not hide the others), searched as you type, picked several at once.

use leptos::prelude::*;
use wire::{TopBy, TopList};

use crate::explore::fetcher::fetch_into;
use crate::explore::filter_bar::edit_filter;
use crate::explore::filter_edit::toggle_wiki;
use crate::explore::loading::{Load, LoadLine, status_of};
use crate::explore::requests;
use crate::explore::scope::{Scope, visible_scope};
use crate::store::Store;

/// Every wiki of a range: more than Wikimedia has active in a day.
const WIKIS_ASKED: usize = 1_000;
/// Options listed under the search box; typing narrows the rest.
const OPTIONS_SHOWN: usize = 12;

/// The wikis in `list` whose name contains `search`, busiest first.
pub fn matching<'a>(list: &'a [(String, u64)], search: &str) -> Vec<&'a (String, u64)> {
    let search = search.trim().to_lowercase();
    list.iter()
        .filter(|(w, _)| w.to_lowercase().contains(&search))
        .collect()
}

#[component]
pub fn WikiPicker(store: Store) -> impl IntoView {
    let scope = visible_scope(store, 10_000);
    let key = Memo::new(move |_| {
        let mut s = scope.get();
        s.filter.wikis.clear();
        Some(s)
    });
    let load = RwSignal::new(Load::<TopList>::Idle);
    let refresh = |a: &Scope, b: &Scope| a.filter == b.filter && a.label == b.label;
    fetch_into(key, load, refresh, |s: Scope| async move {
        requests::top(TopBy::Wiki, s.from, s.to, WIKIS_ASKED, &s.filter).await
    });
    let search = RwSignal::new(String::new());
    let problem = RwSignal::new(None::<String>);
    let pick = move |wiki: String| {
        let mut outcome = Ok(());
        edit_filter(store, |f| outcome = toggle_wiki(f, &wiki));
        problem.set(outcome.err());
        if problem.with_untracked(Option::is_none) {
            search.set(String::new());
        }
    };
    let options = Memo::new(move |_| {
        let text = search.get();
        load.with(|l| {
            l.ready().map_or_else(Vec::new, |t| {
                matching(&t.items, &text)
                    .into_iter()
                    .take(OPTIONS_SHOWN)
                    .cloned()
                    .collect::<Vec<_>>()
            })
        })
    });
    let more = move || {
        let text = search.get();
        let all = load.with(|l| l.ready().map_or(0, |t| matching(&t.items, &text).len()));
        let more = all.saturating_sub(OPTIONS_SHOWN);
        (more > 0).then(|| format!("and {more} more: type to narrow"))
    };
    let on_enter = move |ev: leptos::ev::KeyboardEvent| {
        if ev.key() != "Enter" {
            return;
        }
        ev.prevent_default();
        let typed = search.get_untracked().trim().to_owned();
        // An exact name wins; else the busiest wiki that matches; else the name as typed.
        let first = options.with_untracked(|o| {
            o.iter()
                .find(|(w, _)| *w == typed)
                .or_else(|| o.first())
                .map(|(w, _)| w.clone())
        });
        pick(first.unwrap_or(typed));
    };
    let chips = move || {
        store
            .filter
            .with(|f| f.wikis.iter().cloned().collect::<Vec<_>>())
    };
    view! {
        <div class="wiki-picker">
            <label for="wiki-search">"Wikis"</label>
            <ul id="wiki-chips" class="chips" aria-label="Wikis counted">
                <For each=chips key=|w| w.clone() let(wiki)>
                    <li>
                        <button
                            type="button"
                            class="chip"
                            data-wiki=wiki.clone()
                            aria-label=format!("stop counting only {wiki}")
                            on:click={
                                let wiki = wiki.clone();
                                move |_| pick(wiki.clone())
                            }
                        >
                            {wiki.clone()} " ×"
                        </button>
                    </li>
                </For>
            </ul>
            <input
                id="wiki-search"
                type="search"
                placeholder="search wikis, Enter to add"
                autocomplete="off"
                prop:value=move || search.get()
                on:input=move |ev| search.set(event_target_value(&ev))
                on:keydown=on_enter
            />
            <Show when=move || problem.with(Option::is_some)>
                <p id="wiki-error" class="load-error" role="alert">{move || problem.get()}</p>
            </Show>
            <LoadLine id="wiki-options-status" what="the wikis of this range" status=status_of(load) />
            <ul id="wiki-options" class="options">
                <For each=move || options.get() key=|(w, n)| (w.clone(), *n) let((wiki, count))>
                    <li>
                        <button
                            type="button"
                            class="option"
                            data-wiki=wiki.clone()
                            data-count=count
                            aria-pressed={
                                let wiki = wiki.clone();
                                move || store.filter.with(|f| f.wikis.contains(&wiki)).to_string()
                            }
                            on:click={
                                let wiki = wiki.clone();
                                move |_| pick(wiki.clone())
                            }
                        >
                            <span>{wiki.clone()}</span>
                            <span class="muted">{count}</span>
                        </button>
                    </li>
                </For>
            </ul>
            <p class="muted small">{more}</p>
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_keeps_the_order_and_ignores_case() {
        let list = vec![
            ("enwiki".to_owned(), 9),
            ("wikidatawiki".to_owned(), 5),
            ("dewiki".to_owned(), 2),
        ];
        let names = |s: &str| -> Vec<String> {
            matching(&list, s)
                .into_iter()
                .map(|(w, _)| w.clone())
                .collect()
        };
        assert_eq!(names("EN"), ["enwiki"]);
        assert_eq!(names("wiki").len(), 3);
        assert_eq!(names(" data "), ["wikidatawiki"]);
        assert!(names("frwiki").is_empty());
    }
}
