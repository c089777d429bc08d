//! The event scanner against the serde_json oracle: same accept/reject, same `Edit` (borrowed
//! where the oracle borrows), same error class.

use std::borrow::Cow;

use codec::{event, oracle};

const FILES: [&str; 3] = [
    include_str!("../../data/recentchange-2024-02-06-all-wikis.jsonl"),
    include_str!("../../data/recentchange-2024-02-07-all-wikis.jsonl"),
    include_str!("../../data/legacy-2018-03-07-wikidata-first400.jsonl"),
];

#[allow(clippy::ptr_arg, reason = "the variant is what is compared")]
fn borrowed(c: &Cow<'_, str>) -> bool {
    matches!(c, Cow::Borrowed(_))
}

/// Panics on any difference; true when both accept.
fn same(input: &[u8]) -> bool {
    let (a, b) = (oracle::parse(input), event::parse(input));
    let fail = |why: &str| -> ! {
        panic!(
            "{why} on {:?}\n serde: {:?}\n scanner: {:?}",
            String::from_utf8_lossy(input),
            oracle::parse(input),
            event::parse(input)
        )
    };
    match (&a, &b) {
        (Ok(a), Ok(b)) => {
            if a.time != b.time
                || a.kind != b.kind
                || a.bot != b.bot
                || a.canary != b.canary
                || a.article != b.article
            {
                fail("fields differ");
            }
            if a.wiki != b.wiki || borrowed(&a.wiki) != borrowed(&b.wiki) {
                fail("wiki differs");
            }
            if a.id != b.id || a.id.as_ref().map(borrowed) != b.id.as_ref().map(borrowed) {
                fail("id differs");
            }
            true
        }
        (Err(a), Err(b)) => {
            let ok = match (a, b) {
                (oracle::EventError::Json(_), event::EventError::Json { .. }) => true,
                (oracle::EventError::MissingTime, event::EventError::MissingTime) => true,
                (
                    oracle::EventError::BadTime {
                        value: x,
                        source: s,
                    },
                    event::EventError::BadTime {
                        value: y,
                        source: t,
                    },
                ) => x == y && s == t,
                _ => false,
            };
            if !ok {
                fail("error classes differ");
            }
            false
        }
        _ => fail("accept/reject differs"),
    }
}

#[test]
fn every_bundled_line() {
    let mut n = 0;
    for file in FILES {
        for line in file.lines() {
            assert!(same(line.as_bytes()));
            n += 1;
        }
    }
    assert_eq!(n, 736);
}

