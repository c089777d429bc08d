//! The last minute as a visually hidden table: the chart's data for screen readers, and a
//! stable hook for end-to-end tests that cannot read pixels.

use leptos::prelude::*;

use crate::local_time;
use crate::store::Store;

const ROWS: usize = 60;

#[derive(Debug, Clone, PartialEq)]
struct Row {
    start_ms: i64,
    start: String,
    count: u64,
    is_final: bool,
    revision: u32,
    humans: u64,
    bots: u64,
    source_down: bool,
}

#[component]
pub fn RecentTable(store: Store) -> impl IntoView {
    let rows = Memo::new(move |_| {
        store.series.with(|s| {
            s.latest(ROWS)
                .map(|w| Row {
                    start_ms: w.start.0,
                    start: w.start.to_string(),
                    count: w.count,
                    is_final: w.is_final,
                    revision: w.revision,
                    humans: w.humans,
                    bots: w.bots,
                    source_down: w.source_down,
                })
                .collect::<Vec<_>>()
        })
    });
    view! {
        // The hiding is on a wrapping block: a table's width follows its content whatever
        // its own `width`, so a hidden table would still stretch the page.
        <div class="visually-hidden">
        <table id="recent-values">
            <caption>"Edits per second, last minute, newest first"</caption>
            <thead>
                <tr>
                    <th scope="col">"Second (local time)"</th>
                    <th scope="col">"Edits"</th>
                    <th scope="col">"Humans"</th>
                    <th scope="col">"Bots"</th>
                    <th scope="col">"Final"</th>
                </tr>
            </thead>
            <tbody>
                <For
                    each=move || rows.get()
                    key=|r| (r.start_ms, r.count, r.is_final, r.revision, r.humans, r.bots, r.source_down)
                    children=|r| {
                        view! {
                            <tr
                                data-start=r.start
                                data-count=r.count
                                data-final=r.is_final.to_string()
                                data-source-down=r.source_down.to_string()
                            >
                                <th scope="row">{local_time::clock(r.start_ms, true)}</th>
                                <td>{r.count}</td>
                                <td>{r.humans}</td>
                                <td>{r.bots}</td>
                                <td>
                                    {if r.is_final { "yes" } else { "so far" }}
                                    {r.source_down.then_some(" (source down: may be short)")}
                                </td>
                            </tr>
                        }
                    }
                />
            </tbody>
        </table>
        </div>
    }
}
