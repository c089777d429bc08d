//! Replays a recording at its recorded pace, shifted to now.
//!
//! Every event's time moves by the same whole number of seconds, chosen so the first event
//! falls in the current second and each event is sent when its shifted time comes round: at
//! speed 1 every second of the replay holds exactly the events of the recorded second.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use codec::event::{self, EventError};
use serde_json::Value;
use tokio::sync::watch;
use tokio::time::Instant;
use wire::Millis;

use super::ingest::Ingest;
use crate::clock;

/// The real recording built into the binary, so the default run is never empty.
pub const BUNDLED: &str = include_str!("../../../data/recentchange-2024-02-06-all-wikis.jsonl");
pub const BUNDLED_NAME: &str = "bundled recording (2024-02-06, 218 events, all wikis)";

#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{name}, line {line}: {source}")]
    Line {
        name: String,
        line: usize,
        source: EventError,
    },
    /// Readable as an event, but not as a whole JSON value to re-time (a lone `\u` surrogate in
    /// a field the counter skips, say).
    #[error("{name}, line {line}: {source}")]
    Json {
        name: String,
        line: usize,
        source: serde_json::Error,
    },
    #[error("{name}, line {line}: meta must be a JSON object")]
    NoMeta { name: String, line: usize },
    #[error("{0} holds no events")]
    Empty(String),
}

#[derive(Debug, Clone)]
struct Recorded {
    time: Millis,
    json: Value,
}

#[derive(Debug, Clone)]
pub struct Recording {
    name: String,
    events: Vec<Recorded>,
}

impl Recording {
    pub fn load(path: &Path) -> Result<Recording, ReplayError> {
        let text = std::fs::read_to_string(path).map_err(|source| ReplayError::Io {
            path: path.display().to_string(),
            source,
        })?;
        Recording::parse(&path.display().to_string(), &text)
    }

    /// Refuses the whole file on its first bad line: a replay that silently skipped events
    /// would not reproduce the recording's counts.
    pub fn parse(name: &str, text: &str) -> Result<Recording, ReplayError> {
        let mut events = Vec::new();
        for (i, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let err = |source| ReplayError::Line {
                name: name.to_string(),
                line: i + 1,
                source,
            };
            let time = event::parse(line.as_bytes()).map_err(err)?.time;
            let json: Value = serde_json::from_str(line).map_err(|source| ReplayError::Json {
                name: name.to_string(),
                line: i + 1,
                source,
            })?;
            if !json.get("meta").is_some_and(Value::is_object) {
                return Err(ReplayError::NoMeta {
                    name: name.to_string(),
                    line: i + 1,
                });
            }
            events.push(Recorded { time, json });
        }
        if events.is_empty() {
            return Err(ReplayError::Empty(name.to_string()));
        }
        Ok(Recording {
            name: name.to_string(),
            events,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn len(&self) -> usize {
        self.events.len()
    }

    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }

    /// The recorded events with their times moved by `shift_ms`, as the bus would get them.
    pub fn shifted(&self, shift_ms: i64) -> impl Iterator<Item = (Millis, Bytes)> + '_ {
        self.events.iter().map(move |e| {
            let t = e.time.plus(shift_ms);
            let mut json = e.json.clone();
            json["meta"]["dt"] = Value::String(t.to_string());
            if json.get("timestamp").is_some_and(Value::is_number) {
                json["timestamp"] = Value::from(t.0.div_euclid(1_000));
            }
            (
                t,
                Bytes::from(serde_json::to_vec(&json).expect("a Value serializes")),
            )
        })
    }

    fn first_time(&self) -> Millis {
        self.events[0].time
    }
}

/// Plays the recording until it ends (or forever with `looping`), or until `stop` flips.
pub async fn run(
    rec: Arc<Recording>,
    speed: f64,
    looping: bool,
    ingest: Ingest,
    mut stop: watch::Receiver<bool>,
) {
    let speed = if speed.is_finite() && speed > 0.0 {
        speed
    } else {
        1.0
    };
    tracing::info!(
        recording = rec.name(),
        events = rec.len(),
        speed,
        looping,
        "replay starting"
    );
    loop {
        // Start when the clock reaches the first event's fraction of a second, so that at
        // speed 1 every event is sent exactly at its shifted time.
        let now = clock::now();
        let first = rec.first_time();
        let mut start = now.floor_second().0 + first.0.rem_euclid(1_000);
        if start < now.0 {
            start += 1_000;
        }
        let shift = Millis(start).floor_second().0 - first.floor_second().0;
        let base = Instant::now() + Duration::from_millis((start - now.0) as u64);

        let mut pending: Vec<(Millis, Bytes)> = Vec::new();
        let mut due = base;
        for (t, payload) in rec.shifted(shift) {
            let offset_ms = ((t.0 - shift - first.0) as f64 / speed).max(0.0);
            let at = base + Duration::from_micros((offset_ms * 1_000.0) as u64);
            if at > due
                && !pending.is_empty()
                && !send(&ingest, std::mem::take(&mut pending), due, &mut stop).await
            {
                return;
            }
            due = due.max(at);
            pending.push((t, payload));
        }
        if !send(&ingest, pending, due, &mut stop).await {
            return;
        }
        if !looping {
            tracing::info!(recording = rec.name(), "replay finished");
            return;
        }
    }
}

/// Waits until `at`, then puts the events on the bus, retrying until it takes them: a replay
/// pauses while the bus is down rather than dropping events. False when stopped.
async fn send(
    ingest: &Ingest,
    events: Vec<(Millis, Bytes)>,
    at: Instant,
    stop: &mut watch::Receiver<bool>,
) -> bool {
    tokio::select! {
        _ = tokio::time::sleep_until(at) => {}
        _ = stop.changed() => return false,
    }
    let now = clock::now();
    let records: Vec<_> = events
        .into_iter()
        .map(|(_, payload)| {
            let edit = event::parse(&payload).expect("validated when loaded");
            Ingest::record(&edit, payload.clone(), now)
        })
        .collect();
    let n = records.len();
    if !ingest.submit_until_taken(records, "replay", stop).await {
        return false;
    }
    for _ in 0..n {
        ingest.telemetry.event_seen(now.0);
    }
    // A fast replay on the embedded bus never waits for anything; let the counter run between
    // batches instead of after the whole pass.
    tokio::task::yield_now().await;
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shifting_moves_every_event_by_the_same_seconds() {
        let rec = Recording::parse("bundled", BUNDLED).unwrap();
        assert_eq!(rec.len(), 218);
        let originals: Vec<Millis> = rec.events.iter().map(|e| e.time).collect();
        for ((t, payload), orig) in rec.shifted(3_000).zip(originals) {
            assert_eq!(t, orig.plus(3_000));
            assert_eq!(event::parse(&payload).unwrap().time, t);
        }
    }

    #[test]
    fn names_the_bad_line() {
        let text = format!(
            "{}\n{{\"meta\":{{\"dt\":\"soon\"}}}}\n",
            BUNDLED.lines().next().unwrap()
        );
        let err = Recording::parse("x.jsonl", &text).unwrap_err().to_string();
        assert!(err.starts_with("x.jsonl, line 2: meta.dt"), "{err}");
    }
}
