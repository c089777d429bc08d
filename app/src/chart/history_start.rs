//! Where the relay's history starts, when that is inside the view: a range longer than what the
//! relay holds shows nothing before it (not zeros, which would read as a quiet day) and says why
//! with a marked line, "history starts 14:02".

use web_sys::CanvasRenderingContext2d;

use crate::local_time;

/// The instant to mark: the relay's earliest second, if the view starts before it and ends
/// after it. A view that lies wholly before it has nothing to mark inside it.
pub fn marker(earliest: Option<i64>, from: i64, to: i64) -> Option<i64> {
    earliest.filter(|&e| from < e && e < to)
}

/// The marker's words, on the viewer's clock.
pub fn label(at: i64) -> String {
    format!("history starts {}", local_time::clock(at, at % 60_000 != 0))
}

/// Draws the marker at device x `x` from `top` to `bottom`, its label beside it on the side
/// with room (`right` is the plot's right edge), in the current text colour `colour`.
pub fn draw(
    ctx: &CanvasRenderingContext2d,
    x: i32,
    (top, bottom, right): (i32, i32, i32),
    text: &str,
    colour: &str,
    dpr: f64,
) {
    ctx.set_fill_style_str(colour);
    ctx.fill_rect(
        f64::from(x),
        f64::from(top),
        dpr.round().max(1.0),
        f64::from(bottom - top),
    );
    ctx.set_font(&format!("{}px sans-serif", (12.0 * dpr).round()));
    // The axes leave the alignment centred; the placement below measures from the left.
    ctx.set_text_align("left");
    let width = ctx.measure_text(text).map_or(0.0, |m| m.width());
    let gap = 4.0 * dpr;
    let text_x = if f64::from(x) + gap + width <= f64::from(right) {
        f64::from(x) + gap
    } else {
        f64::from(x) - gap - width
    };
    let _ = ctx.fill_text(text, text_x, f64::from(top) + 12.0 * dpr);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_fixtures::T0;

    #[test]
    fn marked_only_where_history_starts_inside_the_view() {
        let (from, to) = (T0, T0 + 86_400_000);
        assert_eq!(marker(Some(T0 + 3_600_000), from, to), Some(T0 + 3_600_000));
        assert_eq!(marker(None, from, to), None, "the relay did not say");
        assert_eq!(
            marker(Some(from - 1), from, to),
            None,
            "history covers the view"
        );
        assert_eq!(
            marker(Some(from), from, to),
            None,
            "starts exactly with the view"
        );
        assert_eq!(marker(Some(to), from, to), None, "nothing inside the view");
        // 2024-02-06T17:58:00Z on a UTC clock (native tests run at UTC).
        assert_eq!(label(T0 + 3_590_000), "history starts 17:58");
        assert_eq!(label(T0 + 3_600_000), "history starts 17:58:10");
    }
}
