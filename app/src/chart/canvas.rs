//! Drawing the edits-per-second chart onto a canvas with plotters.
//!
//! The canvas is drawn in device pixels (the caller sizes its backing store to CSS size ×
//! `devicePixelRatio`), so every length here is scaled by `dpr` to look the same on any
//! screen and stay sharp on HiDPI ones.

use plotters::coord::combinators::BindKeyPoints;
use plotters::prelude::*;
use plotters_canvas::CanvasBackend;
use wasm_bindgen::JsCast;
use web_sys::{CanvasRenderingContext2d, HtmlCanvasElement};
use wire::Bucket;

use crate::chart::envelope::{self, Pixel};
use crate::chart::point::Point;
use crate::chart::theme::Theme;
use crate::chart::y_axis::{y_ticks, y_top};
use crate::chart::{bands, history_start, source_gaps, time_axis};
use crate::error::AppError;
use crate::local_time;

/// What one redraw shows.
#[derive(Debug, Clone, Copy)]
pub struct Frame<'a> {
    /// Oldest first, one per second the relay sent.
    pub points: &'a [Point],
    /// The visible time range, UTC ms.
    pub from: i64,
    pub to: i64,
    /// Humans and bots stacked instead of the total.
    pub split: bool,
    /// Buckets to draw instead of `points`, oldest first (see [`bands`]).
    pub bands: &'a [Bucket],
    /// Where the relay's history starts, to be marked (see [`history_start::marker`]).
    pub history_starts: Option<i64>,
}

/// Splits `points` where a second is missing, so a line is never drawn across seconds the
/// relay did not send.
pub fn runs(points: &[Point]) -> Vec<&[Point]> {
    let mut out = Vec::new();
    let mut begin = 0;
    for i in 1..=points.len() {
        if i == points.len() || points[i].start - points[i - 1].start != 1_000 {
            if begin < i {
                out.push(&points[begin..i]);
            }
            begin = i;
        }
    }
    out
}

/// CSS pixels left of the plot (the y labels) and right of it; pointer positions on the
/// canvas are mapped to instants with them.
pub const LEFT_MARGIN_CSS: f64 = 48.0;
pub const RIGHT_MARGIN_CSS: f64 = 16.0;
/// Below this many CSS pixels per second the line is drawn as pixel columns (see
/// [`crate::chart::envelope`]); above it, as a stroked polyline, whose slopes look better up
/// close.
const DENSE_BELOW_CSS_PX_PER_SECOND: f64 = 2.0;
/// Column count cap for the dense drawing (see where `column_width` is chosen).
const MAX_COLUMNS: i32 = 2_000;
/// Vertices per stroked piece of the polyline.
const STROKE_PIECE: usize = 50;

fn chart_error(e: impl std::fmt::Display) -> AppError {
    AppError::Chart(e.to_string())
}

pub fn css_colour(c: RGBAColor) -> String {
    let RGBAColor(r, g, b, a) = c;
    format!("rgba({r},{g},{b},{a})")
}

fn px(v: f64, dpr: f64) -> u32 {
    (v * dpr).round().max(1.0) as u32
}

