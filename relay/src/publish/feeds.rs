//! Filtered streams: one update log per distinct filter in use, shared by every client that
//! asked for it. Each update is filtered and framed once per filter, so the work grows with
//! the number of distinct filters, not of clients; the unfiltered stream does not pass here.
//!
//! A feed outlives its last client by [`LINGER`]: the dashboard reads `/v1/counts` under a
//! filter (which names the feed's position) and opens the stream right after, and a browser
//! reconnecting resumes in the same feed instead of being sent an hour of history again.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use wire::{Filter, WindowRecord};

use super::UpdateLog;

/// How long a feed nobody reads is kept.
const LINGER: Duration = Duration::from_secs(60);
/// Updates a feed holds for clients that fall behind; further behind, a client is sent the
/// stored seconds instead (as on the unfiltered stream).
const FEED_CAPACITY: usize = 1_024;
/// Distinct filters streamed at once: beyond it a feed nobody reads makes room, and with every
/// one read a new filter is refused rather than let the work per update grow without bound.
pub const MAX_FEEDS: usize = 1_000;

pub struct Feed {
    pub filter: Filter,
    pub log: UpdateLog,
}

#[derive(Default)]
pub struct Feeds {
    feeds: Mutex<HashMap<Filter, (Arc<Feed>, Instant)>>,
}

#[derive(Debug, thiserror::Error)]
#[error("{MAX_FEEDS} distinct filters are being streamed; try again later or drop the filter")]
pub struct TooManyFeeds;

impl Feeds {
    /// The feed of `filter`, made if there is none.
    pub fn get(&self, filter: &Filter) -> Result<Arc<Feed>, TooManyFeeds> {
        let mut feeds = self.feeds.lock().expect("feeds lock");
        if let Some((feed, used)) = feeds.get_mut(filter) {
            *used = Instant::now();
            return Ok(feed.clone());
        }
        if feeds.len() >= MAX_FEEDS {
            prune(&mut feeds);
        }
        if feeds.len() >= MAX_FEEDS {
            // Full of lingering feeds: the one unread longest goes, so asking for many filters
            // in turn cannot lock out the next one. Only feeds clients are reading count.
            let idle = feeds
                .iter()
                .filter(|(_, (feed, _))| Arc::strong_count(feed) == 1)
                .min_by_key(|(_, (_, used))| *used)
                .map(|(f, _)| f.clone());
            match idle {
                Some(f) => drop(feeds.remove(&f)),
                None => return Err(TooManyFeeds),
            }
        }
        let feed = Arc::new(Feed {
            filter: filter.clone(),
            log: UpdateLog::new(FEED_CAPACITY),
        });
        feeds.insert(filter.clone(), (feed.clone(), Instant::now()));
        Ok(feed)
    }

    /// Appends each record, as `filtered` makes it for a feed's filter, to every feed, and
    /// forgets feeds nobody has read for a while.
    pub fn publish(
        &self,
        records: &[WindowRecord],
        mut filtered: impl FnMut(&Filter, &[WindowRecord]) -> Vec<WindowRecord>,
    ) {
        let mut feeds = self.feeds.lock().expect("feeds lock");
        prune(&mut feeds);
        for (feed, used) in feeds.values_mut() {
            if Arc::strong_count(feed) > 1 {
                *used = Instant::now();
            }
            feed.log.append(&filtered(&feed.filter, records));
        }
    }

    pub fn len(&self) -> usize {
        self.feeds.lock().expect("feeds lock").len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Drops the feeds no client holds that were last read over [`LINGER`] ago.
fn prune(feeds: &mut HashMap<Filter, (Arc<Feed>, Instant)>) {
    feeds.retain(|_, (feed, used)| Arc::strong_count(feed) > 1 || used.elapsed() < LINGER);
}

#[cfg(test)]
mod tests {
    use super::*;
    use wire::Millis;

    fn wiki(name: &str) -> Filter {
        let mut f = Filter::default();
        f.wikis.insert(name.into());
        f
    }

    #[test]
    fn clients_of_one_filter_share_its_feed_and_each_update_is_filtered_once_per_feed() {
        let feeds = Feeds::default();
        let a = feeds.get(&wiki("enwiki")).unwrap();
        let b = feeds.get(&wiki("enwiki")).unwrap();
        let c = feeds.get(&wiki("dewiki")).unwrap();
        assert!(Arc::ptr_eq(&a, &b));
        assert_eq!(feeds.len(), 2);
        let mut calls = Vec::new();
        let record = WindowRecord::empty(Millis(0), Millis(1_000), false);
        feeds.publish(std::slice::from_ref(&record), |f, records| {
            calls.push(f.clone());
            records.to_vec()
        });
        calls.sort();
        assert_eq!(calls, [wiki("dewiki"), wiki("enwiki")]);
        assert_eq!(a.log.last_seq(), b.log.last_seq());
        let mut out = std::collections::VecDeque::new();
        assert!(matches!(
            c.log.after(c.log.last_seq() - 1, 10, &mut out),
            crate::publish::Backlog::Frames(_)
        ));
        assert_eq!(out.len(), 1);
    }

    #[test]
    fn distinct_filters_are_bounded_and_idle_ones_make_room() {
        let feeds = Feeds::default();
        let held: Vec<_> = (0..MAX_FEEDS)
            .map(|i| feeds.get(&wiki(&format!("w{i}"))).unwrap())
            .collect();
        assert!(feeds.get(&wiki("one-more")).is_err());
        assert!(
            feeds.get(&wiki("w7")).is_ok(),
            "a filter in use is still served"
        );
        drop(held);
        // Nobody reads them now: the next filter takes the place of the longest unread.
        assert!(feeds.get(&wiki("one-more")).is_ok());
        assert_eq!(feeds.len(), MAX_FEEDS);
    }
}
