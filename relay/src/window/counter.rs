//! One input partition's open windows, its watermark and its safe commit point.

use std::collections::{BTreeMap, HashMap};

use codec::event::{Edit, Kind};
use codec::summary::Summary;
use wire::{Cell, Cube, Millis, PartialWindow, WindowRecord};

use super::recent_ids::RecentIds;
use super::seen_ids::SeenIds;
use super::timing::{NO_WATERMARK, Timing, Verdict, WINDOW_MS};
use crate::config::TimeMode;

/// What happened to one record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    Counted,
    /// Counted, but it reached the bus after its window had closed: the window gets a revision.
    Late,
    /// Reached the bus after its window's allowed lateness: counted only in `too_late`.
    TooLate,
    /// Stamped too far ahead of its ingest time to be believed.
    TooEarly,
    /// A canary: proof the upstream is alive, not an edit.
    Canary,
    /// Read again from before the commit point the counter resumed from: it fed a window
    /// dropped before the commit, so it only tells how far the drop horizon reached.
    BeforeCommit,
    /// The window already counted an event with this `meta.id` (several relays reading the
    /// same upstream, a client retrying a batch, a resume repeating its boundary). By ingest
    /// time: a second within the allowed lateness of this one did.
    Duplicate,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CounterStats {
    pub counted: u64,
    pub late: u64,
    pub too_late: u64,
    pub too_early: u64,
    pub canaries: u64,
    pub duplicates: u64,
}

/// A wiki's cells of the window's cube, indexed by [`cell_index`].
type Cells = [u32; CELLS];
const CELLS: usize = 5 * 2 * 2;

/// The cell of a type, bot flag and namespace class. Ascending index is the cube's sort order
/// (type, then bot, then article), so a wiki's cells come out sorted as they are.
fn cell_index(kind: Kind, bot: bool, article: bool) -> usize {
    kind.index() * 4 + usize::from(bot) * 2 + usize::from(article)
}

#[derive(Debug, Clone)]
struct Window {
    /// The window's cube, a row of cells per wiki: one hash lookup per record counts it in
    /// every dimension at once. Keyed by the name's UTF-8 bytes, checked once where the record
    /// was read. Wiki names are anyone's input, so the hash is seeded: foldhash, a fresh seed
    /// per window, ~2× faster than SipHash on names this short. Its outputs never leave the
    /// process (cells are sorted by name), which is what an attacker would need to find
    /// colliding names.
    wikis: HashMap<Box<[u8]>, Cells, foldhash::fast::RandomState>,
    /// The `meta.id`s counted. By event time an event's id and time travel together, so a
    /// repeat always lands in the same window. (By ingest time it need not: see `recent`.)
    ids: SeenIds,
    revision: u32,
    first_offset: u64,
    last_offset: u64,
    final_sent: bool,
    dirty: bool,
}

#[derive(Debug, Clone)]
pub struct PartitionCounter {
    partition: u32,
    timing: Timing,
    windows: BTreeMap<i64, Window>,
    watermark: Millis,
    /// Windows starting before this were dropped; records for them can only be too late.
    dropped_before: i64,
    /// Records before this offset were read again only to learn the drop horizon (see
    /// [`PartitionCounter::reading_back_to`]).
    committed: u64,
    /// The highest offset that fed a dropped window.
    dropped_max_offset: Option<u64>,
    /// The final partials of windows dropped since the output last acknowledged everything
    /// written: until then a write of theirs may still be lost, and they are written again
    /// with the rest (see [`PartitionCounter::republish_all`]).
    retired: Vec<PartialWindow>,
    /// `retired` goes out again with the next drain.
    resend_retired: bool,
    /// With `--time ingest`, the ids counted across seconds: a retried batch lands in a later
    /// second than its first copy.
    recent: Option<RecentIds>,
    next_offset: Option<u64>,
    clean_cut: Option<u64>,
    stats: CounterStats,
    /// Re-reading a backlog from the commit point (after a restart or a rebalance): a window's
    /// count is only written once it is complete, so a half-rebuilt count never overwrites the
    /// whole one the previous owner wrote.
    rebuilding: bool,
}

impl PartitionCounter {
    pub fn new(partition: u32, timing: Timing) -> Self {
        PartitionCounter {
            partition,
            timing,
            windows: BTreeMap::new(),
            watermark: NO_WATERMARK,
            dropped_before: i64::MIN,
            committed: 0,
            dropped_max_offset: None,
            retired: Vec::new(),
            resend_retired: false,
            recent: (timing.mode == TimeMode::Ingest).then(|| RecentIds::new(timing.lateness_ms)),
            next_offset: None,
            clean_cut: None,
            stats: CounterStats::default(),
            rebuilding: false,
        }
    }

