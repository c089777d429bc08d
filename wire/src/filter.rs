//! Which edits a view counts: the same filter on `/v1/counts`, `/v1/stream`, `/v1/top`,
//! `/v1/edits` and in the dashboard's URL, as query parameters:
//! `wiki=` (repeatable), `type=` (repeatable), `bot=true|false`, `namespace=article|other`.
//!
//! A filter is a set of accepted values per dimension; an empty set accepts everything. It is
//! kept canonical (sorted, without repeats), so two spellings of one filter are one filter:
//! the relay computes each distinct filter's stream once, however many clients share it.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::{Cell, ChangeType};

/// The most `wiki=` values one filter takes: more than a picker shows, fewer than would make
/// matching a cell slow.
pub const MAX_WIKIS: usize = 100;
/// The longest `wiki=` value taken: far longer than any wiki's name (the longest Wikimedia
/// database name has 30 bytes), so that a name an event made up can still be filtered by.
pub const MAX_WIKI_LEN: usize = 255;

#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Filter {
    /// Wiki database names (`enwiki`); empty: every wiki.
    pub wikis: BTreeSet<String>,
    /// Empty: every type.
    pub types: BTreeSet<ChangeType>,
    /// Some(true): bots only; Some(false): humans only.
    pub bot: Option<bool>,
    /// Some(true): namespace 0 (articles) only; Some(false): every other namespace.
    pub article: Option<bool>,
}

/// A query's `(name, value)` pairs.
pub type Pairs<'a> = Vec<(&'a str, &'a str)>;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FilterError {
    #[error("type={0:?} is not one of edit, new, log, categorize, other")]
    Type(String),
    #[error("bot={0:?} is not true or false")]
    Bot(String),
    #[error("namespace={0:?} is not article or other")]
    Namespace(String),
    #[error("{0}= is given twice; it takes one value")]
    Repeated(&'static str),
    #[error("wiki={0:?} is longer than {MAX_WIKI_LEN} bytes: no wiki has such a name")]
    LongWiki(String),
    #[error("{0} wiki= values; at most {MAX_WIKIS}")]
    TooManyWikis(usize),
}

impl Filter {
    /// The filter that accepts every edit.
    pub fn all() -> Filter {
        Filter::default()
    }

    pub fn is_all(&self) -> bool {
        self.wikis.is_empty()
            && self.types.is_empty()
            && self.bot.is_none()
            && self.article.is_none()
    }

    /// Whether an edit of this wiki, type, bot flag and namespace class is counted.
    pub fn admits(&self, wiki: &str, kind: ChangeType, bot: bool, article: bool) -> bool {
        (self.types.is_empty() || self.types.contains(&kind))
            && self.bot.is_none_or(|b| b == bot)
            && self.article.is_none_or(|a| a == article)
            && (self.wikis.is_empty() || self.wikis.contains(wiki))
    }

    pub fn matches(&self, cell: &Cell) -> bool {
        self.admits(cell.wiki(), cell.kind(), cell.bot(), cell.article())
    }

    /// Takes the filter's parameters out of a query's `(name, value)` pairs and returns the
    /// rest, for the endpoint to read its own.
    pub fn from_pairs<'a>(
        pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<(Filter, Pairs<'a>), FilterError> {
        let mut f = Filter::default();
        let mut rest = Vec::new();
        for (k, v) in pairs {
            match k {
                // An empty name is the events that name no wiki (no `wiki`, no `meta.domain`):
                // counted under "", so they can be picked like any other.
                "wiki" => {
                    if v.len() > MAX_WIKI_LEN {
                        return Err(FilterError::LongWiki(v.chars().take(80).collect()));
                    }
                    f.wikis.insert(v.to_string());
                    if f.wikis.len() > MAX_WIKIS {
                        return Err(FilterError::TooManyWikis(f.wikis.len()));
                    }
                }
                "type" => {
                    let t = ChangeType::parse(v).ok_or_else(|| FilterError::Type(short(v)))?;
                    f.types.insert(t);
                }
                "bot" => {
                    let b = match v {
                        "true" => true,
                        "false" => false,
                        _ => return Err(FilterError::Bot(short(v))),
                    };
                    if f.bot.replace(b).is_some() {
                        return Err(FilterError::Repeated("bot"));
                    }
                }
                "namespace" => {
                    let a = match v {
                        "article" => true,
                        "other" => false,
                        _ => return Err(FilterError::Namespace(short(v))),
                    };
                    if f.article.replace(a).is_some() {
                        return Err(FilterError::Repeated("namespace"));
                    }
                }
                _ => rest.push((k, v)),
            }
        }
        // Every type named is every type: the same filter as none.
        if f.types.len() == ChangeType::ALL.len() {
            f.types.clear();
        }
        Ok((f, rest))
    }

