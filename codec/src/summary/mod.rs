//! What a window counts of one event, small enough to travel with it on the bus.
//!
//! A source parses every event once anyway (to check it). On Kafka the summary it gets travels
//! as the payload's first member, `{"editpulse-summary-v3":"<22 hex digits><the id>", …the
//! event's own members…}`, so a counter reads ~80 bytes at a known place instead of parsing
//! ~1.3 KB of JSON a second time, and the payload is still the event, as JSON, for any other
//! reader.
//!
//! The 22 hex digits are 11 bytes: flags, type, the id's length, the time. The `meta.id` follows
//! them as it is, so that counters compare ids and not hashes of them (a hash the poster can
//! compute lets a crafted id pass for another). An id that does not fit (over 255 bytes) or
//! would need escaping inside a JSON string is left out, and the flags say so: a counter then
//! parses that record's payload, as it does records without a tag.
//!
//! Records tagged `editpulse-summary-v2` (19 bytes as 38 hex digits, the id only as a 64-bit
//! FNV-1a hash) are still read ([`legacy`]): their ids compare by that hash.
//!
//! Not a record header: librdkafka turns a message's headers into a freshly allocated list when
//! asked for them, five allocations and ~2,000 instructions a record, more than the rest of
//! reading it (docs/performance.md). Records without the member (another producer's, or one
//! whose summary travelled in a header) are parsed in full.

mod id;
mod legacy;
#[cfg(test)]
mod tests;

use wire::Millis;

pub use self::id::{EventId, IdBytes, fnv1a_64};
use crate::event::{Edit, Kind};

/// The payload's first bytes on a record this version tagged; the version is in the member's
/// name so a future layout cannot be misread.
const TAG: &[u8] = br#"{"editpulse-summary-v3":""#;
/// Flags, type, the id's length, the time (little-endian milliseconds).
const HEAD: usize = 11;
const HEAD_HEX: usize = 2 * HEAD;
/// The longest id a tag carries; a longer one is read from the payload.
pub const MAX_TAGGED_ID: usize = u8::MAX as usize;

const BOT: u8 = 1;
const CANARY: u8 = 2;
/// The id follows the hex digits.
const ID_IN_TAG: u8 = 4;
/// The event has an id the tag does not carry: read it from the payload.
const ID_IN_PAYLOAD: u8 = 8;
/// The event is in namespace 0.
const ARTICLE: u8 = 16;
/// The tag says whether the event is an article. Tags written before the breakdown by
/// namespace lack it (and `ARTICLE`); their records are parsed, so they still count exactly.
const NAMESPACE_READ: u8 = 32;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    pub time: Millis,
    pub kind: Kind,
    pub bot: bool,
    pub canary: bool,
    /// The `meta.id`, which is all the duplicate check needs.
    pub id: Option<EventId>,
    /// In namespace 0 (see [`Edit::article`]).
    pub article: bool,
}

/// What a tag says.
enum Tag {
    Summary(Summary),
    /// A tag, but not all a counter needs (the id is only in the payload, or the tag is from
    /// before the namespace was): the record is parsed.
    Incomplete,
}

impl Summary {
    pub fn of(edit: &Edit<'_>) -> Summary {
        Summary {
            time: edit.time,
            kind: edit.kind,
            bot: edit.bot,
            canary: edit.canary,
            id: edit.id.as_deref().map(EventId::exact),
            article: edit.article,
        }
    }

    /// Writes `event` (a JSON object) into `out` with the summary as its first member. Anything
    /// that does not start as an object is copied untouched; a counter then parses it.
    pub fn tag(&self, event: &[u8], out: &mut Vec<u8>) {
        out.clear();
        let json_space = |b: &u8| matches!(b, b' ' | b'\t' | b'\n' | b'\r');
        let start = event
            .iter()
            .position(|b| !json_space(b))
            .unwrap_or(event.len());
        let Some(mut members) = event[start..].strip_prefix(b"{") else {
            out.extend_from_slice(event);
            return;
        };
        // An event tagged before (re-posted from an input topic) keeps one summary member: its
        // old tag, of this version or the previous one, is replaced, not repeated.
        if let Some(len) = tag_len(&event[start..]) {
            let after = &event[start + len..];
            members = after.strip_prefix(b",").unwrap_or(after);
        }
        let (flags, id): (u8, &[u8]) = match &self.id {
            None => (0, b""),
            Some(EventId::Exact(id))
                if id.as_bytes().len() <= MAX_TAGGED_ID && is_plain(id.as_bytes()) =>
            {
                (ID_IN_TAG, id.as_bytes())
            }
            Some(_) => (ID_IN_PAYLOAD, b""),
        };
        let mut head = [0u8; HEAD];
        head[0] = flags | NAMESPACE_READ;
        if self.article {
            head[0] |= ARTICLE;
        }
        if self.bot {
            head[0] |= BOT;
        }
        if self.canary {
            head[0] |= CANARY;
        }
        head[1] = match self.kind {
            Kind::Edit => 0,
            Kind::New => 1,
            Kind::Log => 2,
            Kind::Categorize => 3,
            Kind::Other => 4,
        };
        head[2] = id.len() as u8;
        head[3..11].copy_from_slice(&self.time.0.to_le_bytes());
        out.reserve(TAG.len() + HEAD_HEX + id.len() + 2 + members.len());
        out.extend_from_slice(TAG);
        for b in head {
            out.extend_from_slice(&[
                HEX_DIGITS[usize::from(b >> 4)],
                HEX_DIGITS[usize::from(b & 15)],
            ]);
        }
        out.extend_from_slice(id);
        out.push(b'"');
        if members.iter().find(|b| !json_space(b)) != Some(&b'}') {
            out.push(b',');
        }
        out.extend_from_slice(members);
    }

