//! A brute-force model of what the relay should answer about a set of events: every edit read
//! with serde_json on its own (not with the relay's parser), the relay's admission rules
//! applied by hand, and each answer (a second's counts, a bucket, the busiest wikis, pages or
//! users, the edit list) computed by scanning every edit. Slow and obviously right, which is
//! the point: the relay's answers are compared with it.
//!
//! The rules, as README.md states them: an event is counted in the second of its `meta.dt`;
//! its wiki is `wiki`, else `meta.domain`, else empty; its type one of edit, new, log,
//! categorize, anything else (or none) `other`; `bot` true or not; an article when `namespace`
//! is the JSON number 0 (an integer: `0.0` is not). Canaries (`meta.domain` "canary") are not
//! edits, and a second counts one `meta.id` once (events without one are always counted).

use std::collections::{BTreeMap, BTreeSet, HashSet};

use serde_json::Value;

use crate::recording::event_ms;

/// The five change types, in the relay's order.
pub const TYPES: [&str; 5] = ["edit", "new", "log", "categorize", "other"];

/// One counted edit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edit {
    /// `meta.dt` in Unix milliseconds.
    pub ms: i64,
    /// The start of its second.
    pub second: i64,
    pub wiki: String,
    /// Index into [`TYPES`].
    pub kind: usize,
    pub bot: bool,
    pub article: bool,
    pub id: Option<String>,
    pub title: Option<String>,
    pub user: Option<String>,
    /// The namespace's number, if an integer.
    pub namespace: Option<i64>,
}

impl Edit {
    /// The edit as an event, or None for what is not one (a canary).
    pub fn read(e: &Value) -> anyhow::Result<Option<Edit>> {
        let ms = event_ms(e)?;
        let meta = &e["meta"];
        if meta["domain"].as_str() == Some("canary") {
            return Ok(None);
        }
        let text = |v: &Value| v.as_str().map(str::to_string);
        Ok(Some(Edit {
            ms,
            second: ms.div_euclid(1_000) * 1_000,
            wiki: text(&e["wiki"])
                .or_else(|| text(&meta["domain"]))
                .unwrap_or_default(),
            kind: e["type"]
                .as_str()
                .and_then(|t| TYPES[..4].iter().position(|n| *n == t))
                .unwrap_or(4),
            bot: e["bot"].as_bool() == Some(true),
            article: e["namespace"].as_i64() == Some(0) && !e["namespace"].is_f64(),
            id: text(&meta["id"]),
            title: text(&e["title"]),
            user: text(&e["user"]),
            namespace: e["namespace"].as_i64().filter(|_| !e["namespace"].is_f64()),
        }))
    }

    pub fn type_name(&self) -> &'static str {
        TYPES[self.kind]
    }
}

/// Which edits a view counts; an empty set (or None) accepts everything. The model's own, not
/// `wire::Filter`, so that a mistake in that one shows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    pub wikis: BTreeSet<String>,
    pub types: BTreeSet<&'static str>,
    pub bot: Option<bool>,
    pub article: Option<bool>,
}

impl Filter {
    pub fn admits(&self, e: &Edit) -> bool {
        (self.wikis.is_empty() || self.wikis.contains(&e.wiki))
            && (self.types.is_empty() || self.types.contains(e.type_name()))
            && self.bot.is_none_or(|b| b == e.bot)
            && self.article.is_none_or(|a| a == e.article)
    }

    /// The filter's query parameters (`wiki=a&type=edit&...`), percent-encoded; "" for none.
    pub fn query(&self) -> String {
        let mut pairs: Vec<String> = self
            .wikis
            .iter()
            .map(|w| format!("wiki={}", encode(w)))
            .collect();
        pairs.extend(self.types.iter().map(|t| format!("type={t}")));
        pairs.extend(self.bot.map(|b| format!("bot={b}")));
        pairs.extend(
            self.article
                .map(|a| format!("namespace={}", if a { "article" } else { "other" })),
        );
        pairs.join("&")
    }
}

/// `s` percent-encoded for a query string: everything but unreserved characters escaped.
pub fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// One second (or bucket) under a filter, as `/v1/counts` reports it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counts {
    pub count: u64,
    /// Per type, in [`TYPES`] order.
    pub by_type: [u64; 5],
    pub bots: u64,
    pub humans: u64,
    /// The ten busiest wikis, most first, ties by name.
    pub top_wikis: Vec<(String, u64)>,
}

/// A ranking: the first `n` names, the total over every name, and how many names there are.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ranking {
    pub items: Vec<(String, u64)>,
    pub total: u64,
    pub distinct: u64,
}

/// The edits counted out of a set of events.
#[derive(Debug, Clone, Default)]
pub struct Truth {
    pub edits: Vec<Edit>,
}

impl Truth {
    /// Applies the admission rules to `events`, in order (the first copy of a repeated id is
    /// the one counted; all copies are alike in what the model reads).
    pub fn of(events: &[Value]) -> anyhow::Result<Truth> {
        let mut seen: HashSet<(i64, String)> = HashSet::new();
        let mut edits = Vec::new();
        for e in events {
            let Some(edit) = Edit::read(e)? else { continue };
            if let Some(id) = &edit.id
                && !seen.insert((edit.second, id.clone()))
            {
                continue;
            }
            edits.push(edit);
        }
        Ok(Truth { edits })
    }

