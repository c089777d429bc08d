//! A cheap raw-TCP SSE client: an HTTP/1.1 GET written by hand, the chunked body decoded as it
//! arrives, SSE frames split off with their exact bytes, and the kernel's receive time of each
//! read (`SO_TIMESTAMPNS`). Thousands fit in one process.

use std::io;
use std::os::fd::{AsRawFd, RawFd};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail};
use tokio::io::{AsyncReadExt, AsyncWriteExt, Interest};
use tokio::net::{TcpSocket, TcpStream};

use crate::chunked::Dechunker;

/// How long connecting, and then the response headers, may take.
pub const TIMEOUT: Duration = Duration::from_secs(10);

/// Connects to 127.0.0.1:`port` (with a `recv_buffer`-byte receive buffer if given) and sends
/// `GET <path>` asking for an event stream. Reads nothing: a client that never reads is this
/// stream, left alone.
pub async fn connect(port: u16, path: &str, recv_buffer: Option<u32>) -> anyhow::Result<TcpStream> {
    let socket = TcpSocket::new_v4()?;
    if let Some(size) = recv_buffer {
        socket.set_recv_buffer_size(size)?;
    }
    let mut stream = tokio::time::timeout(TIMEOUT, socket.connect(([127, 0, 0, 1], port).into()))
        .await
        .context("connect timed out")?
        .with_context(|| format!("connect to 127.0.0.1:{port}"))?;
    stream.set_nodelay(true)?;
    let req = format!(
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAccept: text/event-stream\r\n\r\n"
    );
    stream.write_all(req.as_bytes()).await?;
    Ok(stream)
}

/// An open `GET` of an event stream, past its response headers.
pub struct SseConn {
    stream: TcpStream,
    dechunk: Dechunker,
    raw: Vec<u8>,
    /// Decoded body bytes not yet split into frames (see [`frames`]).
    pub body: Vec<u8>,
    /// When the kernel received the newest bytes of the last read (`SO_TIMESTAMPNS`): the
    /// moment of delivery to this client, however late this process gets round to reading it.
    pub received: Option<SystemTime>,
}

impl SseConn {
    /// Connects, sends the request and reads the response headers: a 200 with a chunked
    /// `text/event-stream` body, or an error.
    pub async fn open(port: u16, path: &str) -> anyhow::Result<SseConn> {
        let mut stream = connect(port, path, None).await?;
        enable_rx_timestamps(stream.as_raw_fd())?;
        let (head, end) = tokio::time::timeout(TIMEOUT, read_head(&mut stream))
            .await
            .with_context(|| format!("GET {path}: no response headers within {TIMEOUT:?}"))??;
        let headers = String::from_utf8_lossy(&head[..end]).to_ascii_lowercase();
        if !headers.starts_with("http/1.1 200") {
            bail!("GET {path}: {}", headers.lines().next().unwrap_or(""));
        }
        if !headers.contains("transfer-encoding: chunked") || !headers.contains("text/event-stream")
        {
            bail!("GET {path}: expected a chunked event stream, got {headers}");
        }
        let mut conn = SseConn {
            stream,
            dechunk: Dechunker::default(),
            raw: Vec::new(),
            body: Vec::with_capacity(4096),
            received: None,
        };
        conn.dechunk.feed(&head[end..], &mut conn.body)?;
        Ok(conn)
    }

    /// Reads once (waiting for bytes) and appends what it decodes to `body`. False at the end
    /// of the stream. Cancel-safe: nothing is read unless the read completes.
    pub async fn read_more(&mut self) -> anyhow::Result<bool> {
        self.raw.resize(16 * 1024, 0);
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

/// Reads up to the blank line ending the response headers: the bytes read, and where the body
/// starts in them.
async fn read_head(stream: &mut TcpStream) -> anyhow::Result<(Vec<u8>, usize)> {
    let mut head = Vec::with_capacity(1024);
    let mut buf = [0u8; 2048];
    loop {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            bail!("connection closed before the response headers");
        }
        head.extend_from_slice(&buf[..n]);
        if let Some(p) = head.windows(4).position(|w| w == b"\r\n\r\n") {
            return Ok((head, p + 4));
        }
        if head.len() > 16 * 1024 {
            bail!("response headers too long");
        }
    }
}

/// One SSE frame, borrowed from the buffer.
#[derive(Debug, PartialEq, Eq)]
pub struct Frame<'a> {
    pub id: Option<&'a str>,
    /// `message` when the frame names none.
    pub event: &'a str,
    pub data: &'a str,
    /// The frame's bytes as sent, without the blank line that ends it.
    pub raw: &'a [u8],
}

/// Splits complete frames off the front of `buf`, calling `f` for each; keeps the rest.
pub fn frames(buf: &mut Vec<u8>, mut f: impl FnMut(Frame<'_>)) {
    let mut start = 0;
    while let Some(end) = buf[start..].windows(2).position(|w| w == b"\n\n") {
        let raw = &buf[start..start + end];
        let text = std::str::from_utf8(raw).unwrap_or("");
        let mut frame = Frame {
            id: None,
            event: "message",
            data: "",
            raw,
        };
        for line in text.split('\n') {
            if let Some(v) = line.strip_prefix("id: ") {
                frame.id = Some(v);
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
    fn splits_frames_and_keeps_the_rest() {
        let mut buf =
            b"id: 7\nevent: count\ndata: {\"a\":1}\n\nid: 8\nevent: health\ndata: {}\n\nid: 9\nev"
                .to_vec();
        let mut seen = Vec::new();
        frames(&mut buf, |f| {
            seen.push((
                f.id.map(str::to_string),
                f.event.to_string(),
                f.data.to_string(),
            ))
        });
        assert_eq!(
            seen,
            vec![
                (
                    Some("7".into()),
                    "count".to_string(),
                    "{\"a\":1}".to_string()
                ),
                (Some("8".into()), "health".to_string(), "{}".to_string()),
            ]
        );
        assert_eq!(buf, b"id: 9\nev");
    }

    #[test]
    fn a_frame_keeps_its_bytes() {
        let mut buf = b"event: count\nid: 3\ndata: x\n\n".to_vec();
        let mut raw = Vec::new();
        frames(&mut buf, |f| raw.push(f.raw.to_vec()));
        assert_eq!(raw, [b"event: count\nid: 3\ndata: x".to_vec()]);
    }
}
