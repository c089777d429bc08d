//! The headline numbers: edits per second now, the last minute's average, the peak of the
//! visible range, and the busiest wikis of the last minute.

use std::collections::HashMap;

use leptos::prelude::*;
use wire::WindowRecord;

use crate::local_time;
use crate::range::Range;
use crate::series::Series;
use crate::store::Store;

/// How many final seconds "the last minute" is.
const MINUTE_WINDOWS: usize = 60;
const TOP_WIKIS_SHOWN: usize = 8;

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Stats {
    /// The latest final second.
    pub now: Option<u64>,
    /// Mean of the final seconds of the last minute (up to 60).
    pub avg_minute: Option<f64>,
    /// The busiest second in range. The open second takes part: its count only grows, so it
    /// is already a true lower bound of its final value.
    pub peak: Option<Peak>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Peak {
    pub count: u64,
    pub start: i64,
    /// False while the second is open: the screen then says its count is still growing, so it
    /// never seems to contradict a summary of final seconds only.
    pub is_final: bool,
}

/// The final windows of the last minute: the newest 60 final seconds within 60 s of the
/// newest final one. Provisional seconds are left out because their count is still growing.
fn last_minute_finals(series: &Series) -> Vec<&WindowRecord> {
    let Some(newest) = series.newest_final() else {
        return Vec::new();
    };
    let from = newest.start.0 - (MINUTE_WINDOWS as i64 - 1) * 1_000;
    series
        .iter()
        .rev()
        .filter(|w| w.is_final)
        .take_while(|w| w.start.0 >= from)
        .take(MINUTE_WINDOWS)
        .collect()
}

pub fn stats(series: &Series, range: Range) -> Stats {
    let minute = last_minute_finals(series);
    let avg_minute = (!minute.is_empty())
        .then(|| minute.iter().map(|w| w.count as f64).sum::<f64>() / minute.len() as f64);
    let peak = series
        .in_range(range)
        // On a tie the latest second is the more useful one to point at.
        .max_by_key(|w| (w.count, w.start))
        .map(|w| Peak {
            count: w.count,
            start: w.start.0,
            is_final: w.is_final,
        });
    Stats {
        now: series.newest_final().map(|w| w.count),
        avg_minute,
        peak,
    }
}

/// The busiest wikis of the last minute, summed over each second's top ten, most edits first
/// and ties by name. A wiki that fell out of some second's top ten is undercounted there,
/// hence "approximate" on screen.
pub fn top_wikis(series: &Series, n: usize) -> Vec<(String, u64)> {
    let mut sums: HashMap<&str, u64> = HashMap::new();
    for w in last_minute_finals(series) {
        for (wiki, count) in &w.top_wikis {
            *sums.entry(wiki.as_str()).or_default() += count;
        }
    }
    let mut out: Vec<(String, u64)> = sums.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
    out.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    out.truncate(n);
    out
}

fn dash_or(v: Option<String>) -> String {
    v.unwrap_or_else(|| "–".to_owned())
}

#[component]
pub fn Headline(store: Store) -> impl IntoView {
    let stats = Memo::new(move |_| store.series.with(|s| stats(s, store.range.get())));
    let now = move || dash_or(stats.with(|s| s.now.map(|v| v.to_string())));
    let avg = move || dash_or(stats.with(|s| s.avg_minute.map(|v| format!("{v:.1}"))));
    let peak = move || dash_or(stats.with(|s| s.peak.map(|p| p.count.to_string())));
    let peak_at = move || {
        stats.with(|s| {
            s.peak.map_or_else(String::new, |p| {
                let at = local_time::clock(p.start, true);
                if p.is_final {
                    format!("at {at}")
                } else {
                    format!("at {at}, still counting")
                }
            })
        })
    };
    let range_label = move || store.range.get().long_label();
    view! {
        <section class="card headline" aria-label="Edits per second">
            <div class="stat stat-now">
                <span class="stat-label" id="now-label">"edits/s now"</span>
                <span class="stat-value" id="now-value">{now}</span>
            </div>
            <div class="stat">
                <span class="stat-label" id="avg-label">"1-minute average"</span>
                <span class="stat-value" id="avg-value">{avg}</span>
            </div>
            <div class="stat">
                <span class="stat-label" id="peak-label">"peak, " {range_label}</span>
                <span class="stat-value" id="peak-value">{peak}</span>
                <span class="stat-note" id="peak-note">{peak_at}</span>
            </div>
        </section>
    }
}

#[component]
pub fn TopWikis(store: Store) -> impl IntoView {
    let wikis = Memo::new(move |_| store.series.with(|s| top_wikis(s, TOP_WIKIS_SHOWN)));
    let max = move || wikis.with(|w| w.first().map_or(1, |(_, c)| (*c).max(1)));
    view! {
        <section class="card top-wikis" aria-labelledby="top-wikis-title">
            <h2 id="top-wikis-title">"Top wikis, last minute"</h2>
            <Show
                when=move || wikis.with(|w| !w.is_empty())
                fallback=|| view! { <p class="muted">"No edits counted yet."</p> }
            >
                <ol id="top-wikis" class="bars">
                    <For
                        each=move || wikis.get()
                        key=|(wiki, count)| (wiki.clone(), *count)
                        children=move |(wiki, count)| {
                            let share = move || (count as f64 / max() as f64 * 100.0).round() as u32;
                            view! {
                                <li data-wiki=wiki.clone() data-count=count>
                                    <span class="bar-label">{wiki.clone()}</span>
                                    <span class="bar-value">{count}</span>
                                    <meter class="bar" min="0" max="100" value=share aria-hidden="true"></meter>
                                </li>
                            }
                        }
                    />
                </ol>
            </Show>
            <p class="muted small">
                "Approximate: summed from each second's ten busiest wikis."
            </p>
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_fixtures::{T0, filled, window};

    #[test]
    fn peak_follows_the_range() {
        // The peak follows the range: the biggest value lies 10 minutes back.
        let mut s = filled(3_600, |i| if i == 3_000 { 500 } else { 5 });
        assert_eq!(stats(&s, Range::FiveMinutes).peak.unwrap().count, 5);
        assert_eq!(
            stats(&s, Range::FifteenMinutes).peak,
            Some(Peak {
                count: 500,
                start: T0 + 3_000_000,
                is_final: true
            })
        );
        s.merge(window(3_600, 900, false, 0));
        let open = stats(&s, Range::OneMinute).peak.unwrap();
        assert_eq!(
            (open.count, open.is_final),
            (900, false),
            "provisional counts for peak, marked as open"
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

        let mut s = Series::new();
        for sec in 0..70 {
            let mut w = window(sec, 10, true, 0);
            w.top_wikis = vec![
                ("enwiki".into(), 6),
                ("dewiki".into(), 3),
                ("frwiki".into(), 1),
            ];
            if sec >= 65 {
                w.top_wikis.push(("commonswiki".into(), 50));
            }
            s.merge(w);
        }
        let top = top_wikis(&s, 3);
        // Only the last 60 seconds count: enwiki 360, commonswiki 250, dewiki 180.
        assert_eq!(
            top,
            vec![
                ("enwiki".to_owned(), 360),
                ("commonswiki".to_owned(), 250),
                ("dewiki".to_owned(), 180)
            ]
        );
    }
}
