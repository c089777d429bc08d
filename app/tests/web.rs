//! Component and state tests, run in headless Chromium:
//! `CHROMEDRIVER=/usr/bin/chromedriver CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner \
//!  cargo test -p app --target wasm32-unknown-unknown`

use app::Dashboard;
use app::chart::canvas::{Point, runs, y_ticks, y_top};
use app::chart::envelope::{Column, Pixel, columns, stroke};
use app::chart::theme::parse_colour;
use app::chart::time_axis::ticks;
use app::error::AppError;
use app::headline::{Peak, stats, top_wikis};
use app::health_panel::stage_rows;
use app::range::Range;
use app::relay::reconnect::{
    BACKOFF_CAP_MS, Connection, LinkState, OFFLINE_AFTER_FAILURES, SILENCE_MS, backoff_ms,
};
use app::relay::stream_event::{StreamEvent, decode, parse_id};
use app::series::{Merge, RETENTION_MS, Series};
use app::store::Store;
use gloo_timers::future::TimeoutFuture;
use leptos::prelude::*;
use plotters::style::RGBAColor;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;
use web_sys::{Element, HtmlElement};
use wire::{Health, Millis, Status, WindowRecord};

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

fn filled(seconds: i64, count: impl Fn(i64) -> u64) -> Series {
    let mut s = Series::new();
    for sec in 0..seconds {
        s.merge(window(sec, count(sec), true, 0));
    }
    s
}

// ---- series: backfill + live merge, revisions ---------------------------------------------

#[wasm_bindgen_test]
fn backfill_then_live_merge_is_idempotent_on_overlap() {
    let mut s = Series::new();
    let backfill: Vec<_> = (0..120)
        .map(|i| window(i, 10 + i as u64, true, 0))
        .collect();
    assert_eq!(s.merge_all(backfill.clone()), 120);
    assert_eq!(s.len(), 120);

    // The stream opened with ?since= replays the newest backfilled second: no change.
    assert_eq!(s.merge(backfill[119].clone()), Merge::Unchanged);
    assert_eq!(s.merge_all(backfill), 0);

    // Live: the open second arrives provisional, several times, growing.
    assert_eq!(s.merge(window(120, 3, false, 0)), Merge::Inserted);
    assert_eq!(s.merge(window(120, 7, false, 0)), Merge::Replaced);
    assert_eq!(s.len(), 121);
    let newest = s.newest().unwrap();
    assert_eq!((newest.count, newest.is_final), (7, false));
    // The newest *final* second is still the backfilled one.
    assert_eq!(s.newest_final().unwrap().start, Millis(T0 + 119_000));

    // The final value replaces the provisional one.
    assert_eq!(s.merge(window(120, 9, true, 0)), Merge::Replaced);
    let w = s.get(Millis(T0 + 120_000)).unwrap();
    assert_eq!((w.count, w.is_final), (9, true));
    assert_eq!(s.newest_final().unwrap().start, Millis(T0 + 120_000));
}

#[wasm_bindgen_test]
fn late_revisions_replace_and_older_values_do_not_come_back() {
    let mut s = Series::new();
    s.merge(window(0, 5, false, 0));
    s.merge(window(0, 10, true, 0));
    assert_eq!(
        s.merge(window(0, 12, true, 1)),
        Merge::Replaced,
        "late revision"
    );
    assert_eq!(s.get(Millis(T0)).unwrap().count, 12);
    assert_eq!(s.get(Millis(T0)).unwrap().revision, 1);

    // A replay of revision 0 (e.g. after a reconnect) must not undo revision 1 ...
    assert_eq!(s.merge(window(0, 10, true, 0)), Merge::Stale);
    // ... nor may a stray provisional value undo a final one.
    assert_eq!(s.merge(window(0, 4, false, 0)), Merge::Stale);
    assert_eq!(s.get(Millis(T0)).unwrap().count, 12);

    // Same revision re-sent with a different value: the latest received wins.
    assert_eq!(s.merge(window(0, 13, true, 1)), Merge::Replaced);
    assert_eq!(s.get(Millis(T0)).unwrap().count, 13);
}

#[wasm_bindgen_test]
fn keeps_exactly_the_last_hour() {
    let s = filled(3_700, |_| 1);
    assert_eq!(s.len(), (RETENTION_MS / 1_000) as usize);
    assert_eq!(s.iter().next().unwrap().start, Millis(T0 + 100_000));
    let mut s = s;
    assert_eq!(s.merge(window(50, 1, true, 1)), Merge::TooOld);
    assert_eq!(s.len(), 3_600);
}

