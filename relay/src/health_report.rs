//! Turns the stages' counters into a health report once a second (served by `http::health`).

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::sync::watch;
use wire::stream::HEALTH_EVENT;
use wire::{
    BusHealth, ClientsHealth, GatewayHealth, Health, Millis, SourceHealth, Status, WindowsHealth,
};

use crate::bus::InputProducer;
use crate::clock;
use crate::config::Config;
use crate::publish::Published;
use crate::telemetry::{Telemetry, get};

/// An upstream silent for this long is degraded even while connected (canaries come hourly,
/// edits many times a second).
const SILENT_SOURCE: Duration = Duration::from_secs(30);

/// The window `events_per_sec` averages over.
pub const RATE_WINDOW: Duration = Duration::from_secs(10);

/// Events per second over the last [`RATE_WINDOW`]: (events now − events then) / elapsed.
/// One-second samples of a source that delivers in bursts swing between nothing and several
/// times the real rate; ten seconds of them do not. Until the relay has run that long the
/// window is as long as it has run.
#[derive(Debug, Default)]
pub struct RateWindow {
    /// (when, events counted by then), oldest first, spanning at most the window.
    samples: VecDeque<(Duration, u64)>,
}

impl RateWindow {
    /// Records `events` (a running total) at `at` (any monotonic origin) and returns the rate.
    pub fn push(&mut self, at: Duration, events: u64) -> f64 {
        self.samples.push_back((at, events));
        // Keep the newest sample at least a window old as the baseline.
        while self
            .samples
            .get(1)
            .is_some_and(|&(t, _)| at.saturating_sub(t) >= RATE_WINDOW)
        {
            self.samples.pop_front();
        }
        let (t0, e0) = self.samples[0];
        let elapsed = at.saturating_sub(t0).as_secs_f64();
        if elapsed > 0.0 {
            events.saturating_sub(e0) as f64 / elapsed
        } else {
            0.0
        }
    }
}

pub struct Reporter {
    pub telemetry: Arc<Telemetry>,
    pub published: Arc<Published>,
    pub config: Arc<Config>,
    pub producer: Option<InputProducer>,
    started: Instant,
    rate: RateWindow,
}

impl Reporter {
    pub fn new(
        telemetry: Arc<Telemetry>,
        published: Arc<Published>,
        config: Arc<Config>,
        producer: Option<InputProducer>,
    ) -> Self {
        Reporter {
            telemetry,
            published,
            config,
            producer,
            started: Instant::now(),
            rate: RateWindow::default(),
        }
    }

    /// Reports once a second; the receiver holds the report and its SSE frame body.
    pub fn spawn(mut self, mut stop: watch::Receiver<bool>) -> watch::Receiver<(Health, Bytes)> {
        let first = self.report(clock::now());
        let (tx, rx) = watch::channel(encode(first));
        tokio::spawn(async move {
            loop {
                // On the second, like the publish task's new-second update, so SSE clients
                // get both in one wake and one write.
                tokio::select! {
                    _ = tokio::time::sleep(clock::until_next_second()) => {}
                    _ = stop.changed() => break,
                }
                let h = self.report(clock::now());
                tx.send_replace(encode(h));
                self.published.wake_clients();
            }
        });
        rx
    }

    pub fn report(&mut self, now: Millis) -> Health {
        let t = &self.telemetry;
        let events = get(&t.source.events);
        let events_per_sec = self.rate.push(self.started.elapsed(), events);

        let mut h = Health {
            time: now,
            source: self.source(now, events_per_sec),
            gateway: self.gateway(),
            bus: self.bus(),
            windows: self.windows(now),
            clients: ClientsHealth {
                status: Status::Ok,
                connected: get(&t.clients.connected),
                lagged: get(&t.clients.lagged),
                resynced: get(&t.clients.resynced),
            },
            ..Health::default()
        };
        let mut reasons = Vec::new();
        let mut note = |stage: &str, status: Status, why: Option<&String>| {
            if status != Status::Ok {
                reasons.push(format!("{stage}: {}", why.map_or("not ok", |s| s.as_str())));
            }
        };
        note("source", h.source.status, h.source.last_error.as_ref());
        note("bus", h.bus.status, h.bus.last_error.as_ref());
        let windows_why = format!("watermark {} ms behind the clock", h.windows.delay_ms);
        note("windows", h.windows.status, Some(&windows_why));
        if h.gateway.status != Status::Ok {
            reasons.push("gateway: refusing events while the bus is unavailable".into());
        }
        h.status = [
            h.source.status,
            h.gateway.status,
            h.bus.status,
            h.windows.status,
            h.clients.status,
        ]
        .into_iter()
        .max()
        .unwrap_or_default();
        h.reasons = reasons;
        h
    }

