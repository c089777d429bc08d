//! One random case of the read API against the brute force: a filter and a range, asked of
//! `/v1/counts` (seconds and buckets), `/v1/top?by=wiki` and `/v1/stream?since=`, each answer
//! compared field by field with [`Truth`]. Every answer is also returned (without the fields
//! that may differ between relays or runs: revisions, the oldest second held) so callers can
//! check that several relays, or one relay before and after a restart, answer alike.
//!
//! Over 400 lines: each endpoint's check reads the same case and brute force, and they are
//! meant to be read side by side (the same range rules, the same filter spellings).

use std::collections::BTreeSet;
use std::time::Duration;

use anyhow::{Context, bail, ensure};
use serde_json::{Value, json};
use support::recording::rfc3339;
use support::relay_process::RelayProcess;
use support::sse_client::SseStream;
use support::truth::{Counts, Filter, Rng, TYPES, Truth, in_range};

use super::events::Posted;

/// A filter, a range `[from, to)` in Unix ms (not always on whole seconds), a bucket step in
/// seconds and a list length.
#[derive(Debug, Clone)]
pub struct Case {
    pub filter: Filter,
    pub from: i64,
    pub to: i64,
    pub step: u32,
    pub n: usize,
    /// How the filter is spelt: its parameters rotated by this, and a `wiki=` or `type=`
    /// repeated when it is even: the same filter, however spelt.
    pub spelling: usize,
}

impl Case {
    pub fn draw(rng: &mut Rng, posted: &Posted) -> Case {
        // Mostly within the recording; now and then reaching the quiet seconds around it.
        let (lo, hi) = if rng.one_in(4) {
            posted.span()
        } else {
            (posted.first, posted.last + 1_000)
        };
        let on_second = |rng: &mut Rng, t: i64| {
            if rng.one_in(2) {
                t.div_euclid(1_000) * 1_000
            } else {
                t
            }
        };
        let a = rng.between(lo, hi);
        let from = on_second(rng, a);
        let b = rng.between(from, hi);
        let to = on_second(rng, b).max(from);
        Case {
            filter: rng.filter(&posted.truth.wikis()),
            from,
            to,
            step: *rng.pick(&[1, 2, 3, 5, 7, 10, 60]),
            n: *rng.pick(&[1, 3, 10, 12, 1_000]),
            spelling: rng.below(8) as usize,
        }
    }

    /// The filter's parameters, spelt the case's way.
    pub fn filter_query(&self) -> String {
        let q = self.filter.query();
        let mut pairs: Vec<&str> = q.split('&').filter(|p| !p.is_empty()).collect();
        if pairs.is_empty() {
            return q;
        }
        let k = self.spelling % pairs.len();
        pairs.rotate_left(k);
        if self.spelling.is_multiple_of(2)
            && let Some(p) = pairs
                .iter()
                .find(|p| p.starts_with("wiki=") || p.starts_with("type="))
        {
            pairs.push(p);
        }
        pairs.join("&")
    }

    pub fn query(&self, own: &str) -> String {
        let f = self.filter_query();
        if f.is_empty() {
            own.to_string()
        } else {
            format!("{own}&{f}")
        }
    }
}

/// What a round of cases is checked against: the seconds the relay holds (from the unfiltered
/// answer), up to `settled`, before which nothing changes any more.
pub struct Held {
    pub seconds: BTreeSet<i64>,
    pub settled: i64,
}

pub async fn get(relay: &RelayProcess, path_and_query: &str) -> support::Result<Value> {
    let url = relay.url(path_and_query);
    let resp = reqwest::get(&url)
        .await
        .with_context(|| format!("GET {url}"))?;
    let status = resp.status();
    let text = resp.text().await?;
    ensure!(status == 200, "GET {path_and_query}: {status} {text}");
    serde_json::from_str(&text).with_context(|| format!("GET {path_and_query}: {text}"))
}

