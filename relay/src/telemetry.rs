//! Counters every stage updates and the health report and `/metrics` read.
//!
//! Plain atomics: the hot paths bump them without locks; the once-a-second health task turns
//! them into a [`wire::Health`].

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Mutex, RwLock};

use wire::PartitionState;

#[derive(Default)]
pub struct Telemetry {
    pub source: SourceStats,
    pub gateway: GatewayStats,
    pub bus: BusStats,
    pub windows: WindowStats,
    pub clients: ClientStats,
}

#[derive(Default)]
pub struct SourceStats {
    pub kind: RwLock<String>,
    pub origin: RwLock<String>,
    pub connected: AtomicBool,
    /// Unix ms of the last event (0: none yet).
    pub last_event_ms: AtomicI64,
    pub reconnects: AtomicU64,
    pub events: AtomicU64,
    pub canaries: AtomicU64,
    pub duplicates: AtomicU64,
    pub malformed: AtomicU64,
    pub last_error: RwLock<Option<String>>,
}

#[derive(Default)]
pub struct GatewayStats {
    pub accepted: AtomicU64,
    pub requests: AtomicU64,
    pub rejected: Mutex<BTreeMap<&'static str, u64>>,
}

#[derive(Default)]
pub struct BusStats {
    pub kind: RwLock<String>,
    pub reachable: AtomicBool,
    pub last_error: RwLock<Option<String>>,
    pub group_members: RwLock<Option<u32>>,
    pub partitions: RwLock<Vec<PartitionState>>,
    pub produced: AtomicU64,
    pub produce_errors: AtomicU64,
}

#[derive(Default)]
pub struct WindowStats {
    pub counted: AtomicU64,
    pub late: AtomicU64,
    pub too_late: AtomicU64,
    pub too_early: AtomicU64,
    pub canaries: AtomicU64,
    pub duplicates: AtomicU64,
    pub unreadable: AtomicU64,
    pub open_windows: AtomicU64,
    /// Writes of final seconds to the history file that failed.
    pub history_write_errors: AtomicU64,
}

#[derive(Default)]
pub struct ClientStats {
    pub connected: AtomicU64,
    pub lagged: AtomicU64,
    pub resynced: AtomicU64,
    pub total: AtomicU64,
}

impl Telemetry {
    pub fn set_source(&self, kind: &str, origin: &str) {
        *self.source.kind.write().expect("lock") = kind.to_string();
        *self.source.origin.write().expect("lock") = origin.to_string();
    }

    /// Sets where events come from, if the source is still `kind` (a replay that is being
    /// stopped must not relabel the source that replaced it).
    pub fn update_origin(&self, kind: &str, origin: &str) {
        let current = self.source.kind.read().expect("lock");
        if *current == kind {
            *self.source.origin.write().expect("lock") = origin.to_string();
        }
    }

    /// Whether the live source is delivering: false while an upstream is disconnected or a
    /// fallback recording plays in its place. Replays, the gateway and serve-only relays have
    /// no live source to lose.
    pub fn source_up(&self) -> bool {
        let kind = self.source.kind.read().expect("lock");
        match kind.as_str() {
            "upstream" => self.source.connected.load(Ordering::Relaxed),
            crate::source::upstream::FALLBACK_KIND => false,
            _ => true,
        }
    }

    pub fn source_error(&self, error: Option<String>) {
        *self.source.last_error.write().expect("lock") = error;
    }

    pub fn bus_error(&self, error: Option<String>) {
        *self.bus.last_error.write().expect("lock") = error;
    }

    pub fn reject(&self, reason: &'static str) {
        *self
            .gateway
            .rejected
            .lock()
            .expect("lock")
            .entry(reason)
            .or_default() += 1;
    }

    /// Events the gateway accepted. Where the gateway is the relay's only source they are its
    /// source's events, so health says when the last arrived; beside the live stream or a
    /// replay they are not, so a quiet upstream still shows as quiet.
    pub fn gateway_accepted(&self, n: u64, now_ms: i64) {
        add(&self.gateway.accepted, n);
        if n > 0 && *self.source.kind.read().expect("lock") == "gateway" {
            self.source.events.fetch_add(n, Ordering::Relaxed);
            self.source.last_event_ms.store(now_ms, Ordering::Relaxed);
        }
    }

    pub fn event_seen(&self, now_ms: i64) {
        self.source.events.fetch_add(1, Ordering::Relaxed);
        self.source.last_event_ms.store(now_ms, Ordering::Relaxed);
    }
}

pub fn get(a: &AtomicU64) -> u64 {
    a.load(Ordering::Relaxed)
}

pub fn add(a: &AtomicU64, n: u64) {
    a.fetch_add(n, Ordering::Relaxed);
}
