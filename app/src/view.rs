//! What the chart shows: a range ending at the live edge, or a fixed span (a custom range or
//! a zoom), and the way back from a zoom.

use wire::Millis;

use crate::local_time;
use crate::range::Range;
use crate::step;

/// A fixed stretch of time `[from, to)`, UTC ms on whole seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Span {
    pub from: i64,
    pub to: i64,
}

impl Span {
    /// Widened to whole seconds; `None` when empty.
    pub fn new(from: i64, to: i64) -> Option<Span> {
        let (from, to) = (step::align_down(from, 1), step::align_up(to, 1));
        (from < to).then_some(Span { from, to })
    }

    /// "14:02:00–14:07:30", on the viewer's clock.
    pub fn label(self) -> String {
        let seconds = self.from % 60_000 != 0 || self.to % 60_000 != 0;
        format!(
            "{}–{}",
            local_time::clock(self.from, seconds),
            local_time::clock(self.to, seconds)
        )
    }
}

/// The chart's subject.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    Live(Range),
    Fixed(Span),
}

impl View {
    /// Drawn second by second from the in-memory series, as it always was.
    pub fn from_series(self) -> bool {
        matches!(self, View::Live(r) if r.bucket_step().is_none())
    }

    /// Seconds per bucket.
    pub fn step(self) -> u32 {
        match self {
            View::Live(r) => r.bucket_step().unwrap_or(1),
            View::Fixed(s) => step::choose_step(s.from, s.to),
        }
    }

    /// `[from, to)` when the newest second held ends at `live_end`.
    pub fn bounds(self, live_end: i64) -> (i64, i64) {
        match self {
            View::Live(r) => (live_end - r.duration_ms(), live_end),
            View::Fixed(s) => (s.from, s.to),
        }
    }

    /// What the view is called in sentences: "last 24 hours", "14:00–15:00".
    pub fn label(self) -> String {
        match self {
            View::Live(r) => r.long_label().to_owned(),
            View::Fixed(s) => s.label(),
        }
    }

    /// What is being loaded, for the status line: "24 h", "14:00–15:00".
    pub fn short_label(self) -> String {
        match self {
            View::Live(r) => r.short_label().to_owned(),
            View::Fixed(s) => s.label(),
        }
    }

    /// The buckets this view needs, or `None` when the series alone draws it.
    pub fn plan(self, live_end: i64) -> Option<Plan> {
        if self.from_series() {
            return None;
        }
        let step = self.step();
        let (from, to) = self.bounds(live_end);
        Some(Plan {
            from: step::align_down(from, step),
            to: step::align_up(to, step),
            step,
            live: matches!(self, View::Live(_)),
        })
    }
}

/// Buckets of `step` seconds over `[from, to)`, both aligned to the step; a live plan's end
/// moves on with the live edge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Plan {
    pub from: i64,
    pub to: i64,
    pub step: u32,
    pub live: bool,
}

impl Plan {
    pub fn step_ms(&self) -> i64 {
        i64::from(self.step) * Millis::SECOND
    }
}

/// A fixed span shown instead of the picked range, and the views a zoom came from, so a
/// double-click steps back one zoom and "Reset zoom" all of them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Focus {
    pub span: Option<Span>,
    back: Vec<Option<Span>>,
}

impl Focus {
    /// Shows `span` (or, with `None`, the picked range) as a new starting point, forgetting
    /// any zoom.
    pub fn show(&mut self, span: Option<Span>) {
        self.span = span;
        self.back.clear();
    }

    pub fn zoom_in(&mut self, span: Span) {
        self.back.push(self.span.replace(span));
    }

    /// One zoom back; false when not zoomed.
    pub fn zoom_out(&mut self) -> bool {
        match self.back.pop() {
            Some(span) => {
                self.span = span;
                true
            }
            None => false,
        }
    }

    /// Back to the view before the first zoom.
    pub fn reset(&mut self) {
        if let Some(first) = self.back.first().copied() {
            self.show(first);
        }
    }

    pub fn zoomed(&self) -> bool {
        !self.back.is_empty()
    }

    pub fn view(&self, range: Range) -> View {
        self.span.map_or(View::Live(range), View::Fixed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_fixtures::T0;

    const HOUR: i64 = 3_600_000;

    #[test]
    fn long_ranges_and_spans_plan_aligned_buckets() {
        assert_eq!(View::Live(Range::SixtyMinutes).plan(T0), None);
        let p = View::Live(Range::TwentyFourHours).plan(T0 + 500).unwrap();
        assert_eq!(p.step, 60);
        assert!(p.live);
        assert_eq!((p.from % 60_000, p.to % 60_000), (0, 0));
        assert!(p.from <= T0 + 500 - 24 * HOUR && p.to >= T0 + 500);
        assert_eq!((p.to - p.from) / 60_000, 1_441);
        let p = View::Live(Range::SixHours).plan(T0).unwrap();
        assert_eq!((p.step, (p.to - p.from) / 15_000), (15, 1_441));

        // A zoom into one minute is drawn second by second.
        let minute = Span::new(T0 + 200, T0 + 60_000).unwrap();
        assert_eq!(
            minute,
            Span {
                from: T0,
                to: T0 + 60_000
            }
        );
        let p = View::Fixed(minute).plan(T0 + 10 * HOUR).unwrap();
        assert_eq!((p.from, p.to, p.step, p.live), (T0, T0 + 60_000, 1, false));
        assert_eq!(Span::new(T0, T0), None);
    }

    #[test]
    fn zooms_step_back_one_at_a_time_or_all_at_once() {
        let a = Span::new(T0, T0 + HOUR).unwrap();
        let b = Span::new(T0, T0 + 60_000).unwrap();
        let mut f = Focus::default();
        assert_eq!(f.view(Range::SixHours), View::Live(Range::SixHours));
        assert!(!f.zoom_out(), "nothing to go back to");
        f.zoom_in(a);
        f.zoom_in(b);
        assert!(f.zoomed());
        assert_eq!(f.view(Range::SixHours), View::Fixed(b));
        assert!(f.zoom_out());
        assert_eq!(f.span, Some(a));
        assert!(f.zoom_out());
        assert_eq!((f.span, f.zoomed()), (None, false));

        // Reset returns to the custom range the zooms started from.
        f.show(Some(a));
        assert!(
            !f.zoomed(),
            "a custom range is a starting point, not a zoom"
        );
        f.zoom_in(b);
        f.zoom_in(Span::new(T0, T0 + 10_000).unwrap());
        f.reset();
        assert_eq!((f.span, f.zoomed()), (Some(a), false));
    }
}
