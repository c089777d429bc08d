//! The oracle for the event scanner: a serde_json parser of the same fields, kept only to hold
//! the scanner to the same accept/reject decisions and values (tests/event_differential.rs and
//! the `event_parser` fuzz target). It returns the scanner's `Edit`, so the answers compare
//! directly. Built only with the `oracle` feature.

use std::borrow::Cow;

use std::fmt;

use serde::Deserialize;
use serde::de::{Deserializer, IgnoredAny, MapAccess, Visitor};
use wire::TimeError;

// The scanner's own types, so that the two parsers' answers compare directly.
use crate::event::{Edit, Kind};

#[derive(Debug, thiserror::Error)]
pub enum EventError {
    #[error("not a JSON event object: {0}")]
    Json(#[from] serde_json::Error),
    #[error("missing meta.dt (every event needs its time)")]
    MissingTime,
    #[error("meta.dt {value:?}: {source}")]
    BadTime { value: String, source: TimeError },
}

#[derive(Default)]
struct RawEvent<'a> {
    meta: Option<RawMeta<'a>>,
    kind: Option<Cow<'a, str>>,
    bot: Option<bool>,
    wiki: Option<Cow<'a, str>>,
}

/// The last `namespace` of an event, as its JSON text is exactly `0` (serde_json reads only that
/// as the integer 0; `-0` and `0.0` are floats).
///
/// Read in a second pass over a UTF-8-repaired copy of an event the first pass accepted, because
/// no single serde_json read both skips a value as the scanner does (without checking its
/// strings' UTF-8, which `RawValue` and `deserialize_any` check) and tells `0` apart. The repair
/// only touches bytes inside strings (it never makes or breaks a `"`, `\` or key that spells
/// `namespace`), so the second pass sees the same members.
#[derive(Default)]
struct Namespace {
    article: bool,
}

#[derive(Default)]
struct RawMeta<'a> {
    dt: Option<Cow<'a, str>>,
    id: Option<Cow<'a, str>>,
    domain: Option<Cow<'a, str>>,
}

// Hand-written visitors: serde's derive would also accept a JSON *array* as a struct
// (`[{"dt":…}]` as meta). Keys are matched without being allocated, strings are borrowed from
// the input unless they hold escapes, and unknown fields are skipped without being built.
impl<'de> Deserialize<'de> for RawEvent<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawEvent<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an event object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut e = RawEvent::default();
                while let Some(key) = map.next_key::<Field>()? {
                    match key {
                        Field::Meta => e.meta = Some(map.next_value()?),
                        Field::Type => e.kind = map.next_value::<Option<Str<'de>>>()?.map(|s| s.0),
                        Field::Bot => e.bot = map.next_value()?,
                        Field::Wiki => e.wiki = map.next_value::<Option<Str<'de>>>()?.map(|s| s.0),
                        _ => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                Ok(e)
            }
        }
        d.deserialize_map(V)
    }
}

impl<'de> Deserialize<'de> for Namespace {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Namespace;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an event object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut n = Namespace::default();
                while let Some(key) = map.next_key::<Field>()? {
                    match key {
                        Field::Namespace => {
                            n.article =
                                map.next_value::<&serde_json::value::RawValue>()?.get() == "0";
                        }
                        // Read as the first pass reads it (its keys as bytes), so that both
                        // passes accept the same events.
                        Field::Meta => {
                            map.next_value::<RawMeta<'de>>()?;
                        }
                        _ => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                Ok(n)
            }
        }
        d.deserialize_map(V)
    }
}

impl<'de> Deserialize<'de> for RawMeta<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawMeta<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("meta as an object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut m = RawMeta::default();
                while let Some(key) = map.next_key::<Field>()? {
                    let slot = match key {
                        Field::Dt => &mut m.dt,
                        Field::Id => &mut m.id,
                        Field::Domain => &mut m.domain,
                        _ => {
                            map.next_value::<IgnoredAny>()?;
                            continue;
                        }
                    };
                    *slot = map.next_value::<Option<Str<'de>>>()?.map(|s| s.0);
                }
                Ok(m)
            }
        }
        d.deserialize_map(V)
    }
}

/// The keys the relay reads, at either level; everything else is `Other`.
enum Field {
    Meta,
    Type,
    Bot,
    Wiki,
    Dt,
    Id,
    Domain,
    Namespace,
    Other,
}

impl<'de> Deserialize<'de> for Field {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Field;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a field name")
            }
            fn visit_bytes<E: serde::de::Error>(self, k: &[u8]) -> Result<Field, E> {
                Ok(match k {
                    b"meta" => Field::Meta,
                    b"type" => Field::Type,
                    b"bot" => Field::Bot,
                    b"wiki" => Field::Wiki,
                    b"dt" => Field::Dt,
                    b"id" => Field::Id,
                    b"domain" => Field::Domain,
                    b"namespace" => Field::Namespace,
                    _ => Field::Other,
                })
            }
            fn visit_str<E: serde::de::Error>(self, k: &str) -> Result<Field, E> {
                self.visit_bytes(k.as_bytes())
            }
        }
        // As bytes: serde_json then skips UTF-8 validation of keys (a third of the parse time
        // otherwise); a key is only compared, never kept.
        d.deserialize_bytes(V)
    }
}

/// A string borrowed from the input when it can be (no escapes), copied when it cannot.
struct Str<'de>(Cow<'de, str>);

impl<'de> Deserialize<'de> for Str<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Str<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: serde::de::Error>(self, v: &'de str) -> Result<Str<'de>, E> {
                Ok(Str(Cow::Borrowed(v)))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Str<'de>, E> {
                Ok(Str(Cow::Owned(v.to_string())))
            }
        }
        d.deserialize_str(V)
    }
}

/// Parses one event. The input must be a single JSON object; `serde_json` refuses trailing
/// bytes, so a line holding two objects is an error, not one silently dropped event.
pub fn parse(bytes: &[u8]) -> Result<Edit<'_>, EventError> {
    let raw: RawEvent<'_> = serde_json::from_slice(bytes)?;
    let meta = raw.meta.ok_or(EventError::MissingTime)?;
    let dt = meta.dt.ok_or(EventError::MissingTime)?;
    let time = crate::event::read_time(&dt)
        .map_err(|(value, source)| EventError::BadTime { value, source })?;
    let namespace: Namespace = serde_json::from_str(&String::from_utf8_lossy(bytes))?;
    Ok(Edit {
        time,
        kind: raw.kind.as_deref().map_or(Kind::Other, Kind::of_event),
        bot: raw.bot.unwrap_or(false),
        wiki: raw
            .wiki
            .or(meta.domain.clone())
            .unwrap_or(Cow::Borrowed("")),
        id: meta.id,
        canary: meta.domain.as_deref() == Some("canary"),
        article: namespace.article,
    })
}