/// serde_json's behaviours the scanner mirrors, checked against serde_json itself.
#[test]
fn quirks() {
    let dt = r#""dt":"2026-01-01T00:00:00Z""#;
    let cases: Vec<Vec<u8>> = vec![
        // Keys of the event and of meta are read as bytes: control bytes, bad UTF-8, lone
        // surrogates pass; keys nested deeper are skipped as strings: control bytes fail.
        format!("{{\"meta\":{{{dt},\"\u{1}\":1}},\"\t\u{1f}\":2}}").into_bytes(),
        format!("{{\"meta\":{{{dt}}},\"x\":{{\"\u{1}\":1}}}}").into_bytes(),
        format!("{{\"meta\":{{{dt}}},\"\\ud800\":1,\"\\udc00\\ud800\\u0041\":1}}").into_bytes(),
        [
            format!("{{\"meta\":{{{dt}}},\"").as_bytes(),
            b"\xff\xc3",
            b"\":1}",
        ]
        .concat(),
        // Skipped strings: no UTF-8 or surrogate checks; kept ones: both.
        [
            format!("{{\"meta\":{{{dt}}},\"c\":\"").as_bytes(),
            b"\xff\\ud800",
            b"\"}",
        ]
        .concat(),
        [
            format!("{{\"meta\":{{{dt}}},\"wiki\":\"").as_bytes(),
            b"\xff",
            b"\"}",
        ]
        .concat(),
        [
            format!("{{\"meta\":{{{dt},\"id\":\"").as_bytes(),
            b"\xe2\x82",
            b"\"}}",
        ]
        .concat(),
        format!("{{\"meta\":{{{dt},\"id\":\"\\ud800\"}}}}").into_bytes(),
        format!("{{\"meta\":{{{dt},\"id\":\"\\ud800\\n\"}}}}").into_bytes(),
        format!("{{\"meta\":{{{dt},\"id\":\"\\udc00\"}}}}").into_bytes(),
        format!("{{\"meta\":{{{dt},\"id\":\"\\ud83d\\ude00\\u00e9\"}}}}").into_bytes(),
        format!("{{\"meta\":{{{dt}}},\"c\":\"\\ud800\\u12\"}}").into_bytes(),
        // A namespace is read as the scanner skips it: its strings need not be UTF-8; only the
        // number `0` (the last one given) is an article.
        [
            format!("{{\"meta\":{{{dt}}},\"namespace\":\"htt").as_bytes(),
            b"\xdf\xdf[d",
            b"\"}",
        ]
        .concat(),
        [
            format!("{{\"meta\":{{{dt}}},\"namespace\":[\"").as_bytes(),
            b"\xff\\ud800",
            b"\"],\"namespace\":0}",
        ]
        .concat(),
        [
            format!("{{\"meta\":{{{dt}}},\"namespace\":0,\"namespace\":{{\"").as_bytes(),
            b"\xe2\x82",
            b"\":0}}",
        ]
        .concat(),
        format!("{{\"meta\":{{{dt}}},\"namespace\": 0 ,\"namespace\":0}}").into_bytes(),
        format!("{{\"meta\":{{{dt}}},\"namespace\":0,\"namespace\":-0}}").into_bytes(),
        // Escaped keys are the keys they spell.
        br#"{"m\u0065ta":{"d\u0074":"2026-01-01T00:00:00Z","\u0064omain":"canary"}}"#.to_vec(),
        // Duplicates: last wins, meta as a whole; null resets.
        format!("{{\"meta\":{{{dt}}},\"meta\":{{}}}}").into_bytes(),
        format!("{{\"meta\":{{{dt},\"dt\":null}}}}").into_bytes(),
        format!("{{\"bot\":true,\"meta\":{{{dt}}},\"bot\":null}}").into_bytes(),
        format!("{{\"meta\":null,\"meta\":{{{dt}}}}}").into_bytes(),
        // Grammar corners.
        format!(" \t\r\n{{\"meta\":{{{dt}}},\"n\":[-0,0.5e+1,1E-0,-1.0e9]}} \n").into_bytes(),
        format!("{{\"meta\":{{{dt}}},\"n\":01}}").into_bytes(),
        format!("{{\"meta\":{{{dt}}},\"n\":1.}}").into_bytes(),
        format!("{{\"meta\":{{{dt}}},\"n\":-}}").into_bytes(),
        format!("{{\"meta\":{{{dt}}},\"n\":[1,]}}").into_bytes(),
        format!("{{\"meta\":{{{dt}}},\"n\":{{\"a\":1,}}}}").into_bytes(),
        format!("{{\"meta\":{{{dt}}},}}").into_bytes(),
        format!("{{\"meta\":{{{dt}}}}}\u{c}").into_bytes(),
        format!("\u{feff}{{\"meta\":{{{dt}}}}}").into_bytes(),
    ];
    for case in &cases {
        same(case);
    }
}

/// serde_json counts depth only for the two objects it builds (the event and meta); values it
/// skips nest without limit. Probed around its limit of 128 and far past it.
#[test]
fn nesting() {
    let dt = r#""dt":"2026-01-01T00:00:00Z""#;
    for n in (0..=300).chain([1_000, 100_000]) {
        for (open, close) in [("[", "]"), ("{\"a\":", "}"), ("[{\"a\":", "}]")] {
            let (o, c) = (open.repeat(n), close.repeat(n));
            assert!(same(
                format!("{{\"meta\":{{{dt}}},\"x\":{o}1{c}}}").as_bytes()
            ));
            assert!(same(
                format!("{{\"meta\":{{{dt},\"x\":{o}1{c}}}}}").as_bytes()
            ));
            same(format!("{{\"meta\":{o}{{{dt}}}{c}}}").as_bytes());
            same(format!("{{\"meta\":{{{dt}}},\"x\":{o}1{}}}", close.repeat(n / 2)).as_bytes());
        }
    }
}

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len())]
    }
}

