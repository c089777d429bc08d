//! What a replay plays: one recording, or the real recordings built into the binary, one after
//! another — about five and a half minutes of edits, so a relay without internet shows minutes
//! of real traffic before its chart repeats.

use std::sync::Arc;

use super::replay::{Recording, ReplayError};

/// A real recording built into the binary: what it is, and the JSON-lines texts it is kept in,
/// in order.
pub struct Bundled {
    pub label: &'static str,
    pub parts: &'static [&'static str],
}

/// The bundled recordings, in the order they are replayed.
pub const BUNDLED: [Bundled; 3] = [
    Bundled {
        label: "2024-02-06, all wikis",
        parts: &[include_str!(
            "../../../data/recentchange-2024-02-06-all-wikis.jsonl"
        )],
    },
    Bundled {
        label: "2024-02-07, all wikis",
        parts: &[include_str!(
            "../../../data/recentchange-2024-02-07-all-wikis.jsonl"
        )],
    },
    // One capture kept in two files: its first 400 events are also the legacy-schema fixture
    // of the parsers' tests.
    Bundled {
        label: "2018-03-07, Wikidata, legacy schema",
        parts: &[
            include_str!("../../../data/legacy-2018-03-07-wikidata-first400.jsonl"),
            include_str!("../../../data/legacy-2018-03-07-wikidata-after-first400.jsonl"),
        ],
    },
];

/// Recordings played in turn.
#[derive(Debug)]
pub struct Playlist {
    name: String,
    recordings: Vec<Recording>,
}

impl Playlist {
    pub fn one(recording: Recording) -> Playlist {
        Playlist {
            name: recording.name().to_string(),
            recordings: vec![recording],
        }
    }

