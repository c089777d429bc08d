//! The chart's caption: its legend, the sentence that describes it to screen readers (and says
//! the same figures as the headline), and where the relay's history starts when that is inside
//! the view.

use leptos::prelude::*;

use crate::chart::history_start;
use crate::figures::{self, Figures};
use crate::local_time;
use crate::store::Store;
use crate::view::View;

/// A sentence describing the visible view, for screen readers (via `aria-describedby`): the
/// view's figures as [`figures::view_figures`] defines them, the same the headline shows.
/// With `split`, how the average divides between humans and bots, as the chart then shows.
fn describe(view: View, f: Option<Figures>, split: bool) -> String {
    let Some(f) = f else {
        return format!("No data yet for the {}.", view.label());
    };
    let buckets = match view.step() {
        1 => String::new(),
        step => format!(" in {step}-second buckets"),
    };
    let mut out = format!(
        "Edits per second, {} ({} to {}){buckets}: average {:.1}, lowest {}, highest {} {}.",
        view.label(),
        local_time::clock(f.from, true),
        local_time::clock(f.to, true),
        f.average,
        f.low,
        f.peak,
        figures::peak_when(f.peak_start, f.peak_end),
    );
    if split {
        let share = if f.average > 0.0 {
            f.bots_average / f.average * 100.0
        } else {
            0.0
        };
        out.push_str(&format!(
            " Humans {:.1}, bots {:.1} on average ({share:.0}% bots).",
            f.humans_average, f.bots_average
        ));
    }
    out
}

/// The legend's entries (swatch class, words) for what the chart draws: seconds or buckets,
/// the total or humans and bots.
fn legend_entries(split: bool, bucketed: bool) -> &'static [(&'static str, &'static str)] {
    match (split, bucketed) {
        (true, false) => &[
            ("swatch-humans", "humans"),
            ("swatch-bots", "bots (stacked on top)"),
            ("swatch-provisional", "current second, so far (dashed)"),
        ],
        (false, false) => &[
            ("swatch-total", "edits per second"),
            ("swatch-provisional", "current second, so far"),
        ],
        (true, true) => &[
            ("swatch-humans", "humans, mean per second"),
            ("swatch-bots", "bots, mean per second (stacked on top)"),
        ],
        (false, true) => &[
            ("swatch-total", "mean edits per second"),
            ("swatch-band", "quietest to busiest second"),
        ],
    }
}

#[component]
pub fn Caption(store: Store) -> impl IntoView {
    // Recomputed on every change of the series (as the headline's figures are, so the two never
    // disagree, late revisions of older seconds included) but rewritten only when the figures
    // change, which only final seconds do: not on every provisional update.
    let view_figures = Memo::new(move |_| {
        let view = store.view();
        let f = store
            .series
            .with(|s| store.history.with(|h| figures::view_figures(s, h, view)));
        (view, f)
    });
    let described = Memo::new(move |_| {
        let (view, f) = view_figures.get();
        describe(view, f, store.split.get())
    });

    // The shading's entry only while some second in view has it.
    let gaps_in_view = Memo::new(move |_| match store.view() {
        View::Live(range) if range.bucket_step().is_none() => store
            .series
            .with(|s| s.in_range(range).any(|w| w.source_down)),
        view => {
            store.series.track();
            let (from, to) = view.bounds(store.live_end());
            store
                .history
                .with(|h| h.buckets(from, to).iter().any(|b| b.source_down))
        }
    });
    let history_starts = Memo::new(move |_| {
        let view = store.view();
        store.series.track();
        let (from, to) = view.bounds(store.live_end());
        store
            .history
            .with(|h| history_start::marker(h.earliest(), from, to))
    });
    let bucketed = move || store.view().step() > 1;
    let gap_entry = move || {
        gaps_in_view.get().then(|| {
            view! {
                <li><span class="swatch swatch-gap" aria-hidden="true"></span>"source down: counts may be short"</li>
            }
        })
    };
    let legend = move || {
        legend_entries(store.split.get(), bucketed())
            .iter()
            .map(|&(swatch, text)| {
                view! {
                    <li><span class=format!("swatch {swatch}") aria-hidden="true"></span>{text}</li>
                }
            })
            .collect_view()
    };

    view! {
        <figcaption>
            <ul class="legend">{legend}{gap_entry}</ul>
            <p id="chart-summary" class="chart-summary">{move || described.get()}</p>
            {move || {
                history_starts
                    .get()
                    .map(|at| {
                        view! {
                            <p id="history-start" class="chart-summary">
                                {history_start::label(at)}
                                ": the relay holds nothing older."
                            </p>
                        }
                    })
            }}
        </figcaption>
    }
}
