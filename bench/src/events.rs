//! Real recorded events (data/recentchange-*.jsonl, ~1.3 KB each), and fresh copies of them
//! stamped "now" with unique ids, made by splicing bytes so every other byte stays as recorded.

use std::path::Path;

use anyhow::{Context, bail};
use bytes::Bytes;
use wire::Millis;

/// The recordings of the current schema; the legacy 2018 one is not what the relay sees today.
pub const RECORDINGS: [&str; 2] = [
    "recentchange-2024-02-06-all-wikis.jsonl",
    "recentchange-2024-02-07-all-wikis.jsonl",
];

/// The raw recorded lines, untouched.
pub fn recorded_lines(data_dir: &Path) -> anyhow::Result<Vec<Vec<u8>>> {
    let mut out = Vec::new();
    for name in RECORDINGS {
        let path = data_dir.join(name);
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        out.extend(
            text.lines()
                .filter(|l| !l.trim().is_empty())
                .map(|l| l.as_bytes().to_vec()),
        );
    }
    if out.is_empty() {
        bail!("no events in {}", data_dir.display());
    }
    Ok(out)
}

/// One recorded event cut around its `meta.dt` and `meta.id` values.
#[derive(Debug, Clone)]
struct Template {
    /// Up to and including the opening quote of the first value to replace.
    head: Vec<u8>,
    /// Between the first value's closing quote and the second value's opening quote.
    middle: Vec<u8>,
    tail: Vec<u8>,
    /// The first cut is `dt` (else `id`).
    dt_first: bool,
    wiki: String,
}

/// Makes fresh events from the recordings.
#[derive(Debug, Clone)]
pub struct Generator {
    templates: Vec<Template>,
    next: usize,
    run: String,
    n: u64,
}

/// A fresh event: its wiki (the bus key) and its bytes.
#[derive(Debug, Clone)]
pub struct Fresh {
    pub wiki: String,
    pub json: Bytes,
}

impl Generator {
    pub fn new(data_dir: &Path, run: &str) -> anyhow::Result<Generator> {
        let lines = recorded_lines(data_dir)?;
        let mut templates = Vec::with_capacity(lines.len());
        for line in &lines {
            templates.push(cut(line).with_context(|| {
                format!(
                    "cannot cut recorded event {}",
                    String::from_utf8_lossy(&line[..line.len().min(120)])
                )
            })?);
        }
        let g = Generator {
            templates,
            next: 0,
            run: run.to_string(),
            n: 0,
        };
        g.check()?;
        Ok(g)
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.templates.len()
    }

    /// The next recorded event (cycling), stamped `time`, with an id no other event has.
    pub fn next_at(&mut self, time: Millis) -> Fresh {
        self.next_with_suffix(time, "")
    }

    /// As [`Generator::next_at`], with [`ROUND_MARK`] ending the id, for [`reround`].
    pub fn next_marked(&mut self, time: Millis) -> Fresh {
        self.next_with_suffix(time, ROUND_MARK)
    }

    fn next_with_suffix(&mut self, time: Millis, suffix: &str) -> Fresh {
        let t = &self.templates[self.next];
        self.next = (self.next + 1) % self.templates.len();
        self.n += 1;
        let id = format!("{}-{}{suffix}", self.run, self.n);
        Fresh {
            wiki: t.wiki.clone(),
            json: Bytes::from(t.render(&time.to_string(), &id)),
        }
    }

    /// The next event with its wiki forced to `wiki` (so every event goes to one partition).
    pub fn next_for_wiki(&mut self, time: Millis, wiki: &str) -> Fresh {
        let f = self.next_at(time);
        let mut v: serde_json::Value = serde_json::from_slice(&f.json).expect("generated JSON");
        v["wiki"] = serde_json::Value::String(wiki.to_string());
        Fresh {
            wiki: wiki.to_string(),
            json: Bytes::from(serde_json::to_vec(&v).expect("serializes")),
        }
    }

    /// Every template renders to an event the relay reads back with the time and id put in.
    fn check(&self) -> anyhow::Result<()> {
        let mut g = self.clone();
        let t = Millis(1_785_000_000_123);
        for _ in 0..self.templates.len() {
            let f = g.next_at(t);
            let e = codec::event::parse(&f.json)
                .map_err(|e| anyhow::anyhow!("generated event unreadable: {e}"))?;
            if e.time != t || e.id.as_deref() != Some(&format!("{}-{}", g.run, g.n)) {
                bail!("generated event has time {:?} id {:?}", e.time, e.id);
            }
            if e.wiki != f.wiki {
                bail!("generated event wiki {} != {}", e.wiki, f.wiki);
            }
        }
        Ok(())
    }
}

impl Template {
    fn render(&self, dt: &str, id: &str) -> Vec<u8> {
        let (a, b) = if self.dt_first { (dt, id) } else { (id, dt) };
        let mut out =
            Vec::with_capacity(self.head.len() + self.middle.len() + self.tail.len() + 64);
        out.extend_from_slice(&self.head);
        out.extend_from_slice(a.as_bytes());
        out.extend_from_slice(&self.middle);
        out.extend_from_slice(b.as_bytes());
        out.extend_from_slice(&self.tail);
        out
    }
}

