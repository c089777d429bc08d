//! The merger's form of a second's cube: each cell one `(key, count)` pair of integers, the
//! wiki's name interned, so a day of seconds at a few dozen cells each stays a few tens of
//! megabytes instead of a String per cell.

use std::collections::HashMap;

use wire::{Cell, ChangeType, Cube, Filter};

/// Cells of one second, sorted by key, each key once, no zeros.
pub type Cells = Box<[(u32, u32)]>;

/// The types × bot × article cells a wiki has; the low bits of a key.
const CELL_BITS: u32 = 5;
const CELL_MASK: u32 = (1 << CELL_BITS) - 1;

fn cell_of(kind: ChangeType, bot: bool, article: bool) -> u32 {
    (kind.index() as u32) << 2 | u32::from(bot) << 1 | u32::from(article)
}

fn dims_of(cell: u32) -> (ChangeType, bool, bool) {
    let kind = ChangeType::from_index((cell >> 2) as usize).unwrap_or(ChangeType::Other);
    (kind, cell & 2 != 0, cell & 1 != 0)
}

/// Names held before the unused ones are first looked for: Wikimedia has about a thousand
/// wikis, so only events naming made-up wikis (through the gateway) reach this.
const FIRST_SWEEP_AT: usize = 10_000;

/// Wiki names by number. A name stays while any second held uses it; once the names have
/// doubled since the last sweep, those no second uses any more are dropped (see
/// [`Wikis::keep_only`]), so made-up names cost memory only while their seconds are held.
#[derive(Debug, Clone)]
pub struct Wikis {
    names: Vec<Box<str>>,
    /// Looked up for every cell read back (a week of history is millions), so foldhash, seeded
    /// as the counters' maps are: names are anyone's input.
    ids: HashMap<Box<str>, u32, foldhash::fast::RandomState>,
    sweep_at: usize,
}

impl Default for Wikis {
    fn default() -> Self {
        Wikis {
            names: Vec::new(),
            ids: HashMap::default(),
            sweep_at: FIRST_SWEEP_AT,
        }
    }
}

impl Wikis {
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// Enough names were added since the last sweep to look for unused ones.
    pub fn outgrown(&self) -> bool {
        self.names.len() >= self.sweep_at
    }

    /// Keeps only the names `held` uses, renumbered in their old order so that every second's
    /// keys stay sorted, and rewrites the keys. `held` must be every second's cells: a key
    /// left out would name another wiki afterwards. Costs one pass over the cells, paid once
    /// per doubling of the names.
    pub fn keep_only(&mut self, mut held: Vec<&mut Cells>) {
        let mut used = vec![false; self.names.len()];
        for &(key, _) in held.iter().flat_map(|c| c.iter()) {
            used[(key >> CELL_BITS) as usize] = true;
        }
        let mut renumbered = vec![u32::MAX; self.names.len()];
        let old = std::mem::take(&mut self.names);
        self.ids.clear();
        for (id, name) in old.into_iter().enumerate().filter(|&(id, _)| used[id]) {
            let new = self.names.len() as u32;
            renumbered[id] = new;
            self.ids.insert(name.clone(), new);
            self.names.push(name);
        }
        for (key, _) in held.iter_mut().flat_map(|c| c.iter_mut()) {
            *key = renumbered[(*key >> CELL_BITS) as usize] << CELL_BITS | *key & CELL_MASK;
        }
        self.sweep_at = FIRST_SWEEP_AT.max(2 * self.names.len());
    }

    /// The name's number; None once the numbers a key holds are used up (2^27 names, far more
    /// than memory would hold).
    fn intern(&mut self, name: &str) -> Option<u32> {
        if let Some(&id) = self.ids.get(name) {
            return Some(id);
        }
        let id = u32::try_from(self.names.len())
            .ok()
            .filter(|&id| id < 1 << (32 - CELL_BITS))?;
        self.names.push(name.into());
        self.ids.insert(name.into(), id);
        Some(id)
    }

    pub fn name(&self, id: u32) -> &str {
        &self.names[id as usize]
    }

    /// `cube` in the merger's form; None if a cell does not fit it (over 4 billion edits in
    /// one second: only a foreign or damaged partial says so). The second is then held without
    /// a breakdown rather than with a wrong one.
    pub fn cells(&mut self, cube: &Cube) -> Option<Cells> {
        let mut out: Vec<(u32, u32)> = Vec::with_capacity(cube.0.len());
        for Cell(wiki, kind, bot, article, n) in &cube.0 {
            let key = self.intern(wiki)? << CELL_BITS | cell_of(*kind, *bot, *article);
            out.push((key, u32::try_from(*n).ok()?));
        }
        summed(out)
    }

