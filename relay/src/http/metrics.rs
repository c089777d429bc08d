//! `GET /metrics`: Prometheus text exposition.

use std::fmt::Write;

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;

use super::AppState;
use crate::telemetry::get;

pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    let t = &state.telemetry;
    let h = state.health.borrow().0.clone();
    let mut out = String::with_capacity(4096);
    let mut metric = |name: &str, kind: &str, help: &str, value: f64| {
        let _ = writeln!(
            out,
            "# HELP editpulse_{name} {help}\n# TYPE editpulse_{name} {kind}\neditpulse_{name} {value}"
        );
    };
    metric(
        "source_events_total",
        "counter",
        "Events taken in from the upstream or replay.",
        get(&t.source.events) as f64,
    );
    metric(
        "source_canaries_total",
        "counter",
        "Canary events seen (liveness only).",
        get(&t.source.canaries) as f64,
    );
    metric(
        "source_duplicates_total",
        "counter",
        "Upstream events dropped as duplicates by meta.id.",
        get(&t.source.duplicates) as f64,
    );
    metric(
        "source_malformed_total",
        "counter",
        "Upstream frames that were not events.",
        get(&t.source.malformed) as f64,
    );
    metric(
        "source_reconnects_total",
        "counter",
        "Upstream reconnects.",
        get(&t.source.reconnects) as f64,
    );
    metric(
        "source_connected",
        "gauge",
        "1 while the upstream stream is open.",
        f64::from(u8::from(h.source.connected)),
    );
    metric(
        "gateway_requests_total",
        "counter",
        "Gateway requests.",
        get(&t.gateway.requests) as f64,
    );
    metric(
        "gateway_accepted_events_total",
        "counter",
        "Events acknowledged by the gateway.",
        get(&t.gateway.accepted) as f64,
    );
    metric(
        "bus_produced_total",
        "counter",
        "Records acknowledged by the bus.",
        get(&t.bus.produced) as f64,
    );
    metric(
        "bus_produce_errors_total",
        "counter",
        "Records the bus refused.",
        get(&t.bus.produce_errors) as f64,
    );
    metric(
        "bus_broker_reachable",
        "gauge",
        "1 while the broker answers.",
        f64::from(u8::from(h.bus.broker_reachable)),
    );
    metric(
        "bus_producer_queue",
        "gauge",
        "Records handed to the producer, not yet acknowledged.",
        h.bus.producer_queue as f64,
    );
    metric(
        "windows_counted_total",
        "counter",
        "Events counted into a window.",
        get(&t.windows.counted) as f64,
    );
    metric(
        "windows_late_total",
        "counter",
        "Events that revised a closed window.",
        get(&t.windows.late) as f64,
    );
    metric(
        "windows_too_late_total",
        "counter",
        "Events later than the allowed lateness (not in any window).",
        get(&t.windows.too_late) as f64,
    );
    metric(
        "windows_too_early_total",
        "counter",
        "Events stamped too far in the future (not in any window).",
        get(&t.windows.too_early) as f64,
    );
    metric(
        "windows_duplicates_total",
        "counter",
        "Events dropped because their window already counted the same meta.id.",
        get(&t.windows.duplicates) as f64,
    );
    metric(
        "windows_unreadable_total",
        "counter",
        "Input records that were not events.",
        get(&t.windows.unreadable) as f64,
    );
    metric(
        "windows_open",
        "gauge",
        "Windows held open by the counters.",
        get(&t.windows.open_windows) as f64,
    );
    metric(
        "windows_watermark_delay_ms",
        "gauge",
        "How far the merged watermark trails the clock.",
        h.windows.delay_ms as f64,
    );
    metric(
        "clients_connected",
        "gauge",
        "Open SSE streams.",
        get(&t.clients.connected) as f64,
    );
    metric(
        "clients_lagged_total",
        "counter",
        "Times an SSE client was caught up from the log.",
        get(&t.clients.lagged) as f64,
    );
    metric(
        "clients_resynced_total",
        "counter",
        "Times an SSE client was resynced from the window store.",
        get(&t.clients.resynced) as f64,
    );
    for (reason, n) in t.gateway.rejected.lock().expect("lock").iter() {
        let _ = writeln!(
            out,
            "editpulse_gateway_rejected_total{{reason=\"{reason}\"}} {n}"
        );
    }
    for p in &h.bus.partitions {
        let _ = writeln!(
            out,
            "editpulse_partition_lag{{partition=\"{}\"}} {}",
            p.partition, p.lag
        );
    }
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], out)
}
