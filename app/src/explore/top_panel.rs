//! The busiest wikis, pages and editors of the visible range under the filter, exact, from
//! `/v1/top` (the relay sums every edit; nothing is estimated). Wikis link to the filter.
//! The relay ranks pages and editors over at most an hour, so for a longer range those two
//! panels rank its last hour and say so in their title: never a silently different span.

use leptos::prelude::*;
use wire::{TopBy, TopList};

use crate::explore::fetcher::fetch_into;
use crate::explore::filter_bar::edit_filter;
use crate::explore::loading::{Load, LoadLine, status_of};
use crate::explore::requests::{self, PAGE_RANK_MAX_MS};
use crate::explore::scope::{Scope, visible_scope};
use crate::local_time;
use crate::store::Store;

/// Rows per panel.
const SHOWN: usize = 10;
/// A live wikis panel is asked again this often: summed from the seconds' cubes, it is cheap.
const REFRESH_MS: u32 = 5_000;
/// A live pages or editors panel, this often: each ranking reads up to an hour of events back
/// from the bus, seconds of the relay's time shared with every other open page.
const NAMES_REFRESH_MS: u32 = 30_000;

/// The span a `by` panel ranks for `scope`, and whether it is shorter than the range.
pub fn ranked_span(by: TopBy, scope: &Scope) -> (i64, i64, bool) {
    if by != TopBy::Wiki && scope.to - scope.from > PAGE_RANK_MAX_MS {
        (scope.to - PAGE_RANK_MAX_MS, scope.to, true)
    } else {
        (scope.from, scope.to, false)
    }
}

/// The panel's title: "Top pages, last 15 minutes", or for a range over an hour "Top pages,
/// last hour of it only (14:00–15:00)".
pub fn title(by: TopBy, scope: &Scope) -> String {
    let what = match by {
        TopBy::Wiki => "Top wikis",
        TopBy::Page => "Top pages",
        TopBy::User => "Top editors",
    };
    match ranked_span(by, scope) {
        (from, to, true) => format!(
            "{what}, last hour of the range only ({}–{}): zoom in to rank another hour",
            local_time::clock(from, false),
            local_time::clock(to, false)
        ),
        _ => format!("{what}, {}", scope.label),
    }
}

#[component]
pub fn TopPanel(store: Store, by: TopBy, id: &'static str) -> impl IntoView {
    let every = if by == TopBy::Wiki {
        REFRESH_MS
    } else {
        NAMES_REFRESH_MS
    };
    let scope = visible_scope(store, every);
    let key = Memo::new(move |_| Some(scope.get()));
    let load = RwSignal::new(Load::<TopList>::Idle);
    let refresh = |a: &Scope, b: &Scope| a.filter == b.filter && a.label == b.label;
    fetch_into(key, load, refresh, move |s: Scope| async move {
        let (from, to, _) = ranked_span(by, &s);
        requests::top(by, from, to, SHOWN, &s.filter).await
    });
    let heading = move || scope.with(|s| title(by, s));
    let items = move || load.with(|l| l.ready().map_or_else(Vec::new, |t| t.items.clone()));
    let max = move || {
        load.with(|l| {
            l.ready()
                .and_then(|t| t.items.first().map(|i| i.1))
                .unwrap_or(1)
                .max(1)
        })
    };
    let note = move || {
        load.with(|l| {
            l.ready().map(|t| {
                let mut s = format!("{} edits in all, {} distinct", t.total, t.distinct);
                if t.seconds_without_breakdown > 0 {
                    s.push_str(&format!(
                        "; {} seconds of the range were counted without a breakdown and are not in these numbers",
                        t.seconds_without_breakdown
                    ));
                }
                if let Some(e) = t.earliest.filter(|e| e.0 > t.from.0) {
                    s.push_str(&format!(
                        "; the relay holds them from {} on, earlier ones are not counted",
                        local_time::clock(e.0, true)
                    ));
                }
                s
            })
        })
    };
    let empty = move || load.with(|l| l.ready().is_some_and(|t| t.items.is_empty()));
    view! {
        <section class="card top-panel" aria-labelledby=format!("{id}-title")>
            <h2 id=format!("{id}-title")>{heading}</h2>
            <LoadLine id=match by { TopBy::Wiki => "top-wikis-status", TopBy::Page => "top-pages-status", TopBy::User => "top-users-status" } what="the ranking" status=status_of(load) />
            <Show when=empty>
                <p class="muted">"No edits in this range under this filter."</p>
            </Show>
            <ol id=id class="bars" data-state=move || load.with(|l| l.state())>
                <For each=items key=|(name, count)| (name.clone(), *count) let((name, count))>
                    <li data-name=name.clone() data-wiki=(by == TopBy::Wiki).then(|| name.clone()) data-count=count>
                        {if by == TopBy::Wiki {
                            let wiki = name.clone();
                            view! {
                                <button
                                    type="button"
                                    class="bar-label link"
                                    title=format!("count only {wiki}")
                                    on:click=move |_| edit_filter(store, |f| {
                                        f.wikis = [wiki.clone()].into();
                                    })
                                >
                                    {name.clone()}
                                </button>
                            }
                                .into_any()
                        } else {
                            view! { <span class="bar-label">{name.clone()}</span> }.into_any()
                        }}
                        <span class="bar-value">{count}</span>
                        <meter
                            class="bar"
                            min="0"
                            max="100"
                            value=move || (count as f64 / max() as f64 * 100.0).round() as u32
                            aria-hidden="true"
                        ></meter>
                    </li>
                </For>
            </ol>
            <p class="muted small" id=format!("{id}-note")>{note}</p>
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_fixtures::T0;
    use wire::Filter;

    fn scope(minutes: i64) -> Scope {
        Scope {
            from: T0 - minutes * 60_000,
            to: T0,
            filter: Filter::all(),
            live: true,
            label: "the range".to_owned(),
        }
    }

    #[test]
    fn pages_and_editors_rank_the_last_hour_of_a_longer_range_and_say_so() {
        assert_eq!(
            ranked_span(TopBy::Page, &scope(60)),
            (T0 - 3_600_000, T0, false)
        );
        assert_eq!(
            ranked_span(TopBy::User, &scope(360)),
            (T0 - 3_600_000, T0, true)
        );
        assert_eq!(
            ranked_span(TopBy::Wiki, &scope(360)),
            (T0 - 360 * 60_000, T0, false)
        );
        assert!(title(TopBy::User, &scope(360)).contains("last hour of the range only"));
        assert_eq!(title(TopBy::Page, &scope(15)), "Top pages, the range");
    }
}