const TEMPLATES: &[&str] = &[
    r#"{"meta":{"dt":"2024-02-06T16:58:10Z","id":"ab8f","domain":"canary"},"type":"edit","bot":false,"wiki":"enwiki"}"#,
    r#"{"$schema":"/x","meta":{"uri":"u","dt":"2024-02-06T16:58:10.724+01:00","domain":"en.wikipedia.org"},"type":"log","bot":true,"n":[1,-2.5e3,{"a":null}],"c":"a\"b\\c\u00e9"}"#,
    r#"{"type":"new","meta":{"domain":"d","dt":"2024-02-06T16:58:10Z"},"length":{"old":1,"new":2},"wiki":"w\u0041"}"#,
    r#" { "meta" : { "dt" : "2024-02-06T16:58:10Z" } , "bot" : null , "wiki" : null } "#,
    r#"{"meta":{"dt":"2024-02-06T16:58:10Z"},"namespace":0,"title":"T","namespace":1,"namespace":0}"#,
];

const TOKENS: &[&[u8]] = &[
    b"\"",
    b"\\",
    b"{",
    b"}",
    b"[",
    b"]",
    b",",
    b":",
    b"0",
    b"-",
    b"e",
    b"E",
    b".",
    b"+",
    b" ",
    b"\t",
    b"\n",
    b"\r",
    b"\x1f",
    b"\x00",
    b"\\u",
    b"\\u0041",
    b"\\u0074",
    b"\\ud800",
    b"\\udbff",
    b"\\udc00",
    b"\\ud83d\\ude00",
    b"\\u00e9",
    b"\\uD800\\u0041",
    b"\\uzzzz",
    b"\\x",
    b"\\/",
    b"\xff",
    b"\x80",
    b"\xc3",
    b"\xe2\x82",
    b"\xed\xa0\x80",
    b"\xc3\xa9",
    b"null",
    b"true",
    b"false",
    b"nul",
    b"1e",
    b"01",
    b"-0",
    b"1.5",
    b"\xef\xbb\xbf",
];

const PAIRS: &[&str] = &[
    r#""meta":{"dt":"2024-02-07T00:00:00Z"},"#,
    r#""meta":{"dt":"2024-02-07T00:00:00Z","domain":"canary","id":null},"#,
    r#""meta":null,"#,
    r#""meta":[],"#,
    r#""wiki":null,"#,
    r#""wiki":"x\ty","#,
    r#""wiki":"\u0077","#,
    r#""type":"edit","#,
    r#""type":"categorize","#,
    r#""type":5,"#,
    r#""bot":true,"#,
    r#""bot":null,"#,
    r#""bot":"true","#,
    r#""namespace":0,"#,
    r#""namespace":-0,"#,
    r#""namespace":0.0,"#,
    r#""namespace":"0","#,
    r#""namespace":[0],"#,
    r#""namespace":"\xff","#,
    r#""n\u0061mespace":0,"#,
    r#""namespace":14,"#,
    r#""dt":"yesterday","#,
    r#""d\u0074":"2024-01-01T00:00:00+01:00","#,
    r#""dt":"2024-02-30T00:00:00Z","#,
    r#""id":"\ud83d\ude00","#,
    r#""domain":"canary","#,
    r#""domain":"c\u0061nary","#,
    r#""x":[[[[{"a":[]}]]]],"#,
    "\"\u{1}\":1,",
    r#""\ud800":{},"#,
];

const TARGETS: &[&[u8]] = &[
    b"\"dt\":\"",
    b"\"wiki\":\"",
    b"\"type\":\"",
    b"\"domain\":\"",
    b"\"id\":\"",
    b"\"meta\":",
    b"\"bot\":",
];

