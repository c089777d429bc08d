//! The client of Wikimedia EventStreams.
//!
//! It resumes with `Last-Event-ID` after every disconnect (the server closes streams about
//! every 15 minutes) and after a restart (the id is persisted once the bus has acknowledged the
//! events before it), treats a silent connection as dead, drops canaries and duplicates, and
//! while the upstream cannot be reached replays a recording so the dashboard is never empty.
//!
//! A connection that moved the stream on (new events reached the bus, or the resume position
//! advanced) was a success, however soon it ended: the next one is opened at once, so a stream
//! that is closed every few seconds is still followed closely. Only connections that got
//! nowhere — refused, an error status, no answer, or no new events before they ended — back off,
//! exponentially with jitter.

use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::time::Duration;

use codec::event;
use codec::sse_parse::{SseEvent, SseParser};
use futures::StreamExt;
use rand::Rng;
use tokio::sync::watch;

use super::dedupe::Dedupe;
use super::ingest::Ingest;
use super::playlist::Fallback;
use super::replay;
use super::state::{StateFile, UpstreamState};
use crate::clock;
use crate::telemetry::add;

pub struct UpstreamOptions {
    pub url: String,
    pub stall: Duration,
    pub max_backoff: Duration,
    pub state_dir: PathBuf,
    /// Played (looping) while the upstream is unreachable.
    pub fallback: Option<Fallback>,
}

/// Why one connection ended.
#[derive(Debug, thiserror::Error)]
enum ConnectionEnd {
    #[error("cannot connect: {}", causes(.0))]
    Connect(reqwest::Error),
    #[error("upstream answered {0}")]
    Status(reqwest::StatusCode),
    #[error("no response for {0:?}: upstream presumed unreachable")]
    NoResponse(Duration),
    #[error("no bytes for {0:?}: connection presumed dead")]
    Stalled(Duration),
    #[error("read failed: {0}")]
    Read(reqwest::Error),
    #[error("the server closed the stream")]
    Closed,
    #[error("stopping")]
    Stopped,
}

