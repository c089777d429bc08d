//! Replays recordings at their recorded pace, shifted to now, one after another.
//!
//! Every event of a recording moves by the same whole number of seconds, chosen so its earliest
//! event falls in the next second not yet taken — by the clock, or by the recording played
//! before it — and each event is sent, in the recording's order, when its shifted time comes
//! round (an event older than one before it goes out with that one, as it reached the real
//! stream). At speed 1 every second of the replay holds exactly the events of one recorded
//! second, and consecutive recordings (and passes of a loop) take consecutive seconds: none
//! shared, none skipped.

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
use super::playlist::Playlist;
use crate::clock;

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
        Recording::parse_lines(name, text.lines())
    }

    /// [`Recording::parse`] of lines that may come from several texts (a recording kept in
    /// parts); lines are numbered across all of them.
    pub fn parse_lines<'a>(
        name: &str,
        lines: impl Iterator<Item = &'a str>,
    ) -> Result<Recording, ReplayError> {
        let mut events = Vec::new();
        for (i, line) in lines.enumerate() {
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

    pub fn named(self, name: String) -> Recording {
        Recording { name, ..self }
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

    /// The time of its earliest event (not always the first: the stream is not in time order).
    pub fn earliest(&self) -> Millis {
        self.events
            .iter()
            .map(|e| e.time)
            .min()
            .expect("never empty")
    }

    pub fn latest(&self) -> Millis {
        self.events
            .iter()
            .map(|e| e.time)
            .max()
            .expect("never empty")
    }

    /// Whole seconds from the second of its earliest event to that of its latest, both
    /// included: how many seconds of the replay it takes.
    pub fn seconds(&self) -> i64 {
        (self.latest().floor_second().0 - self.earliest().floor_second().0) / 1_000 + 1
    }
}

/// Where a recording goes in time: its events move by `shift_ms` (whole seconds), and its
/// earliest event is due at `start`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Placement {
    pub shift_ms: i64,
    pub start: Millis,
}

impl Placement {
    /// The earliest event goes in the first second whose matching instant (same fraction of a
    /// second) is not past at `now` and which comes after `after`, the last second the recording
    /// played before it took.
    pub fn new(rec: &Recording, now: Millis, after: Option<Millis>) -> Placement {
        let earliest = rec.earliest();
        let fraction = earliest.0.rem_euclid(1_000);
        let mut start = now.floor_second().0 + fraction;
        if start < now.0 {
            start += 1_000;
        }
        if let Some(after) = after {
            start = start.max(after.floor_second().0 + 1_000 + fraction);
        }
        Placement {
            shift_ms: Millis(start).floor_second().0 - earliest.floor_second().0,
            start: Millis(start),
        }
    }

    /// The last second the placed recording takes.
    pub fn last_second(&self, rec: &Recording) -> Millis {
        rec.latest().plus(self.shift_ms).floor_second()
    }
}

/// Plays the playlist's recordings in turn until the last ends (or forever with `looping`), or
/// until `stop` flips. While a playlist of several plays, the source's origin in health says
/// which one is playing, as long as the source is still `kind`.
pub async fn run(
    playlist: Arc<Playlist>,
    speed: f64,
    looping: bool,
    kind: &'static str,
    ingest: Ingest,
    mut stop: watch::Receiver<bool>,
) {
    let speed = if speed.is_finite() && speed > 0.0 {
        speed
    } else {
        1.0
    };
    tracing::info!(
        playlist = playlist.name(),
        events = playlist.events(),
        speed,
        looping,
        "replay starting"
    );
    // The last second the previous recording took. Faster than recorded, a recording ends
    // before its seconds have come round, and waiting for them would undo the speed: each
    // recording then starts by the clock alone.
    let mut after: Option<Millis> = None;
    loop {
        for (i, rec) in playlist.recordings().iter().enumerate() {
            if playlist.recordings().len() > 1 {
                ingest.telemetry.update_origin(kind, &playlist.origin(i));
            }
            let placed = Placement::new(rec, clock::now(), after.filter(|_| speed <= 1.0));
            if !play(rec, placed, speed, &ingest, &mut stop).await {
                return;
            }
            after = Some(placed.last_second(rec));
        }
        if !looping {
            tracing::info!(playlist = playlist.name(), "replay finished");
            return;
        }
    }
}

/// Sends one placed recording at its pace. False when stopped.
async fn play(
    rec: &Recording,
    placed: Placement,
    speed: f64,
    ingest: &Ingest,
    stop: &mut watch::Receiver<bool>,
) -> bool {
    let wait_ms = (placed.start.0 - clock::now().0).max(0);
    let base = Instant::now() + Duration::from_millis(wait_ms as u64);
    let earliest = rec.earliest();
    let mut pending: Vec<(Millis, Bytes)> = Vec::new();
    let mut due = base;
    for (t, payload) in rec.shifted(placed.shift_ms) {
        let offset_ms = ((t.0 - placed.shift_ms - earliest.0) as f64 / speed).max(0.0);
        let at = base + Duration::from_micros((offset_ms * 1_000.0) as u64);
        if at > due
            && !pending.is_empty()
            && !send(ingest, std::mem::take(&mut pending), due, stop).await
        {
            return false;
        }
        due = due.max(at);
        pending.push((t, payload));
    }
    send(ingest, pending, due, stop).await
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

    const RECORDED: &str = include_str!("../../../data/recentchange-2024-02-06-all-wikis.jsonl");

    #[test]
    fn shifting_moves_every_event_by_the_same_seconds() {
        let rec = Recording::parse("recorded", RECORDED).unwrap();
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
            RECORDED.lines().next().unwrap()
        );
        let err = Recording::parse("x.jsonl", &text).unwrap_err().to_string();
        assert!(err.starts_with("x.jsonl, line 2: meta.dt"), "{err}");
    }

    #[test]
    fn a_placed_recording_starts_in_the_next_free_second() {
        let rec = Recording::parse("recorded", RECORDED).unwrap();
        let earliest = rec.earliest();
        // Its earliest event is not its first: the stream is not in time order.
        assert!(earliest < rec.events[0].time);
        let now = Millis(1_800_000_000_000 + 999);
        let p = Placement::new(&rec, now, None);
        assert!(p.start >= now && p.start.0 - now.0 < 1_000, "{p:?}");
        assert_eq!(earliest.plus(p.shift_ms), p.start);
        // After a recording that took the seconds up to 10 s from now, the next one takes the
        // 11th, whatever the clock says.
        let after = now.plus(10_000).floor_second();
        let q = Placement::new(&rec, now, Some(after));
        assert_eq!(earliest.plus(q.shift_ms).floor_second(), after.plus(1_000));
        assert_eq!(
            q.last_second(&rec),
            after.plus(1_000 * rec.seconds()),
            "it takes {} seconds",
            rec.seconds()
        );
    }
}
