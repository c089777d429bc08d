//! The long ranges, custom ranges and zooms in a browser: the dashboard mounted over a
//! hand-filled store (no relay), acted on through its DOM as a person would.
//! `CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner \
//!  cargo test -p app --target wasm32-unknown-unknown --test history_web`

use app::Dashboard;
use app::local_time;
use app::range::Range;
use app::store::Store;
use app::view::{Span, View};
use leptos::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;
use web_sys::{Element, HtmlElement, HtmlFormElement, HtmlInputElement, PointerEvent};
use wire::{Bucket, Millis, TypeCounts, WindowRecord};

#[allow(dead_code, reason = "each test file uses its own share")]
mod dom;
use dom::{attr, fresh_root, one, settle, text};

wasm_bindgen_test_configure!(run_in_browser);

/// 2024-02-06T16:58:10Z, a second boundary.
const T0: i64 = 1_707_238_690_000;
const HOUR: i64 = 3_600_000;

fn window(sec: i64, count: u64) -> WindowRecord {
    let start = Millis(T0 + sec * 1_000);
    let mut w = WindowRecord::empty(start, start.plus(1_000), true);
    w.count = count;
    w.humans = count * 2 / 3;
    w.bots = count - w.humans;
    w
}

/// A final minute the relay rolled up: 600 edits, its busiest second `max`.
fn minute(start: i64, max: u64) -> Bucket {
    Bucket {
        start: Millis(start),
        end: Millis(start + 60_000),
        seconds: 60,
        is_final: true,
        count: 600,
        min: 5,
        max,
        mean: 10.0,
        by_type: TypeCounts {
            edit: 600,
            ..TypeCounts::default()
        },
        bots: 200,
        humans: 400,
        source_down: false,
    }
}

fn view_of(store: Store) -> View {
    store
        .focus
        .with_untracked(|f| f.view(store.range.get_untracked()))
}

/// A pointer event at `share` of the way across the chart's plot.
fn pointer(canvas: &Element, kind: &str, share: f64) {
    let rect = canvas.get_bounding_client_rect();
    let plot = rect.width() - 48.0 - 16.0;
    let init = web_sys::PointerEventInit::new();
    init.set_bubbles(true);
    init.set_button(0);
    init.set_pointer_id(1);
    init.set_client_x(((rect.left() + 48.0 + plot * share).round()) as i32);
    init.set_client_y((rect.top() + rect.height() / 2.0) as i32);
    let ev = PointerEvent::new_with_event_init_dict(kind, &init).unwrap();
    canvas.dispatch_event(&ev).unwrap();
}

fn drag(canvas: &Element, from: f64, to: f64) {
    pointer(canvas, "pointerdown", from);
    pointer(canvas, "pointermove", (from + to) / 2.0);
    pointer(canvas, "pointermove", to);
}

