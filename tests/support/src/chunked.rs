//! HTTP/1.1 `Transfer-Encoding: chunked`: an incremental decoder for response bodies read off
//! a raw socket, and the framing of one chunk for servers that write their bodies by hand.

use anyhow::{Context, bail};

/// Decodes a chunked body fed in pieces of any size. Strict: every size line and every
/// chunk's data must end with CRLF.
#[derive(Debug, Default)]
pub struct Dechunker {
    state: State,
    line: Vec<u8>,
}

#[derive(Debug, Default)]
enum State {
    #[default]
    Size,
    Data(usize),
    /// The CRLF after a chunk's data: bytes of it still to come.
    Crlf(u8),
    Done,
}

impl Dechunker {
    /// Appends the body bytes in `input` to `out`. Errors on a malformed size line or a
    /// missing CRLF; ignores whatever follows the last chunk.
    pub fn feed(&mut self, mut input: &[u8], out: &mut Vec<u8>) -> anyhow::Result<()> {
        while !input.is_empty() {
            match self.state {
                State::Size => {
                    let Some(nl) = input.iter().position(|&b| b == b'\n') else {
                        self.line.extend_from_slice(input);
                        return Ok(());
                    };
                    self.line.extend_from_slice(&input[..nl]);
                    input = &input[nl + 1..];
                    let Some(text) = self.line.strip_suffix(b"\r") else {
                        bail!("chunk size line not ended by CRLF");
                    };
                    let text = std::str::from_utf8(text).context("chunk size line")?;
                    let hex = text.split(';').next().unwrap_or("").trim();
                    let size = usize::from_str_radix(hex, 16)
                        .with_context(|| format!("bad chunk size line {text:?}"))?;
                    self.line.clear();
                    self.state = if size == 0 {
                        State::Done
                    } else {
                        State::Data(size)
                    };
                }
                State::Data(left) => {
                    let n = left.min(input.len());
                    out.extend_from_slice(&input[..n]);
                    input = &input[n..];
                    self.state = if n == left {
                        State::Crlf(2)
                    } else {
                        State::Data(left - n)
                    };
                }
                State::Crlf(left) => {
                    let want = &b"\r\n"[2 - left as usize..];
                    let n = want.len().min(input.len());
                    if input[..n] != want[..n] {
                        bail!("chunk data not followed by CRLF");
                    }
                    input = &input[n..];
                    self.state = if n == want.len() {
                        State::Size
                    } else {
                        State::Crlf(left - n as u8)
                    };
                }
                State::Done => return Ok(()),
            }
        }
        Ok(())
    }

    /// The last (zero-size) chunk has been read.
    pub fn done(&self) -> bool {
        matches!(self.state, State::Done)
    }
}

/// `bytes` framed as one chunk (size line, data, CRLF), appended to `out`.
pub fn encode_into(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(format!("{:x}\r\n", bytes.len()).as_bytes());
    out.extend_from_slice(bytes);
    out.extend_from_slice(b"\r\n");
}

/// `bytes` framed as one chunk.
pub fn encode(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len() + 12);
    encode_into(&mut out, bytes);
    out
}

/// The last chunk, which ends a body.
pub const END: &[u8] = b"0\r\n\r\n";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dechunks_across_any_split() {
        let wire = b"5\r\nhello\r\n7;ext=1\r\n, world\r\n0\r\n\r\n";
        for split in 0..wire.len() {
            let mut d = Dechunker::default();
            let mut out = Vec::new();
            d.feed(&wire[..split], &mut out).unwrap();
            d.feed(&wire[split..], &mut out).unwrap();
            assert_eq!(out, b"hello, world", "split at {split}");
            assert!(d.done());
        }
    }

    #[test]
    fn encodes_what_it_decodes() {
        let mut wire = encode(b"hello");
        encode_into(&mut wire, b", world");
        wire.extend_from_slice(END);
        let (mut d, mut out) = (Dechunker::default(), Vec::new());
        d.feed(&wire, &mut out).unwrap();
        assert_eq!(out, b"hello, world");
        assert!(d.done());
    }

    #[test]
    fn refuses_missing_crlf() {
        let mut out = Vec::new();
        assert!(
            Dechunker::default()
                .feed(b"5\r\nhelloXY", &mut out)
                .is_err()
        );
        assert!(Dechunker::default().feed(b"5\nhello", &mut out).is_err());
        assert!(Dechunker::default().feed(b"zz\r\n", &mut out).is_err());
    }
}
