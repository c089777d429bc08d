//! Talking to the relay: the `/v1/counts` backfill, the `/v1/stream` EventSource, and the
//! watchdog and timers that keep it alive. Decisions are [`crate::relay::reconnect`]'s; this
//! file only wires them to the browser.
//!
//! `web_sys::EventSource` is used directly rather than gloo-net's wrapper because the wrapper
//! swallows the errors raised while the browser retries on its own, and those are exactly the
//! drops the badge must show.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use futures::future::{Either, select};
use gloo_timers::callback::{Interval, Timeout};
use gloo_timers::future::TimeoutFuture;
use leptos::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;
use web_sys::{EventSource, MessageEvent};
use wire::WindowRecord;
use wire::stream::{COUNT_EVENT, COUNTS_SEQ_HEADER, HEALTH_EVENT, RESYNC_EVENT};

use crate::error::AppError;
use crate::relay::reconnect::LinkState;
use crate::relay::stream_event::{decode, parse_id};
use crate::series::Series;
use crate::store::Store;

type EventCallback = Closure<dyn FnMut(web_sys::Event)>;

/// How often the watchdog looks for silence; also how often "last heard" ages on screen.
const WATCHDOG_MS: u32 = 500;
/// A backfill that has not answered by then is abandoned so the stream can still start.
const BACKFILL_TIMEOUT_MS: u32 = 10_000;

pub fn now_ms() -> f64 {
    web_sys::window()
        .and_then(|w| w.performance())
        .map_or_else(js_sys::Date::now, |p| p.now())
}

/// One open EventSource and the listeners that must live as long as it does.
struct Source {
    es: EventSource,
    _listeners: Vec<(&'static str, EventCallback)>,
}

impl Drop for Source {
    fn drop(&mut self) {
        self.es.close();
        for (kind, cb) in &self._listeners {
            let _ = self
                .es
                .remove_event_listener_with_callback(kind, cb.as_ref().unchecked_ref());
        }
    }
}

pub struct RelayClient {
    store: Store,
    source: RefCell<Option<Source>>,
    /// Bumped for every attempt, so callbacks of an abandoned source are ignored.
    generation: Cell<u64>,
    retry: RefCell<Option<Timeout>>,
    watchdog: RefCell<Option<Interval>>,
    _window_listeners: RefCell<Vec<EventCallback>>,
}

impl RelayClient {
    /// Starts the client: backfill, stream, watchdog. It runs for the page's lifetime.
    pub fn start(store: Store) -> Rc<RelayClient> {
        let client = Rc::new(RelayClient {
            store,
            source: RefCell::new(None),
            generation: Cell::new(0),
            retry: RefCell::new(None),
            watchdog: RefCell::new(None),
            _window_listeners: RefCell::new(Vec::new()),
        });
        let query = store.filter.with_untracked(|f| f.to_query());
        store.connection.update(|c| c.set_filter(query));
        client.start_watchdog();
        client.watch_browser_network();
        client.connect(false);
        client
    }

    /// Counts the store's filter from now on, if it is not the one counted: what the page
    /// holds was counted under another filter, so it goes, and the stream starts again from
    /// a backfill under the new one (chart, headline and lists all read the same series).
    pub fn refilter(self: &Rc<Self>) {
        let query = self.store.filter.with_untracked(|f| f.to_query());
        if self
            .store
            .connection
            .with_untracked(|c| c.filter_query() == query)
        {
            return;
        }
        self.store.connection.update(|c| c.set_filter(query));
        self.store.series.set(Series::new());
        self.store
            .series
            .with_untracked(|s| self.store.history.update(|h| h.restart(s)));
        self.connect(false);
    }

    fn start_watchdog(self: &Rc<Self>) {
        let weak = Rc::downgrade(self);
        let interval = Interval::new(WATCHDOG_MS, move || {
            let Some(me) = weak.upgrade() else { return };
            let now = now_ms();
            me.store.clock.set(now);
            if me.store.connection.with_untracked(|c| c.is_silent(now)) {
                me.fail(me.generation.get());
            }
        });
        *self.watchdog.borrow_mut() = Some(interval);
    }

    /// The browser knows before we do when the network is gone, and when it is back.
    fn watch_browser_network(self: &Rc<Self>) {
        let Some(window) = web_sys::window() else {
            return;
        };
        let mut listeners = self._window_listeners.borrow_mut();
        for (name, offline) in [("offline", true), ("online", false)] {
            let weak = Rc::downgrade(self);
            let cb = EventCallback::new(move |_| {
                let Some(me) = weak.upgrade() else { return };
                me.store
                    .connection
                    .update(|c| c.set_browser_offline(offline));
                let live = me.store.connection.with_untracked(|c| c.state()) == LinkState::Live;
                if !offline && !live {
                    // Do not sit out a 10 s backoff once the network is back.
                    me.connect(false);
                }
            });
            let _ = window.add_event_listener_with_callback(name, cb.as_ref().unchecked_ref());
            listeners.push(cb);
        }
    }

    /// Starts an attempt: backfill first if needed (or forced by a resync), then the stream.
    fn connect(self: &Rc<Self>, force_backfill: bool) {
        self.retry.borrow_mut().take();
        self.source.borrow_mut().take();
        let generation = self.generation.get() + 1;
        self.generation.set(generation);
        let me = Rc::clone(self);
        wasm_bindgen_futures::spawn_local(async move {
            if force_backfill || me.store.connection.with_untracked(|c| c.needs_backfill()) {
                me.backfill(generation).await;
            }
            if me.generation.get() == generation {
                me.open(generation);
            }
        });
    }

