//! A second's breakdown by dimension: how many of its edits fell in each (wiki, type, bot or
//! human, article or not) cell. At Wikimedia's rate only a few dozen of the cells are non-zero
//! in any second, so a cube is a sparse, sorted list of them.
//!
//! Cubes add cell by cell, so partial cubes of the input partitions merge exactly as totals
//! do, and every filtered count, top list and breakdown is a sum over cells.

use serde::{Deserialize, Serialize};

use crate::{TypeCounts, WindowRecord};

/// Wikimedia's change types, in the order [`TypeCounts`] lists them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChangeType {
    Edit,
    New,
    Log,
    Categorize,
    Other,
}

impl ChangeType {
    pub const ALL: [ChangeType; 5] = [
        ChangeType::Edit,
        ChangeType::New,
        ChangeType::Log,
        ChangeType::Categorize,
        ChangeType::Other,
    ];

    pub fn name(self) -> &'static str {
        match self {
            ChangeType::Edit => "edit",
            ChangeType::New => "new",
            ChangeType::Log => "log",
            ChangeType::Categorize => "categorize",
            ChangeType::Other => "other",
        }
    }

    /// The type a name stands for: exactly one of the five names, nothing else.
    pub fn parse(name: &str) -> Option<ChangeType> {
        ChangeType::ALL.into_iter().find(|t| t.name() == name)
    }

    /// An event's `type`: one of the five names, anything else `Other`.
    pub fn of_event(name: &str) -> ChangeType {
        ChangeType::parse(name).unwrap_or(ChangeType::Other)
    }

    /// Position in [`ChangeType::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }

    pub fn from_index(i: usize) -> Option<ChangeType> {
        ChangeType::ALL.get(i).copied()
    }
}

impl TypeCounts {
    pub fn add_one(&mut self, t: ChangeType, n: u64) {
        match t {
            ChangeType::Edit => self.edit += n,
            ChangeType::New => self.new += n,
            ChangeType::Log => self.log += n,
            ChangeType::Categorize => self.categorize += n,
            ChangeType::Other => self.other += n,
        }
    }
}

/// One non-zero cell, `[wiki, type, bot, article, count]` on the wire: a tuple, because a
/// second holds dozens of them and object keys would be most of the bytes. `article` is
/// namespace 0; false for every other namespace and for events without one.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Cell(pub String, pub ChangeType, pub bool, pub bool, pub u64);

impl Cell {
    pub fn new(wiki: &str, kind: ChangeType, bot: bool, article: bool, count: u64) -> Cell {
        Cell(wiki.to_string(), kind, bot, article, count)
    }
    pub fn wiki(&self) -> &str {
        &self.0
    }
    pub fn kind(&self) -> ChangeType {
        self.1
    }
    pub fn bot(&self) -> bool {
        self.2
    }
    pub fn article(&self) -> bool {
        self.3
    }
    pub fn count(&self) -> u64 {
        self.4
    }
}

/// The non-zero cells of a second (or of one partition's share of it), sorted by wiki, type,
/// bot, article: a pure function of the counts, so a recomputed partial is the same bytes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Cube(pub Vec<Cell>);

impl Cube {
    /// The cube of `cells`, summing repeats and leaving out zeros.
    pub fn of(cells: impl IntoIterator<Item = Cell>) -> Cube {
        let mut rows: Vec<Cell> = cells.into_iter().filter(|c| c.4 > 0).collect();
        rows.sort_unstable();
        rows.dedup_by(|later, first| {
            let same =
                (&later.0, later.1, later.2, later.3) == (&first.0, first.1, first.2, first.3);
            if same {
                first.4 += later.4;
            }
            same
        });
        Cube(rows)
    }

    pub fn total(&self) -> u64 {
        self.0.iter().map(|c| c.4).sum()
    }

    /// The totals a [`WindowRecord`] carries, over the cells `keep` accepts: count, types,
    /// bots and humans, and the ten busiest wikis.
    pub fn totals_into(&self, keep: impl Fn(&Cell) -> bool, r: &mut WindowRecord) {
        let mut by_type = TypeCounts::default();
        let mut bots = 0;
        let mut wikis: Vec<(&str, u64)> = Vec::new();
        for c in self.0.iter().filter(|c| keep(c)) {
            by_type.add_one(c.1, c.4);
            if c.2 {
                bots += c.4;
            }
            // Rows are sorted by wiki, so a wiki's cells are adjacent.
            match wikis.last_mut() {
                Some((w, n)) if *w == c.0 => *n += c.4,
                _ => wikis.push((&c.0, c.4)),
            }
        }
        r.count = by_type.total();
        r.by_type = by_type;
        r.bots = bots;
        r.humans = r.count - bots;
        r.top_wikis = crate::top_n(wikis.into_iter(), 10);
    }
}

/// The `n` largest counts, most first, ties broken by name, so a list is a pure function of
/// the counts. Names compare as UTF-8 bytes, which is their character order.
pub fn top_n<K: AsRef<str>>(
    counts: impl Iterator<Item = (K, u64)>,
    n: usize,
) -> Vec<(String, u64)> {
    let mut all: Vec<(K, u64)> = counts.filter(|(_, c)| *c > 0).collect();
    all.sort_unstable_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.as_ref().cmp(b.0.as_ref())));
    all.truncate(n);
    all.into_iter()
        .map(|(k, v)| (k.as_ref().to_string(), v))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cell(wiki: &str, kind: ChangeType, bot: bool, article: bool, count: u64) -> Cell {
        Cell::new(wiki, kind, bot, article, count)
    }

    #[test]
    fn a_cube_is_sorted_summed_and_sparse() {
        let cube = Cube::of([
            cell("dewiki", ChangeType::Edit, false, true, 2),
            cell("enwiki", ChangeType::Log, true, false, 1),
            cell("dewiki", ChangeType::Edit, false, true, 3),
            cell("frwiki", ChangeType::New, false, true, 0),
        ]);
        assert_eq!(
            serde_json::to_string(&cube).unwrap(),
            r#"[["dewiki","edit",false,true,5],["enwiki","log",true,false,1]]"#
        );
        assert_eq!(cube.total(), 6);
        let back: Cube = serde_json::from_str(&serde_json::to_string(&cube).unwrap()).unwrap();
        assert_eq!(back, cube);
    }

    #[test]
    fn totals_follow_the_cells_kept() {
        let cube = Cube::of([
            cell("dewiki", ChangeType::Edit, false, true, 2),
            cell("dewiki", ChangeType::New, true, true, 1),
            cell("enwiki", ChangeType::Edit, true, false, 4),
        ]);
        let mut r = WindowRecord::empty(crate::Millis(0), crate::Millis(1_000), true);
        cube.totals_into(|_| true, &mut r);
        assert_eq!(
            (r.count, r.bots, r.humans, r.by_type.edit, r.by_type.new),
            (7, 5, 2, 6, 1)
        );
        assert_eq!(
            r.top_wikis,
            vec![("enwiki".into(), 4), ("dewiki".into(), 3)]
        );
        cube.totals_into(|c| c.3, &mut r);
        assert_eq!((r.count, r.bots), (3, 1));
        assert_eq!(r.top_wikis, vec![("dewiki".into(), 3)]);
    }
}