/// The error and what caused it ("error sending request" alone does not say that DNS failed).
fn causes(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

const REMEMBERED_IDS: usize = 2_048;
const MAX_FRAME_LINE: usize = 4 << 20;

pub async fn run(opts: UpstreamOptions, ingest: Ingest, mut stop: watch::Receiver<bool>) {
    let state_file = StateFile::new(&opts.state_dir);
    let mut state = state_file.load();
    let mut dedupe = Dedupe::new(100_000);
    for id in &state.recent_ids {
        dedupe.first_time(id);
    }
    let client = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        .user_agent(concat!(
            "EditPulse-relay/",
            env!("CARGO_PKG_VERSION"),
            " (live edits-per-second dashboard)"
        ))
        .build()
        .expect("the HTTP client builds");
    let mut fallback: Option<watch::Sender<bool>> = None;
    let mut attempt: u32 = 0;
    let t = &ingest.telemetry;
    t.set_source("upstream", &opts.url);
    loop {
        let mut progressed = false;
        let end = connect_and_read(
            &client,
            &opts,
            &ingest,
            &mut state,
            &state_file,
            &mut dedupe,
            &mut fallback,
            &mut stop,
            &mut progressed,
        )
        .await;
        t.source.connected.store(false, Ordering::Relaxed);
        if matches!(end, ConnectionEnd::Stopped) {
            break;
        }
        tracing::warn!(url = %opts.url, reason = %end, "upstream connection ended");
        t.source_error(Some(end.to_string()));
        add(&t.source.reconnects, 1);
        let reachable = !matches!(
            end,
            ConnectionEnd::Connect(_) | ConnectionEnd::Status(_) | ConnectionEnd::NoResponse(_)
        );
        if !reachable
            && fallback.is_none()
            && let Some(f) = &opts.fallback
        {
            tracing::warn!(
                playlist = f.name(),
                "upstream unreachable: replaying recordings meanwhile"
            );
            t.set_source(FALLBACK_KIND, &f.name());
            let (tx, rx) = watch::channel(false);
            tokio::spawn(fallback_replay(f.clone(), ingest.clone(), rx));
            fallback = Some(tx);
        }
        if progressed {
            // Catching up with what was sent meanwhile starts now: a wait here would put the
            // relay behind by that much at every close.
            attempt = 0;
            continue;
        }
        let backoff = backoff(attempt, opts.max_backoff);
        attempt = attempt.saturating_add(1);
        tracing::info!(
            ?backoff,
            attempt,
            "upstream connection got nowhere: backing off"
        );
        tokio::select! {
            _ = tokio::time::sleep(backoff) => {}
            _ = stop.changed() => break,
        }
    }
    if let Some(f) = fallback {
        let _ = f.send(true);
    }
    state.recent_ids = dedupe.recent(REMEMBERED_IDS);
    if let Err(e) = state_file.save(&state) {
        tracing::warn!(error = %e, "upstream state not saved");
    }
}

/// The source kind health reports while the fallback plays.
pub const FALLBACK_KIND: &str = "fallback-replay";

/// Plays the fallback, looping, until `stop` flips. The bundled recordings are parsed here, off
/// the async threads, and dropped again when the upstream is back.
async fn fallback_replay(fallback: Fallback, ingest: Ingest, stop: watch::Receiver<bool>) {
    let playlist = match tokio::task::spawn_blocking(move || fallback.playlist()).await {
        Ok(Ok(p)) => p,
        Ok(Err(e)) => return tracing::error!(error = %e, "fallback recordings unreadable"),
        Err(e) => return tracing::error!(error = %e, "fallback recordings not loaded"),
    };
    replay::run(playlist, 1.0, true, FALLBACK_KIND, ingest, stop).await;
}

/// Exponential with full jitter, from 0.5 s up to `max`: many relays reconnecting after an
/// outage must not hit the upstream in lockstep.
fn backoff(attempt: u32, max: Duration) -> Duration {
    let ceiling = Duration::from_millis(500)
        .saturating_mul(1 << attempt.min(16))
        .min(max);
    let ms = ceiling.as_millis().max(1) as u64;
    Duration::from_millis(rand::rng().random_range(ms / 2..=ms))
}

/// Opens one connection and reads it until it ends; sets `progressed` once new events reached
/// the bus or the resume position advanced.
#[allow(clippy::too_many_arguments)]
async fn connect_and_read(
    client: &reqwest::Client,
    opts: &UpstreamOptions,
    ingest: &Ingest,
    state: &mut UpstreamState,
    state_file: &StateFile,
    dedupe: &mut Dedupe,
    fallback: &mut Option<watch::Sender<bool>>,
    stop: &mut watch::Receiver<bool>,
    progressed: &mut bool,
) -> ConnectionEnd {
    let t = &ingest.telemetry;
    let mut req = client
        .get(&opts.url)
        .header(reqwest::header::ACCEPT, "text/event-stream");
    if let Some(id) = &state.last_event_id {
        req = req.header("Last-Event-ID", id);
    }
    // The watchdog covers the wait for the response too: a server that accepts the connection
    // but never answers must not hold the relay forever.
    let resp = tokio::select! {
        r = tokio::time::timeout(opts.stall, req.send()) => match r {
            Ok(r) => r,
            Err(_) => return ConnectionEnd::NoResponse(opts.stall),
        },
        _ = stop.changed() => return ConnectionEnd::Stopped,
    };
    let resp = match resp {
        Ok(r) if r.status().is_success() => r,
        Ok(r) => return ConnectionEnd::Status(r.status()),
        Err(e) => return ConnectionEnd::Connect(e),
    };
    tracing::info!(url = %opts.url, resume = ?state.last_event_id, "upstream connected");
    t.source.connected.store(true, Ordering::Relaxed);
    t.source_error(None);
    if let Some(f) = fallback.take() {
        let _ = f.send(true);
        tracing::info!("upstream back: fallback replay stopped");
    }
    t.set_source("upstream", &opts.url);

    let mut parser = SseParser::new(MAX_FRAME_LINE);
    parser.set_last_id(state.last_event_id.clone());
    let mut body = resp.bytes_stream();
    loop {
        let chunk = tokio::select! {
            c = tokio::time::timeout(opts.stall, body.next()) => c,
            _ = stop.changed() => return ConnectionEnd::Stopped,
        };
        let chunk = match chunk {
            Err(_) => return ConnectionEnd::Stalled(opts.stall),
            Ok(None) => return ConnectionEnd::Closed,
            Ok(Some(Err(e))) => return ConnectionEnd::Read(e),
            Ok(Some(Ok(c))) => c,
        };
        let events = parser.feed(&chunk);
        if events.is_empty() {
            continue;
        }
        let last_id = events.last().and_then(|e| e.id.clone());
        let (records, ids) = admit(events, ingest, dedupe);
        let forwarded = !records.is_empty();
        if forwarded && !ingest.submit_until_taken(records, "upstream", stop).await {
            return ConnectionEnd::Stopped;
        }
        // Remembered only once on the bus: an id persisted for an event that never got there
        // would make the resent event look like a duplicate after a restart.
        for id in &ids {
            dedupe.first_time(id);
        }
        if forwarded || (last_id.is_some() && last_id != state.last_event_id) {
            *progressed = true;
        }
        if last_id.is_some() && last_id != state.last_event_id {
            state.last_event_id = last_id;
            state.recent_ids = dedupe.recent(REMEMBERED_IDS);
            if let Err(e) = state_file.save(state) {
                tracing::warn!(error = %e, "upstream position not saved");
            }
        }
    }
}

/// Turns frames into bus records: malformed frames and canaries are counted, duplicates
/// dropped.
fn admit(
    events: Vec<SseEvent>,
    ingest: &Ingest,
    dedupe: &Dedupe,
) -> (Vec<crate::bus::InputRecord>, Vec<String>) {
    let t = &ingest.telemetry;
    let now = clock::now();
    let mut records = Vec::with_capacity(events.len());
    let mut ids: Vec<String> = Vec::with_capacity(events.len());
    for e in events {
        if e.event.as_deref().is_some_and(|name| name != "message") {
            continue;
        }
        let payload = bytes::Bytes::from(e.data.into_bytes());
        let edit = match event::parse(&payload) {
            Ok(edit) => edit,
            Err(err) => {
                add(&t.source.malformed, 1);
                tracing::warn!(error = %err, "malformed upstream event skipped");
                continue;
            }
        };
        t.source.last_event_ms.store(now.0, Ordering::Relaxed);
        if edit.canary {
            add(&t.source.canaries, 1);
            continue;
        }
        if let Some(id) = &edit.id {
            if dedupe.seen(id) || ids.iter().any(|seen| seen == id) {
                add(&t.source.duplicates, 1);
                continue;
            }
            ids.push(id.to_string());
        }
        add(&t.source.events, 1);
        records.push(Ingest::record(&edit, payload.clone(), now));
    }
    (records, ids)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_with_jitter_and_caps() {
        let max = Duration::from_secs(30);
        for attempt in 0..20 {
            let b = backoff(attempt, max);
            let ceiling = Duration::from_millis(500)
                .saturating_mul(1 << attempt.min(16))
                .min(max);
            assert!(b >= ceiling / 2 && b <= ceiling, "attempt {attempt}: {b:?}");
        }
    }
}
