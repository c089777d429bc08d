//! The pipeline health panel: one row per stage with its status and the figures that explain
//! it, plus the relay's overall verdict.

use leptos::prelude::*;
use wire::{Health, Status};

use crate::store::Store;

pub fn status_str(status: Status) -> &'static str {
    match status {
        Status::Ok => "ok",
        Status::Degraded => "degraded",
        Status::Down => "down",
    }
}

/// One stage as the panel shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct StageRow {
    /// Stable key, also the row's `data-stage`.
    pub key: &'static str,
    pub name: String,
    pub status: Status,
    pub figures: Vec<(&'static str, String)>,
}

/// Human-sized durations: "350 ms", "4.2 s", "3 min".
pub fn format_age(ms: u64) -> String {
    match ms {
        0..1_000 => format!("{ms} ms"),
        1_000..60_000 => format!("{:.1} s", ms as f64 / 1_000.0),
        60_000..3_600_000 => format!("{} min", ms / 60_000),
        _ => format!("{:.1} h", ms as f64 / 3_600_000.0),
    }
}

fn yes_no(b: bool) -> String {
    if b { "yes" } else { "no" }.to_owned()
}

pub fn stage_rows(h: &Health) -> Vec<StageRow> {
    let s = &h.source;
    let mut source = vec![
        ("events/s in", format!("{:.1}", s.events_per_sec)),
        (
            "last event",
            s.last_event_age_ms.map_or_else(
                || "never".to_owned(),
                |ms| format!("{} ago", format_age(ms)),
            ),
        ),
        ("connected", yes_no(s.connected)),
        ("reconnects", s.reconnects.to_string()),
    ];
    if s.malformed > 0 || s.duplicates > 0 {
        source.push((
            "malformed / duplicates",
            format!("{} / {}", s.malformed, s.duplicates),
        ));
    }
    if let Some(err) = &s.last_error {
        source.push(("last error", err.clone()));
    }

    let g = &h.gateway;
    let rejected_total: u64 = g.rejected.values().sum();
    let reasons: Vec<String> = g
        .rejected
        .iter()
        .filter(|(_, n)| **n > 0)
        .map(|(reason, n)| format!("{n} {}", reason.replace('_', " ")))
        .collect();
    let rejected = match reasons.as_slice() {
        [] => rejected_total.to_string(),
        _ => format!("{rejected_total} ({})", reasons.join(", ")),
    };
    let gateway = vec![("accepted", g.accepted.to_string()), ("rejected", rejected)];

    let b = &h.bus;
    let lag: u64 = b.partitions.iter().map(|p| p.lag).sum();
    let mut bus = vec![
        ("broker reachable", yes_no(b.broker_reachable)),
        ("consumer lag", lag.to_string()),
        ("producer queue", b.producer_queue.to_string()),
    ];
    if let Some(m) = b.group_members {
        bus.push(("group members", m.to_string()));
    }
    if let Some(err) = &b.last_error {
        bus.push(("last error", err.clone()));
    }

    let w = &h.windows;
    let windows = vec![
        ("watermark delay", format_age(w.delay_ms.max(0) as u64)),
        ("late", w.late.to_string()),
        ("too late", w.too_late.to_string()),
        ("open windows", w.open_windows.to_string()),
    ];

    let c = &h.clients;
    let clients = vec![
        ("connected", c.connected.to_string()),
        ("lagged", c.lagged.to_string()),
        ("resynced", c.resynced.to_string()),
    ];

    let source_name = match s.kind.as_str() {
        "" => "Source".to_owned(),
        kind => format!("Source ({kind})"),
    };
    let bus_name = match b.kind.as_str() {
        "kafka" => "Kafka".to_owned(),
        "" => "Bus".to_owned(),
        kind => format!("Bus ({kind})"),
    };
    vec![
        StageRow {
            key: "source",
            name: source_name,
            status: s.status,
            figures: source,
        },
        StageRow {
            key: "gateway",
            name: "Gateway".to_owned(),
            status: g.status,
            figures: gateway,
        },
        StageRow {
            key: "bus",
            name: bus_name,
            status: b.status,
            figures: bus,
        },
        StageRow {
            key: "windows",
            name: "Windows".to_owned(),
            status: w.status,
            figures: windows,
        },
        StageRow {
            key: "clients",
            name: "Clients".to_owned(),
            status: c.status,
            figures: clients,
        },
    ]
}

#[component]
pub fn HealthPanel(store: Store) -> impl IntoView {
    let unreachable = Memo::new(move |_| {
        let now = store.clock.get();
        store.connection.with(|c| c.unreachable(now))
    });
    let overall = move || {
        if unreachable.get() {
            "unknown"
        } else {
            store
                .health
                .with(|h| h.as_ref().map_or("unknown", |h| status_str(h.status)))
        }
    };
    let reasons = move || {
        store
            .health
            .with(|h| h.as_ref().map(|h| h.reasons.clone()).unwrap_or_default())
    };
    let rows = Memo::new(move |_| {
        store
            .health
            .with(|h| h.as_ref().map(stage_rows).unwrap_or_default())
    });
    view! {
        <section class="card health" class:stale=unreachable aria-labelledby="health-title" id="health-panel">
            <h2 id="health-title">
                "Pipeline health "
                <span class="status-pill" id="health-overall" data-status=overall>{overall}</span>
            </h2>
            <Show when=move || unreachable.get()>
                <p class="stale-note">"Not current: the relay has stopped reporting."</p>
            </Show>
            <ul class="reasons">
                <For each=reasons key=|r| r.clone() children=|r| view! { <li>{r}</li> } />
            </ul>
            <Show
                when=move || rows.with(|r| !r.is_empty())
                fallback=|| view! { <p class="muted">"Waiting for the first health report…"</p> }
            >
                <table class="stages">
                    <caption class="visually-hidden">"Status and key figures of each pipeline stage"</caption>
                    <thead>
                        <tr><th scope="col">"Stage"</th><th scope="col">"Status"</th><th scope="col">"Figures"</th></tr>
                    </thead>
                    <tbody>
                        <For
                            each=move || rows.get()
                            key=|r| format!("{r:?}")
                            children=|r| {
                                let status = status_str(r.status);
                                view! {
                                    <tr data-stage=r.key data-status=status>
                                        <th scope="row">{r.name}</th>
                                        <td><span class="status-pill" data-status=status>{status}</span></td>
                                        <td>
                                            <dl class="figures">
                                                {r.figures.into_iter().map(|(k, v)| view! {
                                                    <div><dt>{k}</dt><dd>{v}</dd></div>
                                                }).collect_view()}
                                            </dl>
                                        </td>
                                    </tr>
                                }
                            }
                        />
                    </tbody>
                </table>
            </Show>
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn health_rows_cover_every_stage() {
        let mut h = Health::default();
        h.bus.kind = "kafka".into();
        h.bus.status = Status::Down;
        h.bus.broker_reachable = false;
        h.gateway.rejected.insert("bad_event".into(), 3);
        h.windows.too_late = 4;
        let rows = stage_rows(&h);
        let keys: Vec<_> = rows.iter().map(|r| r.key).collect();
        assert_eq!(keys, ["source", "gateway", "bus", "windows", "clients"]);
        assert_eq!(rows[2].name, "Kafka");
        assert_eq!(rows[2].status, Status::Down);
        assert!(
            rows[2]
                .figures
                .contains(&("broker reachable", "no".to_owned()))
        );
        assert!(
            rows[1]
                .figures
                .contains(&("rejected", "3 (3 bad event)".to_owned()))
        );
        assert!(rows[3].figures.contains(&("too late", "4".to_owned())));
    }
}
