//! The page's address as a view: `?range=15&wiki=enwiki&bot=false&at=1707238690`, so a view can
//! be bookmarked and shared. Plain logic (no browser types), so the round trip is unit-tested.
//!
//! - `range=` the live range in minutes (1, 5, 15, 60, 360, 1440), or `from=`/`to=` a fixed
//!   span in epoch seconds (a custom range or a zoom);
//! - the filter as [`Filter::to_query`] writes it;
//! - `at=` the start, in epoch seconds, of the second or bucket whose edits are listed, and
//!   `len=` its length in seconds when it is not one.
//!
//! A bad parameter does not blank the page: what can be read is shown, and every part that
//! could not is named in a sentence.

use wire::Filter;

use crate::range::Range;
use crate::view::Span;

/// What an address holds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Address {
    pub range: Range,
    pub span: Option<Span>,
    pub filter: Filter,
    pub selected: Option<Span>,
}

/// Epoch seconds to ms, for values a person may have typed: a second after year 1970 and
/// before 3000.
fn seconds(name: &str, v: &str, problems: &mut Vec<String>) -> Option<i64> {
    match v.parse::<i64>() {
        Ok(s) if (0..32_503_680_000).contains(&s) => Some(s * 1_000),
        _ => {
            problems.push(format!("{name}={v:?} is not a time in epoch seconds"));
            None
        }
    }
}

impl Address {
    /// Reads a query string (without `?`). Returns what could be read and, for every part
    /// that could not, why.
    pub fn parse(query: &str) -> (Address, Vec<String>) {
        let pairs: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes())
            .into_owned()
            .collect();
        let mut problems = Vec::new();
        let mut a = Address::default();
        let (mut from, mut to, mut at, mut len) = (None, None, None, 1_i64);
        let mut filter_pairs = Vec::new();
        for (k, v) in &pairs {
            match k.as_str() {
                "range" => match Range::ALL.iter().find(|r| r.minutes().to_string() == *v) {
                    Some(r) => a.range = *r,
                    None => problems.push(format!(
                        "range={v:?} is not one of 1, 5, 15, 60, 360, 1440 (minutes)"
                    )),
                },
                "from" => from = seconds("from", v, &mut problems),
                "to" => to = seconds("to", v, &mut problems),
                "at" => at = seconds("at", v, &mut problems),
                "len" => match v.parse::<i64>() {
                    Ok(n) if (1..=86_400).contains(&n) => len = n,
                    _ => problems.push(format!("len={v:?} is not a number of seconds")),
                },
                "wiki" | "type" | "bot" | "namespace" => {
                    filter_pairs.push((k.as_str(), v.as_str()))
                }
                other => problems.push(format!("{other:?} is not a parameter of this page")),
            }
        }
        a.filter = read_filter(&filter_pairs, &mut problems);
        match (from, to) {
            (Some(f), Some(t)) => match Span::new(f, t) {
                Some(s) => a.span = Some(s),
                None => problems.push("from= is not before to=".to_owned()),
            },
            (None, None) => {}
            _ => problems.push("from= and to= go together".to_owned()),
        }
        a.selected = at.and_then(|at| Span::new(at, at + len * 1_000));
        (a, problems)
    }

    /// The query string (without `?`) that reads back as this address.
    pub fn to_query(&self) -> String {
        let mut q = form_urlencoded::Serializer::new(String::new());
        match self.span {
            Some(s) => {
                q.append_pair("from", &(s.from / 1_000).to_string());
                q.append_pair("to", &(s.to / 1_000).to_string());
            }
            None => {
                q.append_pair("range", &self.range.minutes().to_string());
            }
        }
        q.extend_pairs(self.filter.to_pairs());
        if let Some(s) = self.selected {
            q.append_pair("at", &(s.from / 1_000).to_string());
            let len = (s.to - s.from) / 1_000;
            if len != 1 {
                q.append_pair("len", &len.to_string());
            }
        }
        q.finish()
    }
}

/// The filter's pairs, each bad one left out and named: one misspelt type does not drop the
/// wiki that came with it.
fn read_filter(pairs: &[(&str, &str)], problems: &mut Vec<String>) -> Filter {
    if let Ok((f, _)) = Filter::from_pairs(pairs.iter().copied()) {
        return f;
    }
    let mut kept: Vec<(&str, &str)> = Vec::new();
    for pair in pairs {
        let mut trial = kept.clone();
        trial.push(*pair);
        match Filter::from_pairs(trial) {
            Ok(_) => kept.push(*pair),
            Err(e) => problems.push(e.to_string()),
        }
    }
    Filter::from_pairs(kept).map(|(f, _)| f).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_fixtures::T0;

    #[test]
    fn an_address_reads_back_as_itself() {
        let (a, problems) = Address::parse("range=15&wiki=enwiki&bot=false&at=1707238690");
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(a.range, Range::FifteenMinutes);
        assert_eq!(a.filter.wikis.iter().collect::<Vec<_>>(), ["enwiki"]);
        assert_eq!(a.filter.bot, Some(false));
        assert_eq!(a.selected, Span::new(T0, T0 + 1_000));
        assert_eq!(a.to_query(), "range=15&wiki=enwiki&bot=false&at=1707238690");
        assert_eq!(Address::parse(&a.to_query()).0, a);

        let b = Address {
            span: Span::new(T0, T0 + 600_000),
            selected: Span::new(T0 + 60_000, T0 + 75_000),
            ..Address::default()
        };
        let q = b.to_query();
        assert_eq!(q, "from=1707238690&to=1707239290&at=1707238750&len=15");
        assert_eq!(Address::parse(&q), (b, Vec::new()));
        assert_eq!(Address::default().to_query(), "range=5");
        assert_eq!(Address::parse("").0, Address::default());
    }

    #[test]
    fn a_bad_part_is_named_and_the_rest_kept() {
        let (a, problems) =
            Address::parse("range=7&wiki=dewiki&type=edits&bot=maybe&at=soon&colour=red");
        assert_eq!(a.range, Range::default());
        assert_eq!(a.filter.wikis.len(), 1, "the good wiki is kept");
        assert!(a.filter.types.is_empty() && a.filter.bot.is_none());
        assert_eq!(a.selected, None);
        let all = problems.join("\n");
        for want in [
            "range=\"7\"",
            "type=\"edits\"",
            "bot=\"maybe\"",
            "at=\"soon\"",
            "\"colour\" is not a parameter",
        ] {
            assert!(all.contains(want), "{want} in {all}");
        }
        let (a, problems) = Address::parse("from=1707238690&to=1707238000");
        assert_eq!((a.span, problems.len()), (None, 1));
        let (_, problems) = Address::parse("from=1707238690");
        assert!(problems[0].contains("go together"));
    }
}
