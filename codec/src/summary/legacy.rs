//! The previous tag, `{"editpulse-summary-v2":"<38 hex digits>"`: 19 bytes of flags, type, a
//! reserved zero, the time and the `meta.id`'s 64-bit FNV-1a hash. Relays no longer write it,
//! and a counter parses such a record instead (the tag says nothing of the namespace, and a
//! hash of the id is not the id); it is only recognised, so that re-tagging replaces it.

use super::unhex;

const TAG: &[u8] = br#"{"editpulse-summary-v2":""#;
const LEN: usize = 19;
const HEX: usize = 2 * LEN;
/// The member's length, closing quote included.
pub(super) const TAGGED_LEN: usize = TAG.len() + HEX + 1;

/// Whether `payload` starts with a well-formed v2 tag.
pub(super) fn is_tagged(payload: &[u8]) -> bool {
    let Some(rest) = payload.strip_prefix(TAG) else {
        return false;
    };
    rest.get(HEX) == Some(&b'"')
        && unhex::<LEN>(&rest[..HEX])
            .is_some_and(|b| b[0] & !0b111 == 0 && b[2] == 0 && super::kind_of(b[1]).is_some())
}

/// How a relay wrote a v2 tag, for the tests of reading one.
#[cfg(test)]
pub(super) fn tag_v2(s: &super::Summary, members: &str) -> Vec<u8> {
    let fnv = |bytes: &[u8]| {
        bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        })
    };
    let id = s.id.as_ref().map(|id| fnv(id.as_bytes()));
    let mut bytes = [0u8; LEN];
    bytes[0] = u8::from(s.bot) | u8::from(s.canary) << 1 | u8::from(id.is_some()) << 2;
    bytes[1] = s.kind as u8;
    bytes[3..11].copy_from_slice(&s.time.0.to_le_bytes());
    bytes[11..19].copy_from_slice(&id.unwrap_or(0).to_le_bytes());
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    let sep = if members.is_empty() { "" } else { "," };
    format!(r#"{{"editpulse-summary-v2":"{hex}"{sep}{members}}}"#).into_bytes()
}
