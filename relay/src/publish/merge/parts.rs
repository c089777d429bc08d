//! A partition's partial as the merger keeps it, and a second's total over the latest partial
//! of each partition.

use std::collections::{BTreeMap, HashMap};

use wire::{PartialWindow, TypeCounts, WindowRecord};

use super::cells::{self, Cells, Wikis};
use super::filtered;

/// A partition's latest partial as the merger keeps it: its totals, and its cube in the
/// merger's form. On the wire a cell is a String and four fields, about 8× what it is here, and
/// reading the output topic back holds the partials of every second until the watermarks,
/// which a compacted topic keeps only at its end.
#[derive(Debug, Clone, PartialEq)]
pub struct Part {
    /// Its totals; the top ten only without a breakdown (the cells say more).
    pub window: WindowRecord,
    /// None: written without a cube, or with one that does not add up to its count.
    pub cells: Option<Cells>,
}

impl Part {
    pub fn of(p: PartialWindow, wikis: &mut Wikis) -> Part {
        let PartialWindow {
            mut window, cube, ..
        } = p;
        // A cube that does not add up to its partial's count (a foreign producer's, a damaged
        // record) is no breakdown at all: filtered answers leave the second out rather than
        // contradict its total.
        let cells = cube
            .filter(|c| c.total() == window.count)
            .and_then(|c| wikis.cells(&c));
        if cells.is_some() {
            window.top_wikis = Vec::new();
        }
        Part { window, cells }
    }

    /// Back in the wire's form, for the history file.
    pub fn partial(&self, partition: u32, wikis: &Wikis) -> PartialWindow {
        PartialWindow {
            partition,
            window: self.window.clone(),
            cube: self.cells.as_ref().map(|c| wikis.cube(c)),
        }
    }
}

/// The second's total over its partials, and its cube (None unless every partial has one).
/// With a cube the record's top ten is left empty: it is read from the cells when the record
/// is handed out (see `Merged::served`), as ten Strings a second would be most of what a day
/// held costs.
pub fn merge(
    partials: &BTreeMap<u32, Part>,
    before: &WindowRecord,
    wikis: &Wikis,
) -> (WindowRecord, Option<Cells>) {
    let mut r = WindowRecord::empty(before.start, before.end, before.is_final);
    r.revision = before.revision;
    let cells = partials
        .values()
        .map(|p| p.cells.as_ref())
        .collect::<Option<Vec<_>>>()
        .and_then(|parts| cells::sum(parts.into_iter()));
    let mut by_type = TypeCounts::default();
    for p in partials.values().map(|p| &p.window) {
        r.count += p.count;
        by_type.add(&p.by_type);
        r.bots += p.bots;
        r.humans += p.humans;
    }
    r.by_type = by_type;
    r.no_breakdown = cells.is_none();
    r.top_wikis = match &cells {
        Some(_) => Vec::new(),
        // Only each partial's ten busiest are known (a partial with cells keeps its ten in
        // them). A wiki lives in one partition, but sum anyway so a foreign producer keying
        // differently cannot list a wiki twice.
        None => {
            let mut top: HashMap<String, u64> = HashMap::new();
            for p in partials.values() {
                let ten = match &p.cells {
                    Some(cells) => filtered::top_wikis(cells, None, wikis, 10),
                    None => p.window.top_wikis.clone(),
                };
                for (w, n) in ten {
                    *top.entry(w).or_default() += n;
                }
            }
            wire::top_n(top.into_iter(), 10)
        }
    };
    (r, cells)
}