    /// The edits `filter` admits whose second overlaps `[from, to)`: a range holds the
    /// seconds that start before `to` and end after `from`, and an empty range none.
    pub fn select<'a>(
        &'a self,
        from: i64,
        to: i64,
        filter: &'a Filter,
    ) -> impl Iterator<Item = &'a Edit> + 'a {
        self.edits
            .iter()
            .filter(move |e| in_range(e.second, from, to) && filter.admits(e))
    }

    /// The counts of the edits in `[from, to)` (whole seconds) under `filter`.
    pub fn counts(&self, from: i64, to: i64, filter: &Filter) -> Counts {
        let mut c = Counts::default();
        let mut wikis: BTreeMap<&str, u64> = BTreeMap::new();
        for e in self.select(from, to, filter) {
            c.count += 1;
            c.by_type[e.kind] += 1;
            if e.bot {
                c.bots += 1;
            } else {
                c.humans += 1;
            }
            *wikis.entry(&e.wiki).or_default() += 1;
        }
        c.top_wikis = rank(wikis, 10).items;
        c
    }

    /// The busiest `n` names of the seconds of `[from, to)` under `filter` (as `/v1/top?by=wiki`
    /// ranks), `name` naming an edit (None: the edit is in no item, but still in the total).
    pub fn top(
        &self,
        from: i64,
        to: i64,
        filter: &Filter,
        n: usize,
        name: impl Fn(&Edit) -> Option<String>,
    ) -> Ranking {
        ranking(self.select(from, to, filter), n, name)
    }

    /// The seconds (starts) holding an edit.
    pub fn seconds(&self) -> BTreeSet<i64> {
        self.edits.iter().map(|e| e.second).collect()
    }

    /// The wikis, busiest first.
    pub fn wikis(&self) -> Vec<String> {
        let mut n: BTreeMap<&str, u64> = BTreeMap::new();
        for e in &self.edits {
            *n.entry(&e.wiki).or_default() += 1;
        }
        rank(n, usize::MAX)
            .items
            .into_iter()
            .map(|(w, _)| w)
            .collect()
    }
}

fn ranking<'a>(
    edits: impl Iterator<Item = &'a Edit>,
    n: usize,
    name: impl Fn(&Edit) -> Option<String>,
) -> Ranking {
    let mut names: BTreeMap<String, u64> = BTreeMap::new();
    let mut total = 0;
    for e in edits {
        total += 1;
        if let Some(k) = name(e) {
            *names.entry(k).or_default() += 1;
        }
    }
    Ranking {
        total,
        ..rank(names, n)
    }
}

/// Whether the second starting at `second` overlaps `[from, to)`.
pub fn in_range(second: i64, from: i64, to: i64) -> bool {
    from < to && second < to && second + 1_000 > from
}

/// The `n` largest counts, most first, ties by name (as UTF-8 bytes); with the total and the
/// number of names.
pub fn rank<K: AsRef<str>>(counts: BTreeMap<K, u64>, n: usize) -> Ranking {
    let mut all: Vec<(String, u64)> = counts
        .into_iter()
        .filter(|(_, c)| *c > 0)
        .map(|(k, c)| (k.as_ref().to_string(), c))
        .collect();
    all.sort_by(|a, b| {
        b.1.cmp(&a.1)
            .then_with(|| a.0.as_bytes().cmp(b.0.as_bytes()))
    });
    Ranking {
        total: all.iter().map(|(_, c)| c).sum(),
        distinct: all.len() as u64,
        items: all.into_iter().take(n).collect(),
    }
}

/// A small seeded generator (SplitMix64): the same seed draws the same cases.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    /// The seed from `EDITPULSE_SEED` if set, else from the clock; printed either way, so a
    /// failing run can be repeated.
    pub fn from_env(what: &str) -> Rng {
        let seed = std::env::var("EDITPULSE_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| chrono::Utc::now().timestamp_micros() as u64);
        eprintln!("{what}: EDITPULSE_SEED={seed}");
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `[0, n)`; `n` > 0.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    /// Uniform in `[lo, hi]`.
    pub fn between(&mut self, lo: i64, hi: i64) -> i64 {
        lo + self.below((hi - lo + 1) as u64) as i64
    }

    /// True with probability `1 / n`.
    pub fn one_in(&mut self, n: u64) -> bool {
        self.below(n) == 0
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }

    /// A random filter over `wikis` (busiest first: the first few are drawn more often), with
    /// now and then a wiki no event names.
    pub fn filter(&mut self, wikis: &[String]) -> Filter {
        let mut f = Filter::default();
        if self.one_in(6) {
            return f;
        }
        let n_wikis = *self.pick(&[0, 0, 1, 1, 2, 3, 5]);
        for _ in 0..n_wikis {
            let i = self
                .below(wikis.len() as u64)
                .min(self.below(wikis.len() as u64));
            f.wikis.insert(wikis[i as usize].clone());
        }
        if n_wikis > 0 && self.one_in(5) {
            f.wikis.insert("nosuch wiki&x=1".into());
        }
        if !self.one_in(3) {
            for t in TYPES {
                if self.one_in(2) {
                    f.types.insert(t);
                }
            }
        }
        f.bot = *self.pick(&[None, None, Some(true), Some(false)]);
        f.article = *self.pick(&[None, None, Some(true), Some(false)]);
        f
    }
}