#[wasm_bindgen_test]
fn store_merge_only_wakes_subscribers_on_change() {
    let store = Store::new();
    assert_eq!(store.merge(window(0, 1, true, 0)), Merge::Inserted);
    assert_eq!(store.merge(window(0, 1, true, 0)), Merge::Unchanged);
    let resync = store.apply(
        StreamEvent::Count(window(1, 2, false, 0)),
        Some(41),
        1_000.0,
    );
    assert_eq!(resync, None);
    assert_eq!(store.series.with_untracked(|s| s.len()), 2);
    assert_eq!(
        store.connection.with_untracked(|c| c.last_event_id()),
        Some(41)
    );
    assert_eq!(
        store.apply(StreamEvent::Resync(17), Some(42), 1_100.0),
        Some(17)
    );
}

// ---- range switching ---------------------------------------------------------------------

#[wasm_bindgen_test]
fn range_selects_the_trailing_seconds() {
    let mut s = filled(3_600, |i| i as u64);
    for (range, n) in [
        (Range::OneMinute, 60),
        (Range::FiveMinutes, 300),
        (Range::FifteenMinutes, 900),
        (Range::SixtyMinutes, 3_600),
    ] {
        let in_range: Vec<_> = s.in_range(range).collect();
        assert_eq!(in_range.len(), n, "{range:?}");
        assert_eq!(in_range.last().unwrap().start, Millis(T0 + 3_599_000));
        assert_eq!(in_range[0].start, Millis(T0 + (3_600 - n as i64) * 1_000));
    }
    // The open second moves the range's end with it.
    s.merge(window(3_600, 1, false, 0));
    let one: Vec<_> = s.in_range(Range::OneMinute).collect();
    assert_eq!(one.len(), 60);
    assert!(!one.last().unwrap().is_final);
    assert_eq!(one[0].start, Millis(T0 + 3_541_000));

    // The peak follows the range: the biggest value lies 10 minutes back.
    let mut s = filled(3_600, |i| if i == 3_000 { 500 } else { 5 });
    assert_eq!(stats(&s, Range::FiveMinutes).peak.unwrap().count, 5);
    assert_eq!(
        stats(&s, Range::FifteenMinutes).peak,
        Some(Peak {
            count: 500,
            start: T0 + 3_000_000,
            is_final: true
        })
    );
    s.merge(window(3_600, 900, false, 0));
    let open = stats(&s, Range::OneMinute).peak.unwrap();
    assert_eq!(
        (open.count, open.is_final),
        (900, false),
        "provisional counts for peak, marked as open"
    );
}

// ---- headline -------------------------------------------------------------------------------

#[wasm_bindgen_test]
fn headline_uses_final_seconds() {
    // 120 seconds: the last 60 final ones are 1..=60 in value -> mean 30.5.
    let mut s = filled(120, |i| if i >= 60 { (i - 59) as u64 } else { 1_000 });
    s.merge(window(120, 9_999, false, 0));
    let st = stats(&s, Range::FiveMinutes);
    assert_eq!(st.now, Some(60), "latest final, not the provisional 9999");
    assert_eq!(st.avg_minute, Some(30.5));

    let mut s = Series::new();
    for sec in 0..70 {
        let mut w = window(sec, 10, true, 0);
        w.top_wikis = vec![
            ("enwiki".into(), 6),
            ("dewiki".into(), 3),
            ("frwiki".into(), 1),
        ];
        if sec >= 65 {
            w.top_wikis.push(("commonswiki".into(), 50));
        }
        s.merge(w);
    }
    let top = top_wikis(&s, 3);
    // Only the last 60 seconds count: enwiki 360, commonswiki 250, dewiki 180.
    assert_eq!(
        top,
        vec![
            ("enwiki".to_owned(), 360),
            ("commonswiki".to_owned(), 250),
            ("dewiki".to_owned(), 180)
        ]
    );
}

// ---- reconnect bookkeeping ---------------------------------------------------------------------

