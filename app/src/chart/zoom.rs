//! Drag-to-zoom on the chart: from pointer positions (CSS pixels from the canvas' left edge) to
//! the span of time they select.

use crate::chart::canvas::{LEFT_MARGIN_CSS, RIGHT_MARGIN_CSS};
use crate::view::Span;

/// A drag over less time than this is a click (or a shaky double-click), not a zoom.
pub const MIN_ZOOM_MS: i64 = 2_000;

/// The instant under `x` on a canvas `width` CSS pixels wide showing `[from, to)`, clamped to
/// the plot.
pub fn instant_at(x: f64, width: f64, from: i64, to: i64) -> i64 {
    let plot = (width - LEFT_MARGIN_CSS - RIGHT_MARGIN_CSS).max(1.0);
    let share = ((x - LEFT_MARGIN_CSS) / plot).clamp(0.0, 1.0);
    from + ((to - from) as f64 * share).round() as i64
}

/// The span a drag from `x0` to `x1` selects (either direction), or `None` for a click.
pub fn dragged_span(x0: f64, x1: f64, width: f64, from: i64, to: i64) -> Option<Span> {
    let (a, b) = (
        instant_at(x0, width, from, to),
        instant_at(x1, width, from, to),
    );
    let (a, b) = (a.min(b), a.max(b));
    if b - a < MIN_ZOOM_MS {
        return None;
    }
    Span::new(a, b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_fixtures::T0;

    #[test]
    fn a_drag_selects_the_time_under_it_and_a_short_one_is_a_click() {
        // A 1,064 px canvas: a 1,000 px plot from x = 48, showing 1,000 s.
        let (from, to, width) = (T0, T0 + 1_000_000, 1_064.0);
        assert_eq!(instant_at(48.0, width, from, to), T0);
        assert_eq!(instant_at(548.0, width, from, to), T0 + 500_000);
        assert_eq!(
            instant_at(0.0, width, from, to),
            T0,
            "the y labels map to the start"
        );
        assert_eq!(instant_at(5_000.0, width, from, to), to);

        let span = dragged_span(148.0, 208.0, width, from, to).unwrap();
        assert_eq!(
            span,
            Span {
                from: T0 + 100_000,
                to: T0 + 160_000
            }
        );
        assert_eq!(
            dragged_span(208.0, 148.0, width, from, to),
            Some(span),
            "dragged leftwards"
        );
        // Widened to whole seconds.
        let span = dragged_span(148.4, 150.9, width, from, to).unwrap();
        assert_eq!(
            span,
            Span {
                from: T0 + 100_000,
                to: T0 + 103_000
            }
        );
        // Under 2 s of screen time: a click.
        assert_eq!(dragged_span(148.0, 149.9, width, from, to), None);
        assert_eq!(dragged_span(300.0, 300.0, width, from, to), None);
        // Beyond the plot's ends, clamped to the view.
        let span = dragged_span(-20.0, 9_999.0, width, from, to).unwrap();
        assert_eq!(span, Span { from, to });
    }
}
