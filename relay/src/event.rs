//! The few fields of a Wikimedia `recentchange` event the relay needs, parsed without copying.
//!
//! Only `meta.dt` is required (with `$schema`, the only field Wikimedia guarantees, and the one
//! the counts depend on); everything else is optional so that older schemas and partial events
//! from the gateway still count. Unknown fields are skipped without being built.
//!
//! Scanned by hand rather than through serde: this is the relay's hot path, and a scanner that
//! knows the four top-level and three `meta` keys it wants skips everything else in one pass,
//! many bytes at a time, at about the speed of `serde_json` doing nothing at all with the
//! event. It accepts exactly the inputs the serde_json 1.0 parser it replaced accepted
//! (differential tests hold it to that), quirks included, so that no event that counted before
//! is dropped now and no event dropped before counts now:
//! - only the strings the relay keeps (`type`, `wiki`, `meta.dt`/`id`/`domain`) must be UTF-8
//!   and free of lone `\u` surrogates; strings it skips are checked for escapes and control
//!   bytes only;
//! - keys of the event and of `meta` may hold raw control bytes and any bytes at all (serde_json
//!   reads them as byte strings), keys of objects nested deeper may not;
//! - skipped values may nest arbitrarily deep (serde_json skips them with a heap stack, not by
//!   recursion; so does this).

use std::borrow::Cow;

use wire::{Millis, TimeError};

/// What a window needs of one event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edit<'a> {
    pub time: Millis,
    pub kind: Kind,
    pub bot: bool,
    pub wiki: Cow<'a, str>,
    pub id: Option<Cow<'a, str>>,
    pub canary: bool,
}

/// Wikimedia's change types; anything else is `Other`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Edit,
    New,
    Log,
    Categorize,
    Other,
}

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

impl Kind {
    pub fn from_name(name: &str) -> Kind {
        match name {
            "edit" => Kind::Edit,
            "new" => Kind::New,
            "log" => Kind::Log,
            "categorize" => Kind::Categorize,
            _ => Kind::Other,
        }
    }
}

/// Parses one event. The input must be a single JSON object; trailing bytes are refused, so a
/// line holding two objects is an error, not one silently dropped event.
pub fn parse(bytes: &[u8]) -> Result<Edit<'_>, EventError> {
    let mut s = Scan {
        b: bytes,
        i: 0,
        what: "",
        at: 0,
    };
    let (kind, bot, wiki, meta) = s.event().map_err(|Stop| EventError::Json {
        what: s.what,
        at: s.at,
    })?;
    let meta = meta.ok_or(EventError::MissingTime)?;
    let dt = meta.dt.ok_or(EventError::MissingTime)?;
    let time = Millis::parse_rfc3339(&dt).map_err(|source| EventError::BadTime {
        value: dt.chars().take(64).collect(),
        source,
    })?;
    Ok(Edit {
        time,
        kind,
        bot: bot.unwrap_or(false),
        canary: meta.domain.as_deref() == Some("canary"),
        wiki: wiki.or(meta.domain).unwrap_or(Cow::Borrowed("")),
        id: meta.id,
    })
}

/// The wiki an event belongs to, for keying it on the bus: every wiki's events go to one
/// partition, which keeps per-wiki order and makes per-partition top-ten lists mergeable.
pub fn key_of(edit: &Edit<'_>) -> String {
    edit.wiki.to_string()
}

#[derive(Default)]
struct Meta<'a> {
    dt: Option<Cow<'a, str>>,
    id: Option<Cow<'a, str>>,
    domain: Option<Cow<'a, str>>,
}

/// The keys the relay reads, at either level, as `pack`ed; any other key is `OTHER`.
const META: u64 = pack(b"meta");
const TYPE: u64 = pack(b"type");
const BOT: u64 = pack(b"bot");
const WIKI: u64 = pack(b"wiki");
const DT: u64 = pack(b"dt");
const ID: u64 = pack(b"id");
const DOMAIN: u64 = pack(b"domain");
const OTHER: u64 = u64::MAX;

/// A key of up to 7 bytes as one number (bytes little-endian, length in the top byte), so that
/// telling the ~35 keys of an event apart is a few integer compares, not a memcmp each.
const fn pack(k: &[u8]) -> u64 {
    if k.len() > 7 {
        return OTHER;
    }
    let mut v = (k.len() as u64) << 56;
    let mut i = 0;
    while i < k.len() {
        v |= (k[i] as u64) << (8 * i);
        i += 1;
    }
    v
}

