//! What travels on the bus.

use bytes::Bytes;
use wire::{Millis, PartialWindow};

use crate::event::EventError;
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

/// What a counter needs of a record: a relay's own records carry it (the summary header and
/// the key); anyone else's are parsed where they are read, from the broker's buffer.
#[derive(Debug, Clone)]
pub enum Content {
    Summarized {
        summary: Summary,
        wiki: WikiName,
    },
    /// Not an event: counted as unreadable and skipped, never fatal.
    Unreadable(EventError),
}

/// A wiki's name, inline when it fits (every Wikimedia wiki's does): each record carries one,
/// and a heap allocation per record was a measurable share of counting.
#[derive(Debug, Clone)]
pub enum WikiName {
    Inline(u8, [u8; INLINE]),
    Heap(Box<str>),
}

const INLINE: usize = 30;

impl WikiName {
    pub fn as_str(&self) -> &str {
        match self {
            // Only ever filled from a `&str`, so this cannot fail.
            WikiName::Inline(len, bytes) => {
                std::str::from_utf8(&bytes[..usize::from(*len)]).unwrap_or_default()
            }
            WikiName::Heap(s) => s,
        }
    }
}

impl From<&str> for WikiName {
    fn from(s: &str) -> WikiName {
        if s.len() <= INLINE {
            let mut bytes = [0; INLINE];
            bytes[..s.len()].copy_from_slice(s.as_bytes());
            WikiName::Inline(s.len() as u8, bytes)
        } else {
            WikiName::Heap(s.into())
        }
    }
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
