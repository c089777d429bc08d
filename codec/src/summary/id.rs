//! An event's `meta.id` as a counter compares it: by its bytes, so two different ids are never
//! taken as one.

use std::borrow::Borrow;
use std::hash::{Hash, Hasher};

/// An event's `meta.id`: the unescaped bytes of the string, inline up to 38 bytes (a UUID,
/// which is what Wikimedia's ids are, fits): every record carries one, and a heap allocation per
/// record would be a measurable share of counting.
#[derive(Clone)]
pub struct EventId(Repr);

#[derive(Clone)]
enum Repr {
    Inline(u8, [u8; INLINE]),
    Heap(Box<[u8]>),
}

/// Bytes an [`EventId`] holds without allocating.
const INLINE: usize = 38;

impl EventId {
    pub fn exact(id: &str) -> EventId {
        EventId::new(id.as_bytes())
    }

    pub fn new(bytes: &[u8]) -> EventId {
        if bytes.len() <= INLINE {
            let mut inline = [0; INLINE];
            inline[..bytes.len()].copy_from_slice(bytes);
            EventId(Repr::Inline(bytes.len() as u8, inline))
        } else {
            EventId(Repr::Heap(bytes.into()))
        }
    }

    pub fn as_bytes(&self) -> &[u8] {
        match &self.0 {
            Repr::Inline(len, bytes) => &bytes[..usize::from(*len)],
            Repr::Heap(bytes) => bytes,
        }
    }
}

impl PartialEq for EventId {
    fn eq(&self, other: &EventId) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl Eq for EventId {}

/// Hashes as its bytes do, so a set of ids can be asked about a `&[u8]`.
impl Hash for EventId {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_bytes().hash(state);
    }
}

impl Borrow<[u8]> for EventId {
    fn borrow(&self) -> &[u8] {
        self.as_bytes()
    }
}

impl std::fmt::Debug for EventId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "EventId({:?})", String::from_utf8_lossy(self.as_bytes()))
    }
}