pub fn ms(v: &Value) -> support::Result<i64> {
    let s = v.as_str().with_context(|| format!("not a time: {v}"))?;
    Ok(chrono::DateTime::parse_from_rfc3339(s)
        .with_context(|| format!("not RFC 3339: {s}"))?
        .timestamp_millis())
}

/// Waits until the relay serves the second starting at `second` as final.
pub async fn until_final(relay: &RelayProcess, second: i64) -> support::Result<()> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    let q = format!("/v1/counts?from={second}&to={}", second + 1_000);
    loop {
        let body = get(relay, &q).await?;
        if body[0]["final"] == true {
            return Ok(());
        }
        if tokio::time::Instant::now() > deadline {
            return Err(relay.fail(&format!(
                "{} not final within 60 s: {body}",
                rfc3339(second)
            )));
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Waits until every second of the recording counts what the brute force does (after late
/// events, say).
pub async fn until_counted(relay: &RelayProcess, posted: &Posted) -> support::Result<()> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let q = format!(
        "/v1/counts?from={}&to={}",
        posted.first,
        posted.last + 1_000
    );
    loop {
        let body = get(relay, &q).await?;
        let got: Vec<(i64, u64)> = body
            .as_array()
            .context("seconds")?
            .iter()
            .map(|w| Ok((ms(&w["start"])?, w["count"].as_u64().unwrap_or(0))))
            .collect::<support::Result<_>>()?;
        let want: Vec<(i64, u64)> = (posted.first..=posted.last)
            .step_by(1_000)
            .map(|s| {
                (
                    s,
                    posted.truth.counts(s, s + 1_000, &Filter::default()).count,
                )
            })
            .collect();
        if got == want {
            return Ok(());
        }
        if tokio::time::Instant::now() > deadline {
            return Err(relay.fail(&format!("counts {got:?} not {want:?} within 30 s")));
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Waits until the posted seconds and four after them are final, and reads which seconds the
/// relay holds. Every second of the recording must be held, final.
pub async fn settle(relay: &RelayProcess, posted: &Posted) -> support::Result<Held> {
    let (_, hi) = posted.span();
    until_final(relay, hi).await?;
    let settled = hi + 1_000;
    let body = get(
        relay,
        &format!("/v1/counts?from={}&to={settled}", posted.first - 120_000),
    )
    .await?;
    let mut seconds = BTreeSet::new();
    for w in body.as_array().context("counts")? {
        let s = ms(&w["start"])?;
        ensure!(
            w["final"] == true,
            "{}: a second before {} not final: {w}",
            relay.name(),
            rfc3339(settled)
        );
        seconds.insert(s);
    }
    let missing: Vec<String> = (posted.first..=posted.last)
        .step_by(1_000)
        .filter(|s| !seconds.contains(s))
        .map(rfc3339)
        .collect();
    ensure!(
        missing.is_empty(),
        "{} does not hold {missing:?}",
        relay.name()
    );
    Ok(Held { seconds, settled })
}

fn by_type(c: &Counts) -> Value {
    let mut o = serde_json::Map::new();
    for (t, n) in TYPES.iter().zip(c.by_type) {
        o.insert(t.to_string(), json!(n));
    }
    Value::Object(o)
}

/// A second as `/v1/counts` should give it, times as Unix ms.
pub fn second(truth: &Truth, s: i64, f: &Filter) -> Value {
    let c = truth.counts(s, s + 1_000, f);
    json!({
        "start": s, "end": s + 1_000, "count": c.count, "final": true,
        "by_type": by_type(&c), "bots": c.bots, "humans": c.humans, "top_wikis": c.top_wikis,
    })
}

/// `w` with its times as Unix ms, and without `revision`.
pub fn comparable_second(w: &Value) -> support::Result<Value> {
    let mut w = w.clone();
    let o = w.as_object_mut().context("a second is an object")?;
    o.remove("revision");
    for k in ["start", "end"] {
        let t = ms(&o[k])?;
        o.insert(k.into(), json!(t));
    }
    Ok(w)
}

/// Lines saying where `got` and `want` (lists of seconds or buckets) differ.
fn differences(what: &str, got: &[Value], want: &[Value]) -> Vec<String> {
    let mut out = Vec::new();
    for i in 0..got.len().max(want.len()) {
        let (g, w) = (got.get(i), want.get(i));
        if g != w {
            out.push(format!("{what} #{i}:\n   got {g:?}\n  want {w:?}"));
        }
    }
    out
}

/// Checks one case on one relay; returns its answers for comparison with other relays'.
pub async fn case(
    relay: &RelayProcess,
    posted: &Posted,
    held: &Held,
    c: &Case,
) -> support::Result<Vec<Value>> {
    let truth = &posted.truth;
    let f = &c.filter;
    let mut answers = Vec::new();
    let mut wrong = Vec::new();

    // Every second held in the range.
    let q = c.query(&format!("/v1/counts?from={}&to={}", c.from, c.to));
    let body = get(relay, &q).await?;
    let got: Vec<Value> = body
        .as_array()
        .context("seconds")?
        .iter()
        .map(comparable_second)
        .collect::<support::Result<_>>()?;
    let want: Vec<Value> = held
        .seconds
        .iter()
        .filter(|&&s| in_range(s, c.from, c.to))
        .map(|&s| second(truth, s, f))
        .collect();
    wrong.extend(differences(&q, &got, &want));
    answers.push(json!(got));

    // The same range in buckets.
    let q = c.query(&format!(
        "/v1/counts?from={}&to={}&step={}",
        c.from, c.to, c.step
    ));
    let body = get(relay, &q).await?;
    let got = buckets(&body)?;
    let want = want_buckets(truth, held, c);
    let settled: Vec<bool> = want
        .iter()
        .map(|b| b["end"].as_i64().unwrap_or(i64::MAX) <= held.settled)
        .collect();
    // A bucket reaching past the settled seconds holds the live ones too: only its sums
    // (which live seconds add nothing to) are compared.
    let sums = |b: &Value| json!([b["start"], b["count"], b["by_type"], b["bots"], b["humans"]]);
    let got_cmp: Vec<Value> = got
        .iter()
        .zip(settled.iter().chain(std::iter::repeat(&true)))
        .map(|(b, &whole)| if whole { b.clone() } else { sums(b) })
        .collect();
    let want_cmp: Vec<Value> = want
        .iter()
        .zip(&settled)
        .map(|(b, &whole)| if whole { b.clone() } else { sums(b) })
        .collect();
    wrong.extend(differences(&q, &got_cmp, &want_cmp));
    // Buckets reaching before the recording hold the quiet seconds this relay happened to
    // watch: for comparison with other relays (or a restarted one), only their sums.
    let alike: Vec<Value> = got
        .iter()
        .zip(&got_cmp)
        .map(|(b, cmp)| match b["start"].as_i64() {
            Some(s) if s >= posted.first => cmp.clone(),
            _ => sums(b),
        })
        .collect();
    answers.push(json!(alike));

    // The busiest wikis.
    let q = c.query(&format!(
        "/v1/top?by=wiki&from={}&to={}&n={}",
        c.from, c.to, c.n
    ));
    let mut got = get(relay, &q).await?;
    got.as_object_mut().map(|o| o.remove("earliest"));
    let r = truth.top(c.from, c.to, f, c.n, |e| Some(e.wiki.clone()));
    let want = json!({"items": r.items, "total": r.total, "distinct": r.distinct});
    let got_cmp =
        json!({"items": got["items"], "total": got["total"], "distinct": got["distinct"]});
    // The range as answered: widened to the seconds it touches.
    let from = if c.from < c.to {
        c.from.div_euclid(1_000) * 1_000
    } else {
        c.from
    };
    if got_cmp != want || got["by"] != "wiki" || ms(&got["from"])? != from {
        wrong.push(format!("{q}:\n   got {got}\n  want {want}"));
    }
    answers.push(got);

    if !wrong.is_empty() {
        bail!(
            "{}: {} answer(s) differ from the brute force for {c:?}:\n{}",
            relay.name(),
            wrong.len(),
            wrong.join("\n")
        );
    }
    Ok(answers)
}

/// Buckets with times as Unix ms and the mean rounded (it is a float).
fn buckets(body: &Value) -> support::Result<Vec<Value>> {
    body["buckets"]
        .as_array()
        .with_context(|| format!("no buckets: {body}"))?
        .iter()
        .map(|b| {
            let mut b = comparable_second(b)?;
            let mean = b["mean"].as_f64().context("mean")?;
            b["mean"] = json!((mean * 1_000.0).round() as i64);
            Ok(b)
        })
        .collect()
}

/// The buckets of a case: aligned to the step, over the seconds held, empty ones left out.
fn want_buckets(truth: &Truth, held: &Held, c: &Case) -> Vec<Value> {
    let step = i64::from(c.step) * 1_000;
    if c.from >= c.to {
        return Vec::new();
    }
    let (first, last) = (c.from.div_euclid(step), (c.to - 1).div_euclid(step));
    let mut out = Vec::new();
    for b in first..=last {
        let (start, end) = (b * step, (b + 1) * step);
        let inside: Vec<i64> = held.seconds.range(start..end).copied().collect();
        if inside.is_empty() {
            continue;
        }
        let per: Vec<u64> = inside
            .iter()
            .map(|&s| truth.counts(s, s + 1_000, &c.filter).count)
            .collect();
        let sum = truth.counts(start, end, &c.filter);
        out.push(json!({
            "start": start, "end": end, "seconds": inside.len(),
            "final": inside.len() as i64 * 1_000 == step,
            "count": sum.count, "min": per.iter().min(), "max": per.iter().max(),
            "mean": (sum.count as f64 / inside.len() as f64 * 1_000.0).round() as i64,
            "by_type": by_type(&sum), "bots": sum.bots, "humans": sum.humans,
        }));
    }
    out
}

/// `/v1/stream?since=` under the case's filter: the backfill (every held second from `from` on)
/// and whatever follows it live must be the brute force's seconds.
pub async fn stream(
    relay: &RelayProcess,
    posted: &Posted,
    held: &Held,
    c: &Case,
) -> support::Result<()> {
    let url = relay.url(&c.query(&format!("/v1/stream?since={}", c.from)));
    let mut sse = SseStream::connect(&url, None).await?;
    let mut got = Vec::new();
    loop {
        let ev = sse
            .next(Duration::from_secs(10))
            .await
            .with_context(|| format!("{url}: the stream ended or stalled"))?;
        if ev.event != "count" {
            break;
        }
        got.push(serde_json::from_str::<Value>(&ev.data)?);
    }
    let lo = c.from.div_euclid(1_000) * 1_000;
    let mut wrong = Vec::new();
    let mut seen = BTreeSet::new();
    for w in &got {
        let mut w = comparable_second(w)?;
        let s = w["start"].as_i64().unwrap_or_default();
        seen.insert(s);
        if s >= held.settled {
            // A live second: its count, whether final yet or not.
            w["final"] = json!(true);
        }
        let want = second(&posted.truth, s, &c.filter);
        if w != want || s < lo {
            wrong.push(format!("   got {w}\n  want {want}"));
        }
    }
    let missing: Vec<String> = held
        .seconds
        .range(lo..held.settled)
        .filter(|s| !seen.contains(s))
        .map(|&s| rfc3339(s))
        .collect();
    ensure!(
        wrong.is_empty() && missing.is_empty(),
        "{url}: {} frame(s) differ from the brute force, {} second(s) missing {missing:?}:\n{}",
        wrong.len(),
        missing.len(),
        wrong.join("\n")
    );
    Ok(())
}