    /// Every bundled recording, in order.
    pub fn bundled() -> Result<Playlist, ReplayError> {
        let recordings = BUNDLED
            .iter()
            .map(|b| {
                let rec = Recording::parse_lines(b.label, b.parts.iter().flat_map(|p| p.lines()))?;
                let name = format!("{}: {} events over {} s", b.label, rec.len(), rec.seconds());
                Ok(rec.named(name))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Playlist {
            name: bundled_name(),
            recordings,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn recordings(&self) -> &[Recording] {
        &self.recordings
    }

    pub fn events(&self) -> usize {
        self.recordings.iter().map(Recording::len).sum()
    }

    /// Where events come from while recording `playing` plays (health's source origin).
    pub fn origin(&self, playing: usize) -> String {
        format!(
            "{}; playing {} of {}: {}",
            self.name,
            playing + 1,
            self.recordings.len(),
            self.recordings[playing].name()
        )
    }
}

/// The name of the bundled playlist, known without parsing it.
pub fn bundled_name() -> String {
    let labels: Vec<&str> = BUNDLED.iter().map(|b| b.label).collect();
    format!(
        "{} bundled recordings in turn ({})",
        BUNDLED.len(),
        labels.join("; ")
    )
}

/// What plays while the upstream cannot be reached.
#[derive(Debug, Clone)]
pub enum Fallback {
    /// A recording the relay was given, checked at start-up.
    Given(Arc<Playlist>),
    /// The bundled recordings, parsed only when they are needed: they hold minutes of events,
    /// which a relay that never loses its upstream need not keep in memory.
    Bundled,
}

impl Fallback {
    pub fn name(&self) -> String {
        match self {
            Fallback::Given(p) => p.name().to_string(),
            Fallback::Bundled => bundled_name(),
        }
    }

    pub fn playlist(&self) -> Result<Arc<Playlist>, ReplayError> {
        match self {
            Fallback::Given(p) => Ok(p.clone()),
            Fallback::Bundled => Playlist::bundled().map(Arc::new),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde_json::Value;
    use wire::Millis;

    use super::*;
    use crate::source::replay::Placement;

    /// An event's second of the day, read from the digits of `meta.dt` (every recording is
    /// UTC and within one day): an independent count, without the relay's time parser.
    fn second_of_day(dt: &str) -> i64 {
        let n = |r: std::ops::Range<usize>| dt[r].parse::<i64>().unwrap();
        n(11..13) * 3_600 + n(14..16) * 60 + n(17..19)
    }

    /// Per-second counts of a bundled recording from its text, zeros included, in order.
    fn recorded_counts(b: &Bundled) -> Vec<u64> {
        let mut per_second = BTreeMap::new();
        for line in b.parts.iter().flat_map(|p| p.lines()) {
            let v: Value = serde_json::from_str(line).unwrap();
            *per_second
                .entry(second_of_day(v["meta"]["dt"].as_str().unwrap()))
                .or_insert(0u64) += 1;
        }
        let first = *per_second.keys().next().unwrap();
        let last = *per_second.keys().next_back().unwrap();
        (first..=last)
            .map(|s| per_second.get(&s).copied().unwrap_or(0))
            .collect()
    }

    fn meta_ids(text: impl Iterator<Item = Vec<u8>>) -> BTreeMap<String, usize> {
        let mut ids = BTreeMap::new();
        for payload in text {
            let v: Value = serde_json::from_slice(&payload).unwrap();
            *ids.entry(v["meta"]["id"].as_str().unwrap().to_string())
                .or_insert(0) += 1;
        }
        ids
    }

    /// Two loops of the bundled playlist, placed as the replay places them with the clock at
    /// the end of each recording: every bundled recording plays, in order, each taking the
    /// seconds right after the one before (no second shared, none skipped, across the loop's
    /// wrap too); every second holds exactly the recorded second's count; every event is
    /// replayed once per loop.
    #[test]
    fn the_fallback_plays_every_bundled_recording_in_turn_exactly() {
        let playlist = Playlist::bundled().unwrap();
        assert_eq!(playlist.recordings().len(), BUNDLED.len());
        let loop_events: usize = BUNDLED
            .iter()
            .map(|b| b.parts.iter().flat_map(|p| p.lines()).count())
            .sum();
        assert_eq!(playlist.events(), loop_events);
        let seconds: i64 = playlist.recordings().iter().map(Recording::seconds).sum();
        assert!(seconds >= 300, "a loop lasts {seconds} s");

        let all_ids = meta_ids(
            BUNDLED
                .iter()
                .flat_map(|b| b.parts.iter().flat_map(|p| p.lines()))
                .map(|l| l.as_bytes().to_vec()),
        );
        let mut now = Millis(1_800_000_000_000 + 437);
        let mut after: Option<Millis> = None;
        let mut timeline: BTreeMap<i64, u64> = BTreeMap::new();
        let mut expected: Vec<u64> = Vec::new();
        let first_second = Placement::new(&playlist.recordings()[0], now, None)
            .start
            .floor_second();
        for pass in 0..2 {
            let mut payloads = Vec::new();
            for (i, (rec, bundled)) in playlist.recordings().iter().zip(&BUNDLED).enumerate() {
                assert!(rec.name().starts_with(bundled.label), "{}", rec.name());
                let placed = Placement::new(rec, now, after);
                let first = rec.earliest().plus(placed.shift_ms).floor_second();
                if let Some(after) = after {
                    assert_eq!(
                        first,
                        after.plus(1_000),
                        "pass {pass}, recording {i} does not start right after the previous one"
                    );
                }
                for (t, payload) in rec.shifted(placed.shift_ms) {
                    *timeline.entry(t.floor_second().0).or_insert(0) += 1;
                    payloads.push(payload.to_vec());
                }
                expected.extend(recorded_counts(bundled));
                after = Some(placed.last_second(rec));
                // The replay moves on once the recording's latest event went out.
                now = placed.start.plus(rec.latest().0 - rec.earliest().0 + 3);
            }
            assert_eq!(
                meta_ids(payloads.into_iter()),
                all_ids,
                "pass {pass}: every bundled event, once"
            );
        }
        let got: Vec<u64> = (0..expected.len() as i64)
            .map(|k| {
                timeline
                    .get(&(first_second.0 + k * 1_000))
                    .copied()
                    .unwrap_or(0)
            })
            .collect();
        assert_eq!(
            timeline.keys().next_back(),
            Some(&(first_second.0 + (expected.len() as i64 - 1) * 1_000)),
            "nothing after the two loops' last second"
        );
        assert_eq!(got, expected, "per-second counts of two loops");
    }

    #[test]
    fn health_says_what_plays() {
        let playlist = Playlist::bundled().unwrap();
        assert_eq!(playlist.name(), Fallback::Bundled.name());
        assert_eq!(
            playlist.origin(1),
            "3 bundled recordings in turn (2024-02-06, all wikis; 2024-02-07, all wikis; \
             2018-03-07, Wikidata, legacy schema); playing 2 of 3: 2024-02-07, all wikis: \
             118 events over 9 s"
        );
    }
}
