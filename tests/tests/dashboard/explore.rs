//! Exploring the stream end to end: a real recording posted to a relay (embedded bus, no
//! upstream), the dashboard in Chromium. Picking a wiki in the exact top-wikis panel rescopes
//! the chart's seconds and the headline to that wiki's brute-force counts; a click on the
//! busiest second lists exactly that second's edits (their `meta.id`s); the page's address
//! then reopens the same view.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{Value, json};
use support::paths::data_file;
use support::recording::{self, event_ms, now_ms, rfc3339};
use support::webdriver::Browser;

use super::LIVE;
use super::truth::{screenshot, serve};

const RECORDING: &str = "recentchange-2024-02-06-all-wikis.jsonl";

/// The brute-force truth of one wiki: its edits per second (zeros included over the
/// recording's seconds) and the `meta.id`s of each second.
struct WikiTruth {
    counts: BTreeMap<i64, u64>,
    ids: BTreeMap<i64, Vec<String>>,
}

impl WikiTruth {
    fn of(events: &[Value], shift: i64, wiki: &str) -> anyhow::Result<WikiTruth> {
        let all = recording::per_second(events)?;
        let mut counts: BTreeMap<i64, u64> = all.keys().map(|s| (s + shift, 0)).collect();
        let mut ids: BTreeMap<i64, Vec<String>> = BTreeMap::new();
        for e in events.iter().filter(|e| e["wiki"] == wiki) {
            let second = (event_ms(e)? + shift).div_euclid(1_000) * 1_000;
            *counts.entry(second).or_default() += 1;
            let id = e["meta"]["id"].as_str().unwrap_or_default().to_owned();
            ids.entry(second).or_default().push(id);
        }
        for v in ids.values_mut() {
            v.sort();
        }
        Ok(WikiTruth { counts, ids })
    }

    fn total(&self) -> u64 {
        self.counts.values().sum()
    }

    /// The busiest second; the latest on a tie, as the headline names it.
    fn busiest(&self) -> (i64, u64) {
        let (s, n) = self
            .counts
            .iter()
            .max_by_key(|(s, n)| (**n, **s))
            .expect("a recording with seconds");
        (*s, *n)
    }
}

/// The busiest wiki of the recording, most events first, ties by name.
fn busiest_wiki(events: &[Value]) -> String {
    let mut by_wiki: BTreeMap<&str, u64> = BTreeMap::new();
    for e in events {
        *by_wiki.entry(e["wiki"].as_str().unwrap_or("")).or_default() += 1;
    }
    let (wiki, _) = by_wiki
        .into_iter()
        .max_by(|a, b| a.1.cmp(&b.1).then_with(|| b.0.cmp(a.0)))
        .expect("events");
    wiki.to_owned()
}

/// The seconds the chart holds (the hidden table of its data), `start → count`, final ones.
const SECONDS: &str = r#"
return Object.fromEntries([...document.querySelectorAll('#recent-values tr[data-start]')]
  .filter(r => r.dataset.final === 'true').map(r => [r.dataset.start, Number(r.dataset.count)]));
"#;

/// A click on the chart at the middle of the second starting at `arguments[0]` (epoch ms),
/// placed with the bounds the chart last drew, in the same turn so it cannot move between.
const CLICK_SECOND: &str = r#"
const c = document.getElementById('chart');
const r = c.getBoundingClientRect();
const from = Number(c.dataset.from), to = Number(c.dataset.to);
const left = Number(c.dataset.plotLeft), right = Number(c.dataset.plotRight);
const x = r.left + left + (arguments[0] + 500 - from) / (to - from) * (r.width - left - right);
for (const kind of ['pointerdown', 'pointerup']) {
  c.dispatchEvent(new PointerEvent(kind, {bubbles: true, button: 0, pointerId: 1, clientX: x,
    clientY: r.top + r.height / 2}));
}
return x;
"#;

/// The edits panel once it lists everything it will: ids, and what it expects and lists.
const EDITS: &str = r#"
const c = document.getElementById('edits-count');
if (!c || c.dataset.complete !== 'true' || document.getElementById('edits-status')?.dataset.state !== 'ready') return null;
const items = [...document.querySelectorAll('#edits-panel li[data-id]')];
return {ids: items.map(li => li.dataset.id).sort(), expected: c.dataset.expected,
        listed: Number(c.dataset.listed), text: c.textContent,
        links: items.filter(li => { const a = li.querySelector('a'); return a && a.target === '_blank' && a.rel.split(' ').includes('noopener') && a.href.startsWith('https://'); }).length};
"#;

/// Waits until the filter bar names `wiki` and the chart's seconds equal its `truth`.
async fn filtered_to(
    browser: &Browser,
    wiki: &str,
    truth: &WikiTruth,
    what: &str,
) -> anyhow::Result<()> {
    let summary =
        format!("return document.getElementById('filter-summary')?.textContent === '{wiki}'");
    browser
        .wait_for(
            "the filter to name the wiki",
            &summary,
            Duration::from_secs(10),
        )
        .await?;
    chart_equals(browser, truth, what).await
}

