//! The relay's Prometheus metrics, built with `prometheus-client` at scrape time.
//!
//! The stages keep counting into [`Telemetry`]'s plain atomics; nothing on a hot path knows about
//! Prometheus. A scrape reads those atomics, and the latest health report for what the health
//! task derives (the watermark delay, the partitions' lag, the producer queue, whether the
//! upstream and the broker are there), into `ConstCounter`s and `ConstGauge`s, which
//! `prometheus-client` names and encodes in the Prometheus text format (version 0.0.4):
//! `editpulse_` prefix, `_total` on counters, base units (seconds) as a suffix, `# HELP` and
//! `# TYPE` for every family, labelled ones included.

use std::fmt;
use std::sync::Arc;

use bytes::Bytes;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeGaugeValue, EncodeMetric};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::registry::{Registry, Unit};
use tokio::sync::watch;

use crate::http::ApiError;
use crate::telemetry::{Telemetry, get};

/// Every family's name starts with this (and `_`).
pub const PREFIX: &str = "editpulse";

/// The `Content-Type` of what [`encode`] writes.
pub const CONTENT_TYPE: &str = prometheus_client::encoding::prometheus_text::CONTENT_TYPE;

#[derive(Debug, thiserror::Error)]
pub enum MetricsError {
    #[error("cannot encode the metrics: {0}")]
    Encode(#[from] fmt::Error),
}

/// A registry holding the relay's metrics, read from `telemetry` and the health reports on
/// `health` whenever it is encoded.
pub fn registry(
    telemetry: Arc<Telemetry>,
    health: watch::Receiver<(wire::Health, Bytes)>,
) -> Registry {
    let mut registry = Registry::with_prefix(PREFIX);
    registry.register_collector(Box::new(RelayCollector { telemetry, health }));
    registry
}

/// `registry` in the Prometheus text format (version 0.0.4).
pub fn encode(registry: &Registry) -> Result<String, MetricsError> {
    let mut out = String::with_capacity(8192);
    prometheus_client::encoding::prometheus_text::encode(&mut out, registry)?;
    Ok(out)
}

struct RelayCollector {
    telemetry: Arc<Telemetry>,
    health: watch::Receiver<(wire::Health, Bytes)>,
}

impl fmt::Debug for RelayCollector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RelayCollector").finish_non_exhaustive()
    }
}

/// One family of a single counter. `name` is without the prefix and without `_total`.
fn counter(e: &mut DescriptorEncoder, name: &str, help: &str, value: u64) -> fmt::Result {
    let metric = ConstCounter::new(value);
    metric.encode(e.encode_descriptor(name, help, None, metric.metric_type())?)
}

/// One family of a single gauge. `name` is without the prefix and without the unit.
fn gauge(
    e: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    unit: Option<&Unit>,
    value: impl EncodeGaugeValue,
) -> fmt::Result {
    let metric = ConstGauge::new(value);
    metric.encode(e.encode_descriptor(name, help, unit, metric.metric_type())?)
}

