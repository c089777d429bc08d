//! A Wikimedia `recentchange` event as the relay sees it: the few fields it counts by, borrowed
//! from the input where they need no unescaping.
//!
//! Only `meta.dt` is required (with `$schema`, the only field Wikimedia guarantees, and the one
//! the counts depend on); everything else is optional so that older schemas and partial events
//! from the gateway still count. [`parse`] reads them with the scanner in [`crate::scan`].

use std::borrow::Cow;

use wire::{Millis, TimeError};

use crate::scan::{self, Members};

/// What a window needs of one event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edit<'a> {
    pub time: Millis,
    pub kind: Kind,
    pub bot: bool,
    pub wiki: Cow<'a, str>,
    pub id: Option<Cow<'a, str>>,
    pub canary: bool,
    /// In namespace 0 (an article): the event's `namespace` is the JSON number `0`. Any other
    /// value, or none, is "other" (`-0` and `0.0` too: serde_json reads them as floats).
    pub article: bool,
}

/// Wikimedia's change types, as the wire names them; anything else is `Other`.
pub use wire::ChangeType as Kind;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EventError {
    /// Bad JSON, or JSON of the wrong shape; `at` is the byte offset where it went wrong.
    #[error("not a JSON event object: {what} at byte {at}")]
    Json { what: &'static str, at: usize },
    #[error("missing meta.dt (every event needs its time)")]
    MissingTime,
    #[error("meta.dt {value:?}: {source}")]
    BadTime { value: String, source: TimeError },
}

/// Reads `meta.dt`; on failure, the value (its first 64 characters, for the error) and why.
/// Shared with the oracle, so the two parsers read a time the same way.
pub(crate) fn read_time(dt: &str) -> Result<Millis, (String, wire::TimeError)> {
    Millis::parse_rfc3339(dt).map_err(|source| (dt.chars().take(64).collect(), source))
}

/// Parses one event. The input must be a single JSON object; trailing bytes are refused, so a
/// line holding two objects is an error, not one silently dropped event.
pub fn parse(bytes: &[u8]) -> Result<Edit<'_>, EventError> {
    let Members {
        kind,
        bot,
        wiki,
        meta,
        article,
    } = scan::members(bytes).map_err(|(what, at)| EventError::Json { what, at })?;
    let meta = meta.ok_or(EventError::MissingTime)?;
    let dt = meta.dt.ok_or(EventError::MissingTime)?;
    let time = read_time(&dt).map_err(|(value, source)| EventError::BadTime { value, source })?;
    Ok(Edit {
        time,
        kind,
        bot: bot.unwrap_or(false),
        canary: meta.domain.as_deref() == Some("canary"),
        wiki: wiki.or(meta.domain).unwrap_or(Cow::Borrowed("")),
        id: meta.id,
        article,
    })
}