    async fn backfill(&self, generation: u64) {
        let query = self
            .store
            .connection
            .with_untracked(|c| c.filter_query().to_owned());
        let fetch = std::pin::pin!(fetch_counts(&query));
        let timeout = TimeoutFuture::new(BACKFILL_TIMEOUT_MS);
        let result = match select(fetch, timeout).await {
            Either::Left((result, _)) => result,
            Either::Right(_) => Err(AppError::Backfill("no answer within 10 s".to_owned())),
        };
        // A newer attempt (another filter, a resync) owns the page now: this answer is stale.
        if self.generation.get() != generation {
            return;
        }
        match result {
            Ok((records, seq)) => {
                let newest = records.iter().map(|r| r.start).max();
                self.store.merge_all(records);
                if let Some(newest) = newest {
                    self.store.connection.update(|c| c.backfilled_until(newest));
                }
                if let Some(seq) = seq {
                    self.store.connection.update(|c| c.backfilled_at(seq));
                }
                let stale_error = self
                    .store
                    .error
                    .with_untracked(|e| matches!(e, Some(AppError::Backfill(_))));
                if stale_error {
                    self.store.error.set(None);
                }
            }
            Err(e) => self.store.error.set(Some(e)),
        }
    }

    fn open(self: &Rc<Self>, generation: u64) {
        let url = self.store.connection.with_untracked(|c| c.stream_url());
        let es = match EventSource::new(&url) {
            Ok(es) => es,
            Err(e) => {
                self.store
                    .error
                    .set(Some(AppError::Stream(format!("{e:?}"))));
                self.fail(generation);
                return;
            }
        };
        self.store
            .connection
            .update(|c| c.attempt_started(now_ms()));

        let mut listeners = Vec::new();
        for kind in [COUNT_EVENT, HEALTH_EVENT, RESYNC_EVENT] {
            let weak = Rc::downgrade(self);
            let cb = EventCallback::new(move |ev: web_sys::Event| {
                if let Some(me) = weak.upgrade() {
                    me.on_message(generation, kind, ev.unchecked_ref());
                }
            });
            let _ = es.add_event_listener_with_callback(kind, cb.as_ref().unchecked_ref());
            listeners.push((kind, cb));
        }
        let weak = Rc::downgrade(self);
        let on_error = EventCallback::new(move |_| {
            if let Some(me) = weak.upgrade() {
                me.fail(generation);
            }
        });
        let _ = es.add_event_listener_with_callback("error", on_error.as_ref().unchecked_ref());
        listeners.push(("error", on_error));

        *self.source.borrow_mut() = Some(Source {
            es,
            _listeners: listeners,
        });
    }

    fn on_message(self: &Rc<Self>, generation: u64, kind: &str, ev: &MessageEvent) {
        if generation != self.generation.get() {
            return;
        }
        let id = parse_id(&ev.last_event_id());
        let data = ev.data().as_string().unwrap_or_default();
        match decode(kind, &data) {
            Ok(event) => {
                if let Some(resume) = self.store.apply(event, id, now_ms()) {
                    self.store.connection.update(|c| c.resync(resume));
                    self.connect(true);
                }
            }
            Err(e) => {
                // A bad event still proves the relay is there.
                self.store.connection.update(|c| {
                    c.heard(now_ms(), id);
                });
                self.store.error.set(Some(e));
            }
        }
    }

    /// Abandons attempt `generation` (if still current) and schedules the next one.
    fn fail(self: &Rc<Self>, generation: u64) {
        if generation != self.generation.get() {
            return;
        }
        // Invalidate the failed attempt before anything else can call back into it.
        self.generation.set(generation + 1);
        self.source.borrow_mut().take();
        self.store.connection_lost();
        let mut delay = 0.0;
        self.store
            .connection
            .update(|c| delay = c.failed(js_sys::Math::random()));
        let weak = Rc::downgrade(self);
        let timer = Timeout::new(delay.round() as u32, move || {
            if let Some(me) = weak.upgrade() {
                me.connect(false);
            }
        });
        *self.retry.borrow_mut() = Some(timer);
    }
}

/// The stored seconds, and the stream's update id they were read at (when the relay says).
async fn fetch_counts(filter_query: &str) -> Result<(Vec<WindowRecord>, Option<u64>), AppError> {
    let fail = |e: &dyn std::fmt::Display| AppError::Backfill(e.to_string());
    let url = crate::relay::get::with_query("/v1/counts", filter_query);
    let response = gloo_net::http::Request::get(&url)
        .header("Accept", "application/json")
        .send()
        .await
        .map_err(|e| fail(&e))?;
    if !response.ok() {
        return Err(AppError::Backfill(format!(
            "HTTP {} {}",
            response.status(),
            response.status_text()
        )));
    }
    let seq = response
        .headers()
        .get(COUNTS_SEQ_HEADER)
        .and_then(|v| v.trim().parse().ok());
    let records = response
        .json::<Vec<WindowRecord>>()
        .await
        .map_err(|e| fail(&e))?;
    Ok((records, seq))
}