    /// A counter taking over a partition from its last commit point, where the windows
    /// before `drop_horizon` were complete and written (see [`PartitionCounter::drop_horizon`]).
    pub fn rebuilding(partition: u32, timing: Timing, drop_horizon: Option<Millis>) -> Self {
        PartitionCounter {
            rebuilding: true,
            dropped_before: drop_horizon.map_or(i64::MIN, |h| h.0),
            ..PartitionCounter::new(partition, timing)
        }
    }

    /// The counter resumes at `committed` but is given records from before it: every one of
    /// them fed a window dropped before that commit (a commit point passes only such records),
    /// so each moves the drop horizon past its window and is otherwise skipped. This is how a
    /// broker that does not return commit metadata still gets a horizon: from the records just
    /// before the commit point, a lower bound of the one the commit was made with.
    pub fn reading_back_to(mut self, committed: u64) -> Self {
        self.committed = committed;
        self
    }

    /// Windows starting before this were dropped, complete: a record of theirs read again
    /// after a restart must not rebuild one from that record alone. Stored with each commit.
    pub fn drop_horizon(&self) -> Option<Millis> {
        (self.dropped_before > i64::MIN).then_some(Millis(self.dropped_before))
    }

    /// The offset the counter resumed from; records before it are read only for the horizon.
    pub fn committed(&self) -> u64 {
        self.committed
    }

    pub fn is_rebuilding(&self) -> bool {
        self.rebuilding
    }

    /// The counter has read everything the partition held: from now on every change is
    /// written as it happens (the next drain writes what waited).
    pub fn caught_up(&mut self) {
        self.rebuilding = false;
    }

    pub fn partition(&self) -> u32 {
        self.partition
    }

    pub fn watermark(&self) -> Millis {
        self.watermark
    }

    pub fn stats(&self) -> CounterStats {
        self.stats
    }

    pub fn open_windows(&self) -> usize {
        self.windows.len()
    }

    /// Counts one record parsed from its JSON.
    pub fn add(&mut self, edit: &Edit<'_>, ingest: Millis, offset: u64) -> Admission {
        self.count(&Summary::of(edit), edit.wiki.as_bytes(), ingest, offset)
    }

    /// Counts one record. `wiki` is its wiki's name (a `str`'s bytes), `ingest` the record's
    /// bus timestamp, `offset` its position.
    pub fn count(&mut self, edit: &Summary, wiki: &[u8], ingest: Millis, offset: u64) -> Admission {
        if offset < self.committed {
            let t = match self.timing.mode {
                TimeMode::Event => edit.time,
                TimeMode::Ingest => ingest,
            };
            // A canary or a record stamped too far ahead fed no window at all. (A repeat held
            // the commit point back until its window was dropped, like any other record.)
            let too_early = t.0 > ingest.0.saturating_add(self.timing.max_future_ms);
            if !edit.canary && !too_early {
                let end = Timing::window_start(t) + WINDOW_MS;
                self.dropped_before = self.dropped_before.max(end);
            }
            return Admission::BeforeCommit;
        }
        self.next_offset = Some(self.next_offset.map_or(offset + 1, |n| n.max(offset + 1)));
        if edit.canary {
            self.stats.canaries += 1;
            return Admission::Canary;
        }
        let (start, late) = match self.timing.judge(edit.time, ingest) {
            Verdict::TooEarly => {
                self.stats.too_early += 1;
                return Admission::TooEarly;
            }
            Verdict::TooLate { start } => (start, None),
            Verdict::InWindow { start, late } => (start, Some(late)),
        };
        let Some(late) = late.filter(|_| start >= self.dropped_before) else {
            // Not counted, but a recount reads it here too; a later retry may be its repeat.
            if let (Some(recent), Some(id)) = (&mut self.recent, &edit.id) {
                recent.first_time(id, start, offset);
            }
            self.stats.too_late += 1;
            return Admission::TooLate;
        };
        if let (Some(recent), Some(id)) = (&mut self.recent, &edit.id)
            && !recent.first_time(id, start, offset)
        {
            // Its first copy's second keeps the commit point back (see `RecentIds`).
            self.stats.duplicates += 1;
            return Admission::Duplicate;
        }
        let w = self.windows.entry(start).or_insert_with(|| Window {
            wikis: HashMap::default(),
            ids: SeenIds::default(),
            revision: 0,
            first_offset: offset,
            last_offset: offset,
            final_sent: false,
            dirty: false,
        });
        if self.recent.is_none()
            && let Some(id) = &edit.id
            && !w.ids.first_time(id)
        {
            // The repeat still belongs to the window's offsets: a commit must not pass it
            // while the window it repeats could be rebuilt without its original.
            w.first_offset = w.first_offset.min(offset);
            w.last_offset = w.last_offset.max(offset);
            self.stats.duplicates += 1;
            return Admission::Duplicate;
        }
        w.first_offset = w.first_offset.min(offset);
        w.last_offset = w.last_offset.max(offset);
        w.dirty = true;
        let cell = cell_index(edit.kind, edit.bot, edit.article);
        if let Some(cells) = w.wikis.get_mut(wiki) {
            cells[cell] += 1;
        } else {
            let mut cells = [0; CELLS];
            cells[cell] = 1;
            w.wikis.insert(wiki.into(), cells);
        }
        self.stats.counted += 1;
        if late {
            w.revision += 1;
            self.stats.late += 1;
            Admission::Late
        } else {
            Admission::Counted
        }
    }

