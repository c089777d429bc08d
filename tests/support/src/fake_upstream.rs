//! A misbehaving stand-in for Wikimedia EventStreams, on a loopback port of the test process.
//!
//! It serves a fixed feed of `data:` payloads as Wikimedia frames it
//! (`event: message`, a Kafka-position `id:`, one `data:` line), over a chunked HTTP/1.1
//! response written by hand so the test controls every byte and every hang-up. Like the real
//! service it resumes by timestamp, *inclusively*: a reconnect with `Last-Event-ID` starts at
//! the event that id names, so the boundary event is sent twice and the client has to drop it.
//!
//! The faults follow a [`Plan`] keyed by connection number, so one run is reproducible: drop the
//! connection after a planned number of frames (alternately abruptly, mid-body, and with a clean
//! end of the chunked body), once stall silently mid-stream — socket open, not a byte sent —
//! until the client gives up, and once not answer a request at all, not even with response
//! headers. The feed is either all there from the start, or *live*: each frame is released at
//! its own moment after the server started, and a connection that has sent everything released
//! so far waits for the next one, as a client of the real stream does.
//! Every connection is recorded: the `Last-Event-ID` it carried, when it was opened, where it
//! resumed, the id of the last frame written to it and how it ended.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;

use crate::chunked;

/// What to do, and when.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Connection `n` is dropped after writing `drops[n % drops.len()]` frames (the boundary
    /// frame a resume re-sends included).
    pub drops: Vec<usize>,
    /// `(connection number, frames)`: that connection goes silent after this many frames.
    pub stall: Option<(usize, usize)>,
    /// This connection gets no answer at all: its request is read, then not a byte is sent,
    /// not even the response headers.
    pub mute: Option<usize>,
    /// Longest a stall (or a mute connection) is held if the client never hangs up.
    pub stall_cap: Duration,
    /// Pause between two frames.
    pub pace: Duration,
    /// A live feed: frame `p` is released `release[p]` after the server started (the offsets
    /// never decrease). `None`: every frame is there from the start.
    pub release: Option<Arc<Vec<Duration>>>,
    /// Once the feed is exhausted, a comment is sent this often so the connection stays alive.
    pub heartbeat: Duration,
}

/// How a connection ended (from the server's side).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum End {
    /// Still open.
    Open,
    /// Closed mid-body, without the chunked terminator.
    Dropped,
    /// Ended with the chunked terminator, like the real service's periodic close.
    Closed,
    /// Held silent; the client hung up after this long.
    StalledThenClientLeft(Duration),
    /// Never answered; the client hung up after this long.
    MuteThenClientLeft(Duration),
    /// Held silent for `stall_cap` and the client never hung up.
    StalledCapReached,
    /// A write failed: the client went away.
    ClientLeft,
    /// The request was not one this server understands.
    BadRequest(String),
}

/// One HTTP request the server answered.
#[derive(Debug, Clone)]
pub struct Connection {
    pub number: usize,
    /// When the server accepted it, since the server started.
    pub opened: Duration,
    /// The `Last-Event-ID` header, verbatim.
    pub last_event_id: Option<String>,
    /// The feed position this connection started at.
    pub resumed_at: usize,
    /// Feed positions written, in order.
    pub sent: Vec<usize>,
    /// The id of the last frame fully written.
    pub last_sent_id: Option<String>,
    pub end: End,
}

#[derive(Default)]
struct Shared {
    connections: Vec<Connection>,
}

pub struct FakeUpstream {
    port: u16,
    started: Instant,
    base_ms: i64,
    shared: Arc<Mutex<Shared>>,
    len: usize,
    server: tokio::task::JoinHandle<()>,
}