/// The wiki an event belongs to, for keying it on the bus: every wiki's events go to one
/// partition, which keeps per-wiki order and makes per-partition top-ten lists mergeable.
pub fn key_of(edit: &Edit<'_>) -> String {
    edit.wiki.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_current_event() {
        let line = include_str!("../../data/recentchange-2024-02-06-all-wikis.jsonl")
            .lines()
            .next()
            .unwrap();
        let e = parse(line.as_bytes()).unwrap();
        assert_eq!(
            e.time,
            Millis::parse_rfc3339("2024-02-06T16:58:10Z").unwrap()
        );
        assert_eq!(e.kind, Kind::Categorize);
        assert!(e.bot);
        assert_eq!(e.wiki, "enwiki");
        assert_eq!(
            e.id.as_deref(),
            Some("ab8f9f18-a974-48f6-a668-988eb66b1536")
        );
        assert!(!e.canary);
    }

    #[test]
    fn reads_every_bundled_event_including_the_legacy_schema() {
        for file in [
            include_str!("../../data/recentchange-2024-02-06-all-wikis.jsonl"),
            include_str!("../../data/recentchange-2024-02-07-all-wikis.jsonl"),
            include_str!("../../data/legacy-2018-03-07-wikidata-first400.jsonl"),
        ] {
            for line in file.lines() {
                parse(line.as_bytes()).unwrap();
            }
        }
    }

    #[test]
    fn needs_only_meta_dt() {
        let e = parse(br#"{"meta":{"dt":"2026-08-04T15:24:29.724Z"}}"#).unwrap();
        assert_eq!(e.kind, Kind::Other);
        assert!(!e.bot);
        assert_eq!(e.wiki, "");
    }

    #[test]
    fn names_what_is_wrong() {
        let cases: &[(&[u8], &str)] = &[
            (b"{", "EOF"),
            (b"[]", "invalid type"),
            (br#"[{"dt":"2026-01-01T00:00:00Z"}]"#, "invalid type"),
            (br#"{"meta":["2026-01-01T00:00:00Z"]}"#, "invalid type"),
            (br#"{"meta":"x"}"#, "invalid type"),
            (br#"{"meta":{"dt":5}}"#, "invalid type"),
            (
                br#"{"meta":{"dt":"2026-01-01T00:00:00Z"},"bot":"yes"}"#,
                "invalid type",
            ),
            (br#"{"meta":{}}"#, "missing meta.dt"),
            (br#"{}"#, "missing meta.dt"),
            (br#"{"meta":{"dt":"yesterday"}}"#, "meta.dt \"yesterday\""),
            (
                br#"{"meta":{"dt":"2026-01-01T00:00:00Z"}} {}"#,
                "trailing characters",
            ),
        ];
        for (input, want) in cases {
            let err = parse(input).unwrap_err().to_string();
            assert!(
                err.contains(want),
                "{:?}: {err}",
                String::from_utf8_lossy(input)
            );
        }
    }

    #[test]
    fn spots_canaries() {
        let e = parse(br#"{"meta":{"dt":"2026-01-01T00:00:00Z","domain":"canary"}}"#).unwrap();
        assert!(e.canary);
    }

    const DT: &str = r#""dt":"2026-01-01T00:00:00Z""#;

    fn accepts(json: &str) -> bool {
        parse(json.replace("DT", DT).as_bytes()).is_ok()
    }

    #[test]
    fn borrows_unless_escaped() {
        let e = parse(
            br#"{"meta":{"d\u0074":"2026-01-01T00:00:00Z","id":"a"},"wiki":"\u00e9\ud83d\ude00"}"#,
        )
        .unwrap();
        assert!(matches!(e.id, Some(Cow::Borrowed("a"))));
        assert!(matches!(e.wiki, Cow::Owned(ref w) if w == "é😀"));
    }

    #[test]
    fn checks_only_the_strings_it_keeps() {
        // serde_json's rules, which the relay has always applied.
        assert!(accepts("{\"meta\":{DT},\"comment\":\"\u{e9}\\ud800\"}"));
        assert!(parse(b"{\"meta\":{\"dt\":\"2026-01-01T00:00:00Z\"},\"c\":\"\xff\"}").is_ok());
        assert!(parse(b"{\"meta\":{\"dt\":\"2026-01-01T00:00:00Z\"},\"wiki\":\"\xff\"}").is_err());
        assert!(!accepts(r#"{"meta":{DT},"wiki":"\ud800"}"#));
        assert!(!accepts(r#"{"meta":{DT},"wiki":"\udc00\ud800"}"#));
        assert!(accepts("{\"meta\":{DT,\"\u{1}\\udc00\":1},\"\u{1f}\":1}"));
        assert!(!accepts("{\"meta\":{DT},\"x\":{\"\u{1f}\":1}}"));
        assert!(!accepts("{\"meta\":{DT},\"x\":\"\u{1f}\"}"));
    }

    #[test]
    fn skips_deep_nesting_without_recursing() {
        let deep = |n: usize| {
            format!(
                "{{\"meta\":{{{DT}}},\"x\":{}1{}}}",
                "[".repeat(n),
                "]".repeat(n)
            )
        };
        assert!(parse(deep(100_000).as_bytes()).is_ok());
        let unbalanced = format!("{{\"meta\":{{{DT}}},\"x\":{}}}", "[{\"a\":".repeat(50_000));
        assert!(parse(unbalanced.as_bytes()).is_err());
        assert!(
            parse(format!("{{\"meta\":{}{}}}", "[".repeat(9), "]".repeat(9)).as_bytes()).is_err()
        );
    }

    #[test]
    fn last_duplicate_wins() {
        assert!(!accepts(r#"{"meta":{DT},"meta":{}}"#));
        let e = parse(
            br#"{"wiki":"a","wiki":null,"meta":{"domain":"canary","dt":"2026-01-01T00:00:00Z"}}"#,
        )
        .unwrap();
        assert_eq!(e.wiki, "canary");
        assert!(e.canary);
    }
}