const EOF_VALUE: &str = "EOF while parsing a value";
const EOF_OBJECT: &str = "EOF while parsing an object";
const EOF_STRING: &str = "EOF while parsing a string";
const BAD_ESCAPE: &str = "invalid escape";
const NOT_A_KEY: &str = "key must be a string";

const ONES: u64 = u64::MAX / 255;
const HIGHS: u64 = ONES << 7;

/// Marks (in the high bit of each byte, exact for the lowest marked byte) the bytes of `w`
/// equal to `c`.
#[inline(always)]
fn bytes_eq(w: u64, c: u8) -> u64 {
    let x = w ^ (ONES * u64::from(c));
    x.wrapping_sub(ONES) & !x & HIGHS
}

/// The length of the run of `b` before its first `"` or `\`, or (with `ctrl`) control byte:
/// where a string may end or needs a closer look. Sixteen bytes a step, as comments and
/// parsed comments run to hundreds of bytes (measured: 8% fewer instructions than eight).
#[inline(always)]
fn plain_run(b: &[u8], ctrl: bool) -> usize {
    let marks = |w: u64| {
        let m = bytes_eq(w, b'"') | bytes_eq(w, b'\\');
        if ctrl {
            m | (w.wrapping_sub(ONES * 0x20) & !w & HIGHS)
        } else {
            m
        }
    };
    let mut chunks = b.chunks_exact(16);
    let mut n = 0;
    for chunk in &mut chunks {
        let (lo, hi) = chunk.split_at(8);
        let lo = marks(u64::from_le_bytes(lo.try_into().unwrap_or_default()));
        let hi = marks(u64::from_le_bytes(hi.try_into().unwrap_or_default()));
        if lo | hi != 0 {
            let m = if lo != 0 {
                lo.trailing_zeros()
            } else {
                64 + hi.trailing_zeros()
            };
            return n + (m / 8) as usize;
        }
        n += 16;
    }
    let special = |&c: &u8| c == b'"' || c == b'\\' || (ctrl && c < 0x20);
    let rest = chunks.remainder();
    n + rest.iter().position(special).unwrap_or(rest.len())
}

/// Which containers a skipped value is inside of, innermost in bit 0 (set for an object).
/// Spills to the heap past 64 levels only, so ordinary events never allocate for it.
#[derive(Default)]
struct Nesting {
    bits: u64,
    depth: usize,
    spilled: Vec<bool>,
}

impl Nesting {
    fn push(&mut self, object: bool) {
        if self.depth >= 64 {
            self.spilled.push(self.bits >> 63 == 1);
        }
        self.bits = self.bits << 1 | u64::from(object);
        self.depth += 1;
    }
    fn pop(&mut self) {
        self.depth -= 1;
        self.bits >>= 1;
        if self.depth >= 64 {
            self.bits |= u64::from(self.spilled.pop() == Some(true)) << 63;
        }
    }
}

struct Scan<'a> {
    b: &'a [u8],
    i: usize,
    /// Where and why the scan stopped, once it has.
    what: &'static str,
    at: usize,
}

/// The scan stopped at bad input; what and where wait in [`Scan`]. A result carrying the
/// whole [`EventError`] (40 bytes) came back through memory from every step of the scan; one
/// carrying this fits in registers.
struct Stop;

type Res<T> = Result<T, Stop>;

/// The top-level members the relay reads: type, bot, wiki, meta.
type Members<'a> = (Kind, Option<bool>, Option<Cow<'a, str>>, Option<Meta<'a>>);

impl<'a> Scan<'a> {
    #[cold]
    fn fail<T>(&mut self, what: &'static str) -> Res<T> {
        self.fail_at(what, self.i)
    }

    #[cold]
    fn fail_at<T>(&mut self, what: &'static str, at: usize) -> Res<T> {
        (self.what, self.at) = (what, at);
        Err(Stop)
    }