    /// Marks every kept window as changed, and every window dropped since the last
    /// acknowledgement as due again, so the next drain writes them all: after the output did
    /// not acknowledge a write, what it lost is rewritten (rewrites are idempotent). A window
    /// that aged out while the output was away is written when it is back.
    pub fn republish_all(&mut self) {
        self.windows.values_mut().for_each(|w| w.dirty = true);
        self.resend_retired = true;
    }

    /// The output acknowledged every partial drained so far: dropped windows need not be
    /// kept for rewriting any longer.
    pub fn acknowledged(&mut self) {
        self.retired.clear();
        self.resend_retired = false;
    }

    /// Moves the watermark forward (never back).
    pub fn advance(&mut self, watermark: Millis) {
        self.watermark = self.watermark.max(watermark);
    }

    /// Appends every window that changed or closed since the last call, then drops windows past
    /// their lateness and moves the commit point.
    pub fn drain(&mut self, out: &mut Vec<PartialWindow>) {
        if std::mem::take(&mut self.resend_retired) {
            out.extend(self.retired.iter().cloned());
        }
        let wm = self.watermark.0;
        for (&start, w) in self.windows.iter_mut() {
            if !w.final_sent && start + WINDOW_MS <= wm {
                w.final_sent = true;
                w.dirty = true;
            }
            if w.dirty && !self.rebuilding {
                w.dirty = false;
                out.push(partial(self.partition, start, w));
            }
        }
        let keep_from = wm - self.timing.lateness_ms - self.timing.slack_ms - WINDOW_MS;
        while let Some(entry) = self.windows.first_entry() {
            if *entry.key() > keep_from {
                break;
            }
            let (start, w) = entry.remove_entry();
            let last = partial(self.partition, start, &w);
            // Past its lateness a window is complete, rebuilding or not.
            if w.dirty {
                out.push(last.clone());
            }
            self.retired.push(last);
            self.dropped_before = self.dropped_before.max(start + WINDOW_MS);
            self.dropped_max_offset = Some(
                self.dropped_max_offset
                    .map_or(w.last_offset, |m| m.max(w.last_offset)),
            );
        }
        if let Some(recent) = &mut self.recent {
            recent.forget_before(self.dropped_before);
        }
        self.update_clean_cut();
    }

    /// The offset up to which the input may be committed: every record before it fed only
    /// windows already dropped (published final and past lateness), and no window still open
    /// holds a record before it. Re-reading from here after a crash rebuilds every open window
    /// completely, so what is republished equals what was published.
    pub fn commit_point(&self) -> Option<u64> {
        self.clean_cut
    }

    fn update_clean_cut(&mut self) {
        let Some(next) = self.next_offset else { return };
        let candidate = self
            .windows
            .values()
            .map(|w| w.first_offset)
            .chain(self.recent.as_ref().and_then(RecentIds::first_offset))
            .min()
            .unwrap_or(next);
        // Out-of-order event times can interleave a dropped window's records with an open one's;
        // such a cut would split a window, so wait for a later clean one. A clean cut stays clean.
        if self.dropped_max_offset.is_none_or(|m| m < candidate) {
            self.clean_cut = Some(self.clean_cut.map_or(candidate, |c| c.max(candidate)));
        }
    }
}

/// The window's partial: its cube, and the totals summed from it. A pure function of the
/// counts, cells sorted, so a recomputation gives the same bytes.
fn partial(partition: u32, start: i64, w: &Window) -> PartialWindow {
    let mut wikis: Vec<(&[u8], &Cells)> = w.wikis.iter().map(|(k, v)| (k.as_ref(), v)).collect();
    // UTF-8 byte order is character order: the cube's order by name.
    wikis.sort_unstable_by_key(|&(k, _)| k);
    let mut cells = Vec::new();
    for (wiki, row) in wikis {
        let wiki = String::from_utf8_lossy(wiki);
        for kind in Kind::ALL {
            for bot in [false, true] {
                for article in [false, true] {
                    let n = row[cell_index(kind, bot, article)];
                    if n > 0 {
                        cells.push(Cell(wiki.to_string(), kind, bot, article, u64::from(n)));
                    }
                }
            }
        }
    }
    let cube = Cube(cells);
    let mut window = WindowRecord::empty(Millis(start), Millis(start + WINDOW_MS), w.final_sent);
    window.revision = w.revision;
    cube.totals_into(|_| true, &mut window);
    PartialWindow {
        partition,
        window,
        cube: Some(cube),
    }
}