#[wasm_bindgen_test]
async fn a_day_loads_draws_as_buckets_and_names_its_busiest_second() {
    let store = Store::new();
    store.merge_all((0..3_600).map(|i| window(i, 20 + (i % 7) as u64)).collect());
    let root = fresh_root();
    let handle = leptos::mount::mount_to(root.clone(), move || view! { <Dashboard store=store /> });
    settle().await;
    assert_eq!(text(&root, "#history-status"), "");

    let day: HtmlElement = one(&root, "button[data-range='1440']").unchecked_into();
    assert!(attr(&root, "button[data-range='1440']", "aria-label").contains("24 h"));
    day.click();
    settle().await;
    assert_eq!(store.range.get_untracked(), Range::TwentyFourHours);
    assert_eq!(
        attr(&root, "button[data-range='1440']", "aria-pressed"),
        "true"
    );
    assert_eq!(text(&root, "#history-status"), "loading 24 h…");
    // Meanwhile the hour the dashboard holds is drawn, in minutes.
    assert_eq!(attr(&root, "canvas#chart", "data-step"), "60");
    assert_eq!(attr(&root, "canvas#chart", "data-points"), "60");

    // The relay answers: its history starts 12 hours into the day.
    let fetch = store.history.with_untracked(|h| h.pending()).unwrap();
    assert_eq!(fetch.step, 60);
    assert_eq!(fetch.to, T0 + 50_000, "only what the series does not cover");
    let earliest = fetch.from + 12 * HOUR;
    let buckets: Vec<Bucket> = (0..(fetch.to - earliest) / 60_000)
        .map(|k| minute(earliest + k * 60_000, if k == 100 { 900 } else { 20 }))
        .collect();
    let busiest = earliest + 100 * 60_000;
    let n = buckets.len();
    store.series.with_untracked(|s| {
        store
            .history
            .update(|h| assert!(h.receive(fetch.generation, buckets, Some(Millis(earliest)), s)))
    });
    settle().await;
    assert_eq!(text(&root, "#history-status"), "");
    assert_eq!(
        attr(&root, "canvas#chart", "data-points"),
        (n + 60).to_string()
    );
    assert_eq!(text(&root, "#peak-value"), "900");
    assert!(text(&root, "#peak-label").contains("last 24 hours"));
    let when = format!(
        "between {} and {}",
        local_time::clock(busiest, false),
        local_time::clock(busiest + 60_000, false)
    );
    assert_eq!(text(&root, "#peak-note"), when);
    assert!(
        text(&root, "#chart-summary").contains(&format!("highest 900 {when}.")),
        "{}",
        text(&root, "#chart-summary")
    );
    assert!(
        text(&root, "#history-start").starts_with(&format!(
            "history starts {}",
            local_time::clock(earliest, false)
        )),
        "{}",
        text(&root, "#history-start")
    );
    // The 1-minute figures are what they were.
    let mean = (3_540..3_600).map(|i| 20.0 + (i % 7) as f64).sum::<f64>() / 60.0;
    assert_eq!(text(&root, "#avg-value"), format!("{mean:.1}"));

    // A failed fetch says why and can be tried again.
    store
        .series
        .with_untracked(|s| store.history.update(|h| h.refetch(s)));
    let again = store.history.with_untracked(|h| h.pending()).unwrap();
    store
        .history
        .update(|h| assert!(h.fail(again.generation, "HTTP 502 Bad Gateway".into())));
    settle().await;
    assert!(text(&root, "#history-error").contains("HTTP 502 Bad Gateway"));
    assert_eq!(
        attr(&root, "canvas#chart", "data-points"),
        (n + 60).to_string(),
        "kept"
    );
    let retry: HtmlElement = one(&root, "#history-retry").unchecked_into();
    retry.click();
    settle().await;
    assert!(root.query_selector("#history-error").unwrap().is_none());
    assert_eq!(text(&root, "#history-status"), "loading 24 h…");
    let retried = store.history.with_untracked(|h| h.pending()).unwrap();
    assert!(retried.generation > again.generation);

    drop(handle);
    root.remove();
}

