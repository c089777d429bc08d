//! The explore components in Chromium (see `web.rs` for how these run): the view kept in the
//! page's address and brought back by back/forward, the filter bar's clicks, the chart's
//! keyboard cursor opening the edits panel with the count it expects, and the panels saying
//! so when the relay does not answer (here there is no relay: every `/v1` request fails).

use app::Dashboard;
use app::explore::address_sync::{follow_address, location_query};
use app::explore::filter_bar::FilterBar;
use app::range::Range;
use app::store::Store;
use app::view::Span;
use gloo_timers::future::TimeoutFuture;
use leptos::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;
use web_sys::{Element, HtmlInputElement, KeyboardEvent, KeyboardEventInit};
use wire::{ChangeType, Millis, WindowRecord};

#[allow(dead_code, reason = "each test file uses its own share")]
mod dom;
use dom::{fresh_root, one, settle};

wasm_bindgen_test_configure!(run_in_browser);

/// 2024-02-06T16:58:10Z, a second boundary.
const T0: i64 = 1_707_238_690_000;

fn window(sec: i64, count: u64) -> WindowRecord {
    let start = Millis(T0 + sec * 1_000);
    let mut w = WindowRecord::empty(start, start.plus(1_000), true);
    w.count = count;
    w.humans = count;
    w
}

fn set_address(query: &str) {
    let w = web_sys::window().unwrap();
    let path = w.location().pathname().unwrap();
    w.history()
        .unwrap()
        .replace_state_with_url(
            &wasm_bindgen::JsValue::NULL,
            "",
            Some(&format!("{path}?{query}")),
        )
        .unwrap();
}

#[wasm_bindgen_test]
async fn the_address_restores_the_view_and_back_brings_the_last_one_back() {
    let original = location_query();
    set_address("range=15&wiki=enwiki&bot=false&at=1707238690");
    let store = Store::new();
    let root = fresh_root();
    let handle = leptos::mount::mount_to(root, move || {
        follow_address(store);
        view! { <p>"address"</p> }
    });
    settle().await;
    assert_eq!(store.range.get_untracked(), Range::FifteenMinutes);
    let f = store.filter.get_untracked();
    assert_eq!(f.wikis.iter().collect::<Vec<_>>(), ["enwiki"]);
    assert_eq!(f.bot, Some(false));
    assert_eq!(store.selected.get_untracked(), Span::new(T0, T0 + 1_000));
    assert_eq!(store.notice.get_untracked(), None);

    // A change becomes a new entry; back brings the view before it.
    store.filter.update(|f| {
        f.types.insert(ChangeType::New);
    });
    store.selected.set(None);
    settle().await;
    assert_eq!(location_query(), "range=15&wiki=enwiki&type=new&bot=false");
    web_sys::window()
        .unwrap()
        .history()
        .unwrap()
        .back()
        .unwrap();
    TimeoutFuture::new(300).await;
    settle().await;
    assert!(store.filter.with_untracked(|f| f.types.is_empty()));
    assert_eq!(store.selected.get_untracked(), Span::new(T0, T0 + 1_000));
    assert_eq!(
        location_query(),
        "range=15&wiki=enwiki&bot=false&at=1707238690"
    );

    // A bad address shows what it can and says what it cannot.
    set_address("range=7&wiki=dewiki&type=edits");
    let w = web_sys::window().unwrap();
    w.dispatch_event(&web_sys::Event::new("popstate").unwrap())
        .unwrap();
    settle().await;
    let notice = store.notice.get_untracked().unwrap_or_default();
    assert!(
        notice.contains("range=\"7\"") && notice.contains("type=\"edits\""),
        "{notice}"
    );
    assert!(store.filter.with_untracked(|f| f.wikis.contains("dewiki")));
    drop(handle);
    set_address(&original);
}

