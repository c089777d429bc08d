//! What travels on the bus.

use bytes::Bytes;
use wire::{Millis, PartialWindow};

use crate::summary::Summary;

/// An event on its way in: its raw JSON, untouched, the wiki it is keyed by, and what its
/// window will count of it.
#[derive(Debug, Clone)]
pub struct InputRecord {
    pub key: String,
    pub payload: Bytes,
    pub summary: Summary,
    /// When the relay took the event in; it becomes the record's timestamp and decides whether
    /// the event is late, so a recomputation decides the same way.
    pub ingest: Millis,
}

/// An input record as a counter reads it back.
#[derive(Debug, Clone)]
pub struct Delivered {
    pub partition: u32,
    pub offset: u64,
    pub ingest: Millis,
    pub content: Content,
}

#[derive(Debug, Clone)]
pub enum Content {
    /// Written by a relay: the summary it made when it took the event in, and the key (the wiki).
    Summarized { summary: Summary, wiki: Box<str> },
    /// Written by someone else: only the JSON, to be parsed.
    Raw(Bytes),
}

/// What counters write to the output topic and the merger reads.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum OutputRecord {
    Window(PartialWindow),
    /// All of the partition's windows ending at or before `watermark` are final.
    Watermark {
        partition: u32,
        watermark: Millis,
    },
}

impl OutputRecord {
    pub fn partition(&self) -> u32 {
        match self {
            OutputRecord::Window(w) => w.partition,
            OutputRecord::Watermark { partition, .. } => *partition,
        }
    }

    /// The Kafka key: one per (window, partition), so a log-compacted output topic keeps just
    /// the latest partial of each — the same rule the merger applies.
    pub fn key(&self) -> String {
        match self {
            OutputRecord::Window(w) => format!("{}/{}", w.start.0, w.partition),
            OutputRecord::Watermark { partition, .. } => format!("watermark/{partition}"),
        }
    }
}
