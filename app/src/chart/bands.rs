//! Buckets (long ranges, custom ranges, zooms) drawn as the pale min–max band of their seconds
//! under the mean line, the same picture [`crate::chart::envelope`] makes of dense seconds, so
//! switching from 1 h to 6 h changes the detail, not the look. y is edits per second: a
//! bucket's mean is its count over its seconds, its band runs from its quietest second to its
//! busiest.

use plotters::style::{Color, RGBAColor};
use web_sys::CanvasRenderingContext2d;
use wire::Bucket;

use crate::chart::canvas::css_colour;
use crate::chart::envelope::{self, Band, Column};
use crate::chart::theme::Theme;

/// What the y-axis must reach: the busiest second of any bucket, or with `split` (which draws
/// means only) the highest mean.
pub fn max(buckets: &[Bucket], split: bool) -> u64 {
    let value = |b: &Bucket| if split { b.mean.ceil() as u64 } else { b.max };
    buckets.iter().map(value).max().unwrap_or(0)
}

/// Device-pixel geometry of the plot.
#[derive(Debug, Clone, Copy)]
pub struct Plot {
    /// The plot's columns `[left, right)`.
    pub left: i32,
    pub right: i32,
    pub column_width: i32,
    pub baseline: i32,
    pub line_width: f64,
}

/// Per bucket: the bottom and top of its band and its mean, in edits per second.
type Layer = fn(&Bucket) -> (f64, f64, f64);

pub fn draw(
    ctx: &CanvasRenderingContext2d,
    buckets: &[Bucket],
    split: bool,
    theme: &Theme,
    plot: Plot,
    x_of: impl Fn(i64) -> i32,
    y_of: impl Fn(f64) -> i32,
) {
    // Split, a bucket only says how many of its edits were humans' and bots', not how they
    // were spread over its seconds: the layers are means, without a band.
    let layers: &[(Layer, RGBAColor, f64)] = if split {
        &[
            (
                |b| {
                    let m = b.mean;
                    (m, m, m)
                },
                theme.bots,
                0.35,
            ),
            (
                |b| {
                    let m = b.humans as f64 / f64::from(b.seconds.max(1));
                    (m, m, m)
                },
                theme.humans,
                0.45,
            ),
        ]
    } else {
        &[(|b| (b.min as f64, b.max as f64, b.mean), theme.total, 0.12)]
    };
    for &(layer, colour, fill_alpha) in layers {
        let cols = columns(buckets, layer, plot, &x_of, &y_of);
        ctx.set_fill_style_str(&css_colour(colour.mix(fill_alpha)));
        envelope::fill_below(ctx, &cols, plot.column_width, plot.baseline);
        ctx.set_fill_style_str(&css_colour(colour.mix(0.4)));
        envelope::stroke(ctx, &cols, plot.column_width, plot.line_width);
        ctx.set_fill_style_str(&css_colour(colour));
        envelope::stroke_mean(ctx, &cols, plot.column_width, plot.line_width);
    }
}

fn columns(
    buckets: &[Bucket],
    layer: Layer,
    plot: Plot,
    x_of: &impl Fn(i64) -> i32,
    y_of: &impl Fn(f64) -> i32,
) -> Vec<Column> {
    let bands = buckets.iter().enumerate().filter_map(|(i, b)| {
        let (low, high, mean) = layer(b);
        let (x0, x1) = (
            x_of(b.start.0).max(plot.left),
            x_of(b.end.0).min(plot.right),
        );
        let joined = i > 0 && buckets[i - 1].end == b.start;
        (x0 < x1).then(|| Band {
            x0,
            x1,
            top: y_of(high),
            bottom: y_of(low),
            mean: y_of(mean),
            joined,
        })
    });
    envelope::band_columns(bands, plot.left, plot.column_width)
}