#[wasm_bindgen_test]
fn backoff_grows_caps_and_jitters() {
    let lows: Vec<f64> = (1..=8).map(|n| backoff_ms(n, 0.0)).collect();
    let highs: Vec<f64> = (1..=8).map(|n| backoff_ms(n, 0.999_999)).collect();
    assert_eq!(lows[..5], [250.0, 500.0, 1_000.0, 2_000.0, 4_000.0]);
    assert!(lows.windows(2).all(|w| w[1] >= w[0]));
    assert!(highs.iter().all(|&h| h <= BACKOFF_CAP_MS));
    assert_eq!(backoff_ms(30, 0.0), BACKOFF_CAP_MS / 2.0);
    assert_eq!(backoff_ms(u32::MAX, 0.999_999).round(), BACKOFF_CAP_MS);
    for n in 1..8 {
        assert!(lows[n - 1] < highs[n - 1], "jitter spreads retry {n}");
    }
}

#[wasm_bindgen_test]
fn reconnect_resumes_by_id_and_resets_on_success() {
    let mut c = Connection::new();
    assert!(c.needs_backfill());
    assert_eq!(c.stream_url(), "/v1/stream");
    c.backfilled_until(Millis(T0));
    assert_eq!(c.stream_url(), "/v1/stream?since=2024-02-06T16:58:10.000Z");

    c.attempt_started(0.0);
    assert_eq!(
        c.state(),
        LinkState::Reconnecting,
        "not live before anything arrived"
    );
    assert!(c.heard(100.0, Some(7)));
    assert!(
        !c.heard(200.0, Some(8)),
        "only the first event makes it live"
    );
    assert_eq!(c.state(), LinkState::Live);
    assert!(!c.needs_backfill());
    assert_eq!(c.stream_url(), "/v1/stream?last_event_id=8");
    // health without an id leaves the resume point alone.
    c.heard(300.0, None);
    assert_eq!(c.last_event_id(), Some(8));

    // Drop: waits grow while attempts keep failing.
    let waits: Vec<f64> = (0..3).map(|_| c.failed(0.0)).collect();
    assert_eq!(waits, [250.0, 500.0, 1_000.0]);
    while c.failures() + 1 < OFFLINE_AFTER_FAILURES {
        c.attempt_started(5_000.0);
        c.failed(0.0);
    }
    assert_eq!(c.state(), LinkState::Reconnecting);
    c.attempt_started(5_000.0);
    c.failed(0.0);
    assert_eq!(c.state(), LinkState::Offline);

    // An attempt that delivers resets the backoff and resumes where it left off.
    c.attempt_started(20_000.0);
    assert_eq!(c.stream_url(), "/v1/stream?last_event_id=8");
    c.heard(20_100.0, Some(9));
    assert_eq!((c.failures(), c.state()), (0, LinkState::Live));
    assert_eq!(c.failed(0.0), 250.0);

    // Resync: reload history, resume from the id the relay gave.
    c.resync(3);
    assert_eq!(c.stream_url(), "/v1/stream?last_event_id=3");
}

#[wasm_bindgen_test]
fn silence_is_detected() {
    let mut c = Connection::new();
    assert!(!c.is_silent(1e9), "no attempt, nothing to time out");
    c.attempt_started(1_000.0);
    assert!(!c.is_silent(1_000.0 + SILENCE_MS - 1.0));
    assert!(c.is_silent(1_000.0 + SILENCE_MS));
    assert!(
        c.unreachable(1_000.0 + SILENCE_MS),
        "never heard counts from the first attempt"
    );
    c.heard(3_000.0, None);
    assert!(!c.is_silent(3_000.0 + SILENCE_MS - 1.0));
    assert!(!c.unreachable(3_000.0 + SILENCE_MS - 1.0));
    assert!(c.is_silent(3_000.0 + SILENCE_MS));
    c.failed(0.0);
    c.attempt_started(9_000.0);
    // A new attempt restarts the watchdog but the relay is still unreachable.
    assert!(!c.is_silent(9_500.0));
    assert!(c.unreachable(9_500.0));
    c.set_browser_offline(true);
    assert_eq!(c.state(), LinkState::Offline);
}

// ---- decoding ---------------------------------------------------------------------------------