impl Collector for RelayCollector {
    fn encode(&self, mut e: DescriptorEncoder) -> fmt::Result {
        let t = &self.telemetry;
        let e = &mut e;
        // Cloned so that the health task is never held up by a scrape's encoding.
        let h = self.health.borrow().0.clone();

        counter(
            e,
            "source_events",
            "Events taken in from the upstream or a replay, or by the gateway where it is the only source.",
            get(&t.source.events),
        )?;
        counter(
            e,
            "source_canaries",
            "Canary events seen (liveness only, not counted).",
            get(&t.source.canaries),
        )?;
        counter(
            e,
            "source_duplicates",
            "Upstream events dropped as repeats of a meta.id.",
            get(&t.source.duplicates),
        )?;
        counter(
            e,
            "source_malformed",
            "Upstream frames that were not events.",
            get(&t.source.malformed),
        )?;
        counter(
            e,
            "source_reconnects",
            "Upstream reconnects.",
            get(&t.source.reconnects),
        )?;
        gauge(
            e,
            "source_connected",
            "1 while the upstream stream is open, else 0.",
            None,
            u64::from(h.source.connected),
        )?;

        counter(
            e,
            "gateway_requests",
            "POST /v1/events requests.",
            get(&t.gateway.requests),
        )?;
        counter(
            e,
            "gateway_accepted_events",
            "Events the gateway acknowledged (202).",
            get(&t.gateway.accepted),
        )?;
        self.gateway_rejected(e)?;

        counter(
            e,
            "bus_produced",
            "Records the bus acknowledged.",
            get(&t.bus.produced),
        )?;
        counter(
            e,
            "bus_produce_errors",
            "Records the bus refused.",
            get(&t.bus.produce_errors),
        )?;
        gauge(
            e,
            "bus_broker_reachable",
            "1 while the broker answers (always 1 on the embedded bus), else 0.",
            None,
            u64::from(h.bus.broker_reachable),
        )?;
        gauge(
            e,
            "bus_producer_queue",
            "Records handed to the producer and not yet acknowledged.",
            None,
            h.bus.producer_queue,
        )?;
        if !h.bus.partitions.is_empty() {
            let mut family = e.encode_descriptor(
                "bus_partition_lag",
                "Records in an input partition this relay counts, not yet read by its counter.",
                None,
                MetricType::Gauge,
            )?;
            for p in &h.bus.partitions {
                let labels = [("partition", p.partition)];
                ConstGauge::new(p.lag).encode(family.encode_family(&labels)?)?;
            }
        }

        counter(
            e,
            "windows_counted",
            "Events counted into a window.",
            get(&t.windows.counted),
        )?;
        counter(
            e,
            "windows_late",
            "Events that revised a closed window, within the allowed lateness.",
            get(&t.windows.late),
        )?;
        counter(
            e,
            "windows_too_late",
            "Events later than the allowed lateness (in no window).",
            get(&t.windows.too_late),
        )?;
        counter(
            e,
            "windows_too_early",
            "Events stamped too far in the future (in no window).",
            get(&t.windows.too_early),
        )?;
        counter(
            e,
            "windows_duplicates",
            "Events dropped because their window already counted the same meta.id.",
            get(&t.windows.duplicates),
        )?;
        counter(
            e,
            "windows_unreadable",
            "Input records that were not events.",
            get(&t.windows.unreadable),
        )?;
        counter(
            e,
            "history_write_errors",
            "Writes of final seconds to the history file that failed (they are lost at a restart).",
            get(&t.windows.history_write_errors),
        )?;
        gauge(
            e,
            "windows_open",
            "Windows the counters hold open.",
            None,
            get(&t.windows.open_windows),
        )?;
        gauge(
            e,
            "windows_watermark_delay",
            "How far the merged watermark trails the clock.",
            Some(&Unit::Seconds),
            h.windows.delay_ms as f64 / 1e3,
        )?;

        gauge(
            e,
            "clients_connected",
            "Open SSE streams.",
            None,
            get(&t.clients.connected),
        )?;
        counter(
            e,
            "clients_connections",
            "SSE streams opened.",
            get(&t.clients.total),
        )?;
        counter(
            e,
            "clients_lagged",
            "Times an SSE client was caught up from the update log.",
            get(&t.clients.lagged),
        )?;
        counter(
            e,
            "clients_resynced",
            "Times an SSE client was resynced from the window store.",
            get(&t.clients.resynced),
        )?;
        Ok(())
    }
}

impl RelayCollector {
    /// `gateway_rejected_total{reason}`: every reason in [`ApiError::GATEWAY_REASONS`] (0 until
    /// it happens), then any other one counted.
    fn gateway_rejected(&self, e: &mut DescriptorEncoder) -> fmt::Result {
        let counted = self
            .telemetry
            .gateway
            .rejected
            .lock()
            .expect("lock")
            .clone();
        let mut family = e.encode_descriptor(
            "gateway_rejected",
            "POST /v1/events requests refused, by reason.",
            None,
            MetricType::Counter,
        )?;
        let listed = ApiError::GATEWAY_REASONS
            .iter()
            .map(|&reason| (reason, counted.get(reason).copied().unwrap_or(0)));
        let others = counted
            .iter()
            .filter(|(reason, _)| !ApiError::GATEWAY_REASONS.contains(reason))
            .map(|(&reason, &n)| (reason, n));
        for (reason, n) in listed.chain(others) {
            let labels = [("reason", reason)];
            ConstCounter::new(n).encode(family.encode_family(&labels)?)?;
        }
        Ok(())
    }
}
