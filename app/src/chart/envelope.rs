//! Dense ranges (less than two CSS pixels per second, e.g. an hour on any screen short of a
//! wall) drawn as one vertical span per pixel column instead of a stroked polyline.
//!
//! Stroking a 3600-vertex zig-zag is the slowest thing a canvas can be asked to do (50–70 ms
//! at 4K in software raster, every vertex a join), yet at one or more seconds per pixel it
//! rasterises to exactly this: in each column, the span from the lowest to the highest value
//! the line passes through there. The area below filled as one stepped polygon per run and the
//! line as one rectangle per column cost a few milliseconds, and no peak is lost the way
//! averaging or sampling would lose it.
//!
//! Over an hour of a noisy stream those spans fill most of the height, so on their own they
//! read as a solid block: the spans are drawn as a pale min–max band and the mean of each
//! column's seconds as a line over it, so both the peaks and the level stay visible.

use web_sys::CanvasRenderingContext2d;

/// A point already mapped to device pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pixel {
    pub x: i32,
    pub y: i32,
    /// Follows the previous pixel's second directly (no gap), so the two must be joined.
    pub joined: bool,
}

/// One pixel column of the line. `top` is the smallest y (the highest value).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Column {
    pub x: i32,
    pub top: i32,
    pub bottom: i32,
    /// Starts a new run (a gap precedes it), so area fills restart here.
    pub run_start: bool,
    /// Sum and number of the points (seconds) that fall in this column, for its mean.
    sum: i64,
    points: u32,
}

impl Column {
    pub fn new(x: i32, top: i32, bottom: i32, run_start: bool) -> Self {
        Column {
            x,
            top,
            bottom,
            run_start,
            sum: 0,
            points: 0,
        }
    }

    fn cover(&mut self, y: i32) {
        self.top = self.top.min(y);
        self.bottom = self.bottom.max(y);
    }

    fn add_point(&mut self, y: i32) {
        self.sum += i64::from(y);
        self.points += 1;
    }

    /// The mean y of the seconds in this column; a column the line only crosses (fewer
    /// seconds than columns) takes the middle of its span.
    pub fn mean(&self) -> i32 {
        if self.points == 0 {
            (self.top + self.bottom) / 2
        } else {
            (self.sum as f64 / f64::from(self.points)).round() as i32
        }
    }
}

/// Folds mapped points (ascending x) into columns `width` pixels wide starting at `left`.
/// Between two joined points every column the segment crosses gets the span the segment
/// covers inside it, which is what the stroked polyline would have covered.
pub fn columns(pixels: impl IntoIterator<Item = Pixel>, left: i32, width: i32) -> Vec<Column> {
    let width = width.max(1);
    let column_of = |x: i32| left + (x - left).div_euclid(width) * width;
    let mut out: Vec<Column> = Vec::new();
    let mut prev: Option<Pixel> = None;
    for p in pixels {
        let col = column_of(p.x);
        match (prev, out.last_mut()) {
            (Some(q), Some(last)) if p.joined => {
                // y of the segment q→p at x, rounded to whole pixels.
                let at = |x: i32| {
                    let t = f64::from(x - q.x) / f64::from((p.x - q.x).max(1));
                    (f64::from(q.y) + t * f64::from(p.y - q.y)).round() as i32
                };
                if last.x == col {
                    last.cover(p.y);
                    last.add_point(p.y);
                } else {
                    last.cover(at(last.x + width));
                    let mut x = last.x + width;
                    while x < col {
                        let (a, b) = (at(x), at(x + width));
                        out.push(Column::new(x, a.min(b), a.max(b), false));
                        x += width;
                    }
                    let edge = at(col);
                    let mut c = Column::new(col, p.y.min(edge), p.y.max(edge), false);
                    c.add_point(p.y);
                    out.push(c);
                }
            }
            _ => {
                let mut c = Column::new(col, p.y, p.y, true);
                c.add_point(p.y);
                out.push(c);
            }
        }
        prev = Some(p);
    }
    out
}

/// A bucket already mapped to device pixels: it covers the columns from `x0` to before `x1`,
/// its busiest second at `top`, its quietest at `bottom` and its mean at `mean`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Band {
    pub x0: i32,
    pub x1: i32,
    pub top: i32,
    pub bottom: i32,
    pub mean: i32,
    /// Follows the previous bucket directly (no gap), so the two must be joined.
    pub joined: bool,
}

/// Folds mapped buckets (ascending x) into columns `width` pixels wide starting at `left`:
/// what [`columns`] makes of seconds, for buckets the relay already reduced to their extremes
/// and mean. A column several buckets share spans all their extremes and takes the mean of
/// their means; a bucket wider than a column lends its span to each column it covers.
pub fn band_columns(bands: impl IntoIterator<Item = Band>, left: i32, width: i32) -> Vec<Column> {
    let width = width.max(1);
    let column_of = |x: i32| left + (x - left).div_euclid(width) * width;
    let mut out: Vec<Column> = Vec::new();
    for b in bands {
        let (first, last) = (column_of(b.x0), column_of(b.x1.max(b.x0 + 1) - 1));
        let mut x = first;
        while x <= last {
            match out.last_mut() {
                Some(c) if c.x == x => {
                    c.cover(b.top);
                    c.cover(b.bottom);
                }
                _ => out.push(Column::new(x, b.top, b.bottom, x == first && !b.joined)),
            }
            if let Some(c) = out.last_mut() {
                c.add_point(b.mean);
            }
            x += width;
        }
    }
    out
}