#[wasm_bindgen_test]
fn decodes_relay_events() {
    let w = window(3, 42, false, 0);
    let json = serde_json::to_string(&w).unwrap();
    assert_eq!(decode("count", &json), Ok(StreamEvent::Count(w)));
    let h = Health {
        status: Status::Degraded,
        ..Health::default()
    };
    let json = serde_json::to_string(&h).unwrap();
    assert_eq!(
        decode("health", &json),
        Ok(StreamEvent::Health(Box::new(h)))
    );
    assert!(matches!(decode("ping", ""), Err(AppError::BadEvent { .. })));
    assert_eq!(decode("resync", "1234"), Ok(StreamEvent::Resync(1234)));
    assert!(matches!(
        decode("count", "{\"start\":1}"),
        Err(AppError::BadEvent { .. })
    ));
    assert!(matches!(
        decode("resync", "soon"),
        Err(AppError::BadEvent { .. })
    ));
    assert_eq!(parse_id("17"), Some(17));
    assert_eq!(parse_id(""), None);
}

// ---- chart helpers ----------------------------------------------------------------------------

fn point(sec: i64, total: u64, is_final: bool) -> Point {
    Point {
        start: T0 + sec * 1_000,
        total,
        humans: total,
        bots: 0,
        is_final,
    }
}

#[wasm_bindgen_test]
fn chart_scale_has_headroom_and_gaps_are_not_bridged() {
    assert_eq!(y_top(&[], false), 5);
    assert_eq!(y_top(&[point(0, 43, true)], false), 50);
    assert_eq!(y_top(&[point(0, 100, true)], false), 150);
    assert_eq!(y_top(&[point(0, 800, true)], false), 1_000);
    assert_eq!(y_top(&[point(0, 870, true)], false), 1_500);
    assert!(
        y_top(&[point(0, 50, true)], false) > 50,
        "never fixed, always above the max"
    );
    for top in [5, 10, 15, 50, 60, 80, 150, 250, 400, 1_500, 6_000] {
        let t = y_ticks(top);
        assert_eq!((t[0], *t.last().unwrap()), (0, top), "{top}: {t:?}");
        assert!((4..=7).contains(&t.len()), "{top}: {t:?}");
    }

    let pts = [
        point(0, 1, true),
        point(1, 1, true),
        point(5, 1, true),
        point(6, 1, false),
    ];
    let r = runs(&pts);
    assert_eq!(r.len(), 2);
    assert_eq!((r[0].len(), r[1].len()), (2, 2));
}

#[wasm_bindgen_test]
fn dense_columns_keep_peaks_and_gaps() {
    let px = |x, y, joined| Pixel { x, y, joined };
    // Three points per pixel column, one spike, then a gap before x=7.
    let pixels = vec![
        px(0, 50, false),
        px(0, 52, true),
        px(0, 51, true),
        px(1, 50, true),
        px(1, 3, true), // the spike (small y = high value)
        px(1, 50, true),
        px(2, 49, true),
        px(7, 40, false),
        px(7, 41, true),
    ];
    let cols = columns(pixels, 0, 1);
    assert_eq!(cols.iter().map(|c| c.x).collect::<Vec<_>>(), [0, 1, 2, 7]);
    assert_eq!((cols[0].top, cols[0].bottom), (50, 52));
    assert_eq!((cols[1].top, cols[1].bottom), (3, 50), "the spike survives");
    assert_eq!((cols[2].top, cols[2].bottom), (49, 49));
    assert!(!cols[2].run_start && cols[3].run_start);
    assert_eq!(
        (cols[3].top, cols[3].bottom),
        (40, 41),
        "not joined across the gap"
    );

    // Sparser than one point per column: the columns in between follow the segment.
    let cols = columns([px(10, 100, false), px(14, 60, true)], 10, 1);
    assert_eq!(
        cols.iter().map(|c| c.x).collect::<Vec<_>>(),
        [10, 11, 12, 13, 14]
    );
    let spans: Vec<_> = cols.iter().map(|c| (c.top, c.bottom)).collect();
    assert_eq!(spans, [(90, 100), (80, 90), (70, 80), (60, 70), (60, 60)]);

    // Two-pixel columns (dpr 2) aligned to the plot's left edge.
    let cols = columns([px(11, 5, false), px(12, 7, true), px(13, 6, true)], 11, 2);
    assert_eq!(cols.iter().map(|c| c.x).collect::<Vec<_>>(), [11, 13]);
    assert_eq!((cols[0].top, cols[0].bottom), (5, 7));
}