impl FakeUpstream {
    /// Serves `feed` (one `data:` payload per entry) on 127.0.0.1:<free port>. Frame ids carry
    /// `timestamp = base_ms + position`, which is how a resume id is mapped back to a position.
    pub async fn start(
        feed: Vec<String>,
        base_ms: i64,
        plan: Plan,
    ) -> anyhow::Result<FakeUpstream> {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .context("bind 127.0.0.1:0")?;
        let port = listener.local_addr().context("local addr")?.port();
        let shared = Arc::new(Mutex::new(Shared::default()));
        let len = feed.len();
        let feed = Arc::new(feed);
        let s = shared.clone();
        let started = Instant::now();
        let server = tokio::spawn(async move {
            // Connection tasks live in the set, so stopping the server ends them too.
            let mut conns = JoinSet::new();
            loop {
                tokio::select! {
                    a = listener.accept() => {
                        let Ok((stream, _)) = a else { continue };
                        let number = {
                            let mut g = s.lock().expect("lock");
                            let number = g.connections.len();
                            g.connections.push(Connection {
                                number,
                                opened: started.elapsed(),
                                last_event_id: None,
                                resumed_at: 0,
                                sent: Vec::new(),
                                last_sent_id: None,
                                end: End::Open,
                            });
                            number
                        };
                        let served = Served { number, feed: feed.clone(), base_ms, started };
                        conns.spawn(serve(stream, served, plan.clone(), s.clone()));
                    }
                    Some(_) = conns.join_next(), if !conns.is_empty() => {}
                }
            }
        });
        Ok(FakeUpstream {
            port,
            started,
            base_ms,
            shared,
            len,
            server,
        })
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/v2/stream/recentchange", self.port)
    }

    /// The Wikimedia-style id of the frame at `pos`.
    pub fn id_of(&self, pos: usize) -> String {
        frame_id(self.base_ms, pos)
    }

    /// When the server started, which live release offsets count from.
    pub fn started(&self) -> Instant {
        self.started
    }

    /// Frames in the feed.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Every connection so far, oldest first.
    pub fn connections(&self) -> Vec<Connection> {
        self.shared.lock().expect("lock").connections.clone()
    }

    /// Has the last frame of the feed been written to some connection?
    pub fn delivered_all(&self) -> bool {
        let last = self.len.saturating_sub(1);
        self.shared
            .lock()
            .expect("lock")
            .connections
            .iter()
            .any(|c| c.sent.last() == Some(&last))
    }

    /// One line per connection, for failure messages.
    pub fn describe(&self) -> String {
        self.connections()
            .iter()
            .map(|c| {
                format!(
                    "#{} opened={:?} Last-Event-ID=position {:?} resumed_at={} sent={}..{} ({} frames) last_sent=position {:?} end={:?}",
                    c.number,
                    c.opened,
                    c.last_event_id
                        .as_deref()
                        .and_then(|id| position_of(self.base_ms, id)),
                    c.resumed_at,
                    c.sent.first().map_or(-1, |&p| p as i64),
                    c.sent.last().map_or(-1, |&p| p as i64),
                    c.sent.len(),
                    c.last_sent_id
                        .as_deref()
                        .and_then(|id| position_of(self.base_ms, id)),
                    c.end
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    }
}

impl Drop for FakeUpstream {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// `[{"topic":"eqiad…","partition":0,"timestamp":…},{"topic":"codfw…","partition":0,"offset":-1}]`
fn frame_id(base_ms: i64, pos: usize) -> String {
    format!(
        r#"[{{"topic":"eqiad.mediawiki.recentchange","partition":0,"timestamp":{}}},{{"topic":"codfw.mediawiki.recentchange","partition":0,"offset":-1}}]"#,
        base_ms + pos as i64
    )
}

/// The feed position an id names (its first `timestamp`), if it names one.
pub fn position_of(base_ms: i64, id: &str) -> Option<usize> {
    let v: serde_json::Value = serde_json::from_str(id).ok()?;
    let ts = v
        .as_array()?
        .iter()
        .find_map(|p| p.get("timestamp").and_then(serde_json::Value::as_i64))?;
    usize::try_from(ts - base_ms).ok()
}

fn set_end(shared: &Mutex<Shared>, number: usize, end: End) {
    shared.lock().expect("lock").connections[number].end = end;
}

async fn read_request(stream: &mut TcpStream) -> Result<String, String> {
    let mut buf = Vec::new();
    let mut tmp = [0u8; 4096];
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
        if buf.len() > 64 * 1024 {
            return Err("request headers over 64 KiB".into());
        }
        match tokio::time::timeout_at(deadline, stream.read(&mut tmp)).await {
            Ok(Ok(0)) => return Err("client closed before sending its request".into()),
            Ok(Ok(n)) => buf.extend_from_slice(&tmp[..n]),
            Ok(Err(e)) => return Err(format!("read: {e}")),
            Err(_) => return Err("no request within 5 s".into()),
        }
    }
    String::from_utf8(buf).map_err(|_| "request is not UTF-8".into())
}

/// Sends nothing, socket open, until the client hangs up (its watchdog must notice): how long
/// that took, or `None` if it had not after `cap`.
async fn hold_silent(stream: &mut TcpStream, cap: Duration) -> Option<Duration> {
    let held = Instant::now();
    let deadline = tokio::time::Instant::now() + cap;
    let mut tmp = [0u8; 256];
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut tmp)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return Some(held.elapsed()),
            Ok(Ok(_)) => continue,
            Err(_) => return None,
        }
    }
}