#[wasm_bindgen_test]
async fn drag_zooms_in_double_click_and_reset_zoom_go_back() {
    let store = Store::new();
    store.merge_all((0..3_600).map(|i| window(i, 10 + (i % 5) as u64)).collect());
    store.range.set(Range::SixtyMinutes);
    let root = fresh_root();
    let handle = leptos::mount::mount_to(root.clone(), move || view! { <Dashboard store=store /> });
    settle().await;
    let canvas = one(&root, "canvas#chart");
    assert_eq!(attr(&root, "canvas#chart", "data-points"), "3600");
    assert!(root.query_selector("#reset-zoom").unwrap().is_none());

    // A click is not a zoom.
    pointer(&canvas, "pointerdown", 0.5);
    pointer(&canvas, "pointerup", 0.5);
    settle().await;
    assert!(!store.focus.with_untracked(|f| f.zoomed()));

    // Dragging over the middle half shows the selection, then zooms into it.
    drag(&canvas, 0.25, 0.75);
    settle().await;
    let selection = one(&root, "#zoom-selection");
    let width = selection
        .unchecked_ref::<HtmlElement>()
        .get_bounding_client_rect()
        .width();
    let plot = canvas.get_bounding_client_rect().width() - 64.0;
    assert!((width - plot / 2.0).abs() < 2.0, "{width} of {plot}");
    pointer(&canvas, "pointerup", 0.75);
    settle().await;
    assert!(root.query_selector("#zoom-selection").unwrap().is_none());
    let View::Fixed(half) = view_of(store) else {
        panic!("not zoomed")
    };
    let end = T0 + 3_600_000;
    // To the pixel: a default 300 px canvas shows about 15 s per pixel.
    assert!((half.from - (end - 2_700_000)).abs() <= 16_000, "{half:?}");
    assert!((half.to - (end - 900_000)).abs() <= 16_000, "{half:?}");
    // Half an hour is 1,800 seconds, over 1,500: 2-second buckets, all from the series.
    assert_eq!(attr(&root, "canvas#chart", "data-step"), "2");
    assert_eq!(text(&root, "#history-status"), "");
    assert!(
        text(&root, "#peak-label").contains('–'),
        "{}",
        text(&root, "#peak-label")
    );
    assert_eq!(
        attr(&root, "button[data-range='60']", "aria-pressed"),
        "false"
    );

    // Zoomed into a minute: single seconds, drawn as seconds.
    drag(&canvas, 0.0, 1.0 / 30.0);
    pointer(&canvas, "pointerup", 1.0 / 30.0);
    settle().await;
    assert_eq!(attr(&root, "canvas#chart", "data-step"), "1");
    let View::Fixed(minute) = view_of(store) else {
        panic!("not zoomed")
    };
    assert_eq!(
        attr(&root, "canvas#chart", "data-points"),
        ((minute.to - minute.from) / 1_000).to_string()
    );

    // A double-click steps back one zoom, "Reset zoom" all of them.
    let init = web_sys::MouseEventInit::new();
    init.set_bubbles(true);
    let dblclick = web_sys::MouseEvent::new_with_mouse_event_init_dict("dblclick", &init).unwrap();
    canvas.dispatch_event(&dblclick).unwrap();
    settle().await;
    assert_eq!(view_of(store), View::Fixed(half));
    let reset: HtmlElement = one(&root, "#reset-zoom").unchecked_into();
    reset.click();
    settle().await;
    assert_eq!(view_of(store), View::Live(Range::SixtyMinutes));
    assert!(root.query_selector("#reset-zoom").unwrap().is_none());
    assert_eq!(
        attr(&root, "button[data-range='60']", "aria-pressed"),
        "true"
    );
    assert_eq!(attr(&root, "canvas#chart", "data-points"), "3600");

    drop(handle);
    root.remove();
}

#[wasm_bindgen_test]
async fn a_custom_range_is_checked_and_then_shown() {
    let store = Store::new();
    store.merge_all((0..600).map(|i| window(i, 3)).collect());
    let root = fresh_root();
    let handle = leptos::mount::mount_to(root.clone(), move || view! { <Dashboard store=store /> });
    settle().await;
    let set = |id: &str, ms: i64| {
        let input: HtmlInputElement = one(&root, id).unchecked_into();
        input.set_value(&local_time::input_value(ms, local_time::offset_minutes));
    };
    let form: HtmlFormElement = one(&root, ".custom-range form").unchecked_into();

    set("#custom-from", T0 + 300_000);
    set("#custom-to", T0 + 120_000);
    form.request_submit().unwrap();
    settle().await;
    assert!(text(&root, "#custom-error").contains("before the end"));
    assert_eq!(attr(&root, "#custom-from", "aria-invalid"), "true");
    assert_eq!(view_of(store), View::Live(Range::FiveMinutes));

    let now = js_sys::Date::now() as i64;
    set("#custom-from", now - HOUR);
    set("#custom-to", now + 2 * HOUR);
    form.request_submit().unwrap();
    settle().await;
    assert!(text(&root, "#custom-error").contains("future"));

    // Whole minutes, as the inputs give them: T0 + 50 s and 6 minutes later.
    set("#custom-from", T0 + 50_000);
    set("#custom-to", T0 + 410_000);
    form.request_submit().unwrap();
    settle().await;
    assert_eq!(text(&root, "#custom-error"), "");
    let span = Span::new(T0 + 50_000, T0 + 410_000).unwrap();
    assert_eq!(view_of(store), View::Fixed(span));
    assert!(!store.focus.with_untracked(|f| f.zoomed()), "not a zoom");
    assert_eq!(attr(&root, "canvas#chart", "data-step"), "1");
    assert_eq!(attr(&root, "canvas#chart", "data-points"), "360");
    assert_eq!(
        text(&root, "#history-status"),
        "",
        "the series holds it all"
    );

    drop(handle);
    root.remove();
}
