//! The pipeline's health, stage by stage, as `GET /v1/health` and the `health` SSE event
//! report it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::Millis;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    #[default]
    Ok,
    Degraded,
    Down,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Health {
    /// The worst status of any stage.
    pub status: Status,
    /// One sentence per stage that is not ok, saying why.
    pub reasons: Vec<String>,
    pub time: Millis,
    pub source: SourceHealth,
    pub gateway: GatewayHealth,
    pub bus: BusHealth,
    pub windows: WindowsHealth,
    pub clients: ClientsHealth,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SourceHealth {
    pub status: Status,
    /// `upstream`, `replay`, `fallback-replay` (upstream unreachable, recordings
    /// playing), `gateway` (gateway only) or `none` (`--serve-only`).
    pub kind: String,
    /// Where events come from: the upstream URL, or what is replayed (and, of several
    /// recordings, which one is playing).
    pub origin: String,
    pub connected: bool,
    /// Milliseconds since the last event (canaries included) arrived, if any did.
    pub last_event_age_ms: Option<u64>,
    pub reconnects: u64,
    /// Mean rate over the last 10 s (over the whole run while the relay is younger).
    pub events_per_sec: f64,
    pub events: u64,
    pub canaries: u64,
    pub duplicates: u64,
    pub malformed: u64,
    pub last_error: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct GatewayHealth {
    pub status: Status,
    pub accepted: u64,
    /// Rejected requests by reason (`bad_event`, `too_large`, `unsupported_media_type`,
    /// `unauthorized`, `unavailable`).
    pub rejected: BTreeMap<String, u64>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BusHealth {
    pub status: Status,
    /// `kafka` or `embedded`.
    pub kind: String,
    pub broker_reachable: bool,
    /// Records handed to the producer and not yet acknowledged.
    pub producer_queue: u64,
    pub last_error: Option<String>,
    /// Consumer-group members this relay last saw (Kafka mode).
    pub group_members: Option<u32>,
    /// The input partitions this relay counts, with their lag and watermark.
    pub partitions: Vec<PartitionState>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PartitionState {
    pub partition: u32,
    /// Records in the partition not yet read by the counter.
    pub lag: u64,
    pub watermark: Millis,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct WindowsHealth {
    pub status: Status,
    /// Every window ending at or before this is final.
    pub watermark: Millis,
    /// How far the watermark trails the wall clock, in milliseconds.
    pub delay_ms: i64,
    /// Events that arrived after their window had closed, within the allowed lateness.
    pub late: u64,
    /// Events later than the allowed lateness: counted here, never in a window.
    pub too_late: u64,
    /// Events dropped as repeats: their window already counted the same `meta.id` (by ingest
    /// time: a second within the allowed lateness of theirs did).
    #[serde(default)]
    pub duplicates: u64,
    pub open_windows: u64,
    /// Seconds held that were counted without a breakdown by wiki, type, bot and namespace
    /// (partials written by a relay from before breakdowns): their totals are exact, filtered
    /// views leave them out.
    #[serde(default)]
    pub without_breakdown: u64,
    /// Distinct filters being streamed (each computed once for all of its clients).
    #[serde(default)]
    pub filtered_streams: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ClientsHealth {
    pub status: Status,
    pub connected: u64,
    /// Clients that fell behind the live stream and were caught up from history.
    pub lagged: u64,
    /// Clients that fell so far behind that they had to resync from `/v1/counts`.
    pub resynced: u64,
}
