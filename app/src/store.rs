//! The dashboard's reactive state: what the relay told us and what the user picked.
//!
//! Components only read it and the relay client only writes it, so component tests can fill
//! a store by hand and mount the dashboard without any network.

use leptos::prelude::*;
use wire::{Filter, Health, WindowRecord};

use crate::error::AppError;
use crate::history::History;
use crate::range::Range;
use crate::relay::reconnect::Connection;
use crate::relay::stream_event::StreamEvent;
use crate::series::{Merge, Series};
use crate::view::{Focus, Span, View};

#[derive(Debug, Clone, Copy)]
pub struct Store {
    pub series: RwSignal<Series>,
    pub health: RwSignal<Option<Health>>,
    pub connection: RwSignal<Connection>,
    /// `performance.now()` as of the last watchdog tick; staleness is measured against it.
    pub clock: RwSignal<f64>,
    pub range: RwSignal<Range>,
    /// A custom range or a zoom, shown instead of `range`.
    pub focus: RwSignal<Focus>,
    /// The buckets of a long range, custom range or zoom.
    pub history: RwSignal<History>,
    /// Humans and bots stacked instead of the total.
    pub split: RwSignal<bool>,
    pub error: RwSignal<Option<AppError>>,
    /// Which edits every number, the chart and the lists count.
    pub filter: RwSignal<Filter>,
    /// The second or bucket whose edits the edits panel lists.
    pub selected: RwSignal<Option<Span>>,
    /// The chart's keyboard cursor: the start of the point or bucket it is on.
    pub cursor: RwSignal<Option<i64>>,
    /// What the page could not take from its address, in words.
    pub notice: RwSignal<Option<String>>,
}

impl Default for Store {
    fn default() -> Self {
        Self::new()
    }
}

impl Store {
    pub fn new() -> Self {
        Store {
            series: RwSignal::new(Series::new()),
            health: RwSignal::new(None),
            connection: RwSignal::new(Connection::new()),
            clock: RwSignal::new(0.0),
            range: RwSignal::new(Range::default()),
            focus: RwSignal::new(Focus::default()),
            history: RwSignal::new(History::default()),
            split: RwSignal::new(false),
            error: RwSignal::new(None),
            filter: RwSignal::new(Filter::all()),
            selected: RwSignal::new(None),
            cursor: RwSignal::new(None),
            notice: RwSignal::new(None),
        }
    }

    /// What the chart shows.
    pub fn view(&self) -> View {
        self.focus.with(|f| f.view(self.range.get()))
    }

    /// Where the live edge is: the end of the newest second held, or the clock's now before
    /// there is any.
    pub fn live_end(&self) -> i64 {
        self.series
            .with_untracked(|s| s.end().map_or_else(|| js_sys::Date::now() as i64, |e| e.0))
    }

    /// Keeps the history's plan on the view, for as long as the calling component lives.
    pub fn follow_view(self) {
        Effect::new(move |_| {
            let plan = self.view().plan(self.live_end());
            self.series
                .with_untracked(|s| self.history.update(|h| h.set_plan(plan, s)));
        });
    }

    /// Merges one window; subscribers are only woken if the chart would change.
    pub fn merge(&self, rec: WindowRecord) -> Merge {
        let start = rec.start.0;
        let mut outcome = Merge::Stale;
        self.series.maybe_update(|s| {
            outcome = s.merge(rec);
            matches!(outcome, Merge::Inserted | Merge::Replaced)
        });
        if matches!(outcome, Merge::Inserted | Merge::Replaced) {
            self.absorb(|h, s| h.absorb(s, start));
        }
        outcome
    }

    /// The link to the relay is gone: its provisional values go with it.
    pub fn connection_lost(&self) {
        let mut dropped = 0;
        self.series.maybe_update(|s| {
            dropped = s.drop_provisional();
            dropped > 0
        });
        if dropped > 0 {
            self.absorb(History::absorb_all);
        }
    }

    pub fn merge_all(&self, recs: Vec<WindowRecord>) -> usize {
        let mut changed = 0;
        self.series.maybe_update(|s| {
            changed = s.merge_all(recs);
            changed > 0
        });
        if changed > 0 {
            self.absorb(History::absorb_all);
        }
        changed
    }

    /// Brings the buckets the series covers up to date with it, if any are shown.
    fn absorb(&self, f: impl FnOnce(&mut History, &Series)) {
        if self.history.with_untracked(|h| h.plan().is_some()) {
            self.series
                .with_untracked(|s| self.history.update(|h| f(h, s)));
        }
    }

    /// Applies a decoded stream event that arrived at `now` with SSE id `id`. Returns the
    /// resume id if the relay asked for a resync, which the caller must act on.
    pub fn apply(&self, event: StreamEvent, id: Option<u64>, now: f64) -> Option<u64> {
        self.connection.update(|c| {
            c.heard(now, id);
        });
        match event {
            StreamEvent::Count(rec) => {
                self.merge(rec);
                None
            }
            StreamEvent::Health(h) => {
                self.health.set(Some(*h));
                None
            }
            StreamEvent::Resync(resume) => Some(resume),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_fixtures::window;

    #[test]
    fn store_merge_only_wakes_subscribers_on_change() {
        let store = Store::new();
        assert_eq!(store.merge(window(0, 1, true, 0)), Merge::Inserted);
        assert_eq!(store.merge(window(0, 1, true, 0)), Merge::Unchanged);
        let resync = store.apply(
            StreamEvent::Count(window(1, 2, false, 0)),
            Some(41),
            1_000.0,
        );
        assert_eq!(resync, None);
        assert_eq!(store.series.with_untracked(|s| s.len()), 2);
        assert_eq!(
            store.connection.with_untracked(|c| c.last_event_id()),
            Some(41)
        );
        assert_eq!(
            store.apply(StreamEvent::Resync(17), Some(42), 1_100.0),
            Some(17)
        );
    }
}
