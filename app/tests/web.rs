//! The tests that need a browser (a canvas to read pixels from, a DOM to mount the dashboard
//! in), run in headless Chromium:
//! `CHROMEDRIVER=/usr/bin/chromedriver CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner \
//!  cargo test -p app --target wasm32-unknown-unknown`
//!
//! The plain logic (series, reconnects, decoding, axes, colours, health rows) is unit-tested
//! next to its code and runs natively with `cargo test -p app`.

use app::Dashboard;
use app::chart::envelope::{Column, stroke};
use app::error::AppError;
use app::range::Range;
use app::relay::reconnect::SILENCE_MS;
use app::relay::stream_event::StreamEvent;
use app::store::Store;
use leptos::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;
use web_sys::{Element, HtmlElement};
use wire::{Health, Millis, Status, WindowRecord};

#[allow(dead_code, reason = "each test file uses its own share")]
mod dom;
use dom::{fresh_root, one, settle, text};

wasm_bindgen_test_configure!(run_in_browser);

/// 2024-02-06T16:58:10Z, a second boundary.
const T0: i64 = 1_707_238_690_000;

fn window(sec: i64, count: u64, is_final: bool, revision: u32) -> WindowRecord {
    let start = Millis(T0 + sec * 1_000);
    let mut w = WindowRecord::empty(start, start.plus(1_000), is_final);
    w.count = count;
    w.revision = revision;
    w.humans = count * 2 / 3;
    w.bots = count - w.humans;
    w
}

// ---- canvas ------------------------------------------------------------------------------------

#[wasm_bindgen_test]
fn dense_stroke_paints_each_column_span_and_nothing_else() {
    let doc = web_sys::window().unwrap().document().unwrap();
    let canvas: web_sys::HtmlCanvasElement = doc.create_element("canvas").unwrap().unchecked_into();
    canvas.set_width(12);
    canvas.set_height(20);
    let ctx: web_sys::CanvasRenderingContext2d =
        canvas.get_context("2d").unwrap().unwrap().unchecked_into();
    ctx.set_fill_style_str("#000");
    let col = Column::new;
    // Two-pixel columns, a 2 px line: each column's span grows by 1 px above and below.
    let cols = [
        col(2, 5, 8, true),
        col(4, 10, 10, false),
        col(8, 2, 3, true),
    ];
    stroke(&ctx, &cols, 2, 2.0);
    let alpha = |x: f64, y: f64| ctx.get_image_data(x, y, 1.0, 1.0).unwrap().data()[3];
    for (x, y, painted) in [
        (2.0, 4.0, true),
        (3.0, 8.0, true),
        (2.0, 3.0, false),
        (2.0, 9.0, false),
        (4.0, 9.0, true),
        (5.0, 10.0, true),
        (4.0, 8.0, false),
        (4.0, 11.0, false),
        (6.0, 10.0, false), // the gap between runs stays empty
        (9.0, 1.0, true),
        (9.0, 3.0, true),
        (10.0, 2.0, false),
    ] {
        assert_eq!(alpha(x, y) == 255, painted, "pixel ({x}, {y})");
        if !painted {
            assert_eq!(alpha(x, y), 0, "pixel ({x}, {y}) untouched");
        }
    }
}

#[wasm_bindgen_test]
fn buckets_draw_nothing_before_history_starts() {
    use app::chart::canvas::{Frame, draw};
    use app::chart::theme::Theme;
    use wire::{Bucket, TypeCounts};

    let doc = web_sys::window().unwrap().document().unwrap();
    let canvas: web_sys::HtmlCanvasElement = doc.create_element("canvas").unwrap().unchecked_into();
    canvas.set_width(1_264);
    canvas.set_height(400);
    // A day of minutes from a minute boundary; the relay's history starts at its middle.
    let from = T0 - 10_000;
    let earliest = from + 720 * 60_000;
    let buckets: Vec<Bucket> = (720..1_440i64)
        .map(|k| Bucket {
            start: Millis(from + k * 60_000),
            end: Millis(from + (k + 1) * 60_000),
            seconds: 60,
            is_final: true,
            count: 1_200,
            min: 10,
            max: 40,
            mean: 20.0,
            by_type: TypeCounts::default(),
            bots: 400,
            humans: 800,
            source_down: false,
        })
        .collect();
    let frame = Frame {
        points: &[],
        from,
        to: from + 1_440 * 60_000,
        split: false,
        bands: &buckets,
        history_starts: Some(earliest),
    };
    draw(&canvas, &frame, &Theme::default(), 1.0).unwrap();
    let ctx: web_sys::CanvasRenderingContext2d =
        canvas.get_context("2d").unwrap().unwrap().unchecked_into();
    let alpha = |x: f64, y: f64| ctx.get_image_data(x, y, 1.0, 1.0).unwrap().data()[3];
    // The plot runs from x = 48 to 1,248: 1,200 px for 1,440 minutes. Just above the
    // baseline (y ≈ 376), in the first and the second half.
    let x_at = |minute: f64| 48.0 + minute / 1_440.0 * 1_200.0;
    for minute in [60.0, 400.0, 700.0] {
        assert_eq!(
            alpha(x_at(minute), 370.0),
            0,
            "minute {minute}: nothing, not a zero"
        );
    }
    for minute in [760.0, 1_000.0, 1_400.0] {
        assert!(alpha(x_at(minute), 370.0) > 0, "minute {minute}: filled");
    }
    // The marker: a line at the start of history, up the whole plot.
    assert!(alpha(x_at(720.0).floor(), 100.0) > 0);
}

