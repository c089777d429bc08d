//! The edits of the chart's selected second or bucket, under the filter, from `/v1/edits`:
//! newest first, a page at a time ("older" follows the relay's cursor), with the count the
//! chart has for it next to the count listed, so a gap between the two is visible.

use leptos::prelude::*;
use wire::{EditRow, EditsPage, Filter};

use crate::explore::edit_row::EditItem;
use crate::explore::expected::{expected_count, settled};
use crate::explore::fetcher::fetch_into;
use crate::explore::loading::{Load, LoadLine, status_of};
use crate::explore::requests;
use crate::figures::peak_when;
use crate::local_time;
use crate::store::Store;
use crate::view::Span;

/// Edits per page: a busy second of all wikis fits in one.
const PAGE: usize = 200;

/// What the panel lists: a span under a filter.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Subject {
    span: Span,
    filter: Filter,
}

#[component]
pub fn EditsPanel(store: Store) -> impl IntoView {
    let subject = Memo::new(move |_| {
        store.selected.get().map(|span| Subject {
            span,
            filter: store.filter.get(),
        })
    });
    let first = RwSignal::new(Load::<EditsPage>::Idle);
    fetch_into(
        subject,
        first,
        |_, _| false,
        |s: Subject| async move { requests::edits(s.span.from, s.span.to, &s.filter, PAGE, None).await },
    );
    // The pages so far, and where the next (older) one starts.
    let rows = RwSignal::new(Vec::<EditRow>::new());
    let next = RwSignal::new(None::<String>);
    let earliest = RwSignal::new(None::<i64>);
    Effect::new(move |_| {
        let page = first.with(|l| l.ready().cloned());
        earliest.set(page.as_ref().and_then(|p| p.earliest.map(|e| e.0)));
        next.set(page.as_ref().and_then(|p| p.next_cursor.clone()));
        rows.set(page.map(|p| p.edits).unwrap_or_default());
    });
    let older = RwSignal::new(Load::<()>::Idle);
    let load_older = move |_| {
        let (Some(s), Some(cursor)) = (subject.get_untracked(), next.get_untracked()) else {
            return;
        };
        older.set(Load::Loading(js_sys::Date::now()));
        wasm_bindgen_futures::spawn_local(async move {
            let page =
                requests::edits(s.span.from, s.span.to, &s.filter, PAGE, Some(&cursor)).await;
            // Another second or filter was picked meanwhile: this page is not its.
            if subject.get_untracked().as_ref() != Some(&s) {
                return;
            }
            match page {
                Ok(p) => {
                    rows.update(|r| r.extend(p.edits));
                    next.set(p.next_cursor);
                    older.set(Load::Idle);
                }
                Err(e) => older.set(Load::Failed(e)),
            }
        });
    };

    let expected = Memo::new(move |_| {
        let span = store.selected.get()?;
        store
            .series
            .with(|s| store.history.with(|h| expected_count(s, h, span)))
    });
    let still_counting = move || {
        store
            .selected
            .get()
            .is_some_and(|span| store.series.with(|s| !settled(s, span)))
    };
    let heading = move || {
        store.selected.get().map_or_else(String::new, |s| {
            format!("Edits {}", peak_when(s.from, s.to))
        })
    };
    let listed = move || rows.with(Vec::len);
    let count_line = move || {
        let exp = expected
            .get()
            .map_or_else(|| "an unknown number".to_owned(), |n| n.to_string());
        let more = if next.with(Option::is_some) {
            ", more below"
        } else {
            ""
        };
        let counting = if still_counting() {
            " (still counting)"
        } else {
            ""
        };
        format!("listed {} of {exp} counted{counting}{more}", listed())
    };
    let gone = move || {
        let span = store.selected.get()?;
        let e = earliest.get().filter(|e| *e > span.from)?;
        Some(format!(
            "The relay holds edits from {} on; earlier ones of this span are no longer listed.",
            local_time::clock(e, true)
        ))
    };
    view! {
        <Show when=move || store.selected.with(Option::is_some)>
            <section class="card edits-panel" id="edits-panel" aria-labelledby="edits-title">
                <div class="card-head">
                    <h2 id="edits-title">{heading}</h2>
                    <button
                        type="button"
                        class="toggle"
                        id="edits-close"
                        on:click=move |_| store.selected.set(None)
                    >
                        "Close"
                    </button>
                </div>
                <p
                    id="edits-count"
                    data-listed=listed
                    data-expected=move || expected.get().map(|n| n.to_string())
                    data-complete=move || next.with(Option::is_none).to_string()
                >
                    {count_line}
                </p>
                <LoadLine id="edits-status" what="the edits" status=status_of(first) />
                <p class="muted small">{gone}</p>
                <ol class="edits" id="edits-list">
                    <For
                        each=move || rows.get()
                        key=|e| (e.id.clone(), e.time.0, e.title.clone())
                        children=|e| view! { <EditItem edit=e /> }
                    />
                </ol>
                <LoadLine id="edits-older-status" what="older edits" status=status_of(older) />
                <Show when=move || next.with(Option::is_some)>
                    <button type="button" class="toggle" id="edits-older" on:click=load_older>
                        "Older edits"
                    </button>
                </Show>
            </section>
        </Show>
    }
}