/// Strokes columns `column_width` device pixels wide as a line `thickness` device pixels
/// thick, in the current fill style: one rectangle per column, from its top to its bottom.
/// The union is exactly the stepped outline a single polygon per run would have, but Skia
/// fills an axis-aligned rectangle on a fast path, while a polygon with thousands of short
/// edges goes through its anti-aliased path scanner: measured in headless Chromium at 4K,
/// the stacked hour took 5.5–6.4 ms with rectangles against 6.8–8.2 ms with the polygon.
/// (For the tall area fill below, the opposite holds: there the rectangles were slower.)
pub fn stroke(ctx: &CanvasRenderingContext2d, cols: &[Column], column_width: i32, thickness: f64) {
    let (w, half) = (f64::from(column_width), thickness / 2.0);
    for c in cols {
        let top = f64::from(c.top) - half;
        let height = f64::from(c.bottom - c.top) + thickness;
        ctx.fill_rect(f64::from(c.x), top, w, height);
    }
}

/// Strokes the line through each column's mean, `thickness` device pixels thick, in the
/// current fill style: per column one rectangle from the previous column's mean to its own,
/// as [`stroke`] does for the spans and for the same reason.
pub fn stroke_mean(
    ctx: &CanvasRenderingContext2d,
    cols: &[Column],
    column_width: i32,
    thickness: f64,
) {
    let (w, half) = (f64::from(column_width), thickness / 2.0);
    let mut prev: Option<i32> = None;
    for c in cols {
        let mean = c.mean();
        let from = if c.run_start {
            mean
        } else {
            prev.unwrap_or(mean)
        };
        let (top, bottom) = (from.min(mean), from.max(mean));
        ctx.fill_rect(
            f64::from(c.x),
            f64::from(top) - half,
            w,
            f64::from(bottom - top) + thickness,
        );
        prev = Some(mean);
    }
}

/// Fills from each column's top down to `baseline`, run by run, in the current fill style.
/// One stepped polygon per run: far cheaper to rasterise than a rectangle per column.
pub fn fill_below(
    ctx: &CanvasRenderingContext2d,
    cols: &[Column],
    column_width: i32,
    baseline: i32,
) {
    let w = f64::from(column_width);
    let base = f64::from(baseline);
    ctx.begin_path();
    let mut open: Option<f64> = None;
    for c in cols {
        let (x, top) = (f64::from(c.x), f64::from(c.top));
        if c.run_start
            && let Some(end) = open.take()
        {
            ctx.line_to(end, base);
            ctx.close_path();
        }
        if open.is_none() {
            ctx.move_to(x, base);
        }
        ctx.line_to(x, top);
        ctx.line_to(x + w, top);
        open = Some(x + w);
    }
    if let Some(end) = open {
        ctx.line_to(end, base);
        ctx.close_path();
    }
    ctx.fill();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
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

    #[test]
    fn the_mean_line_follows_the_seconds_not_the_extremes() {
        let px = |x, y, joined| Pixel { x, y, joined };
        // One column of four seconds around y=50 with one spike to y=2.
        let pixels = [
            px(0, 50, false),
            px(0, 52, true),
            px(0, 2, true),
            px(0, 48, true),
        ];
        let cols = columns(pixels, 0, 1);
        assert_eq!(
            (cols[0].top, cols[0].bottom),
            (2, 52),
            "the band keeps the spike"
        );
        assert_eq!(cols[0].mean(), 38, "(50 + 52 + 2 + 48) / 4");
        // A column the line only crosses takes the middle of its span.
        let cols = columns([px(10, 100, false), px(12, 60, true)], 10, 1);
        assert_eq!(
            cols.iter().map(Column::mean).collect::<Vec<_>>(),
            [100, 70, 60]
        );
    }

    #[test]
    fn buckets_fold_into_columns_with_their_extremes_and_mean() {
        let band = |x0, x1, top, bottom, mean, joined| Band {
            x0,
            x1,
            top,
            bottom,
            mean,
            joined,
        };
        // Two buckets share column 0, one covers columns 1 and 2, then a gap.
        let cols = band_columns(
            [
                band(0, 1, 40, 60, 50, false),
                band(0, 1, 10, 55, 30, true),
                band(1, 3, 20, 30, 25, true),
                band(5, 6, 70, 80, 75, false),
            ],
            0,
            1,
        );
        assert_eq!(cols.iter().map(|c| c.x).collect::<Vec<_>>(), [0, 1, 2, 5]);
        assert_eq!((cols[0].top, cols[0].bottom, cols[0].mean()), (10, 60, 40));
        assert_eq!((cols[1].top, cols[1].bottom, cols[1].mean()), (20, 30, 25));
        assert_eq!((cols[2].top, cols[2].bottom), (20, 30));
        assert!(cols[0].run_start && !cols[1].run_start && !cols[2].run_start);
        assert!(cols[3].run_start, "a missing bucket is not bridged");
    }
}
