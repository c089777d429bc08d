//! What a window counts of one event, small enough to travel with it on the bus.
//!
//! A source parses every event once anyway (to check it). On Kafka the summary it gets travels
//! as the payload's first member, `{"editpulse-summary-v2":"<38 hex digits>", …the event's own
//! members…}`, so a counter reads 65 bytes at a known place instead of parsing ~1.3 KB of JSON a
//! second time, and the payload is still the event, as JSON, for any other reader.
//!
//! Not a record header: librdkafka turns a message's headers into a freshly allocated list when
//! asked for them, five allocations and ~2,000 instructions a record, more than the rest of
//! reading it (docs/performance.md). Records without the member (another producer's, or one
//! whose summary travelled in a header) are parsed in full.

use wire::Millis;

use crate::event::{Edit, Kind};

/// The payload's first bytes on a record this version tagged; the version is in the member's
/// name so a future layout cannot be misread.
const TAG: &[u8] = br#"{"editpulse-summary-v2":""#;
const LEN: usize = 19;
const HEX: usize = 2 * LEN;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Summary {
    pub time: Millis,
    pub kind: Kind,
    pub bot: bool,
    pub canary: bool,
    /// The `meta.id`'s hash, which is all the duplicate check needs.
    pub id: Option<u64>,
}

impl Summary {
    pub fn of(edit: &Edit<'_>) -> Summary {
        Summary {
            time: edit.time,
            kind: edit.kind,
            bot: edit.bot,
            canary: edit.canary,
            id: edit.id.as_deref().map(id_hash),
        }
    }

    pub fn encode(&self) -> [u8; LEN] {
        let mut out = [0u8; LEN];
        out[0] = u8::from(self.bot) | u8::from(self.canary) << 1 | u8::from(self.id.is_some()) << 2;
        out[1] = match self.kind {
            Kind::Edit => 0,
            Kind::New => 1,
            Kind::Log => 2,
            Kind::Categorize => 3,
            Kind::Other => 4,
        };
        out[2] = 0;
        out[3..11].copy_from_slice(&self.time.0.to_le_bytes());
        out[11..19].copy_from_slice(&self.id.unwrap_or(0).to_le_bytes());
        out
    }

    /// None for anything that is not exactly what this version encodes; the record is then
    /// parsed from its payload instead.
    pub fn decode(bytes: &[u8]) -> Option<Summary> {
        let bytes: &[u8; LEN] = bytes.try_into().ok()?;
        let flags = bytes[0];
        if flags & !0b111 != 0 || bytes[2] != 0 {
            return None;
        }
        let kind = match bytes[1] {
            0 => Kind::Edit,
            1 => Kind::New,
            2 => Kind::Log,
            3 => Kind::Categorize,
            4 => Kind::Other,
            _ => return None,
        };
        let time = i64::from_le_bytes(bytes[3..11].try_into().ok()?);
        let id = u64::from_le_bytes(bytes[11..19].try_into().ok()?);
        Some(Summary {
            time: Millis(time),
            kind,
            bot: flags & 1 != 0,
            canary: flags & 2 != 0,
            id: (flags & 4 != 0).then_some(id),
        })
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
        // An event tagged before (re-posted from an input topic) keeps one member of that name:
        // its old tag is replaced, not repeated.
        if Summary::untag(&event[start..]).is_some() {
            let after = &event[start + TAG.len() + HEX + 1..];
            members = after.strip_prefix(b",").unwrap_or(after);
        }
        out.reserve(TAG.len() + HEX + 2 + members.len());
        out.extend_from_slice(TAG);
        for b in self.encode() {
            out.extend_from_slice(&[
                HEX_DIGITS[usize::from(b >> 4)],
                HEX_DIGITS[usize::from(b & 15)],
            ]);
        }
        out.push(b'"');
        if members.iter().find(|b| !json_space(b)) != Some(&b'}') {
            out.push(b',');
        }
        out.extend_from_slice(members);
    }