    /// The cells back in the wire's form.
    pub fn cube(&self, cells: &Cells) -> Cube {
        Cube::of(cells.iter().map(|&(key, n)| {
            let (kind, bot, article) = dims_of(key & CELL_MASK);
            Cell(
                self.name(key >> CELL_BITS).to_string(),
                kind,
                bot,
                article,
                u64::from(n),
            )
        }))
    }

    /// `filter` as a test on keys.
    pub fn compile(&self, filter: &Filter) -> KeyFilter {
        let mut allowed = 0u32;
        for kind in ChangeType::ALL {
            for bot in [false, true] {
                for article in [false, true] {
                    if (filter.types.is_empty() || filter.types.contains(&kind))
                        && filter.bot.is_none_or(|b| b == bot)
                        && filter.article.is_none_or(|a| a == article)
                    {
                        allowed |= 1 << cell_of(kind, bot, article);
                    }
                }
            }
        }
        let wikis = (!filter.wikis.is_empty()).then(|| {
            let mut ids: Vec<u32> = filter
                .wikis
                .iter()
                .filter_map(|w| self.ids.get(w.as_str()).copied())
                .collect();
            ids.sort_unstable();
            ids
        });
        KeyFilter { allowed, wikis }
    }
}

/// Several partials' cells added up; None if a sum does not fit a cell.
pub fn sum<'a>(parts: impl Iterator<Item = &'a Cells>) -> Option<Cells> {
    summed(parts.flat_map(|c| c.iter().copied()).collect())
}

/// `cells` sorted by key, each key once (its counts added up), no zeros.
fn summed(mut cells: Vec<(u32, u32)>) -> Option<Cells> {
    cells.sort_unstable_by_key(|&(k, _)| k);
    let mut out: Vec<(u32, u32)> = Vec::with_capacity(cells.len());
    for (key, n) in cells {
        match out.last_mut() {
            Some((k, total)) if *k == key => *total = total.checked_add(n)?,
            _ => out.push((key, n)),
        }
    }
    out.retain(|&(_, n)| n > 0);
    Some(out.into_boxed_slice())
}

/// A [`Filter`] as the merger tests cells with it: a bit per type × bot × article cell, and the
/// numbers of the wikis named (None: every wiki). A wiki never seen matches no cell.
#[derive(Debug, Clone)]
pub struct KeyFilter {
    allowed: u32,
    wikis: Option<Vec<u32>>,
}

impl KeyFilter {
    pub fn matches(&self, key: u32) -> bool {
        self.allowed >> (key & CELL_MASK) & 1 == 1
            && self
                .wikis
                .as_ref()
                .is_none_or(|ids| ids.binary_search(&(key >> CELL_BITS)).is_ok())
    }

    /// The cell's type and bot flag, for totals.
    pub fn dims(key: u32) -> (ChangeType, bool) {
        let (kind, bot, _) = dims_of(key & CELL_MASK);
        (kind, bot)
    }

    pub fn wiki(key: u32) -> u32 {
        key >> CELL_BITS
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_round_trip_and_filter_like_the_wire_filter() {
        let cube = Cube::of([
            Cell::new("enwiki", ChangeType::Edit, false, true, 3),
            Cell::new("dewiki", ChangeType::Log, true, false, 2),
            Cell::new("enwiki", ChangeType::Categorize, true, false, 1),
        ]);
        let mut wikis = Wikis::default();
        let once = wikis.cells(&cube).unwrap();
        let cells = sum([&once, &once].into_iter()).unwrap();
        assert_eq!(cells.len(), 3);
        let doubled = Cube(
            cube.0
                .iter()
                .map(|c| Cell(c.0.clone(), c.1, c.2, c.3, c.4 * 2))
                .collect(),
        );
        assert_eq!(wikis.cube(&cells), doubled);
        let mut f = Filter::default();
        f.wikis.insert("enwiki".into());
        f.wikis.insert("nowiki".into());
        f.bot = Some(true);
        let k = wikis.compile(&f);
        for &(key, _) in cells.iter() {
            let (kind, bot, article) = dims_of(key & CELL_MASK);
            let name = wikis.name(KeyFilter::wiki(key));
            assert_eq!(
                k.matches(key),
                f.admits(name, kind, bot, article),
                "{name} {kind:?}"
            );
        }
    }
}
