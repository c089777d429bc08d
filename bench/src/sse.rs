//! A cheap raw-TCP SSE client: an HTTP/1.1 GET, a chunked-body decoder and an SSE frame
//! splitter, so thousands of them fit in one process.

use std::io;
use std::os::fd::{AsRawFd, RawFd};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail};
use tokio::io::{AsyncReadExt, AsyncWriteExt, Interest};
use tokio::net::TcpStream;

/// Decodes `Transfer-Encoding: chunked`.
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
    /// The CRLF after a chunk's data: bytes of it still to skip.
    Crlf(u8),
    Done,
}

impl Dechunker {
    /// Appends the body bytes in `input` to `out`. Errors on a malformed size line.
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
                    let text = std::str::from_utf8(&self.line)?.trim_end_matches('\r');
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
                    let n = (left as usize).min(input.len());
                    input = &input[n..];
                    self.state = if n as u8 == left {
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

    pub fn done(&self) -> bool {
        matches!(self.state, State::Done)
    }
}

/// One SSE frame, borrowed from the buffer.
#[derive(Debug, PartialEq, Eq)]
pub struct Frame<'a> {
    pub id: Option<u64>,
    pub event: &'a str,
    pub data: &'a str,
}

/// Splits complete frames off the front of `buf`, calling `f` for each; keeps the rest.
pub fn frames(buf: &mut Vec<u8>, mut f: impl FnMut(Frame<'_>)) {
    let mut start = 0;
    while let Some(end) = find_blank_line(&buf[start..]) {
        let raw = &buf[start..start + end];
        let text = std::str::from_utf8(raw).unwrap_or("");
        let mut frame = Frame {
            id: None,
            event: "message",
            data: "",
        };
        for line in text.split('\n') {
            if let Some(v) = line.strip_prefix("id: ") {
                frame.id = v.trim().parse().ok();
            } else if let Some(v) = line.strip_prefix("event: ") {
                frame.event = v;
            } else if let Some(v) = line.strip_prefix("data: ") {
                frame.data = v;
            }
        }
        f(frame);
        start += end + 2;
    }
    buf.drain(..start);
}

fn find_blank_line(b: &[u8]) -> Option<usize> {
    b.windows(2).position(|w| w == b"\n\n")
}

/// An open `GET /v1/stream`, past its response headers.
pub struct SseConn {
    stream: TcpStream,
    dechunk: Dechunker,
    raw: Vec<u8>,
    /// Decoded body bytes not yet split into frames.
    pub body: Vec<u8>,
    /// When the kernel received the newest bytes of the last read (`SO_TIMESTAMPNS`): the
    /// moment of delivery to this client, however late this process gets round to reading it.
    pub received: Option<SystemTime>,
}

impl SseConn {
    pub async fn open(port: u16, path: &str) -> anyhow::Result<SseConn> {
        let mut stream = TcpStream::connect(("127.0.0.1", port)).await?;
        stream.set_nodelay(true)?;
        enable_rx_timestamps(stream.as_raw_fd())?;
        let req = format!(
            "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAccept: text/event-stream\r\n\r\n"
        );
        stream.write_all(req.as_bytes()).await?;
        let mut head = Vec::with_capacity(1024);
        let mut buf = [0u8; 2048];
        let end = loop {
            let n = stream.read(&mut buf).await?;
            if n == 0 {
                bail!("connection closed before the response headers");
            }
            head.extend_from_slice(&buf[..n]);
            if let Some(p) = head.windows(4).position(|w| w == b"\r\n\r\n") {
                break p + 4;
            }
            if head.len() > 16 * 1024 {
                bail!("response headers too long");
            }
        };
        let headers = String::from_utf8_lossy(&head[..end]).to_ascii_lowercase();
        if !headers.starts_with("http/1.1 200") {
            bail!("GET {path}: {}", headers.lines().next().unwrap_or(""));
        }
        if !headers.contains("transfer-encoding: chunked") {
            bail!("GET {path}: expected a chunked response, got {headers}");
        }
        let mut conn = SseConn {
            stream,
            dechunk: Dechunker::default(),
            raw: Vec::new(),
            body: Vec::with_capacity(4096),
            received: None,
        };
        let rest = head[end..].to_vec();
        conn.dechunk.feed(&rest, &mut conn.body)?;
        Ok(conn)
    }

    /// Reads once (waiting for bytes) and appends what it decodes to `body`. False at the end
    /// of the stream.
    pub async fn read_more(&mut self) -> anyhow::Result<bool> {
        self.raw.resize(8192, 0);
        let fd = self.stream.as_raw_fd();
        let raw = &mut self.raw;
        let (n, received) = self
            .stream
            .async_io(Interest::READABLE, || recv_stamped(fd, raw))
            .await?;
        self.received = received.or(self.received);
        if n == 0 || self.dechunk.done() {
            return Ok(false);
        }
        let (raw, body) = (&self.raw[..n], &mut self.body);
        self.dechunk.feed(raw, body)?;
        Ok(!self.dechunk.done())
    }
}

fn enable_rx_timestamps(fd: RawFd) -> io::Result<()> {
    let on: libc::c_int = 1;
    // SAFETY: a valid socket and a c_int option value of the size passed.
    let rc = unsafe {
        libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_TIMESTAMPNS,
            (&on as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// `recvmsg` into `buf`, with the kernel's receive time of the last segment read.
fn recv_stamped(fd: RawFd, buf: &mut [u8]) -> io::Result<(usize, Option<SystemTime>)> {
    let mut iov = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: buf.len(),
    };
    // u64s, so the control buffer is aligned for cmsghdr.
    let mut control = [0u64; 8];
    // SAFETY: msghdr is plain data; every pointer set below outlives the call.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.as_mut_ptr().cast();
    msg.msg_controllen = std::mem::size_of_val(&control) as _;
    // SAFETY: fd is an open socket and msg describes live buffers.
    let n = unsafe { libc::recvmsg(fd, &mut msg, 0) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    let mut stamp = None;
    // SAFETY: walking the control messages the kernel wrote into `control`, within
    // msg_controllen, with the libc macros meant for it.
    unsafe {
        let mut c = libc::CMSG_FIRSTHDR(&msg);
        while !c.is_null() {
            if (*c).cmsg_level == libc::SOL_SOCKET && (*c).cmsg_type == libc::SCM_TIMESTAMPNS {
                let ts: libc::timespec = std::ptr::read_unaligned(libc::CMSG_DATA(c).cast());
                stamp = Some(UNIX_EPOCH + Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32));
            }
            c = libc::CMSG_NXTHDR(&msg, c);
        }
    }
    Ok((n as usize, stamp))
}

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
    fn splits_frames_and_keeps_the_rest() {
        let mut buf =
            b"id: 7\nevent: count\ndata: {\"a\":1}\n\nid: 8\nevent: health\ndata: {}\n\nid: 9\nev"
                .to_vec();
        let mut seen = Vec::new();
        frames(&mut buf, |f| {
            seen.push((f.id, f.event.to_string(), f.data.to_string()))
        });
        assert_eq!(
            seen,
            vec![
                (Some(7), "count".to_string(), "{\"a\":1}".to_string()),
                (Some(8), "health".to_string(), "{}".to_string()),
            ]
        );
        assert_eq!(buf, b"id: 9\nev");
    }
}
