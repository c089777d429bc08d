//! A small SSE client over reqwest: reads named events with their ids off a real HTTP stream.
//! For a handful of connections; [`crate::raw_sse`] is the one for thousands.

use std::time::Duration;

use anyhow::{Context, bail};
use futures::StreamExt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub id: Option<String>,
    pub event: String,
    pub data: String,
}

pub struct SseStream {
    body: futures::stream::BoxStream<'static, reqwest::Result<bytes::Bytes>>,
    buf: String,
}

impl SseStream {
    /// `GET url` (with `Last-Event-ID` if given); an error unless it answers 2xx with
    /// `text/event-stream`.
    pub async fn connect(url: &str, last_event_id: Option<&str>) -> anyhow::Result<SseStream> {
        let mut req = reqwest::Client::new()
            .get(url)
            .header("accept", "text/event-stream");
        if let Some(id) = last_event_id {
            req = req.header("last-event-id", id);
        }
        let resp = req.send().await.with_context(|| format!("GET {url}"))?;
        if !resp.status().is_success() {
            bail!("GET {url}: {}", resp.status());
        }
        let ct = resp
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        if !ct.starts_with("text/event-stream") {
            bail!("GET {url}: content type {ct}");
        }
        Ok(SseStream {
            body: resp.bytes_stream().boxed(),
            buf: String::new(),
        })
    }

    /// The next event, or None if none came within `timeout` or the stream ended. Panics if
    /// the stream is not UTF-8 (the relay must never send that).
    pub async fn next(&mut self, timeout: Duration) -> Option<Event> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if let Some(end) = self.buf.find("\n\n") {
                let frame: String = self.buf.drain(..end + 2).collect();
                let mut ev = Event {
                    id: None,
                    event: "message".into(),
                    data: String::new(),
                };
                for line in frame.lines() {
                    if let Some(v) = line.strip_prefix("id: ") {
                        ev.id = Some(v.to_string());
                    } else if let Some(v) = line.strip_prefix("event: ") {
                        ev.event = v.to_string();
                    } else if let Some(v) = line.strip_prefix("data: ") {
                        ev.data.push_str(v);
                    }
                }
                return Some(ev);
            }
            let chunk = tokio::time::timeout_at(deadline, self.body.next())
                .await
                .ok()??
                .ok()?;
            self.buf
                .push_str(std::str::from_utf8(&chunk).expect("SSE is UTF-8"));
        }
    }

    /// The next event named `name`, skipping others.
    pub async fn next_named(&mut self, name: &str, timeout: Duration) -> Option<Event> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let ev = self.next(left).await?;
            if ev.event == name {
                return Some(ev);
            }
        }
    }
}