/// What one connection serves, and which connection it is.
struct Served {
    number: usize,
    feed: Arc<Vec<String>>,
    base_ms: i64,
    started: Instant,
}

async fn serve(mut stream: TcpStream, served: Served, plan: Plan, shared: Arc<Mutex<Shared>>) {
    let Served {
        number,
        feed,
        base_ms,
        started,
    } = served;
    let request = match read_request(&mut stream).await {
        Ok(r) => r,
        Err(e) => return set_end(&shared, number, End::BadRequest(e)),
    };
    if !request.starts_with("GET ") {
        let _ = stream
            .write_all(b"HTTP/1.1 405 Method Not Allowed\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
            .await;
        return set_end(
            &shared,
            number,
            End::BadRequest(request.lines().next().unwrap_or("").into()),
        );
    }
    let last_event_id = request.lines().find_map(|l| {
        let (name, value) = l.split_once(':')?;
        name.trim()
            .eq_ignore_ascii_case("last-event-id")
            .then(|| value.trim().to_string())
    });
    let start = last_event_id
        .as_deref()
        .and_then(|id| position_of(base_ms, id))
        .unwrap_or(0)
        .min(feed.len());
    {
        let mut g = shared.lock().expect("lock");
        let c = &mut g.connections[number];
        c.last_event_id = last_event_id;
        c.resumed_at = start;
    }
    if plan.mute == Some(number) {
        let end = match hold_silent(&mut stream, plan.stall_cap).await {
            Some(d) => End::MuteThenClientLeft(d),
            None => End::StalledCapReached,
        };
        return set_end(&shared, number, end);
    }
    let head = "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream; charset=utf-8\r\n\
                cache-control: no-cache\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n";
    let mut first = head.as_bytes().to_vec();
    first.extend_from_slice(&chunked::encode(b":ok\n\n"));
    if stream.write_all(&first).await.is_err() {
        return set_end(&shared, number, End::ClientLeft);
    }

    let stall_after = plan.stall.and_then(|(n, k)| (n == number).then_some(k));
    let drop_after = plan.drops[number % plan.drops.len()];
    for (written, pos) in (start..feed.len()).enumerate() {
        if Some(written) == stall_after {
            let end = match hold_silent(&mut stream, plan.stall_cap).await {
                Some(d) => End::StalledThenClientLeft(d),
                None => End::StalledCapReached,
            };
            return set_end(&shared, number, end);
        }
        if written == drop_after {
            // Alternate the two ways a stream ends: a clean end of the body, and a hang-up.
            if number % 2 == 1 {
                let _ = stream.write_all(chunked::END).await;
                let _ = stream.shutdown().await;
                return set_end(&shared, number, End::Closed);
            }
            let _ = stream.shutdown().await;
            return set_end(&shared, number, End::Dropped);
        }
        if let Some(release) = &plan.release {
            tokio::time::sleep_until((started + release[pos]).into()).await;
        }
        let id = frame_id(base_ms, pos);
        let frame = format!("event: message\nid: {id}\ndata: {}\n\n", feed[pos]);
        if stream
            .write_all(&chunked::encode(frame.as_bytes()))
            .await
            .is_err()
        {
            return set_end(&shared, number, End::ClientLeft);
        }
        {
            let mut g = shared.lock().expect("lock");
            let c = &mut g.connections[number];
            c.sent.push(pos);
            c.last_sent_id = Some(id);
        }
        tokio::time::sleep(plan.pace).await;
    }
    // Fed out: keep the connection alive with comments until the client leaves.
    loop {
        tokio::time::sleep(plan.heartbeat).await;
        if stream.write_all(&chunked::encode(b":\n\n")).await.is_err() {
            return set_end(&shared, number, End::ClientLeft);
        }
    }
}
