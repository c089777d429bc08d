//! What the explore panels rank and list: the visible range (its bounds as the chart draws
//! them) under the page's filter. A live range's bounds move on with the live edge every few
//! seconds, so the panels stay live without asking the relay every second.

use gloo_timers::callback::Interval;
use leptos::prelude::*;
use wire::Filter;

use crate::store::Store;
use crate::view::View;

/// The visible range under the filter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    pub from: i64,
    pub to: i64,
    pub filter: Filter,
    /// The range ends at the live edge and moves on with it.
    pub live: bool,
    /// What the range is called in sentences: "last 15 minutes", "14:00–15:00".
    pub label: String,
}

/// The visible range under the filter, moved on every `refresh_ms` while the view is live,
/// for as long as the calling component lives.
pub fn visible_scope(store: Store, refresh_ms: u32) -> Memo<Scope> {
    let tick = RwSignal::new(0_u64);
    let ticker = StoredValue::new_local(Some(Interval::new(refresh_ms, move || {
        if matches!(store.view(), View::Live(_)) {
            tick.try_update(|t| *t += 1);
        }
    })));
    on_cleanup(move || {
        ticker.try_update_value(Option::take);
    });
    // Whether the page holds any second yet: until it does, the live edge is the browser's
    // clock, and the first seconds move it to the relay's.
    let has_data = Memo::new(move |_| store.series.with(|s| s.newest().is_some()));
    Memo::new(move |_| {
        tick.track();
        has_data.track();
        let view = store.view();
        let (from, to) = view.bounds(store.live_end());
        Scope {
            from,
            to,
            filter: store.filter.get(),
            live: matches!(view, View::Live(_)),
            label: view.label(),
        }
    })
}