#[wasm_bindgen_test]
async fn the_filter_bar_edits_the_filter_and_says_what_is_counted() {
    let store = Store::new();
    let root = fresh_root();
    let handle = leptos::mount::mount_to(root.clone(), move || view! { <FilterBar store=store /> });
    settle().await;
    assert_eq!(
        one(&root, "#filter-summary").text_content().unwrap(),
        "all edits"
    );
    assert!(
        root.query_selector("#filter-clear").unwrap().is_none(),
        "nothing to clear"
    );

    one(&root, "input[data-type=log]").click();
    one(&root, "button[data-bot='false']").click();
    one(&root, "#filter-articles").click();
    settle().await;
    let f = store.filter.get_untracked();
    assert_eq!(f.types.len(), 4);
    assert!(!f.types.contains(&ChangeType::Log));
    assert_eq!((f.bot, f.article), (Some(false), Some(true)));
    assert_eq!(
        one(&root, "#filter-summary").text_content().unwrap(),
        "edit, new, categorize, other · humans · articles"
    );
    let log: HtmlInputElement = one(&root, "input[data-type=log]").unchecked_into();
    assert!(!log.checked());

    // A wiki typed into the search box and Enter: picked (no list here, the name as typed).
    let search: HtmlInputElement = one(&root, "#wiki-search").unchecked_into();
    search.set_value("enwiki");
    search
        .dispatch_event(&web_sys::Event::new("input").unwrap())
        .unwrap();
    let init = KeyboardEventInit::new();
    init.set_key("Enter");
    search
        .dispatch_event(
            &KeyboardEvent::new_with_keyboard_event_init_dict("keydown", &init).unwrap(),
        )
        .unwrap();
    settle().await;
    assert!(store.filter.with_untracked(|f| f.wikis.contains("enwiki")));
    assert!(
        root.query_selector("#wiki-chips [data-wiki=enwiki]")
            .unwrap()
            .is_some()
    );
    // A name no wiki has is refused in words.
    search.set_value("en wiki");
    search
        .dispatch_event(&web_sys::Event::new("input").unwrap())
        .unwrap();
    search
        .dispatch_event(
            &KeyboardEvent::new_with_keyboard_event_init_dict("keydown", &init).unwrap(),
        )
        .unwrap();
    settle().await;
    assert!(
        one(&root, "#wiki-error")
            .text_content()
            .unwrap()
            .contains("not a wiki")
    );

    one(&root, "#filter-clear").click();
    settle().await;
    assert!(store.filter.with_untracked(|f| f.is_all()));
    assert_eq!(
        one(&root, "#filter-summary").text_content().unwrap(),
        "all edits"
    );
    drop(handle);
}

fn key(target: &Element, key: &str) {
    let init = KeyboardEventInit::new();
    init.set_key(key);
    init.set_bubbles(true);
    let ev = KeyboardEvent::new_with_keyboard_event_init_dict("keydown", &init).unwrap();
    target.dispatch_event(&ev).unwrap();
}

#[wasm_bindgen_test]
async fn the_keyboard_opens_a_seconds_edits_and_panels_say_when_the_relay_fails() {
    let store = Store::new();
    store.range.set(Range::OneMinute);
    store.merge_all((0..120).map(|i| window(i, 10 + i as u64)).collect());
    let root = fresh_root();
    let handle = leptos::mount::mount_to(root.clone(), move || view! { <Dashboard store=store /> });
    settle().await;
    let chart = one(&root, "#chart");
    assert_eq!(chart.get_attribute("tabindex").as_deref(), Some("0"));
    // The cursor starts on the newest second, steps back, and Enter opens that second.
    key(&chart, "ArrowLeft");
    key(&chart, "ArrowLeft");
    settle().await;
    assert_eq!(store.cursor.get_untracked(), Some(T0 + 118_000));
    assert!(root.query_selector("#chart-cursor").unwrap().is_some());
    assert!(
        one(&root, "#chart-cursor-label")
            .text_content()
            .unwrap()
            .contains("128 edits"),
        "second 118 holds 10 + 118"
    );
    key(&chart, "Enter");
    settle().await;
    assert_eq!(
        store.selected.get_untracked(),
        Span::new(T0 + 118_000, T0 + 119_000)
    );
    let count = one(&root, "#edits-count");
    assert_eq!(count.get_attribute("data-expected").as_deref(), Some("128"));

    // No relay behind this page: each panel says its request failed, in words.
    let deadline = js_sys::Date::now() + 5_000.0;
    for id in [
        "#edits-status",
        "#top-wikis-status",
        "#top-pages-status",
        "#live-feed-status",
    ] {
        loop {
            let el = one(&root, id);
            if el.get_attribute("data-state").as_deref() == Some("failed") {
                assert!(
                    el.text_content().unwrap().starts_with("Could not load"),
                    "{id}"
                );
                break;
            }
            assert!(js_sys::Date::now() < deadline, "{id} never said it failed");
            TimeoutFuture::new(50).await;
        }
    }
    // The live feed pauses and resumes.
    for (paused, button) in [("true", "Resume"), ("false", "Pause")] {
        one(&root, "#live-pause").click();
        settle().await;
        assert_eq!(
            one(&root, "#live-feed")
                .get_attribute("data-paused")
                .as_deref(),
            Some(paused)
        );
        assert_eq!(one(&root, "#live-pause").text_content().unwrap(), button);
    }

    key(&chart, "Escape");
    settle().await;
    assert!(root.query_selector("#edits-panel").unwrap().is_none());
    drop(handle);
}
