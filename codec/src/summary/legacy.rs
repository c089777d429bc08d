//! Reading the previous tag, `{"editpulse-summary-v2":"<38 hex digits>"`: 19 bytes of flags,
//! type, a reserved zero, the time and the `meta.id`'s 64-bit FNV-1a hash. Relays no longer write
//! it; records on the input topic from before still count, their ids compared by that hash.

use wire::Millis;

use super::{EventId, Summary, kind_of, unhex};

const TAG: &[u8] = br#"{"editpulse-summary-v2":""#;
const LEN: usize = 19;
const HEX: usize = 2 * LEN;
/// The member's length, closing quote included.
pub(super) const TAGGED_LEN: usize = TAG.len() + HEX + 1;

pub(super) fn untag(payload: &[u8]) -> Option<Summary> {
    let rest = payload.strip_prefix(TAG)?;
    if rest.get(HEX) != Some(&b'"') {
        return None;
    }
    decode(&unhex::<LEN>(&rest[..HEX])?)
}

fn decode(bytes: &[u8; LEN]) -> Option<Summary> {
    let flags = bytes[0];
    if flags & !0b111 != 0 || bytes[2] != 0 {
        return None;
    }
    let kind = kind_of(bytes[1])?;
    let time = i64::from_le_bytes(bytes[3..11].try_into().ok()?);
    let id = u64::from_le_bytes(bytes[11..19].try_into().ok()?);
    Some(Summary {
        time: Millis(time),
        kind,
        bot: flags & 1 != 0,
        canary: flags & 2 != 0,
        id: (flags & 4 != 0).then_some(EventId::Fnv(id)),
        article: false,
    })
}

/// How a relay wrote a v2 tag, for the tests of reading one.
#[cfg(test)]
pub(super) fn tag_v2(s: &Summary, members: &str) -> Vec<u8> {
    let id = match &s.id {
        Some(EventId::Fnv(h)) => Some(*h),
        Some(EventId::Exact(id)) => Some(id.fnv()),
        None => None,
    };
    let mut bytes = [0u8; LEN];
    bytes[0] = u8::from(s.bot) | u8::from(s.canary) << 1 | u8::from(id.is_some()) << 2;
    bytes[1] = s.kind as u8;
    bytes[3..11].copy_from_slice(&s.time.0.to_le_bytes());
    bytes[11..19].copy_from_slice(&id.unwrap_or(0).to_le_bytes());
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    let sep = if members.is_empty() { "" } else { "," };
    format!(r#"{{"editpulse-summary-v2":"{hex}"{sep}{members}}}"#).into_bytes()
}
