//! Keeps the page's address and the view in step: loading an address restores its view, every
//! change of range, zoom, filter or selected second becomes a history entry, and back and
//! forward (`popstate`) bring the view of that entry back.

use leptos::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;

use crate::explore::address::Address;
use crate::store::Store;

type EventCallback = Closure<dyn FnMut(web_sys::Event)>;

/// The view the store shows, as an address.
pub fn address_of(store: Store) -> Address {
    Address {
        range: store.range.get(),
        span: store.focus.with(|f| f.span),
        filter: store.filter.get(),
        selected: store.selected.get(),
    }
}

/// Shows `a`: range, fixed span, filter and selected second. Signals whose value is already
/// `a`'s are left alone, so nothing refetches for a part that did not change.
pub fn show(store: Store, a: Address) {
    if store.range.get_untracked() != a.range {
        store.range.set(a.range);
    }
    if store.focus.with_untracked(|f| f.span) != a.span {
        store.focus.update(|f| f.show(a.span));
    }
    if store.filter.with_untracked(|f| *f != a.filter) {
        store.filter.set(a.filter);
    }
    if store.selected.get_untracked() != a.selected {
        store.selected.set(a.selected);
    }
}

/// The address bar's query, without `?`.
pub fn location_query() -> String {
    web_sys::window()
        .and_then(|w| w.location().search().ok())
        .map(|s| s.trim_start_matches('?').to_owned())
        .unwrap_or_default()
}

/// Shows the view `query` names, and says what in it could not be read.
pub fn restore(store: Store, query: &str) {
    let (a, problems) = Address::parse(query);
    show(store, a);
    store.notice.set((!problems.is_empty()).then(|| {
        format!(
            "Part of this page's address could not be used: {}.",
            problems.join("; ")
        )
    }));
}

/// Restores the address's view now, then keeps address and view in step for as long as the
/// calling component lives.
pub fn follow_address(store: Store) {
    restore(store, &location_query());
    Effect::new(move |written: Option<()>| {
        let query = address_of(store).to_query();
        if query == location_query() {
            return;
        }
        let Some(window) = web_sys::window() else {
            return;
        };
        let path = window.location().pathname().unwrap_or_default();
        let url = format!("{path}?{query}");
        let Ok(history) = window.history() else {
            return;
        };
        // The address a page was opened with is made canonical in place; every later change is
        // a step back can undo.
        let _ = if written.is_none() {
            history.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(&url))
        } else {
            history.push_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(&url))
        };
    });

    let Some(window) = web_sys::window() else {
        return;
    };
    let on_pop = EventCallback::new(move |_| restore(store, &location_query()));
    let _ = window.add_event_listener_with_callback("popstate", on_pop.as_ref().unchecked_ref());
    let hook = StoredValue::new_local(Some(on_pop));
    on_cleanup(move || {
        if let (Some(w), Some(cb)) = (
            web_sys::window(),
            hook.try_update_value(Option::take).flatten(),
        ) {
            let _ = w.remove_event_listener_with_callback("popstate", cb.as_ref().unchecked_ref());
        }
    });
}