    /// The event object, and nothing after it.
    fn event(&mut self) -> Res<Members<'a>> {
        let (mut kind, mut bot, mut wiki, mut meta) = (Kind::Other, None, None, None);
        self.open("invalid type: the event must be an object")?;
        let mut first = true;
        // Duplicate keys: the last one wins, `meta` as a whole, as with serde.
        while let Some(key) = self.next_key(&mut first)? {
            match key {
                META => meta = Some(self.meta()?),
                TYPE => {
                    kind = self
                        .opt_str()?
                        .as_deref()
                        .map_or(Kind::Other, Kind::from_name)
                }
                BOT => bot = self.opt_bool()?,
                WIKI => wiki = self.opt_str()?,
                _ => self.skip_value()?,
            }
        }
        if self.ws().is_some() {
            return self.fail("trailing characters");
        }
        Ok((kind, bot, wiki, meta))
    }

    #[inline(always)]
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    /// Skips whitespace; the byte after it.
    #[inline(always)]
    fn ws(&mut self) -> Option<u8> {
        while let Some(&c) = self.b.get(self.i) {
            if !matches!(c, b' ' | b'\n' | b'\t' | b'\r') {
                return Some(c);
            }
            self.i += 1;
        }
        None
    }

    fn open(&mut self, not_an_object: &'static str) -> Res<()> {
        match self.ws() {
            Some(b'{') => {
                self.i += 1;
                Ok(())
            }
            None => self.fail(EOF_VALUE),
            Some(_) => self.fail(not_an_object),
        }
    }

    fn meta(&mut self) -> Res<Meta<'a>> {
        self.open("invalid type: meta must be an object")?;
        let mut m = Meta::default();
        let mut first = true;
        while let Some(key) = self.next_key(&mut first)? {
            match key {
                DT => m.dt = self.opt_str()?,
                ID => m.id = self.opt_str()?,
                DOMAIN => m.domain = self.opt_str()?,
                _ => self.skip_value()?,
            }
        }
        Ok(m)
    }

    /// The next key of an object whose `{` is behind us, and the `:` after it; `None` once its
    /// `}` is.
    fn next_key(&mut self, first: &mut bool) -> Res<Option<u64>> {
        match self.ws() {
            Some(b'}') => {
                self.i += 1;
                return Ok(None);
            }
            Some(b'"') if *first => {}
            Some(b',') if !*first => {
                self.i += 1;
                match self.ws() {
                    Some(b'"') => {}
                    Some(b'}') => return self.fail("trailing comma"),
                    None => return self.fail(EOF_VALUE),
                    Some(_) => return self.fail(NOT_A_KEY),
                }
            }
            None => return self.fail(EOF_OBJECT),
            Some(_) if *first => return self.fail(NOT_A_KEY),
            Some(_) => return self.fail("expected `,` or `}`"),
        }
        *first = false;
        self.i += 1;
        let key = self.key()?;
        match self.ws() {
            Some(b':') => self.i += 1,
            None => return self.fail(EOF_OBJECT),
            Some(_) => return self.fail("expected `:`"),
        }
        Ok(Some(key))
    }

    /// A key, its `"` behind us. Like serde_json reading it as bytes: no UTF-8 or control-byte
    /// checks, and lone surrogates are fine; only escapes must be well-formed.
    fn key(&mut self) -> Res<u64> {
        let start = self.i;
        // Most keys end within the next eight bytes, and then those bytes are the key.
        if let Some(w) = self.b.get(start..start + 8) {
            let w = u64::from_le_bytes(w.try_into().unwrap_or_default());
            let m = bytes_eq(w, b'"') | bytes_eq(w, b'\\');
            let n = m.trailing_zeros() as usize / 8;
            if n < 8 && self.b[start + n] == b'"' {
                self.i = start + n + 1;
                let v = w & ((1u64 << (8 * n)) - 1);
                return Ok(v | (n as u64) << 56);
            }
        }
        // Longer keys, and keys with escapes (`"d\u0074"` is `dt`): every key the relay reads
        // is short ASCII, so only as much as could spell one is kept; the rest is only checked.
        let (mut spelled, mut n) = ([0u8; 7], 0);
        loop {
            let run = plain_run(&self.b[self.i..], false);
            if let Some(to) = spelled.get_mut(n..n + run) {
                to.copy_from_slice(&self.b[self.i..self.i + run]);
            }
            (n, self.i) = (n + run, self.i + run);
            match self.peek() {
                Some(b'"') => {
                    self.i += 1;
                    return Ok(spelled.get(..n).map_or(OTHER, pack));
                }
                Some(_) => {
                    self.i += 1;
                    let c = u8::try_from(self.escape()?).unwrap_or(0x80);
                    if let Some(to) = spelled.get_mut(n) {
                        *to = c;
                    }
                    n += 1;
                }
                None => return self.fail(EOF_STRING),
            }
        }
    }

    /// The escape after a `\`: the byte it stands for, or the UTF-16 unit of a `\u`.
    fn escape(&mut self) -> Res<u16> {
        let Some(c) = self.peek() else {
            return self.fail(EOF_STRING);
        };
        self.i += 1;
        Ok(u16::from(match c {
            b'"' | b'\\' | b'/' => c,
            b'b' => 8,
            b'f' => 12,
            b'n' => b'\n',
            b'r' => b'\r',
            b't' => b'\t',
            b'u' => return self.hex4(),
            _ => return self.fail(BAD_ESCAPE),
        }))
    }

    fn hex4(&mut self) -> Res<u16> {
        let Some(digits) = self.b.get(self.i..self.i + 4) else {
            self.i = self.b.len();
            return self.fail(EOF_STRING);
        };
        let mut n = 0;
        for &c in digits {
            let Some(d) = char::from(c).to_digit(16) else {
                return self.fail(BAD_ESCAPE);
            };
            n = n << 4 | d as u16;
        }
        self.i += 4;
        Ok(n)
    }

    /// A string the relay keeps, its `"` behind us: borrowed unless it holds escapes.
    fn string(&mut self) -> Res<Cow<'a, str>> {
        let start = self.i;
        self.i += plain_run(&self.b[start..], true);
        if self.peek() == Some(b'"') {
            self.i += 1;
            return match std::str::from_utf8(&self.b[start..self.i - 1]) {
                Ok(s) => Ok(Cow::Borrowed(s)),
                Err(e) => self.fail_at("invalid UTF-8 in a string", start + e.valid_up_to()),
            };
        }
        let mut out = Vec::new();
        let mut from = start;
        loop {
            match self.peek() {
                Some(b'"') => break,
                Some(b'\\') => {
                    out.extend_from_slice(&self.b[from..self.i]);
                    self.i += 1;
                    let mut c = u32::from(self.escape()?);
                    if (0xD800..0xDC00).contains(&c) && self.b[self.i..].starts_with(b"\\u") {
                        self.i += 2;
                        let low = u32::from(self.hex4()?);
                        if (0xDC00..0xE000).contains(&low) {
                            c = 0x1_0000 + ((c - 0xD800) << 10 | (low - 0xDC00));
                        }
                    }
                    // `None` for a surrogate left unpaired.
                    let Some(c) = char::from_u32(c) else {
                        return self.fail("unpaired surrogate in a \\u escape");
                    };
                    out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes());
                    from = self.i;
                }
                Some(_) => return self.fail("control character in a string"),
                None => return self.fail(EOF_STRING),
            }
            self.i += plain_run(&self.b[self.i..], true);
        }
        out.extend_from_slice(&self.b[from..self.i]);
        self.i += 1;
        match String::from_utf8(out) {
            Ok(s) => Ok(Cow::Owned(s)),
            Err(_) => self.fail_at("invalid UTF-8 in a string", start),
        }
    }

    fn opt_str(&mut self) -> Res<Option<Cow<'a, str>>> {
        match self.ws() {
            Some(b'"') => {
                self.i += 1;
                self.string().map(Some)
            }
            Some(b'n') => self.literal(b"null").map(|()| None),
            None => self.fail(EOF_VALUE),
            Some(_) => self.fail("invalid type: expected a string or null"),
        }
    }

    fn opt_bool(&mut self) -> Res<Option<bool>> {
        match self.ws() {
            Some(b't') => self.literal(b"true").map(|()| Some(true)),
            Some(b'f') => self.literal(b"false").map(|()| Some(false)),
            Some(b'n') => self.literal(b"null").map(|()| None),
            None => self.fail(EOF_VALUE),
            Some(_) => self.fail("invalid type: expected a bool or null"),
        }
    }

    fn literal(&mut self, word: &[u8]) -> Res<()> {
        let rest = &self.b[self.i..];
        if rest.starts_with(word) {
            self.i += word.len();
            Ok(())
        } else {
            self.fail("expected `null`, `true` or `false`")
        }
    }

    /// A string skipped, its `"` behind us: escapes and control bytes are checked, UTF-8 is
    /// not.
    fn skip_str(&mut self) -> Res<()> {
        loop {
            self.i += plain_run(&self.b[self.i..], true);
            match self.peek() {
                Some(b'"') => {
                    self.i += 1;
                    return Ok(());
                }
                Some(b'\\') => {
                    self.i += 1;
                    self.escape()?;
                }
                Some(_) => return self.fail("control character in a string"),
                None => return self.fail(EOF_STRING),
            }
        }
    }

    fn digits(&mut self) -> usize {
        let n = self.b[self.i..]
            .iter()
            .take_while(|c| c.is_ascii_digit())
            .count();
        self.i += n;
        n
    }

    fn skip_number(&mut self) -> Res<()> {
        if self.peek() == Some(b'-') {
            self.i += 1;
        }
        match self.peek() {
            Some(b'0') => {
                self.i += 1;
                if self.peek().is_some_and(|c| c.is_ascii_digit()) {
                    return self.fail("invalid number");
                }
            }
            Some(b'1'..=b'9') => _ = self.digits(),
            _ => return self.fail("invalid number"),
        }
        if self.peek() == Some(b'.') {
            self.i += 1;
            if self.digits() == 0 {
                return self.fail("invalid number");
            }
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.i += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.i += 1;
            }
            if self.digits() == 0 {
                return self.fail("invalid number");
            }
        }
        Ok(())
    }

    #[inline]
    fn skip_value(&mut self) -> Res<()> {
        match self.ws() {
            Some(b'"') => {
                self.i += 1;
                self.skip_str()
            }
            Some(b'-' | b'0'..=b'9') => self.skip_number(),
            _ => self.skip_nested(),
        }
    }

    /// Skips one value of any shape, iteratively: nesting costs heap, not stack.
    fn skip_nested(&mut self) -> Res<()> {
        let mut nest = Nesting::default();
        loop {
            match self.ws() {
                Some(b'"') => {
                    self.i += 1;
                    self.skip_str()?;
                }
                Some(b'-' | b'0'..=b'9') => self.skip_number()?,
                Some(b'n') => self.literal(b"null")?,
                Some(b't') => self.literal(b"true")?,
                Some(b'f') => self.literal(b"false")?,
                Some(open @ (b'[' | b'{')) => {
                    self.i += 1;
                    let object = open == b'{';
                    if self.ws() == Some(open + 2) {
                        self.i += 1; // `]` and `}` are two past `[` and `{`
                    } else {
                        nest.push(object);
                        if object {
                            self.skip_key()?;
                        }
                        continue;
                    }
                }
                None => return self.fail(EOF_VALUE),
                Some(_) => return self.fail("expected a value"),
            }
            // A value is behind us: close what it ends, up to the next element.
            loop {
                if nest.depth == 0 {
                    return Ok(());
                }
                let object = nest.bits & 1 == 1;
                match self.ws() {
                    Some(b',') => {
                        self.i += 1;
                        if object {
                            self.skip_key()?;
                        }
                        break;
                    }
                    Some(b'}') if object => nest.pop(),
                    Some(b']') if !object => nest.pop(),
                    None => return self.fail("EOF while parsing a list or an object"),
                    Some(_) => return self.fail("expected `,` or the end of a list or an object"),
                }
                self.i += 1;
            }
        }
    }

    /// A key of an object being skipped, and its `:`. Unlike the event's and `meta`'s keys,
    /// serde_json checks these as strings it skips: control bytes are refused.
    fn skip_key(&mut self) -> Res<()> {
        match self.ws() {
            Some(b'"') => self.i += 1,
            None => return self.fail(EOF_OBJECT),
            Some(_) => return self.fail(NOT_A_KEY),
        }
        self.skip_str()?;
        match self.ws() {
            Some(b':') => {
                self.i += 1;
                Ok(())
            }
            None => self.fail(EOF_OBJECT),
            Some(_) => self.fail("expected `:`"),
        }
    }
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
