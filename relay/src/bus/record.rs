//! What travels on the bus.

use bytes::Bytes;
use codec::event::EventError;
use codec::summary::Summary;
use wire::{Millis, PartialWindow};

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

impl Content {
    /// A record read the way every counter reads it: from the summary tag at the start of
    /// `tagged` (the payload on Kafka, the summary column on the embedded bus) and the key (the
    /// wiki). None when the tag does not carry it all: then [`Content::parse`] the payload.
    pub fn from_tag(tagged: &[u8], key: Option<&[u8]>) -> Option<Content> {
        let wiki = key.and_then(WikiName::from_utf8)?;
        Summary::untag(tagged).map(|summary| Content::Summarized { summary, wiki })
    }

    /// A record whose tag does not say it all, parsed from its payload.
    pub fn parse(payload: &[u8]) -> Content {
        match codec::event::parse(payload) {
            Ok(edit) => Content::Summarized {
                summary: Summary::of(&edit),
                wiki: edit.wiki.as_ref().into(),
            },
            Err(e) => Content::Unreadable(e),
        }
    }
}

/// A wiki's name, inline when it fits (every Wikimedia wiki's does): each record carries one,
/// and a heap allocation per record would be a measurable share of counting. Always UTF-8.
#[derive(Debug, Clone)]
pub enum WikiName {
    Inline(u8, [u8; INLINE]),
    Heap(Box<[u8]>),
}

const INLINE: usize = 30;

impl WikiName {
    /// None unless `bytes` is UTF-8. Wikimedia's wiki names are ASCII, which is checked a word
    /// at a time, several times faster than the full check on names this short.
    pub fn from_utf8(bytes: &[u8]) -> Option<WikiName> {
        (bytes.is_ascii() || std::str::from_utf8(bytes).is_ok()).then(|| WikiName::copied(bytes))
    }

    /// The name's UTF-8 bytes. Counters key by these, so the check where the name was read is
    /// the only one a record pays.
    pub fn as_bytes(&self) -> &[u8] {
        match self {
            WikiName::Inline(len, bytes) => &bytes[..usize::from(*len)],
            WikiName::Heap(b) => b,
        }
    }

    fn copied(utf8: &[u8]) -> WikiName {
        if utf8.len() <= INLINE {
            let mut bytes = [0; INLINE];
            bytes[..utf8.len()].copy_from_slice(utf8);
            WikiName::Inline(utf8.len() as u8, bytes)
        } else {
            WikiName::Heap(utf8.into())
        }
    }
}

impl From<&str> for WikiName {
    fn from(s: &str) -> WikiName {
        WikiName::copied(s.as_bytes())
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
            OutputRecord::Window(w) => format!("{}/{}", w.window.start.0, w.partition),
            OutputRecord::Watermark { partition, .. } => format!("watermark/{partition}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::WikiName;

    #[test]
    fn wiki_names_keep_their_bytes_and_refuse_what_is_not_utf8() {
        let long = "x".repeat(31);
        for name in ["enwiki", "", "ääwiki", "wiki-名前", long.as_str()] {
            let from_bytes = WikiName::from_utf8(name.as_bytes()).expect("UTF-8");
            assert_eq!(from_bytes.as_bytes(), name.as_bytes());
            assert_eq!(WikiName::from(name).as_bytes(), name.as_bytes());
        }
        assert!(matches!(WikiName::from(long.as_str()), WikiName::Heap(_)));
        for bad in [&b"en\xffwiki"[..], b"\xc3", b"caf\xc3\x28"] {
            assert!(WikiName::from_utf8(bad).is_none(), "{bad:?}");
        }
    }
}