    fn source(&self, now: Millis, events_per_sec: f64) -> SourceHealth {
        let s = &self.telemetry.source;
        let kind = s.kind.read().expect("lock").clone();
        let last = s.last_event_ms.load(Ordering::Relaxed);
        let last_event_age_ms = (last > 0).then(|| (now.0 - last).max(0) as u64);
        let connected = s.connected.load(Ordering::Relaxed);
        let last_error = s.last_error.read().expect("lock").clone();
        let status = match kind.as_str() {
            // Wikimedia closes every stream about every 15 minutes: a reconnect while events
            // were flowing a moment ago is routine, not an outage.
            "upstream" if !connected && last_event_age_ms.is_some_and(|a| a < 60_000) => {
                Status::Degraded
            }
            "upstream" if !connected => Status::Down,
            "upstream"
                if last_event_age_ms.is_none_or(|a| a > SILENT_SOURCE.as_millis() as u64) =>
            {
                Status::Degraded
            }
            "fallback-replay" => Status::Degraded,
            _ if last_error.is_some() && kind != "upstream" => Status::Degraded,
            _ => Status::Ok,
        };
        let last_error = match (kind.as_str(), last_error) {
            ("upstream", None) if status == Status::Degraded => {
                Some("connected, but no events for 30 s".into())
            }
            ("fallback-replay", e) => Some(format!(
                "upstream unreachable ({}), replaying recordings meanwhile",
                e.unwrap_or_else(|| "no answer".into())
            )),
            (_, e) => e,
        };
        SourceHealth {
            status,
            kind,
            origin: s.origin.read().expect("lock").clone(),
            connected: connected
                || matches!(
                    s.kind.read().expect("lock").as_str(),
                    "replay" | "fallback-replay"
                ),
            last_event_age_ms,
            reconnects: get(&s.reconnects),
            events_per_sec: (events_per_sec * 10.0).round() / 10.0,
            events: get(&s.events),
            canaries: get(&s.canaries),
            duplicates: get(&s.duplicates),
            malformed: get(&s.malformed),
            last_error,
        }
    }

    fn gateway(&self) -> GatewayHealth {
        let g = &self.telemetry.gateway;
        let rejected = g
            .rejected
            .lock()
            .expect("lock")
            .iter()
            .map(|(k, v)| (k.to_string(), *v))
            .collect();
        let bus_down =
            self.producer.is_some() && !self.telemetry.bus.reachable.load(Ordering::Relaxed);
        GatewayHealth {
            status: if bus_down {
                Status::Degraded
            } else {
                Status::Ok
            },
            accepted: get(&g.accepted),
            rejected,
        }
    }

    fn bus(&self) -> BusHealth {
        let b = &self.telemetry.bus;
        let reachable = b.reachable.load(Ordering::Relaxed);
        let kind = b.kind.read().expect("lock").clone();
        let producer_queue = self.producer.as_ref().map_or(0, InputProducer::in_flight);
        let full =
            kind == "embedded" && producer_queue as usize >= self.config.embedded_capacity * 9 / 10;
        BusHealth {
            status: if !reachable {
                Status::Down
            } else if full {
                Status::Degraded
            } else {
                Status::Ok
            },
            kind,
            broker_reachable: reachable,
            producer_queue,
            last_error: if full {
                Some("the embedded bus is nearly full".into())
            } else {
                b.last_error.read().expect("lock").clone()
            },
            group_members: *b.group_members.read().expect("lock"),
            partitions: b.partitions.read().expect("lock").clone(),
        }
    }

    fn windows(&self, now: Millis) -> WindowsHealth {
        let w = &self.telemetry.windows;
        let merger = self.published.merger.read().expect("merger lock");
        let watermark = merger.watermark().unwrap_or_default();
        let delay_ms = if watermark.0 > 0 {
            now.0 - watermark.0
        } else {
            0
        };
        let expected = self.config.watermark_delay.as_millis() as i64;
        let status = if watermark.0 == 0 || delay_ms > expected + 5_000 {
            Status::Degraded
        } else {
            Status::Ok
        };
        WindowsHealth {
            status,
            watermark,
            delay_ms,
            late: get(&w.late),
            too_late: get(&w.too_late) + get(&w.too_early),
            duplicates: get(&w.duplicates),
            open_windows: merger.open_windows() as u64,
            without_breakdown: merger.seconds_without_breakdown(),
            filtered_streams: self.published.feeds.len() as u64,
        }
    }
}

fn encode(h: Health) -> (Health, Bytes) {
    // The id line is per client; this is the rest of the frame, shared by all.
    let json = serde_json::to_vec(&h).expect("health serializes");
    let mut body = Vec::with_capacity(json.len() + 32);
    body.extend_from_slice(b"event: ");
    body.extend_from_slice(HEALTH_EVENT.as_bytes());
    body.extend_from_slice(b"\ndata: ");
    body.extend_from_slice(&json);
    body.extend_from_slice(b"\n\n");
    (h, Bytes::from(body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_per_sec_is_the_mean_of_the_last_ten_seconds() {
        let mut rate = RateWindow::default();
        let s = Duration::from_secs;
        assert_eq!(rate.push(s(0), 0), 0.0);
        // Bursts: 54 events every other second, a steady 27/s on average.
        let mut events = 0;
        let mut seen = Vec::new();
        for t in 1..=30 {
            if t % 2 == 0 {
                events += 54;
            }
            seen.push(rate.push(s(t), events));
        }
        for r in &seen[10..] {
            assert!((r - 27.0).abs() <= 2.7, "{seen:?}");
        }
        // The window is ten seconds: a stop shows fully after ten quiet seconds, not before.
        for t in 31..=35 {
            rate.push(s(t), events);
        }
        assert!(rate.push(s(36), events) > 0.0);
        for t in 37..=45 {
            rate.push(s(t), events);
        }
        assert_eq!(rate.push(s(46), events), 0.0);
    }
}
