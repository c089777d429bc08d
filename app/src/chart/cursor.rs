//! Picking a point or bucket of the chart to list its edits: a click on it, or from the
//! keyboard (the chart takes focus; the arrow keys move a cursor from point to point, Home and
//! End jump to the ends, Enter or Space opens it, Escape closes). The cursor is drawn as an
//! element over the canvas, so moving it costs no redraw.

use leptos::prelude::*;

use crate::chart::canvas::{LEFT_MARGIN_CSS, RIGHT_MARGIN_CSS};
use crate::local_time;
use crate::step;
use crate::store::Store;
use crate::view::Span;

/// The point or bucket of `step` seconds holding the instant `t`.
pub fn point_at(t: i64, step: u32) -> Span {
    let from = step::align_down(t, step);
    Span {
        from,
        to: from + i64::from(step.max(1)) * 1_000,
    }
}

/// The cursor after `key` in a view `[from, to)` of points `step` seconds long: `None` when
/// the key does not move it. A cursor outside the view starts from its newest point.
pub fn moved(cursor: Option<i64>, key: &str, step: u32, from: i64, to: i64) -> Option<i64> {
    let step_ms = i64::from(step.max(1)) * 1_000;
    let first = step::align_down(from, step);
    let last = step::align_down(to - 1, step);
    let at = cursor
        .filter(|c| (first..=last).contains(c))
        .unwrap_or(last);
    let next = match key {
        "ArrowLeft" => at - step_ms,
        "ArrowRight" => at + step_ms,
        "PageUp" => at - 10 * step_ms,
        "PageDown" => at + 10 * step_ms,
        "Home" => first,
        "End" => last,
        _ => return None,
    };
    Some(if cursor.is_none() {
        last
    } else {
        next.clamp(first, last)
    })
}

/// Handles a key pressed on the focused chart; true when it was the chart's.
pub fn on_key(store: Store, key: &str) -> bool {
    let view = store.view();
    let (from, to) = view.bounds(store.live_end());
    match key {
        "Enter" | " " => {
            let Some(c) = store.cursor.get_untracked() else {
                return false;
            };
            store.selected.set(Some(point_at(c, view.step())));
            true
        }
        "Escape" => {
            store.selected.set(None);
            store.cursor.set(None);
            true
        }
        _ => match moved(store.cursor.get_untracked(), key, view.step(), from, to) {
            Some(c) => {
                store.cursor.set(Some(c));
                true
            }
            None => false,
        },
    }
}

/// The cursor's line over the chart, and its time and count for screen readers.
#[component]
pub fn ChartCursor(store: Store, canvas: NodeRef<leptos::html::Canvas>) -> impl IntoView {
    let place = move || {
        let c = store.cursor.get()?;
        store.series.track();
        let view = store.view();
        let (from, to) = view.bounds(store.live_end());
        let width = canvas.get()?.get_bounding_client_rect().width();
        let plot = (width - LEFT_MARGIN_CSS - RIGHT_MARGIN_CSS).max(1.0);
        let span = point_at(c, view.step());
        let mid = (span.from + span.to) as f64 / 2.0;
        let share = (mid - from as f64) / (to - from).max(1) as f64;
        (0.0..=1.0)
            .contains(&share)
            .then_some((LEFT_MARGIN_CSS + share * plot, span))
    };
    let label = move || {
        place().map_or_else(String::new, |(_, span)| {
            let count = store.series.with(|s| {
                store
                    .history
                    .with(|h| crate::explore::expected::expected_count(s, h, span))
            });
            let count = count.map_or_else(|| "no count".to_owned(), |n| format!("{n} edits"));
            format!(
                "{}: {count}. Enter lists them.",
                local_time::clock(span.from, true)
            )
        })
    };
    view! {
        {move || {
            place().map(|(x, span)| {
                view! {
                    <div
                        id="chart-cursor"
                        class="chart-cursor"
                        aria-hidden="true"
                        data-at=span.from
                        style:left=format!("{x}px")
                    ></div>
                }
            })
        }}
        <p class="visually-hidden" aria-live="polite" id="chart-cursor-label">{label}</p>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_fixtures::T0;

    #[test]
    fn the_cursor_walks_the_points_and_stops_at_the_ends() {
        let (from, to) = (T0, T0 + 10_000);
        assert_eq!(
            moved(None, "ArrowLeft", 1, from, to),
            Some(T0 + 9_000),
            "starts at the newest"
        );
        assert_eq!(
            moved(Some(T0 + 9_000), "ArrowLeft", 1, from, to),
            Some(T0 + 8_000)
        );
        assert_eq!(
            moved(Some(T0 + 9_000), "ArrowRight", 1, from, to),
            Some(T0 + 9_000)
        );
        assert_eq!(moved(Some(T0 + 5_000), "Home", 1, from, to), Some(T0));
        assert_eq!(moved(Some(T0 + 1_000), "PageUp", 1, from, to), Some(T0));
        assert_eq!(moved(Some(T0), "a", 1, from, to), None);
        // Buckets of 15 s, aligned to the epoch.
        assert_eq!(
            point_at(T0 + 7_500, 15),
            Span {
                from: T0 + 5_000,
                to: T0 + 20_000
            }
        );
        assert_eq!(
            moved(Some(T0 + 5_000), "ArrowRight", 15, from, T0 + 60_000),
            Some(T0 + 20_000)
        );
    }
}