/// Waits until the chart's final seconds over the recording equal `truth`.
async fn chart_equals(browser: &Browser, truth: &WikiTruth, what: &str) -> anyhow::Result<()> {
    let want: BTreeMap<String, u64> = truth
        .counts
        .iter()
        .map(|(s, n)| (rfc3339(*s), *n))
        .collect();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let shown: BTreeMap<String, u64> =
            serde_json::from_value(browser.eval(SECONDS, json!([])).await?)?;
        let got: BTreeMap<String, u64> = want
            .keys()
            .filter_map(|k| shown.get(k).map(|n| (k.clone(), *n)))
            .collect();
        if got == want {
            return Ok(());
        }
        if tokio::time::Instant::now() > deadline {
            anyhow::bail!("{what}: the chart's seconds {got:?}\n differ from brute force {want:?}");
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

/// Waits until the edits panel lists exactly the busiest second's edits.
async fn edits_equal(browser: &Browser, ids: &[String], count: u64) -> anyhow::Result<Value> {
    let got = browser
        .wait_for("the edits panel", EDITS, Duration::from_secs(30))
        .await?;
    eprintln!("edits panel: {} ({} listed)", got["text"], got["listed"]);
    let listed: Vec<String> = serde_json::from_value(got["ids"].clone())?;
    assert_eq!(listed, ids, "the listed edits are that second's: {got}");
    assert_eq!(got["expected"], count.to_string(), "{got}");
    assert_eq!(
        got["links"],
        json!(count),
        "each opens its change in a new tab: {got}"
    );
    Ok(got)
}

#[tokio::test]
async fn a_picked_wiki_and_second_show_exactly_their_edits_and_the_address_reopens_them()
-> support::Result<()> {
    let relay = serve(
        "explore",
        &["--no-upstream", "--allowed-lateness-ms", "3000"],
    )
    .await?;
    let events = recording::load(&data_file(RECORDING))?;
    let first = *recording::per_second(&events)?
        .keys()
        .next()
        .expect("events");
    let shift = now_ms() / 1_000 * 1_000 - first;
    let body = recording::shifted_ndjson(&events, shift)?;
    let resp = reqwest::Client::new()
        .post(relay.url("/v1/events"))
        .header("content-type", "application/x-ndjson")
        .body(body)
        .send()
        .await?;
    assert_eq!(resp.status(), 202, "{}", resp.text().await?);
    let all = recording::per_second(&events)?;
    recording::until_counts(&relay.base_url(), Duration::from_secs(40), |c| {
        all.iter()
            .all(|(s, n)| c.get(&(s + shift)) == Some(&(*n, true)))
            .then_some(())
    })
    .await?;

    let wiki = busiest_wiki(&events);
    let truth = WikiTruth::of(&events, shift, &wiki)?;
    let (second, busiest) = truth.busiest();
    eprintln!(
        "{wiki}: {} edits, busiest second {} with {busiest}",
        truth.total(),
        rfc3339(second)
    );

    let browser = Browser::start(1280, 1400).await?;
    browser
        .goto(&format!("{}/?range=5", relay.base_url()))
        .await?;
    browser
        .wait_for("the link to the relay", LIVE, Duration::from_secs(30))
        .await?;

    // The top-wikis panel is exact: the wiki's count is the brute-force total.
    let in_panel = format!(
        "const li = document.querySelector(\"#top-wikis li[data-wiki='{wiki}']\"); \
         return li && Number(li.dataset.count) === {} ? li.dataset.count : null;",
        truth.total()
    );
    browser
        .wait_for("the wiki's exact total", &in_panel, Duration::from_secs(30))
        .await?;
    browser
        .eval(
            &format!(
                "document.querySelector(\"#top-wikis li[data-wiki='{wiki}'] button\").click()"
            ),
            json!([]),
        )
        .await?;
    // The chart and the headline now count that wiki only.
    filtered_to(&browser, &wiki, &truth, "filtered").await?;
    let peak = format!("return document.getElementById('peak-value')?.textContent === '{busiest}'");
    browser
        .wait_for("the headline's peak", &peak, Duration::from_secs(10))
        .await?;

    // A click on the busiest second lists exactly its edits.
    let x = browser.eval(CLICK_SECOND, json!([second])).await?;
    eprintln!("clicked the chart at x = {x}");
    let ids = truth.ids.get(&second).cloned().unwrap_or_default();
    if let Err(e) = edits_equal(&browser, &ids, busiest).await {
        // What the panel said instead is the first thing to look at.
        screenshot(&browser, "dashboard-explore-failed.png").await?;
        return Err(e);
    }
    // The chart and the edits under it, in the picture.
    browser
        .eval(
            "document.getElementById('edits-panel').scrollIntoView({block: 'center'})",
            json!([]),
        )
        .await?;
    screenshot(&browser, "dashboard-filtered-edits.png").await?;

    // The address holds the view; loading it shows the same view.
    let href = browser.eval("return location.href", json!([])).await?;
    let href = href.as_str().unwrap_or_default().to_owned();
    eprintln!("address: {href}");
    assert!(
        href.contains(&format!("wiki={wiki}")) && href.contains("range=5"),
        "{href}"
    );
    assert!(href.contains(&format!("at={}", second / 1_000)), "{href}");
    browser.goto(&href).await?;
    browser
        .wait_for("the link to the relay", LIVE, Duration::from_secs(30))
        .await?;
    filtered_to(&browser, &wiki, &truth, "reloaded").await?;
    edits_equal(&browser, &ids, busiest).await?;
    let pressed = browser
        .eval("return document.querySelector(\"button[data-range='5']\").getAttribute('aria-pressed')", json!([]))
        .await?;
    assert_eq!(pressed, "true");
    screenshot(&browser, "dashboard-explore-reloaded.png").await?;
    Ok(())
}
