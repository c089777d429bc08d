//! The event scanner: one pass over an event's JSON that reads the members [`crate::event`]
//! needs and skips the rest without building it.
//!
//! One file, over 400 lines, because its parts (objects, strings, numbers, skipping) call each
//! other and are only checked as a whole.
//!
//! Hand-written rather than serde: this is the relay's hot path, and a scanner that knows the
//! four top-level and three `meta` keys it wants skips everything else many bytes at a time, at
//! about the speed of `serde_json` deserializing into `IgnoredAny` (docs/performance.md). It
//! accepts exactly what serde_json 1.0 accepts for the same fields — the differential tests and
//! the `event_parser` fuzz target hold it to the serde parser in [`crate::oracle`] — quirks
//! included:
//! - only the strings the relay keeps (`type`, `wiki`, `meta.dt`/`id`/`domain`) must be UTF-8
//!   and free of lone `\u` surrogates; strings it skips are checked for escapes and control
//!   bytes only;
//! - keys of the event and of `meta` may hold raw control bytes and any bytes at all (serde_json
//!   reads them as byte strings), keys of objects nested deeper may not;
//! - skipped values may nest arbitrarily deep (kept on a heap stack, not by recursion).
//!
//! Over 400 lines on purpose: one state machine whose invariants (where `i` stands, what a
//! `Stop` leaves behind) hold across all of it; split, they would have to be restated per file.

use std::borrow::Cow;

use crate::event::Kind;

/// The top-level members the relay reads; `None` where the event lacks one.
pub(crate) struct Members<'a> {
    pub kind: Kind,
    pub bot: Option<bool>,
    pub wiki: Option<Cow<'a, str>>,
    pub meta: Option<Meta<'a>>,
    /// `namespace` is the number `0`.
    pub article: bool,
}

/// The members of `meta` the relay reads.
#[derive(Default)]
pub(crate) struct Meta<'a> {
    pub dt: Option<Cow<'a, str>>,
    pub id: Option<Cow<'a, str>>,
    pub domain: Option<Cow<'a, str>>,
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
/// `namespace`, too long to pack: told apart where long keys are read.
const NAMESPACE: u64 = u64::MAX - 1;

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
/// whole [`crate::event::EventError`] (40 bytes) would come back through memory from every
/// step of the scan; one carrying this fits in registers.
struct Stop;

type Res<T> = Result<T, Stop>;

/// Scans one event: its members, or what went wrong and at which byte. The input must be a
/// single JSON object; trailing bytes are refused, so a line holding two objects is an error,
/// not one silently dropped event.
pub(crate) fn members(bytes: &[u8]) -> Result<Members<'_>, (&'static str, usize)> {
    let mut s = Scan {
        b: bytes,
        i: 0,
        what: "",
        at: 0,
    };
    s.event().map_err(|Stop| (s.what, s.at))
}

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
        let mut article = false;
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
                        .map_or(Kind::Other, Kind::of_event)
                }
                BOT => bot = self.opt_bool()?,
                WIKI => wiki = self.opt_str()?,
                NAMESPACE => article = self.is_zero()?,
                _ => self.skip_value()?,
            }
        }
        if self.ws().is_some() {
            return self.fail("trailing characters");
        }
        Ok(Members {
            kind,
            bot,
            wiki,
            meta,
            article,
        })
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
        let (mut spelled, mut n) = ([0u8; 9], 0);
        loop {
            let run = plain_run(&self.b[self.i..], false);
            if let Some(to) = spelled.get_mut(n..n + run) {
                to.copy_from_slice(&self.b[self.i..self.i + run]);
            }
            (n, self.i) = (n + run, self.i + run);
            match self.peek() {
                Some(b'"') => {
                    self.i += 1;
                    return Ok(match spelled.get(..n) {
                        Some(b"namespace") => NAMESPACE,
                        Some(k) if n <= 7 => pack(k),
                        _ => OTHER,
                    });
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

    /// A value that is the number `0` exactly; any other value is skipped (false).
    fn is_zero(&mut self) -> Res<bool> {
        match self.ws() {
            Some(b'-' | b'0'..=b'9') => {
                let start = self.i;
                self.skip_number()?;
                Ok(&self.b[start..self.i] == b"0")
            }
            _ => self.skip_value().map(|()| false),
        }
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
