//! An event's `meta.id` as a counter compares it: by its bytes, so two different ids are never
//! taken as one.

use std::borrow::Borrow;
use std::hash::{Hash, Hasher};

/// What a record tells of its event's `meta.id`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventId {
    /// The id itself: the unescaped bytes of the `meta.id` string.
    Exact(IdBytes),
    /// Only the id's [`fnv1a_64`] hash: all a record tagged `editpulse-summary-v2` carries.
    Fnv(u64),
}

impl EventId {
    pub fn exact(id: &str) -> EventId {
        EventId::Exact(IdBytes::new(id.as_bytes()))
    }
}

/// An id's bytes, inline up to 38 bytes (a UUID, which is what Wikimedia's ids are,
/// fits): every record carries one, and a heap allocation per record would be a measurable share
/// of counting.
#[derive(Clone)]
pub struct IdBytes(Repr);

#[derive(Clone)]
enum Repr {
    Inline(u8, [u8; INLINE]),
    Heap(Box<[u8]>),
}

/// Bytes an [`IdBytes`] holds without allocating.
const INLINE: usize = 38;

impl IdBytes {
    pub fn new(bytes: &[u8]) -> IdBytes {
        if bytes.len() <= INLINE {
            let mut inline = [0; INLINE];
            inline[..bytes.len()].copy_from_slice(bytes);
            IdBytes(Repr::Inline(bytes.len() as u8, inline))
        } else {
            IdBytes(Repr::Heap(bytes.into()))
        }
    }

    pub fn as_bytes(&self) -> &[u8] {
        match &self.0 {
            Repr::Inline(len, bytes) => &bytes[..usize::from(*len)],
            Repr::Heap(bytes) => bytes,
        }
    }

    /// The id's hash as a `editpulse-summary-v2` tag carries it.
    pub fn fnv(&self) -> u64 {
        fnv1a_64(self.as_bytes())
    }
}

impl PartialEq for IdBytes {
    fn eq(&self, other: &IdBytes) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl Eq for IdBytes {}

/// Hashes as its bytes do, so a set of `IdBytes` can be asked about a `&[u8]`.
impl Hash for IdBytes {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_bytes().hash(state);
    }
}

impl Borrow<[u8]> for IdBytes {
    fn borrow(&self) -> &[u8] {
        self.as_bytes()
    }
}

impl std::fmt::Debug for IdBytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "IdBytes({:?})", String::from_utf8_lossy(self.as_bytes()))
    }
}

/// FNV-1a, 64 bits: the `meta.id` hash of `editpulse-summary-v2` tags. Anyone can compute
/// collisions of it, so it only ever compares ids that a v2 tag left no other way to compare.
pub fn fnv1a_64(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    h
}