// ---- mounted component ------------------------------------------------------------------------

#[wasm_bindgen_test]
async fn dashboard_renders_the_store() {
    let store = Store::new();
    store.merge_all(
        (0..3_600)
            .map(|i| window(i, 20 + (i % 7) as u64, true, 0))
            .collect(),
    );
    store.merge(window(3_600, 4, false, 0));
    let root = fresh_root();
    let handle = leptos::mount::mount_to(root.clone(), move || view! { <Dashboard store=store /> });
    settle().await;

    // Headline: latest final (3599 % 7 = 1 -> 21), not the provisional 4.
    assert_eq!(text(&root, "#now-value"), "21");
    assert_eq!(text(&root, "#peak-value"), "26");
    assert!(!text(&root, "#peak-note").contains("still counting"));
    // 60 finals ending at 3599: i%7 over 3540..=3599 -> mean of 20 + that.
    let mean = (3_540..3_600).map(|i| 20.0 + (i % 7) as f64).sum::<f64>() / 60.0;
    assert_eq!(text(&root, "#avg-value"), format!("{mean:.1}"));

    // An open second is no peak until it is final, so headline and caption agree.
    store.merge(window(3_600, 40, false, 0));
    settle().await;
    assert_eq!(text(&root, "#peak-value"), "26");
    let peak_at = text(&root, "#peak-note");
    assert!(
        text(&root, "#chart-summary").contains(&format!("highest 26 {peak_at}.")),
        "{peak_at} vs {}",
        text(&root, "#chart-summary")
    );
    store.merge(window(3_600, 4, false, 0));
    settle().await;

    // The hidden table: 60 newest seconds, newest (provisional) first.
    let rows = root.query_selector_all("#recent-values tbody tr").unwrap();
    assert_eq!(rows.length(), 60);
    let first: Element = rows.item(0).unwrap().unchecked_into();
    assert_eq!(first.get_attribute("data-final").as_deref(), Some("false"));
    assert_eq!(first.get_attribute("data-count").as_deref(), Some("4"));
    assert_eq!(
        first.get_attribute("data-start").as_deref(),
        Some(Millis(T0 + 3_600_000).to_string().as_str())
    );
    let second: Element = rows.item(1).unwrap().unchecked_into();
    assert_eq!(second.get_attribute("data-final").as_deref(), Some("true"));

    // Badge and canvas.
    assert_eq!(
        one(&root, "#connection-badge")
            .get_attribute("data-state")
            .as_deref(),
        Some("reconnecting")
    );
    let canvas = one(&root, "canvas#chart");
    assert_eq!(
        canvas.get_attribute("data-points").as_deref(),
        Some("300"),
        "5 minutes by default"
    );
    let redraw_ms =
        js_sys::Reflect::get(&web_sys::window().unwrap(), &"__editpulse_redraw_ms".into())
            .unwrap()
            .as_f64();
    assert!(redraw_ms.is_some_and(|ms| ms >= 0.0));

    // Range buttons: aria-pressed follows the click and the chart redraws with 60 minutes.
    let b60: HtmlElement = one(&root, "button[data-range='60']").unchecked_into();
    let b5 = one(&root, "button[data-range='5']");
    assert_eq!(b5.get_attribute("aria-pressed").as_deref(), Some("true"));
    assert_eq!(b60.get_attribute("aria-pressed").as_deref(), Some("false"));
    b60.click();
    settle().await;
    assert_eq!(store.range.get_untracked(), Range::SixtyMinutes);
    assert_eq!(b60.get_attribute("aria-pressed").as_deref(), Some("true"));
    assert_eq!(b5.get_attribute("aria-pressed").as_deref(), Some("false"));
    assert_eq!(canvas.get_attribute("data-points").as_deref(), Some("3600"));

    // Humans vs bots toggle.
    let split: HtmlElement = one(&root, "#split-toggle").unchecked_into();
    split.click();
    settle().await;
    assert!(store.split.get_untracked());
    assert_eq!(split.get_attribute("aria-pressed").as_deref(), Some("true"));
    assert!(text(&root, ".legend").contains("bots"));
    // Every series still drawn keeps its legend entry, and the numbers split as the chart.
    assert!(
        text(&root, ".legend").contains("so far"),
        "{}",
        text(&root, ".legend")
    );
    assert!(text(&root, "#now-split").starts_with("humans "));
    assert!(text(&root, "#avg-split").contains(" · bots "));
    assert!(
        text(&root, "#chart-summary").contains("% bots)."),
        "{}",
        text(&root, "#chart-summary")
    );

    // Live: the provisional second becomes final, the page follows.
    store.apply(StreamEvent::Count(window(3_600, 33, true, 0)), Some(5), 0.0);
    settle().await;
    assert_eq!(text(&root, "#now-value"), "33");
    let first: Element = root
        .query_selector("#recent-values tbody tr")
        .unwrap()
        .unwrap();
    assert_eq!(first.get_attribute("data-final").as_deref(), Some("true"));
    assert_eq!(first.get_attribute("data-count").as_deref(), Some("33"));
    // The chart's caption follows every new final second, so it agrees with the headline
    // (3601 falls in the same ten seconds as 3600: a caption refreshed per ten seconds of data
    // would still name the old high).
    store.apply(StreamEvent::Count(window(3_601, 50, true, 0)), Some(6), 0.0);
    settle().await;
    assert_eq!(text(&root, "#peak-value"), "50");
    assert!(
        text(&root, "#chart-summary").contains("highest 50 at "),
        "{}",
        text(&root, "#chart-summary")
    );
    assert_eq!(
        one(&root, "#connection-badge")
            .get_attribute("data-state")
            .as_deref(),
        Some("reconnecting"),
        "no attempt is running in this test, so it must not claim to be live"
    );

    drop(handle);
    assert!(
        root.query_selector("#chart").unwrap().is_none(),
        "unmounted"
    );
    root.remove();
}

