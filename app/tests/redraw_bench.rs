//! Chart redraw benchmark: a full hour (3600 seconds), and a day in 1,440 one-minute buckets,
//! drawn onto a canvas in headless Chromium, the way the dashboard's animation-frame callback
//! does it (select the range from the series, then draw). Prints median and p95; the numbers go
//! into BENCHMARKS.md.
//!
//! `CHROMEDRIVER=/usr/bin/chromedriver CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner \
//!  cargo test -p app --target wasm32-unknown-unknown --release --test redraw_bench -- --nocapture`

use app::chart::canvas::{Frame, draw};
use app::chart::point::Point;
use app::chart::theme::Theme;
use app::range::Range;
use app::series::Series;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;
use web_sys::HtmlCanvasElement;
use wire::{Bucket, Millis, WindowRecord, roll_up};

wasm_bindgen_test_configure!(run_in_browser);

const WARMUP: usize = 5;
const RUNS: usize = 60;

fn hour() -> Series {
    let t0 = 1_707_238_690_000;
    let mut s = Series::new();
    for i in 0..3_600i64 {
        let start = Millis(t0 + i * 1_000);
        let mut w = WindowRecord::empty(start, start.plus(1_000), i < 3_599);
        // Wiggly like the real thing, so the path is not a straight line the canvas can cheat on.
        w.count = 20 + ((i * 7919) % 23) as u64 + (i % 300 / 10) as u64;
        w.bots = w.count / 4;
        w.humans = w.count - w.bots;
        s.merge(w);
    }
    s
}

fn now() -> f64 {
    web_sys::window().unwrap().performance().unwrap().now()
}

/// A day of the hour's seconds repeated, in one-minute buckets.
fn day() -> Vec<Bucket> {
    let hour: Vec<WindowRecord> = hour().iter().cloned().collect();
    let day: Vec<WindowRecord> = (0..24i64)
        .flat_map(|h| {
            hour.iter().map(move |w| {
                let mut w = w.clone();
                w.start = w.start.plus(h * 3_600_000);
                w.end = w.end.plus(h * 3_600_000);
                w
            })
        })
        .collect();
    roll_up(&day, 60)
}

fn bench(css: (u32, u32), dpr: f64, split: bool, range: Range) -> (f64, f64) {
    let series = hour();
    timed(css, dpr, |canvas, theme| {
        let points: Vec<Point> = series
            .in_range(Range::SixtyMinutes)
            .map(Point::from)
            .collect();
        assert_eq!(points.len(), 3_600);
        let to = series.end().unwrap().0;
        let frame = Frame {
            points: &points,
            from: to - range.duration_ms(),
            to,
            split,
            bands: &[],
            history_starts: None,
        };
        draw(canvas, &frame, theme, dpr).unwrap();
    })
}

/// Median and p95 of `redraw` on a fresh canvas of `css` CSS px at `dpr`.
fn timed(css: (u32, u32), dpr: f64, redraw: impl Fn(&HtmlCanvasElement, &Theme)) -> (f64, f64) {
    let doc = web_sys::window().unwrap().document().unwrap();
    let canvas: HtmlCanvasElement = doc.create_element("canvas").unwrap().unchecked_into();
    doc.body().unwrap().append_child(&canvas).unwrap();
    canvas.set_width((f64::from(css.0) * dpr) as u32);
    canvas.set_height((f64::from(css.1) * dpr) as u32);
    let theme = Theme::default();

    let mut samples = Vec::with_capacity(RUNS);
    for i in 0..WARMUP + RUNS {
        let started = now();
        redraw(&canvas, &theme);
        // Make the GPU/raster work part of the measurement, not just command recording.
        let _ = canvas
            .get_context("2d")
            .unwrap()
            .unwrap()
            .unchecked_into::<web_sys::CanvasRenderingContext2d>()
            .get_image_data(0.0, 0.0, 1.0, 1.0);
        if i >= WARMUP {
            samples.push(now() - started);
        }
    }
    canvas.remove();
    samples.sort_by(f64::total_cmp);
    (samples[RUNS / 2], samples[RUNS * 95 / 100])
}

#[wasm_bindgen_test]
fn redraw_3600_points() {
    let hour = Range::SixtyMinutes;
    for (css, dpr, split, range) in [
        ((1200, 400), 1.0, false, hour),
        ((1200, 400), 1.0, true, hour),
        ((1200, 400), 2.0, false, hour),
        ((1200, 400), 2.0, true, hour),
        ((3840, 700), 1.0, false, hour),
        ((3840, 700), 1.0, true, hour),
        // Two or more CSS px per second: the stroked polyline instead of pixel columns.
        ((3840, 700), 1.0, false, Range::FifteenMinutes),
        ((1200, 400), 1.0, false, Range::FiveMinutes),
        ((1200, 400), 2.0, false, Range::FiveMinutes),
        ((1200, 400), 2.0, true, Range::FiveMinutes),
    ] {
        let (median, p95) = bench(css, dpr, split, range);
        let mode = if split {
            "humans+bots stacked"
        } else {
            "total"
        };
        console_log!(
            "redraw {} points, {}x{} CSS px at dpr {dpr}, {mode}: median {median:.2} ms, p95 {p95:.2} ms ({RUNS} runs)",
            range.duration_ms() / 1_000,
            css.0,
            css.1
        );
        assert!(median > 0.0);
    }
}

#[wasm_bindgen_test]
fn redraw_a_day_of_buckets() {
    let buckets = day();
    // The hour starts mid-minute, so the day spans one bucket more.
    assert_eq!(buckets.len(), 1_441);
    let (from, to) = (buckets[0].start.0, buckets[1_440].end.0);
    for (css, dpr) in [((1200, 400), 1.0), ((1200, 400), 2.0), ((3840, 700), 1.0)] {
        let (median, p95) = timed(css, dpr, |canvas, theme| {
            let frame = Frame {
                points: &[],
                from,
                to,
                split: false,
                bands: &buckets,
                history_starts: None,
            };
            draw(canvas, &frame, theme, dpr).unwrap();
        });
        console_log!(
            "redraw 1440 buckets, {}x{} CSS px at dpr {dpr}, total: median {median:.2} ms, p95 {p95:.2} ms ({RUNS} runs)",
            css.0,
            css.1
        );
        assert!(median > 0.0);
    }
}