#[wasm_bindgen_test]
fn dense_stroke_paints_each_column_span_and_nothing_else() {
    let doc = web_sys::window().unwrap().document().unwrap();
    let canvas: web_sys::HtmlCanvasElement = doc.create_element("canvas").unwrap().unchecked_into();
    canvas.set_width(12);
    canvas.set_height(20);
    let ctx: web_sys::CanvasRenderingContext2d =
        canvas.get_context("2d").unwrap().unwrap().unchecked_into();
    ctx.set_fill_style_str("#000");
    let col = |x, top, bottom, run_start| Column {
        x,
        top,
        bottom,
        run_start,
    };
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
fn time_ticks_land_on_whole_local_units() {
    let utc = |_| 0;
    let t = ticks(T0 + 400, T0 + 300_400, 6, utc);
    assert!(!t.with_seconds);
    assert_eq!(t.at.len(), 5);
    assert!(t.at.iter().all(|ms| ms % 60_000 == 0));
    // Nepal (+05:45): ten-minute labels fall on the local clock's ten minutes, not UTC's.
    let t = ticks(T0, T0 + 3_000_000, 6, |_| 345);
    assert_eq!(t.at.len(), 5);
    assert!(
        t.at.iter().all(|ms| (ms + 345 * 60_000) % 600_000 == 0),
        "{:?}",
        t.at
    );
    assert!(t.at.iter().all(|ms| ms % 600_000 != 0), "not UTC");
    let t = ticks(T0, T0 + 60_000, 7, utc);
    assert!(t.with_seconds);
    assert!(t.at.iter().all(|ms| ms % 10_000 == 0));
}

#[wasm_bindgen_test]
fn theme_colours_parse() {
    assert_eq!(parse_colour("#2563eb"), Some(RGBAColor(37, 99, 235, 1.0)));
    assert_eq!(parse_colour(" #fff "), Some(RGBAColor(255, 255, 255, 1.0)));
    assert_eq!(
        parse_colour("rgba(0, 0, 0, 0.08)"),
        Some(RGBAColor(0, 0, 0, 0.08))
    );
    assert_eq!(
        parse_colour("rgb(1 2 3 / 50%)"),
        Some(RGBAColor(1, 2, 3, 0.5))
    );
    assert_eq!(parse_colour("blue"), None);
    assert_eq!(parse_colour("#12345"), None);
}

#[wasm_bindgen_test]
fn health_rows_cover_every_stage() {
    let mut h = Health::default();
    h.bus.kind = "kafka".into();
    h.bus.status = Status::Down;
    h.bus.broker_reachable = false;
    h.gateway.rejected.insert("bad_event".into(), 3);
    h.windows.too_late = 4;
    let rows = stage_rows(&h);
    let keys: Vec<_> = rows.iter().map(|r| r.key).collect();
    assert_eq!(keys, ["source", "gateway", "bus", "windows", "clients"]);
    assert_eq!(rows[2].name, "Kafka");
    assert_eq!(rows[2].status, Status::Down);
    assert!(
        rows[2]
            .figures
            .contains(&("broker reachable", "no".to_owned()))
    );
    assert!(
        rows[1]
            .figures
            .contains(&("rejected", "3 (3 bad event)".to_owned()))
    );
    assert!(rows[3].figures.contains(&("too late", "4".to_owned())));
}

// ---- mounted component ------------------------------------------------------------------------

fn fresh_root() -> HtmlElement {
    let doc = web_sys::window().unwrap().document().unwrap();
    let el: HtmlElement = doc.create_element("div").unwrap().unchecked_into();
    doc.body().unwrap().append_child(&el).unwrap();
    el
}

fn one(root: &Element, selector: &str) -> Element {
    root.query_selector(selector)
        .unwrap()
        .unwrap_or_else(|| panic!("no {selector}"))
}

fn text(root: &Element, selector: &str) -> String {
    one(root, selector).text_content().unwrap_or_default()
}

async fn settle() {
    leptos::task::tick().await;
    // Effects and the chart's animation frame.
    TimeoutFuture::new(80).await;
}

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

    // An open second that is already the busiest is the peak, and says it is still counting.
    store.merge(window(3_600, 40, false, 0));
    settle().await;
    assert_eq!(text(&root, "#peak-value"), "40");
    assert!(text(&root, "#peak-note").ends_with(", still counting"));
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
    assert!(text(&root, "#health-panel").contains("consumer lag is 12000 records"));
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
