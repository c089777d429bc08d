//! Server-Sent-Events framing of what the relay sends (the upstream's frames are read by
//! `codec::sse_parse`).

use bytes::Bytes;
use serde::Serialize;

/// `id: …\nevent: …\ndata: …\n\n`. JSON never contains a raw newline, so one `data:` line
/// always carries the whole payload.
pub fn frame(id: u64, event: &str, data: &impl Serialize) -> Bytes {
    let json = serde_json::to_vec(data).expect("wire types always serialize");
    frame_raw(id, event, &json)
}

/// A frame that leaves the client's last event id as it was.
pub fn frame_without_id(event: &str, json: &[u8]) -> Bytes {
    encode(None, event, json)
}

pub fn frame_raw(id: u64, event: &str, json: &[u8]) -> Bytes {
    encode(Some(id), event, json)
}

fn encode(id: Option<u64>, event: &str, json: &[u8]) -> Bytes {
    let mut buf = Vec::with_capacity(json.len() + event.len() + 32);
    if let Some(id) = id {
        buf.extend_from_slice(b"id: ");
        buf.extend_from_slice(id.to_string().as_bytes());
        buf.push(b'\n');
    }
    buf.extend_from_slice(b"event: ");
    buf.extend_from_slice(event.as_bytes());
    buf.extend_from_slice(b"\ndata: ");
    buf.extend_from_slice(json);
    buf.extend_from_slice(b"\n\n");
    Bytes::from(buf)
}