    /// The summary a relay tagged `payload` with, if it did. Runs once per record a counter
    /// reads, on the reader's task: table lookups, no branch per digit.
    pub fn untag(payload: &[u8]) -> Option<Summary> {
        let rest = payload.strip_prefix(TAG)?;
        let hex: &[u8; HEX + 1] = rest.get(..=HEX)?.try_into().ok()?;
        if hex[HEX] != b'"' {
            return None;
        }
        let mut bytes = [0u8; LEN];
        let mut invalid = 0;
        for (out, pair) in bytes.iter_mut().zip(hex.chunks_exact(2)) {
            let (hi, lo) = (NIBBLE[usize::from(pair[0])], NIBBLE[usize::from(pair[1])]);
            invalid |= hi | lo;
            *out = hi << 4 | lo;
        }
        if invalid & NOT_HEX != 0 {
            return None;
        }
        Summary::decode(&bytes)
    }
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

/// FNV-1a, 64 bits: ids are short strings, and this runs once per event.
pub fn id_hash(id: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in id.bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_every_bundled_event() {
        for line in include_str!("../../data/recentchange-2024-02-06-all-wikis.jsonl").lines() {
            let s = Summary::of(&crate::event::parse(line.as_bytes()).unwrap());
            assert_eq!(Summary::decode(&s.encode()), Some(s));
        }
        let odd = Summary {
            time: Millis(-1),
            kind: Kind::Other,
            bot: false,
            canary: true,
            id: None,
        };
        assert_eq!(Summary::decode(&odd.encode()), Some(odd));
    }

    #[test]
    fn a_tagged_event_is_the_same_json_with_one_member_more() {
        let mut tagged = Vec::new();
        for line in include_str!("../../data/recentchange-2024-02-06-all-wikis.jsonl").lines() {
            let s = Summary::of(&crate::event::parse(line.as_bytes()).unwrap());
            s.tag(line.as_bytes(), &mut tagged);
            assert_eq!(Summary::untag(&tagged), Some(s));
            // Other readers still get the event, and the relay's own parser the same summary.
            let mut value: serde_json::Value = serde_json::from_slice(&tagged).unwrap();
            let member = value
                .as_object_mut()
                .unwrap()
                .remove("editpulse-summary-v2");
            assert!(member.is_some_and(|m| m.as_str().is_some_and(|h| h.len() == HEX)));
            assert_eq!(
                value,
                serde_json::from_str::<serde_json::Value>(line).unwrap()
            );
            assert_eq!(Summary::of(&crate::event::parse(&tagged).unwrap()), s);
        }
    }

    #[test]
    fn tags_any_object_and_copies_anything_else() {
        let s = Summary::of(
            &crate::event::parse(br#"{"meta":{"dt":"2026-01-01T00:00:00Z","id":"x"}}"#).unwrap(),
        );
        let mut out = Vec::new();
        for (event, members) in [(&b" {}"[..], 0), (b"\n{ }", 0), (b"{\"a\":1}", 1)] {
            s.tag(event, &mut out);
            let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
            assert_eq!(v.as_object().unwrap().len(), members + 1, "{event:?}");
            assert_eq!(Summary::untag(&out), Some(s));
        }
        for event in [&b"[1]"[..], b"", b"  7"] {
            s.tag(event, &mut out);
            assert_eq!(out, event);
            assert_eq!(Summary::untag(&out), None);
        }
    }

    #[test]
    fn retagging_replaces_the_old_tag() {
        let edit = crate::event::parse(br#"{"meta":{"dt":"2026-01-01T00:00:00Z","id":"x"}}"#);
        let s = Summary::of(&edit.unwrap());
        let other = Summary { bot: true, ..s };
        let (mut once, mut twice) = (Vec::new(), Vec::new());
        for event in [&br#"{"a":1}"#[..], b"{}"] {
            other.tag(event, &mut once);
            s.tag(&once, &mut twice);
            assert_eq!(Summary::untag(&twice), Some(s));
            let members: serde_json::Map<String, serde_json::Value> =
                serde_json::from_slice(&twice).unwrap();
            let again: serde_json::Map<String, serde_json::Value> =
                serde_json::from_slice(&once).unwrap();
            assert_eq!(members.len(), again.len());
            // Exactly one member of that name in the bytes, not only in the parsed map.
            let name = br#""editpulse-summary-v2""#;
            assert_eq!(twice.windows(name.len()).filter(|w| w == name).count(), 1);
        }
    }

    #[test]
    fn untags_only_what_it_tagged() {
        let s = Summary::of(
            &crate::event::parse(br#"{"meta":{"dt":"2026-01-01T00:00:00Z","id":"x"}}"#).unwrap(),
        );
        let mut good = Vec::new();
        s.tag(br#"{"a":1}"#, &mut good);
        assert!(Summary::untag(&good).is_some());
        let hex = TAG.len();
        for (at, value) in [(hex, b'A'), (hex + 1, b'g'), (hex + HEX, b'x'), (0, b' ')] {
            let mut bad = good.clone();
            bad[at] = value;
            assert_eq!(Summary::untag(&bad), None, "byte {at} = {}", value as char);
        }
        assert_eq!(Summary::untag(&good[..hex + HEX]), None);
        // A flag byte this version never writes.
        let mut bad = good.clone();
        bad[hex] = b'8';
        assert_eq!(Summary::untag(&bad), None);
    }

    #[test]
    fn refuses_what_it_did_not_write() {
        let good = Summary::of(
            &crate::event::parse(br#"{"meta":{"dt":"2026-01-01T00:00:00Z","id":"x"}}"#).unwrap(),
        )
        .encode();
        assert!(Summary::decode(&good[..18]).is_none());
        assert!(Summary::decode(&[good.as_slice(), &[0]].concat()).is_none());
        for (at, value) in [(0, 0b1000), (1, 5), (2, 1)] {
            let mut bad = good;
            bad[at] = value;
            assert!(Summary::decode(&bad).is_none(), "byte {at} = {value}");
        }
    }
}