pub fn draw(
    canvas: &HtmlCanvasElement,
    frame: &Frame,
    theme: &Theme,
    dpr: f64,
) -> Result<(), AppError> {
    let (w, h) = (canvas.width(), canvas.height());
    if w == 0 || h == 0 {
        return Ok(());
    }
    // plotters cannot clear to transparent (it skips fully transparent fills), and the card
    // behind the canvas supplies the background colour.
    let ctx: CanvasRenderingContext2d = canvas
        .get_context("2d")
        .ok()
        .flatten()
        .and_then(|c| c.dyn_into().ok())
        .ok_or_else(|| chart_error("no 2d context"))?;
    ctx.clear_rect(0.0, 0.0, f64::from(w), f64::from(h));

    let backend = CanvasBackend::with_canvas_object(canvas.clone())
        .ok_or_else(|| chart_error("canvas has no 2d context"))?;
    let root = backend.into_drawing_area();

    let y_label_area = px(LEFT_MARGIN_CSS - 4.0, dpr);
    let plot_width_css = (f64::from(w) / dpr - LEFT_MARGIN_CSS - RIGHT_MARGIN_CSS).max(1.0);
    // Labels with seconds ("18:20:30") need ~100 CSS px each, minute labels ~70; prefer the
    // denser minute labels whenever they suffice.
    let fit = |spacing: f64| {
        let max_labels = (plot_width_css / spacing).floor().max(2.0) as usize;
        time_axis::ticks(frame.from, frame.to, max_labels, local_time::offset_minutes)
    };
    let mut ticks = match fit(70.0) {
        t if t.with_seconds => fit(100.0),
        t => t,
    };
    let with_seconds = ticks.with_seconds;
    // A label centred on a tick near the right end would be cut off by the canvas edge: keep
    // only ticks whose half label fits into the right margin.
    let half_label_css = if with_seconds { 28.0 } else { 18.0 };
    let ms_per_css = (frame.to - frame.from) as f64 / plot_width_css;
    let last_tick = frame.to - ((half_label_css - RIGHT_MARGIN_CSS).max(0.0) * ms_per_css) as i64;
    ticks.at.retain(|&t| t <= last_tick);
    let top = y_top(if frame.bands.is_empty() {
        frame
            .points
            .iter()
            .map(|p| {
                if frame.split {
                    p.humans + p.bots
                } else {
                    p.total
                }
            })
            .max()
            .unwrap_or(0)
    } else {
        bands::max(frame.bands, frame.split)
    });

    let mut chart = ChartBuilder::on(&root)
        .margin_top(px(10.0, dpr))
        .margin_right(px(RIGHT_MARGIN_CSS, dpr))
        .margin_left(px(4.0, dpr))
        .x_label_area_size(px(24.0, dpr))
        .y_label_area_size(y_label_area)
        .build_cartesian_2d(
            (frame.from..frame.to).with_key_points(ticks.at),
            (0u64..top).with_key_points(y_ticks(top)),
        )
        .map_err(chart_error)?;

    let font = ("sans-serif", 12.0 * dpr).into_font().color(&theme.text);
    let x_fmt = move |t: &i64| local_time::clock(*t, with_seconds);
    let y_fmt = |v: &u64| v.to_string();
    chart
        .configure_mesh()
        .disable_x_mesh()
        .bold_line_style(theme.grid.stroke_width(px(1.0, dpr)))
        .axis_style(theme.axis.stroke_width(px(1.0, dpr)))
        .set_all_tick_mark_size(px(4.0, dpr))
        .label_style(font)
        .x_label_formatter(&x_fmt)
        .y_label_formatter(&y_fmt)
        .draw()
        .map_err(chart_error)?;
    chart
        .draw_series(
            source_gaps::spans(
                frame
                    .points
                    .iter()
                    .filter(|p| p.source_down)
                    .map(|p| (p.start, p.start + 1_000))
                    .chain(
                        frame
                            .bands
                            .iter()
                            .filter(|b| b.source_down)
                            .map(|b| (b.start.0, b.end.0)),
                    ),
            )
            .into_iter()
            .map(|(a, b)| Rectangle::new([(a, 0), (b, top)], theme.gap.filled())),
        )
        .map_err(chart_error)?;

    let line_width = px(2.0, dpr);
    let (x_pixels, y_pixels) = chart.plotting_area().get_pixel_range();
    // At least one CSS pixel per column (finer columns on HiDPI screens only multiply the
    // rasteriser's work, edges stay on whole device pixels and sharp either way), and no more
    // than ~2000 columns, which is already finer than an hour of seconds on a 4K screen.
    let column_width = (dpr.round() as i32)
        .max((x_pixels.len() as i32 + MAX_COLUMNS - 1) / MAX_COLUMNS)
        .max(1);
    let baseline = chart.backend_coord(&(frame.from, 0)).1;
    if let Some(at) = history_start::marker(frame.history_starts, frame.from, frame.to) {
        let x = chart.backend_coord(&(at, 0)).0;
        let label = history_start::label(at);
        let edges = (y_pixels.start, baseline, x_pixels.end);
        history_start::draw(&ctx, x, edges, &label, &css_colour(theme.text), dpr);
    }
    if !frame.bands.is_empty() {
        let y_top_px = chart.backend_coord(&(frame.from, top)).1;
        let y_of =
            |v: f64| baseline + (f64::from(y_top_px - baseline) * v / top as f64).round() as i32;
        let plot = bands::Plot {
            left: x_pixels.start,
            right: x_pixels.end,
            column_width,
            baseline,
            line_width: f64::from(line_width),
        };
        let x_of = |t: i64| chart.backend_coord(&(t, 0)).0;
        bands::draw(&ctx, frame.bands, frame.split, theme, plot, x_of, y_of);
        root.present().map_err(chart_error)?;
        return Ok(());
    }
    let finals: Vec<Point> = frame
        .points
        .iter()
        .copied()
        .filter(|p| p.is_final)
        .collect();
    // Stacked mode draws bots from zero to humans+bots first, then humans over the lower part.
    type Layer = (fn(&Point) -> u64, RGBAColor, f64);
    let layers: &[Layer] = if frame.split {
        &[
            (|p| p.humans + p.bots, theme.bots, 0.35),
            (|p| p.humans, theme.humans, 0.45),
        ]
    } else {
        &[(|p| p.total, theme.total, 0.12)]
    };
    let seconds = ((frame.to - frame.from) / 1_000).max(1) as f64;
    let dense = plot_width_css / seconds < DENSE_BELOW_CSS_PX_PER_SECOND;
    for &(value, colour, fill_alpha) in layers {
        if dense {
            let pixels = finals.iter().enumerate().map(|(i, p)| {
                let (x, y) = chart.backend_coord(&(p.start, value(p)));
                let joined = i > 0 && p.start - finals[i - 1].start == 1_000;
                Pixel { x, y, joined }
            });
            let cols = envelope::columns(pixels, x_pixels.start, column_width);
            ctx.set_fill_style_str(&css_colour(colour.mix(fill_alpha)));
            envelope::fill_below(&ctx, &cols, column_width, baseline);
            // The min–max band pale, the mean line over it in full colour.
            ctx.set_fill_style_str(&css_colour(colour.mix(0.4)));
            envelope::stroke(&ctx, &cols, column_width, f64::from(line_width));
            ctx.set_fill_style_str(&css_colour(colour));
            envelope::stroke_mean(&ctx, &cols, column_width, f64::from(line_width));
            continue;
        }
        for run in runs(&finals) {
            if let [lone] = run {
                // A second with no neighbour has no segment to stroke; a dot keeps it visible.
                chart
                    .draw_series(std::iter::once(Circle::new(
                        (lone.start, value(lone)),
                        px(1.5, dpr),
                        colour.filled(),
                    )))
                    .map_err(chart_error)?;
                continue;
            }
            chart
                .draw_series(AreaSeries::new(
                    run.iter().map(|p| (p.start, value(p))),
                    0,
                    colour.mix(fill_alpha),
                ))
                .map_err(chart_error)?;
            // Stroked in short pieces: the canvas' cost of stroking one path grows much faster
            // than its length (in Chromium's software raster a 3600-vertex path at 4K takes
            // ~60 ms, the same vertices in pieces of 50 ~5 ms).
            for piece in (0..run.len().saturating_sub(1)).step_by(STROKE_PIECE) {
                let piece = &run[piece..(piece + STROKE_PIECE + 1).min(run.len())];
                chart
                    .draw_series(LineSeries::new(
                        piece.iter().map(|p| (p.start, value(p))),
                        colour.stroke_width(line_width),
                    ))
                    .map_err(chart_error)?;
            }
        }
    }

    let values = |p: &Point| -> [Option<u64>; 2] {
        if frame.split {
            [Some(p.humans + p.bots), Some(p.humans)]
        } else {
            [Some(p.total), None]
        }
    };
    let colours = if frame.split {
        [theme.bots, theme.humans]
    } else {
        [theme.provisional; 2]
    };
    for (k, colour) in colours.into_iter().enumerate() {
        // Each segment touching a provisional second once, as one dashed polyline per
        // stretch of consecutive seconds so the dash pattern runs on unbroken.
        let mut stretch: Vec<(i64, u64)> = Vec::new();
        let mut flush = |stretch: &mut Vec<(i64, u64)>| -> Result<(), AppError> {
            let points = std::mem::take(stretch);
            if points.len() > 1 {
                chart
                    .draw_series(DashedLineSeries::new(
                        points,
                        px(4.0, dpr),
                        px(3.0, dpr),
                        colour.stroke_width(line_width),
                    ))
                    .map_err(chart_error)?;
            }
            Ok(())
        };
        for pair in frame.points.windows(2) {
            let (a, b) = (&pair[0], &pair[1]);
            let touches = !(a.is_final && b.is_final) && b.start - a.start == 1_000;
            let (Some(av), Some(bv)) = (values(a)[k], values(b)[k]) else {
                continue;
            };
            if !touches {
                flush(&mut stretch)?;
                continue;
            }
            if stretch.last() != Some(&(a.start, av)) {
                flush(&mut stretch)?;
                stretch.push((a.start, av));
            }
            stretch.push((b.start, bv));
        }
        flush(&mut stretch)?;
        for p in frame.points.iter().filter(|p| !p.is_final) {
            let Some(value) = values(p)[k] else { continue };
            chart
                .draw_series(std::iter::once(Circle::new(
                    (p.start, value),
                    px(3.5, dpr),
                    colour.stroke_width(px(1.5, dpr)),
                )))
                .map_err(chart_error)?;
        }
    }

    root.present().map_err(chart_error)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_fixtures::T0;

    fn point(sec: i64, total: u64, is_final: bool) -> Point {
        Point {
            start: T0 + sec * 1_000,
            total,
            humans: total,
            bots: 0,
            is_final,
            source_down: false,
        }
    }

    #[test]
    fn gaps_are_not_bridged() {
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
}