    /// The summary a relay tagged `payload` with, if it did and the tag holds all a counter
    /// needs; None means: parse the payload (which is also what the previous version's tag
    /// gets: it does not say whether the event is an article). Runs once per record a counter
    /// reads, on the reader's task: table lookups, no branch per digit, and a copy of the id.
    pub fn untag(payload: &[u8]) -> Option<Summary> {
        match read(payload.strip_prefix(TAG)?)?.0 {
            Tag::Summary(s) => Some(s),
            Tag::Incomplete => None,
        }
    }
}

/// The length of the summary member `payload` starts with, of this version or the previous one.
fn tag_len(payload: &[u8]) -> Option<usize> {
    match payload.strip_prefix(TAG) {
        Some(rest) => read(rest).map(|(_, len)| TAG.len() + len),
        None => legacy::untag(payload).map(|_| legacy::TAGGED_LEN),
    }
}

/// Reads a tag's value (after its opening quote): what it says and its length, closing quote
/// included. None for a head that is not exactly what this version writes. The id's bytes are
/// taken as they are, their length being in the head: a source writes only ids that need no
/// escaping, and the gateway's parser refuses an event whose tag's id would end the string early.
fn read(rest: &[u8]) -> Option<(Tag, usize)> {
    let head: [u8; HEAD] = unhex(rest.get(..HEAD_HEX)?)?;
    let flags = head[0];
    if flags & !(BOT | CANARY | ID_IN_TAG | ID_IN_PAYLOAD | ARTICLE | NAMESPACE_READ) != 0
        || flags & (ARTICLE | NAMESPACE_READ) == ARTICLE
    {
        return None;
    }
    let kind = kind_of(head[1])?;
    let id_len = usize::from(head[2]);
    let time = Millis(i64::from_le_bytes(head[3..11].try_into().ok()?));
    let end = HEAD_HEX + id_len;
    if rest.get(end) != Some(&b'"') {
        return None;
    }
    let id = &rest[HEAD_HEX..end];
    let id = match flags & (ID_IN_TAG | ID_IN_PAYLOAD) {
        0 if id.is_empty() => None,
        ID_IN_TAG => Some(EventId::Exact(IdBytes::new(id))),
        ID_IN_PAYLOAD if id.is_empty() => return Some((Tag::Incomplete, end + 1)),
        _ => return None,
    };
    if flags & NAMESPACE_READ == 0 {
        return Some((Tag::Incomplete, end + 1));
    }
    let summary = Summary {
        time,
        kind,
        bot: flags & BOT != 0,
        canary: flags & CANARY != 0,
        id,
        article: flags & ARTICLE != 0,
    };
    Some((Tag::Summary(summary), end + 1))
}

/// Whether `id` can stand inside a JSON string as it is: no quote, backslash or control byte.
/// Ids are UTF-8 (they come from a `str`), which JSON strings take unescaped.
fn is_plain(id: &[u8]) -> bool {
    id.iter().all(|&b| b >= 0x20 && b != b'"' && b != b'\\')
}

fn kind_of(byte: u8) -> Option<Kind> {
    Some(match byte {
        0 => Kind::Edit,
        1 => Kind::New,
        2 => Kind::Log,
        3 => Kind::Categorize,
        4 => Kind::Other,
        _ => return None,
    })
}

/// `2 * N` lower-case hex digits as `N` bytes: table lookups, one check at the end.
fn unhex<const N: usize>(hex: &[u8]) -> Option<[u8; N]> {
    if hex.len() != 2 * N {
        return None;
    }
    let mut bytes = [0u8; N];
    let mut invalid = 0;
    for (out, pair) in bytes.iter_mut().zip(hex.chunks_exact(2)) {
        let (hi, lo) = (NIBBLE[usize::from(pair[0])], NIBBLE[usize::from(pair[1])]);
        invalid |= hi | lo;
        *out = hi << 4 | lo;
    }
    (invalid & NOT_HEX == 0).then_some(bytes)
}

const HEX_DIGITS: &[u8; 16] = b"0123456789abcdef";
/// Marks a byte that is not a (lower-case) hex digit in [`NIBBLE`].
const NOT_HEX: u8 = 0x10;
/// Each byte's value as a hex digit, or [`NOT_HEX`].
const NIBBLE: [u8; 256] = {
    let mut table = [NOT_HEX; 256];
    let mut i = 0;
    while i < 16 {
        table[HEX_DIGITS[i] as usize] = i as u8;
        i += 1;
    }
    table
};
