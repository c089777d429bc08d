//! The headline numbers: edits per second now, the last minute's average and the peak of the
//! visible range, all as [`crate::figures`] defines them, under the page's filter. Until the
//! first edit is counted the headline says it is waiting for data.

use leptos::prelude::*;

use crate::figures;
use crate::history::History;
use crate::series::Series;
use crate::store::Store;
use crate::view::View;

/// The headline's numbers, each as [`crate::figures`] defines it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Stats {
    /// No second held has counted an edit yet: the page is waiting for data.
    pub waiting: bool,
    /// The newest final second's count.
    pub now: Option<u64>,
    /// The newest final second's humans and bots.
    pub now_split: Option<(u64, u64)>,
    /// Mean of the last minute's final seconds.
    pub avg_minute: Option<f64>,
    /// The same mean for humans and for bots.
    pub avg_split: Option<(f64, f64)>,
    /// The busiest final second of the view; the latest one on a tie.
    pub peak: Option<Peak>,
}

/// A busiest second: its count, and `[start, end)` of the second, or of its bucket when only
/// the bucket is known.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Peak {
    pub count: u64,
    pub start: i64,
    pub end: i64,
}

pub fn stats(series: &Series, history: &History, view: View) -> Stats {
    if !figures::has_edits(series) {
        return Stats {
            waiting: true,
            ..Stats::default()
        };
    }
    let minute = figures::minute_figures(series);
    Stats {
        waiting: false,
        now: series.newest_final().map(|w| w.count),
        now_split: series.newest_final().map(|w| (w.humans, w.bots)),
        avg_minute: minute.map(|f| f.average),
        avg_split: minute.map(|f| (f.humans_average, f.bots_average)),
        peak: figures::view_figures(series, history, view).map(|f| Peak {
            count: f.peak,
            start: f.peak_start,
            end: f.peak_end,
        }),
    }
}

fn dash_or(v: Option<String>) -> String {
    v.unwrap_or_else(|| "–".to_owned())
}

#[component]
pub fn Headline(store: Store) -> impl IntoView {
    let stats = Memo::new(move |_| {
        let view = store.view();
        store
            .series
            .with(|s| store.history.with(|h| stats(s, h, view)))
    });
    let now = move || dash_or(stats.with(|s| s.now.map(|v| v.to_string())));
    let avg = move || dash_or(stats.with(|s| s.avg_minute.map(|v| format!("{v:.1}"))));
    let peak = move || dash_or(stats.with(|s| s.peak.map(|p| p.count.to_string())));
    let peak_at = move || {
        stats.with(|s| {
            s.peak
                .map_or_else(String::new, |p| figures::peak_when(p.start, p.end))
        })
    };
    // Shown while the chart splits humans from bots, so the numbers say what the chart shows.
    let split = move || store.split.get();
    let now_split = move || {
        stats.with(|s| {
            s.now_split
                .map_or_else(String::new, |(h, b)| format!("humans {h} · bots {b}"))
        })
    };
    let avg_split = move || {
        stats.with(|s| {
            s.avg_split
                .map_or_else(String::new, |(h, b)| format!("humans {h:.1} · bots {b:.1}"))
        })
    };
    let range_label = move || store.view().label();
    let waiting = move || stats.with(|s| s.waiting);
    view! {
        <section class="card headline" aria-label="Edits per second">
            <Show when=waiting>
                <p class="headline-status" id="headline-status" role="status">
                    "waiting for data: no edits counted yet"
                </p>
            </Show>
            <SplitStat id="now" label="edits/s now" class="stat-now" value=now note=now_split split=split />
            <SplitStat id="avg" label="1-minute average" value=avg note=avg_split split=split />
            <div class="stat">
                <span class="stat-label" id="peak-label">"peak, " {range_label}</span>
                <span class="stat-value" id="peak-value">{peak}</span>
                <span class="stat-note" id="peak-note">{peak_at}</span>
            </div>
        </section>
    }
}

/// A headline number, and below it while the chart splits humans from bots, its split.
#[component]
fn SplitStat(
    id: &'static str,
    label: &'static str,
    #[prop(into)] value: Signal<String>,
    #[prop(into)] note: Signal<String>,
    #[prop(into)] split: Signal<bool>,
    #[prop(default = "")] class: &'static str,
) -> impl IntoView {
    view! {
        <div class=format!("stat {class}").trim_end().to_owned()>
            <span class="stat-label" id=format!("{id}-label")>{label}</span>
            <span class="stat-value" id=format!("{id}-value")>{value}</span>
            <Show when=move || split.get()>
                <span class="stat-note" id=format!("{id}-split")>{note}</span>
            </Show>
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::range::Range;
    use crate::test_fixtures::{T0, filled, window};

    fn stats(series: &Series, range: Range) -> Stats {
        super::stats(series, &History::default(), View::Live(range))
    }

    #[test]
    fn peak_follows_the_range_and_counts_final_seconds_only() {
        // The peak follows the range: the biggest value lies 10 minutes back.
        let mut s = filled(3_600, |i| if i == 3_000 { 500 } else { 5 });
        assert_eq!(stats(&s, Range::FiveMinutes).peak.unwrap().count, 5);
        assert_eq!(
            stats(&s, Range::FifteenMinutes).peak,
            Some(Peak {
                count: 500,
                start: T0 + 3_000_000,
                end: T0 + 3_001_000,
            })
        );
        s.merge(window(3_600, 900, false, 0));
        assert_eq!(
            stats(&s, Range::OneMinute).peak.unwrap().count,
            5,
            "an open second is not a peak yet"
        );
    }

    #[test]
    fn headline_uses_final_seconds() {
        // 120 seconds: the last 60 final ones are 1..=60 in value -> mean 30.5.
        let mut s = filled(120, |i| if i >= 60 { (i - 59) as u64 } else { 1_000 });
        s.merge(window(120, 9_999, false, 0));
        let st = stats(&s, Range::FiveMinutes);
        assert_eq!(st.now, Some(60), "latest final, not the provisional 9999");
        assert_eq!(st.avg_minute, Some(30.5));
        let (h, b) = st.avg_split.unwrap();
        assert_eq!(h + b, 30.5);
        let (h, b) = st.now_split.unwrap();
        assert_eq!(h + b, 60);
        assert!(!st.waiting);
        let st = stats(&filled(30, |_| 0), Range::FiveMinutes);
        assert!(st.waiting && st.now.is_none() && st.peak.is_none());
    }
}