/// Finds `"dt":"…"` and `"id":"…"` inside the `meta` object (which holds no nested object in
/// these recordings) and cuts the line around the two values.
fn cut(line: &[u8]) -> anyhow::Result<Template> {
    let meta = find(line, b"\"meta\":{", 0).context("no meta object")?;
    let meta_end = find(line, b"}", meta).context("meta not closed")?;
    let value = |key: &[u8]| -> anyhow::Result<(usize, usize)> {
        let at = find(&line[..meta_end], key, meta).context("key missing in meta")?;
        let start = at + key.len();
        let len = line[start..]
            .iter()
            .position(|&b| b == b'"' || b == b'\\')
            .context("value not closed")?;
        if line[start + len] != b'"' {
            bail!("escaped value");
        }
        Ok((start, start + len))
    };
    let dt = value(b"\"dt\":\"")?;
    let id = value(b"\"id\":\"")?;
    let (first, second, dt_first) = if dt.0 < id.0 {
        (dt, id, true)
    } else {
        (id, dt, false)
    };
    let edit = codec::event::parse(line).map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(Template {
        head: line[..first.0].to_vec(),
        middle: line[first.1..second.0].to_vec(),
        tail: line[second.1..].to_vec(),
        dt_first,
        wiki: edit.wiki.to_string(),
    })
}

fn find(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    hay.get(from..)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| p + from)
}

/// `n` fresh events stamped with the clock as they are made.
pub fn fresh_now(g: &mut Generator, n: usize) -> Vec<Fresh> {
    let mut out = Vec::with_capacity(n);
    let mut now = relay::clock::now();
    for i in 0..n {
        // The clock is read once per hundred events: cheap, and still "now" to the millisecond.
        if i % 100 == 0 {
            now = relay::clock::now();
        }
        out.push(g.next_at(now));
    }
    out
}

/// Ends the ids of [`Generator::next_marked`] events: [`reround`] rewrites its digits.
pub const ROUND_MARK: &str = "-R000000";

/// The body with every marked id given round `round` (six digits): the same events again
/// under new ids, since counters drop a repeated `meta.id` within a second.
pub fn reround(body: &[u8], round: u32) -> Bytes {
    let mark = ROUND_MARK.as_bytes();
    let digits = format!("{:06}", round % 1_000_000);
    let mut out = body.to_vec();
    let mut i = 0;
    while let Some(p) = find(&out, mark, i) {
        out[p + 2..p + mark.len()].copy_from_slice(digits.as_bytes());
        i = p + mark.len();
    }
    Bytes::from(out)
}

/// NDJSON bodies of `batch` events each.
pub fn ndjson_bodies(events: &[Fresh], batch: usize) -> Vec<Bytes> {
    events
        .chunks(batch.max(1))
        .map(|chunk| {
            let mut body = Vec::with_capacity(chunk.iter().map(|e| e.json.len() + 1).sum());
            for e in chunk {
                body.extend_from_slice(&e.json);
                body.push(b'\n');
            }
            Bytes::from(body)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data() -> std::path::PathBuf {
        support::paths::workspace_root().join("data")
    }

    #[test]
    fn fresh_events_keep_the_recorded_bytes_but_time_and_id() {
        let mut g = Generator::new(&data(), "t").unwrap();
        let lines = recorded_lines(&data()).unwrap();
        assert_eq!(g.len(), lines.len());
        let f = g.next_at(Millis(1_785_000_000_000));
        let e = codec::event::parse(&f.json).unwrap();
        assert_eq!(e.time, Millis(1_785_000_000_000));
        assert_eq!(e.id.as_deref(), Some("t-1"));
        let orig = codec::event::parse(&lines[0]).unwrap();
        assert_eq!(e.wiki, orig.wiki);
        assert_eq!(e.kind, orig.kind);
        // Same length give or take the time and id strings.
        assert!((f.json.len() as i64 - lines[0].len() as i64).abs() < 40);
    }

    #[test]
    fn rerounded_bodies_carry_new_ids() {
        let mut g = Generator::new(&data(), "t").unwrap();
        let events: Vec<Fresh> = (0..3)
            .map(|_| g.next_marked(Millis(1_785_000_000_000)))
            .collect();
        let body = &ndjson_bodies(&events, 10)[0];
        let again = reround(body, 42);
        let ids: Vec<String> = std::str::from_utf8(&again)
            .unwrap()
            .lines()
            .map(|l| {
                codec::event::parse(l.as_bytes())
                    .unwrap()
                    .id
                    .unwrap()
                    .to_string()
            })
            .collect();
        assert_eq!(ids, ["t-1-R000042", "t-2-R000042", "t-3-R000042"]);
    }

    #[test]
    fn forced_wiki() {
        let mut g = Generator::new(&data(), "t").unwrap();
        let f = g.next_for_wiki(Millis(1_785_000_000_000), "benchwiki");
        assert_eq!(codec::event::parse(&f.json).unwrap().wiki, "benchwiki");
    }
}
