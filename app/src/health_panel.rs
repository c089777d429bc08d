//! The pipeline health panel: one row per stage with its status and the figures that explain
//! it, plus the relay's overall verdict.

use leptos::prelude::*;
use wire::{Health, Status};

use crate::source_status;
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

/// `text` as a sentence: first letter capitalised, ending in a full stop.
pub fn sentence(text: &str) -> String {
    let text = text.trim();
    let mut chars = text.chars();
    let mut out: String = match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => return String::new(),
    };
    if !out.ends_with(['.', '!', '?', '…']) {
        out.push('.');
    }
    out
}

/// The relay's reasons, each as a sentence.
pub fn reason_sentences(h: &Health) -> Vec<String> {
    h.reasons.iter().map(|r| sentence(r)).collect()
}

/// The overall verdict as the pill shows it. A relay that has not closed its first second yet
/// reports its windows as degraded; with every other stage ok that is a start, not a fault.
pub fn overall_status(h: &Health) -> &'static str {
    let others_ok = [
        h.source.status,
        h.gateway.status,
        h.bus.status,
        h.clients.status,
    ]
    .iter()
    .all(|s| *s == Status::Ok);
    if h.windows.watermark.0 == 0 && others_ok {
        "waiting"
    } else {
        status_str(h.status)
    }
}

/// Whether `error` is already said by one of the relay's reasons, so a row need not repeat it.
fn in_reasons(h: &Health, error: &str) -> bool {
    h.reasons.iter().any(|r| r.contains(error))
}

pub fn stage_rows(h: &Health) -> Vec<StageRow> {
    let s = &h.source;
    let mut source = vec![
        ("from", s.origin.clone()),
        ("events/s in, last 10 s", format!("{:.1}", s.events_per_sec)),
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
    if let Some(err) = s.last_error.as_ref().filter(|e| !in_reasons(h, e)) {
        source.push(("last error", sentence(err)));
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
    if let Some(err) = b.last_error.as_ref().filter(|e| !in_reasons(h, e)) {
        bus.push(("last error", sentence(err)));
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

    let source_name = source_status::source_name(&s.kind);
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
                .with(|h| h.as_ref().map_or("unknown", overall_status))
        }
    };
    let reasons = move || {
        store.health.with(|h| match h {
            Some(h) if overall_status(h) != "waiting" => reason_sentences(h),
            _ => Vec::new(),
        })
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
    fn errors_read_as_sentences_once() {
        let mut h = Health::default();
        h.source.kind = "fallback-replay".into();
        h.source.status = Status::Degraded;
        let err = "upstream unreachable (dns error: failed to lookup address), replaying the \
                   bundled recording";
        h.source.last_error = Some(err.into());
        h.reasons = vec![format!("source: {err}")];
        h.status = Status::Degraded;
        h.windows.watermark = wire::Millis(1);
        let reasons = reason_sentences(&h);
        assert_eq!(reasons, [format!("Source: {err}.")]);
        let rows = stage_rows(&h);
        assert_eq!(
            rows[0].name,
            "Source: bundled recording (upstream unreachable)"
        );
        let said: Vec<_> = rows
            .iter()
            .flat_map(|r| r.figures.iter().map(|(_, v)| v.as_str()))
            .chain(reasons.iter().map(String::as_str))
            .filter(|v| v.contains("dns error"))
            .collect();
        assert_eq!(said.len(), 1, "the error is said once: {said:?}");
        assert_eq!(overall_status(&h), "degraded");

        // An error no reason mentions stays in its row, as a sentence.
        h.reasons.clear();
        let rows = stage_rows(&h);
        assert!(
            rows[0]
                .figures
                .contains(&("last error", format!("Upstream {}.", &err[9..])))
        );
        assert_eq!(sentence("ok?"), "Ok?");
    }

    #[test]
    fn a_relay_with_no_closed_second_is_waiting() {
        let mut h = Health::default();
        h.windows.status = Status::Degraded;
        h.status = Status::Degraded;
        assert_eq!(overall_status(&h), "waiting");
        h.windows.watermark = wire::Millis(1_000);
        assert_eq!(overall_status(&h), "degraded");
        h.windows.watermark = wire::Millis(0);
        h.bus.status = Status::Down;
        assert_eq!(
            overall_status(&h),
            "degraded",
            "a real fault is never hidden"
        );
    }

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
