//! An incremental parser of Server-Sent-Events streams, as the WHATWG spec defines them.
//!
//! Fed arbitrary chunks (a frame may be split anywhere, even inside a `\r\n`), it yields whole
//! events. Lines end in `\n`, `\r\n` or `\r`; `:` starts a comment; unknown fields are ignored.

/// One dispatched event.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SseEvent {
    pub event: Option<String>,
    pub data: String,
    /// The `id` in force for this event (ids persist until changed, per the spec).
    pub id: Option<String>,
    pub retry_ms: Option<u64>,
}

#[derive(Debug, Default)]
pub struct SseParser {
    line: Vec<u8>,
    /// The previous chunk ended in `\r`: a `\n` starting the next chunk belongs to it.
    after_cr: bool,
    event: Option<String>,
    data: String,
    has_data: bool,
    last_id: Option<String>,
    retry_ms: Option<u64>,
    max_line: usize,
    overlong: bool,
    /// The event being read had an overlong line: it is dropped when it ends.
    discard: bool,
}

impl SseParser {
    /// Lines longer than `max_line` bytes are dropped (with the event they belong to), so a
    /// hostile or broken upstream cannot make the relay buffer without bound.
    pub fn new(max_line: usize) -> Self {
        SseParser {
            max_line,
            ..Default::default()
        }
    }

    /// The last `id:` seen, to send back as `Last-Event-ID` when reconnecting.
    pub fn last_id(&self) -> Option<&str> {
        self.last_id.as_deref()
    }

    pub fn set_last_id(&mut self, id: Option<String>) {
        self.last_id = id;
    }

    /// Feeds a chunk; returns the events it completed.
    pub fn feed(&mut self, chunk: &[u8]) -> Vec<SseEvent> {
        let mut out = Vec::new();
        for &b in chunk {
            if self.after_cr {
                self.after_cr = false;
                if b == b'\n' {
                    continue;
                }
            }
            match b {
                b'\n' => self.end_line(&mut out),
                b'\r' => {
                    self.after_cr = true;
                    self.end_line(&mut out);
                }
                _ if self.line.len() >= self.max_line => self.overlong = true,
                _ => self.line.push(b),
            }
        }
        out
    }

    fn end_line(&mut self, out: &mut Vec<SseEvent>) {
        let line = std::mem::take(&mut self.line);
        if std::mem::take(&mut self.overlong) {
            self.reset_event();
            self.discard = true;
            return;
        }
        if line.is_empty() {
            if !std::mem::take(&mut self.discard) && self.has_data {
                out.push(SseEvent {
                    event: self.event.take(),
                    data: std::mem::take(&mut self.data),
                    id: self.last_id.clone(),
                    retry_ms: self.retry_ms,
                });
            }
            self.reset_event();
            return;
        }
        if line[0] == b':' {
            return;
        }
        let (field, value) = match line.iter().position(|&c| c == b':') {
            Some(i) => {
                let v = &line[i + 1..];
                (&line[..i], v.strip_prefix(b" ").unwrap_or(v))
            }
            None => (&line[..], &b""[..]),
        };
        let value = String::from_utf8_lossy(value);
        match field {
            b"event" => self.event = Some(value.into_owned()),
            b"data" => {
                if self.has_data {
                    self.data.push('\n');
                }
                self.data.push_str(&value);
                self.has_data = true;
            }
            b"id" if !value.contains('\0') => self.last_id = Some(value.into_owned()),
            b"retry" => self.retry_ms = value.parse().ok().or(self.retry_ms),
            _ => {}
        }
    }

    fn reset_event(&mut self) {
        self.event = None;
        self.data.clear();
        self.has_data = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_all(chunks: &[&[u8]]) -> Vec<SseEvent> {
        let mut p = SseParser::new(1 << 20);
        chunks.iter().flat_map(|c| p.feed(c)).collect()
    }

    #[test]
    fn reads_wikimedia_frames() {
        let frame = b"event: message\nid: [{\"topic\":\"t\",\"partition\":0,\"timestamp\":1}]\ndata: {\"a\":1}\n\n";
        let events = parse_all(&[frame]);
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].event.as_deref(), Some("message"));
        assert_eq!(events[0].data, "{\"a\":1}");
        assert_eq!(
            events[0].id.as_deref(),
            Some("[{\"topic\":\"t\",\"partition\":0,\"timestamp\":1}]")
        );
    }

    #[test]
    fn the_same_events_whatever_the_chunking_and_line_endings() {
        let text = b": hello\r\nevent: message\r\ndata: one\r\ndata: two\r\n\r\ndata:three\r\rid: 7\ndata: four\n\n";
        let whole = parse_all(&[text]);
        assert_eq!(whole.len(), 3);
        assert_eq!(whole[0].data, "one\ntwo");
        assert_eq!(whole[1].data, "three");
        assert_eq!(whole[2].id.as_deref(), Some("7"));
        for split in 0..text.len() {
            let (a, b) = text.split_at(split);
            assert_eq!(parse_all(&[a, b]), whole, "split at {split}");
        }
        let bytes: Vec<&[u8]> = text.chunks(1).collect();
        assert_eq!(parse_all(&bytes), whole);
    }

    #[test]
    fn drops_overlong_lines_with_their_event() {
        let mut p = SseParser::new(8);
        let events = p.feed(b"data: 0123456789abcdef\n\ndata: ok\n\n");
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].data, "ok");
    }

    #[test]
    fn an_event_without_data_is_not_dispatched() {
        assert!(parse_all(&[b"event: x\nid: 1\n\n"]).is_empty());
    }
}
