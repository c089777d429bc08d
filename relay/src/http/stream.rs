//! `GET /v1/stream`: counts and health over Server-Sent Events.
//!
//! A client is a position in the shared update log. Reconnecting with `Last-Event-ID` (or
//! `?last_event_id=`, since a fresh `EventSource` cannot set headers) continues right after
//! that position: no gap, no duplicate. A position the log no longer holds — too old, or from
//! another relay — gets the window store instead, which holds the latest value of every second.
//!
//! Under a filter (`wiki=`, `type=`, `bot=`, `namespace=`) a client reads its filter's feed
//! ([`crate::publish::feeds`]) instead: the same, with every count the filtered count, and ids
//! of that feed.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::body::Body;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use tokio::sync::watch;
use wire::Millis;
use wire::stream::COUNT_EVENT;

use super::counts::parse_instant;
use super::query::Params;
use super::{ApiError, AppState};
use crate::clock;
use crate::publish::feeds::Feed;
use crate::publish::sse_encode::{frame, frame_without_id};
use crate::publish::{Backlog, Published, UpdateLog};
use crate::telemetry::{Telemetry, add};

/// Frames read from the log at once: a client far behind catches up in slices, so one slow
/// reader never holds the log's lock for long.
const SLICE: usize = 512;

/// The most history a stream sends a client that resumes too late (or asks `?since=`): the
/// dashboard's longest per-second view. Longer history is read in buckets from /v1/counts.
const MAX_STREAM_BACKFILL: std::time::Duration = std::time::Duration::from_secs(3_600);

pub async fn stream(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let q = Params::parse(raw.as_deref(), &["since", "last_event_id"])?;
    let resume = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .or(q.get("last_event_id").map(str::to_string))
        .filter(|s| !s.trim().is_empty())
        // An id this relay never issued is treated like one it no longer holds (position 0 is
        // always gone): the client gets the stored history. Refusing it would make
        // EventSource give up for good.
        .map(|s| s.trim().parse::<u64>().unwrap_or(0));
    let since = q.get("since").map(parse_instant).transpose()?;

    let published = state.published.clone();
    let feed = match q.filter.is_all() {
        true => None,
        false => Some(published.feeds.get(&q.filter)?),
    };
    let mut client = Client {
        wake: published.subscribe(),
        pos: 0,
        feed,
        pending: VecDeque::new(),
        health: state.health.clone(),
        shutdown: state.shutdown.clone(),
        history_ms: state.config.history.min(MAX_STREAM_BACKFILL).as_millis() as i64,
        published,
        _guard: Connected::new(state.telemetry.clone()),
    };
    client.pos = resume.unwrap_or_else(|| client.log().last_seq());
    if let (Some(since), None) = (since, resume) {
        client.backfill(since.max(Millis(clock::now().0 - client.history_ms)));
    }
    client.health.mark_changed();

    let body = Body::from_stream(futures::stream::unfold(client, |mut c| async move {
        c.next().await.map(|b| (Ok::<_, Infallible>(b), c))
    }));
    let mut resp = body.into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    // Tell proxies (nginx) not to buffer the stream.
    h.insert("x-accel-buffering", HeaderValue::from_static("no"));
    Ok(resp)
}

/// One SSE client. It waits on a single signal ([`Published::subscribe`]) and on each wake
/// looks at what changed: a shutdown, new updates, a new health report. The health report,
/// sent every second, is also the stream's keep-alive.
struct Client {
    published: Arc<Published>,
    wake: watch::Receiver<u64>,
    pos: u64,
    /// The filtered feed read, or None for the unfiltered stream.
    feed: Option<Arc<Feed>>,
    pending: VecDeque<Bytes>,
    health: watch::Receiver<(wire::Health, Bytes)>,
    shutdown: watch::Receiver<bool>,
    history_ms: i64,
    _guard: Connected,
}

impl Client {
    fn log(&self) -> &UpdateLog {
        log_of(&self.feed, &self.published)
    }

    async fn next(&mut self) -> Option<Bytes> {
        loop {
            if let Some(b) = self.pending.pop_front() {
                return Some(b);
            }
            if *self.shutdown.borrow() {
                return None;
            }
            let backlog =
                log_of(&self.feed, &self.published).after(self.pos, SLICE, &mut self.pending);
            match backlog {
                Backlog::Frames(last) => {
                    if self.pending.len() == SLICE {
                        add(&self._guard.0.clients.lagged, 1);
                    }
                    self.pos = last;
                    continue;
                }
                Backlog::Gone => {
                    add(&self._guard.0.clients.resynced, 1);
                    self.pos = self.log().last_seq();
                    self.backfill(Millis(clock::now().0 - self.history_ms));
                    continue;
                }
                Backlog::UpToDate => {}
            }
            match self.health.has_changed() {
                Ok(true) => {
                    let body = self.health.borrow_and_update().1.clone();
                    self.pending.push_back(body);
                    return Some(Bytes::from(format!("id: {}\n", self.pos)));
                }
                Ok(false) => {}
                Err(_) => return None,
            }
            if self.wake.changed().await.is_err() {
                return None;
            }
        }
    }

    /// Queues the latest value of every stored second from `since` on, under the current id.
    /// Only the last backfilled frame carries the id: a client that reconnects in the middle
    /// of a backfill then still has its old id (or none) and is sent the history again,
    /// instead of resuming after it with the rest missing.
    fn backfill(&mut self, since: Millis) {
        let windows = match &self.feed {
            Some(feed) => self
                .published
                .filtered_counts(since, Millis(i64::MAX), &feed.filter),
            None => self.published.counts(since, Millis(i64::MAX)),
        };
        let last = windows.len().saturating_sub(1);
        for (i, w) in windows.iter().enumerate() {
            let json = serde_json::to_vec(w).expect("wire types serialize");
            self.pending.push_back(if i == last {
                frame(self.pos, COUNT_EVENT, w)
            } else {
                frame_without_id(COUNT_EVENT, &json)
            });
        }
    }
}

/// The update log a client reads: its filter's feed, or the unfiltered stream's. A function of
/// the two fields, so the client's other fields stay free to borrow beside it.
fn log_of<'a>(feed: &'a Option<Arc<Feed>>, published: &'a Published) -> &'a UpdateLog {
    match feed {
        Some(feed) => &feed.log,
        None => &published.updates,
    }
}

/// Counts a connected client for as long as its stream lives.
struct Connected(Arc<Telemetry>);

impl Connected {
    fn new(t: Arc<Telemetry>) -> Self {
        t.clients.connected.fetch_add(1, Ordering::Relaxed);
        add(&t.clients.total, 1);
        Connected(t)
    }
}

impl Drop for Connected {
    fn drop(&mut self) {
        self.0.clients.connected.fetch_sub(1, Ordering::Relaxed);
    }
}