fn position(rng: &mut Rng, s: &[u8]) -> usize {
    if rng.below(2) == 0 {
        let t = rng.pick(TARGETS);
        if let Some(p) = s.windows(t.len()).position(|w| w == *t) {
            return (p + t.len() + rng.below(24))
                .saturating_sub(rng.below(8))
                .min(s.len());
        }
    }
    rng.below(s.len() + 1)
}

fn mutate(rng: &mut Rng, s: &mut Vec<u8>) {
    match rng.below(10) {
        0 => {
            if !s.is_empty() {
                let p = position(rng, s).min(s.len() - 1);
                s[p] = rng.next() as u8;
            }
        }
        1 => {
            if !s.is_empty() {
                let p = position(rng, s).min(s.len() - 1);
                s[p] = *rng.pick(b"\"\\{}[],:0-eE.+ \t\x1f\xff\x80nutfl");
            }
        }
        2 | 3 => {
            let p = position(rng, s);
            let t = rng.pick(TOKENS);
            s.splice(p..p, t.iter().copied());
        }
        4 => {
            let p = position(rng, s);
            let q = (p + 1 + rng.below(8)).min(s.len());
            s.drain(p..q);
        }
        5 => s.truncate(rng.below(s.len() + 1)),
        6 => {
            let a = rng.below(s.len() + 1);
            let b = (a + rng.below(64)).min(s.len());
            let p = rng.below(s.len() + 1);
            let copy = s[a..b].to_vec();
            s.splice(p..p, copy);
        }
        7 => {
            let after: Vec<usize> = (0..s.len())
                .filter(|&i| matches!(s[i], b'{' | b','))
                .collect();
            if !after.is_empty() {
                let p = *rng.pick(&after) + 1;
                let pair = rng.pick(PAIRS).as_bytes();
                s.splice(p..p, pair.iter().copied());
            }
        }
        8 => {
            let p = s.iter().position(|&c| c == b'{').map_or(0, |p| p + 1);
            let n = *rng.pick(&[1, 2, 64, 65, 126, 127, 128, 129, 200, 5_000]);
            let m = if rng.below(4) == 0 {
                n - rng.below(2)
            } else {
                n
            };
            let (o, c) = if rng.below(2) == 0 {
                ("[", "]")
            } else {
                ("{\"k\":", "}")
            };
            let v = format!("\"x\":{}0{},", o.repeat(n), c.repeat(m));
            s.splice(p..p, v.into_bytes());
        }
        _ => {
            let p = position(rng, s);
            let hi = *rng.pick(&[0x00u16, 0x00, 0xd8, 0xdb, 0xdc, 0xdf, 0xe0, 0x20]);
            let e = format!("\\u{:02x}{:02x}", hi, rng.next() as u8);
            s.splice(p..p, e.into_bytes());
        }
    }
}

#[test]
fn mutated_inputs() {
    let lines: Vec<&[u8]> = FILES
        .iter()
        .flat_map(|f| f.lines())
        .map(str::as_bytes)
        .collect();
    // 300k in the test command (a few seconds); `EDITPULSE_MUTATIONS=3000000` for a long run.
    let iterations: usize =
        std::env::var("EDITPULSE_MUTATIONS").map_or(300_000, |n| n.parse().expect("a count"));
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let (mut accepted, mut rejected) = (0, 0);
    for _ in 0..iterations {
        let mut s = if rng.below(3) == 0 {
            rng.pick(&lines).to_vec()
        } else {
            rng.pick(TEMPLATES).as_bytes().to_vec()
        };
        for _ in 0..1 + rng.below(3) {
            mutate(&mut rng, &mut s);
        }
        if same(&s) {
            accepted += 1;
        } else {
            rejected += 1;
        }
    }
    println!(
        "{iterations} mutated inputs: {accepted} accepted by both, {rejected} refused by both"
    );
    assert!(accepted > iterations / 20 && rejected > iterations / 20);
}