    /// The filter as `(name, value)` pairs, in a fixed order.
    pub fn to_pairs(&self) -> Vec<(&'static str, String)> {
        let mut out: Vec<(&'static str, String)> =
            self.wikis.iter().map(|w| ("wiki", w.clone())).collect();
        out.extend(self.types.iter().map(|t| ("type", t.name().to_string())));
        if let Some(b) = self.bot {
            out.push(("bot", b.to_string()));
        }
        if let Some(a) = self.article {
            out.push(("namespace", if a { "article" } else { "other" }.to_string()));
        }
        out
    }

    /// The filter as a query string without the `?` (empty for [`Filter::all`]), its values
    /// percent-encoded.
    pub fn to_query(&self) -> String {
        form_urlencoded::Serializer::new(String::new())
            .extend_pairs(self.to_pairs())
            .finish()
    }
}

/// A value quoted in an error, cut short: the error goes back to whoever sent it.
fn short(v: &str) -> String {
    v.chars().take(80).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(q: &str) -> Result<Filter, FilterError> {
        let pairs: Vec<(String, String)> =
            form_urlencoded::parse(q.as_bytes()).into_owned().collect();
        Filter::from_pairs(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str()))).map(|(f, _)| f)
    }

    #[test]
    fn a_filter_reads_back_from_its_query() {
        let f = parse("wiki=enwiki&type=new&wiki=dewiki&type=edit&bot=false&namespace=article")
            .unwrap();
        assert_eq!(
            f.to_query(),
            "wiki=dewiki&wiki=enwiki&type=edit&type=new&bot=false&namespace=article"
        );
        assert_eq!(parse(&f.to_query()).unwrap(), f);
        assert!(parse("").unwrap().is_all());
        assert!(
            parse("type=edit&type=new&type=log&type=categorize&type=other")
                .unwrap()
                .is_all()
        );
        assert_eq!(parse("wiki=a%26b").unwrap().to_query(), "wiki=a%26b");
    }

    #[test]
    fn a_filter_admits_what_it_names() {
        let f = parse("wiki=enwiki&type=edit&bot=false&namespace=article").unwrap();
        assert!(f.admits("enwiki", ChangeType::Edit, false, true));
        assert!(!f.admits("dewiki", ChangeType::Edit, false, true));
        assert!(!f.admits("enwiki", ChangeType::New, false, true));
        assert!(!f.admits("enwiki", ChangeType::Edit, true, true));
        assert!(!f.admits("enwiki", ChangeType::Edit, false, false));
        assert!(Filter::all().admits("x", ChangeType::Other, true, false));
    }

    #[test]
    fn bad_values_say_what_is_wrong() {
        for (q, want) in [
            ("type=edits", "not one of edit"),
            ("bot=yes", "not true or false"),
            ("namespace=0", "not article or other"),
            ("bot=true&bot=false", "given twice"),
        ] {
            let e = parse(q).unwrap_err().to_string();
            assert!(e.contains(want), "{q}: {e}");
        }
        let long = format!("wiki={}", "x".repeat(256));
        assert!(
            parse(&long)
                .unwrap_err()
                .to_string()
                .contains("longer than 255")
        );
        assert_eq!(
            parse("wiki=").unwrap().wikis.len(),
            1,
            "the events naming no wiki"
        );
        let many: Vec<String> = (0..101).map(|i| format!("wiki=w{i}")).collect();
        assert!(
            parse(&many.join("&"))
                .unwrap_err()
                .to_string()
                .contains("at most 100")
        );
    }
}