#[wasm_bindgen_test]
async fn dashboard_shows_health_and_staleness() {
    let store = Store::new();
    let root = fresh_root();
    let handle = leptos::mount::mount_to(root.clone(), move || view! { <Dashboard store=store /> });
    settle().await;
    assert_eq!(text(&root, "#now-value"), "–");
    assert!(text(&root, "#headline-status").contains("waiting for data"));
    assert!(
        root.query_selector("#unreachable-banner")
            .unwrap()
            .is_none()
    );

    let mut h = Health {
        status: Status::Degraded,
        reasons: vec!["consumer lag is 12000 records".into()],
        ..Health::default()
    };
    h.bus.status = Status::Degraded;
    h.clients.connected = 3;
    store.connection.update(|c| c.attempt_started(1_000.0));
    store.apply(StreamEvent::Health(Box::new(h)), Some(1), 1_000.0);
    store.clock.set(1_500.0);
    settle().await;
    assert_eq!(
        one(&root, "#connection-badge")
            .get_attribute("data-state")
            .as_deref(),
        Some("live")
    );
    assert_eq!(text(&root, "#health-overall"), "degraded");
    // The relay's reasons read as sentences.
    assert!(text(&root, "#health-panel").contains("Consumer lag is 12000 records."));
    // Connected, but the source is unknown (an empty health report): never "live".
    let badge = text(&root, "#connection-badge");
    assert!(!badge.to_lowercase().contains("live"), "{badge}");
    let bus = one(&root, "tr[data-stage='bus']");
    assert_eq!(
        bus.get_attribute("data-status").as_deref(),
        Some("degraded")
    );
    assert!(text(&root, "tr[data-stage='clients']").contains('3'));

    // Five seconds without a word: the page says so.
    store.clock.set(1_000.0 + SILENCE_MS + 1_000.0);
    settle().await;
    assert!(text(&root, "#unreachable-banner").contains("Relay unreachable"));
    assert!(one(&root, "#health-panel").class_list().contains("stale"));
    assert_eq!(text(&root, "#health-overall"), "unknown");

    // An error is visible and dismissable.
    store.error.set(Some(AppError::Backfill("HTTP 503".into())));
    settle().await;
    assert!(text(&root, "#error-line").contains("HTTP 503"));
    let dismiss: HtmlElement = one(&root, "#error-line button").unchecked_into();
    dismiss.click();
    settle().await;
    assert!(root.query_selector("#error-line").unwrap().is_none());

    drop(handle);
    root.remove();
}
