//! The dashboard's words and numbers against the relay behind it: the badge and tagline name
//! the source, the headline and the chart's caption share one definition of each figure, the
//! first paint is a frame that says it is loading, the range buttons' accessible names contain
//! their text, and nothing hidden stretches the page.

use std::time::Duration;

use serde_json::{Value, json};
use support::paths::{artifacts_dir, data_file, dist_dir};
use support::ports::free_port;
use support::relay_process::RelayProcess;
use support::webdriver::Browser;

use super::LIVE;

const RECORDING: &str = "recentchange-2024-02-06-all-wikis.jsonl";

/// The badge's state, tone and text, and the tagline.
const BADGE: &str = r#"
const b = document.getElementById('connection-badge');
if (!b) return null;
return {state: b.dataset.state, tone: b.dataset.tone, text: b.textContent.trim(),
        tagline: document.getElementById('tagline')?.textContent ?? ''};
"#;

/// A relay with `args` serving the dashboard build, once healthy.
pub(super) async fn serve(name: &str, args: &[&str]) -> support::Result<RelayProcess> {
    let dist = dist_dir()?.display().to_string();
    let mut all = args.to_vec();
    all.extend(["--static-dir", &dist]);
    let mut relay = RelayProcess::spawn(name, &all, &[])?;
    relay.wait_healthy().await?;
    Ok(relay)
}

/// A 1280×900 headless Chromium on `relay`'s dashboard, once it is live.
pub(super) async fn live_page(relay: &RelayProcess) -> support::Result<Browser> {
    let browser = Browser::start(1280, 900).await?;
    browser.goto(&relay.base_url()).await?;
    browser
        .wait_for("the link to the relay", LIVE, Duration::from_secs(30))
        .await?;
    Ok(browser)
}

/// Clicks the range button of `minutes`.
pub(super) async fn pick_range(browser: &Browser, minutes: u32) -> support::Result<()> {
    let script = format!("document.querySelector(\"button[data-range='{minutes}']\").click()");
    browser.eval(&script, json!([])).await?;
    Ok(())
}

fn recording() -> String {
    data_file(RECORDING).display().to_string()
}

pub(super) async fn screenshot(browser: &Browser, name: &str) -> support::Result<()> {
    let png = browser.screenshot_png().await?;
    assert!(png.starts_with(b"\x89PNG"), "a PNG screenshot");
    let path = artifacts_dir()?.join(name);
    std::fs::write(&path, &png)?;
    eprintln!("screenshot: {}", path.display());
    Ok(())
}

/// Waits until the badge's text passes the JavaScript test `test` (on `r.text`, `r.tone`…).
async fn badge_when(browser: &Browser, what: &str, test: &str) -> support::Result<Value> {
    let script = format!("const r = (() => {{ {BADGE} }})(); return r && ({test}) ? r : null;");
    browser
        .wait_for(what, &script, Duration::from_secs(60))
        .await
}

fn text(v: &Value, key: &str) -> String {
    v[key].as_str().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn badge_and_tagline_name_the_source() -> support::Result<()> {
    let browser = Browser::start(1280, 900).await?;

    // A replayed recording: named as a replay, never "live", never green.
    let file = recording();
    let relay = serve("source-replay", &["--replay", &file, "--replay-loop"]).await?;
    browser.goto(&relay.base_url()).await?;
    let r = badge_when(
        &browser,
        "a replay badge",
        "r.text.startsWith('Replay of ')",
    )
    .await?;
    eprintln!("replay: {r}");
    assert_eq!(text(&r, "tone"), "replay");
    assert!(!text(&r, "text").to_lowercase().contains("live"), "{r}");
    assert!(text(&r, "tagline").ends_with("not live"), "{r}");
    screenshot(&browser, "dashboard-source-replay.png").await?;
    drop(relay);

    // The upstream cannot be reached: the relay falls back to its bundled recording, and the
    // page says so in words, with the cause stated once.
    let closed = free_port()?;
    let upstream = format!("http://127.0.0.1:{closed}/v2/stream/recentchange");
    let relay = serve("source-fallback", &["--upstream", &upstream]).await?;
    browser.goto(&relay.base_url()).await?;
    let r = badge_when(
        &browser,
        "a fallback badge",
        "r.text === 'Fallback replay: the Wikimedia stream is unreachable'",
    )
    .await?;
    eprintln!("fallback: {r}");
    assert_eq!(text(&r, "tone"), "warning");
    assert!(
        text(&r, "tagline").contains("because the live Wikimedia stream is unreachable"),
        "{r}"
    );
    let health = relay.health(&reqwest::Client::new()).await?;
    assert_eq!(health["source"]["kind"], "fallback-replay");
    let error = health["source"]["last_error"].as_str().unwrap_or_default();
    assert!(!error.is_empty(), "the relay names the cause: {health}");
    let page = browser
        .wait_for(
            "the health panel",
            "return document.querySelector('tr[data-stage=source]') ? document.body.innerText : null",
            Duration::from_secs(20),
        )
        .await?;
    let page = page.as_str().unwrap_or_default();
    assert!(
        !page.contains("fallback-replay"),
        "a machine name on screen:\n{page}"
    );
    // The error text may move on between the two reads; its stable head is compared.
    let head: String = error.chars().take(40).collect();
    assert_eq!(page.matches(&head).count(), 1, "said once: {head}\n{page}");
    screenshot(&browser, "dashboard-source-fallback.png").await?;
    drop(relay);

    // Gateway only, nothing posted: the badge says nothing is arriving.
    let relay = serve("source-gateway", &["--no-upstream"]).await?;
    browser.goto(&relay.base_url()).await?;
    let r = badge_when(
        &browser,
        "a gateway badge",
        "r.text.startsWith('Gateway only: nothing received')",
    )
    .await?;
    eprintln!("gateway: {r}");
    assert_eq!(text(&r, "state"), "live", "the link to the relay is up");
    assert_eq!(text(&r, "tone"), "warning");
    assert!(text(&r, "tagline").contains("posted to this relay"), "{r}");
    screenshot(&browser, "dashboard-source-gateway.png").await?;

    // The link itself is still shown: the relay goes away, the badge says so.
    let mut relay = relay;
    relay.kill();
    let r = badge_when(
        &browser,
        "a reconnecting badge",
        "r.text.startsWith('Reconnecting') || r.text.startsWith('Offline')",
    )
    .await?;
    assert_ne!(text(&r, "state"), "live", "{r}");
    Ok(())
}

/// The headline's 1-minute average and peak, and the caption's average and highest second.
const FIGURES: &str = r#"
const t = id => document.getElementById(id)?.textContent ?? '';
const caption = t('chart-summary');
const avg = caption.match(/average ([0-9.]+)/);
const high = caption.match(/highest ([0-9]+) (at [0-9:]+)\./);
return {avg: t('avg-value'), peak: t('peak-value'), peakAt: t('peak-note'), caption,
        captionAvg: avg && avg[1], captionPeak: high && high[1], captionPeakAt: high && high[2]};
"#;

#[tokio::test]
async fn headline_and_caption_agree_on_the_minute_and_the_peak() -> support::Result<()> {
    let file = recording();
    let relay = serve("figures", &["--replay", &file, "--replay-loop"]).await?;
    let browser = live_page(&relay).await?;
    browser
        .wait_for(
            "a 1-minute average",
            "return /[0-9]/.test(document.getElementById('avg-value')?.textContent ?? '')",
            Duration::from_secs(30),
        )
        .await?;
    pick_range(&browser, 1).await?;
    // Several reads across new seconds: every one agrees.
    let mut agreed = 0;
    for _ in 0..6 {
        let f = browser.eval(FIGURES, json!([])).await?;
        eprintln!("figures: {f}");
        assert_eq!(f["avg"], f["captionAvg"], "the 1-minute average: {f}");
        assert_eq!(f["peak"], f["captionPeak"], "the 1-minute peak: {f}");
        assert_eq!(f["peakAt"], f["captionPeakAt"], "the peak's second: {f}");
        agreed += 1;
        tokio::time::sleep(Duration::from_millis(700)).await;
    }
    // The 5-minute range: the peak is the range's, in both places.
    pick_range(&browser, 5).await?;
    let f = browser.eval(FIGURES, json!([])).await?;
    assert_eq!(f["peak"], f["captionPeak"], "{f}");
    assert_eq!(f["peakAt"], f["captionPeakAt"], "{f}");
    assert_eq!(agreed, 6);
    screenshot(&browser, "dashboard-figures.png").await?;

    // Humans vs bots: the headline and the caption split the same minute the same way, and
    // the legend still names the dashed "so far" line the chart keeps drawing.
    browser
        .eval(
            "document.querySelector(\"button[data-range='1']\").click(); \
             document.getElementById('split-toggle').click()",
            json!([]),
        )
        .await?;
    let split = browser
        .wait_for(
            "the split figures",
            r#"const t = id => document.getElementById(id)?.textContent ?? '';
               const h = t('avg-split').match(/humans ([0-9.]+) · bots ([0-9.]+)/);
               const c = t('chart-summary').match(/Humans ([0-9.]+), bots ([0-9.]+) on average/);
               return h && c ? {headline: [h[1], h[2]], caption: [c[1], c[2]],
                                avg: t('avg-value'), legend: t('chart-summary') &&
                                document.querySelector('.legend').textContent} : null;"#,
            Duration::from_secs(10),
        )
        .await?;
    eprintln!("split: {split}");
    assert_eq!(split["headline"], split["caption"], "{split}");
    let part = |i: usize| {
        split["headline"][i]
            .as_str()
            .unwrap()
            .parse::<f64>()
            .unwrap()
    };
    let avg: f64 = split["avg"].as_str().unwrap().parse().unwrap();
    assert!((part(0) + part(1) - avg).abs() <= 0.11, "{split}");
    assert!(
        split["legend"].as_str().unwrap().contains("so far"),
        "{split}"
    );
    screenshot(&browser, "dashboard-split.png").await?;
    Ok(())
}

#[tokio::test]
async fn first_paint_is_a_frame_then_waiting_for_data() -> support::Result<()> {
    let relay = serve("first-paint", &["--no-upstream"]).await?;
    // Without any script the page already has its frame and says it is loading.
    let html = reqwest::get(relay.base_url()).await?.text().await?;
    assert!(html.contains(r#"id="boot""#), "{html}");
    assert!(html.contains("<h1>EditPulse</h1>"), "{html}");
    assert!(html.contains("Loading the dashboard…"), "{html}");

    let browser = Browser::start(1280, 900).await?;
    browser.goto(&relay.base_url()).await?;
    // Mounted (the static frame is gone) and, with no edit counted, waiting for data.
    let shown = browser
        .wait_for(
            "the headline to wait for data",
            "return !document.getElementById('boot') && document.getElementById('headline-status')?.textContent",
            Duration::from_secs(30),
        )
        .await?;
    assert!(
        shown
            .as_str()
            .unwrap_or_default()
            .contains("waiting for data"),
        "{shown}"
    );
    let headline = browser
        .eval(
            "return ['now-value','avg-value','peak-value','peak-note'].map(id => document.getElementById(id).textContent)",
            json!([]),
        )
        .await?;
    assert_eq!(
        headline,
        json!(["–", "–", "–", ""]),
        "no number before data"
    );
    let overall = browser
        .eval(
            "return document.getElementById('health-overall').textContent",
            json!([]),
        )
        .await?;
    assert_ne!(
        overall, "degraded",
        "nothing is wrong with a relay that is only waiting"
    );
    screenshot(&browser, "dashboard-waiting.png").await?;
    Ok(())
}

#[tokio::test]
async fn range_buttons_accessible_names_contain_their_text() -> support::Result<()> {
    let relay = serve("names", &["--no-upstream"]).await?;
    let browser = Browser::start(1280, 900).await?;
    browser.goto(&relay.base_url()).await?;
    browser
        .wait_for(
            "the range buttons",
            "return document.querySelectorAll('button[data-range]').length === 6",
            Duration::from_secs(30),
        )
        .await?;
    let texts = browser
        .eval(
            "return [...document.querySelectorAll('button[data-range]')].map(b => b.textContent.trim())",
            json!([]),
        )
        .await?;
    let elements = browser.find_all("button[data-range]").await?;
    assert_eq!(elements.len(), 6);
    for (element, text) in elements.iter().zip(texts.as_array().unwrap()) {
        let text = text.as_str().unwrap();
        let name = browser.computed_label(element).await?;
        eprintln!("{text:?} is named {name:?}");
        assert!(!text.is_empty());
        assert!(
            name.contains(text),
            "{name:?} does not contain {text:?} (WCAG 2.5.3)"
        );
        assert!(
            name.contains("minute") || name.contains("hour"),
            "{name:?} says what the range is"
        );
    }
    Ok(())
}

/// The document's scroll size against the page's content.
const SIZES: &str = r#"
const d = document.documentElement, page = document.querySelector('.page');
return {scrollHeight: d.scrollHeight, clientHeight: d.clientHeight,
        scrollWidth: d.scrollWidth, clientWidth: d.clientWidth,
        contentBottom: Math.ceil(page.getBoundingClientRect().bottom + window.scrollY),
        rows: document.querySelectorAll('#recent-values tbody tr').length};
"#;

#[tokio::test]
async fn hidden_table_stretches_nothing() -> support::Result<()> {
    let file = recording();
    let relay = serve("layout", &["--replay", &file, "--replay-loop"]).await?;
    for (width, height) in [(1280, 900), (390, 844)] {
        let browser = Browser::start(width, height).await?;
        browser.goto(&relay.base_url()).await?;
        // A hidden table of many rows (a stretching table would add ~30 px per row) and a
        // health report, so the page is at its full size.
        browser
            .wait_for(
                "30 rows and the health panel",
                "return document.querySelectorAll('#recent-values tbody tr').length >= 30 && !!document.querySelector('tr[data-stage]')",
                Duration::from_secs(40),
            )
            .await?;
        let s = browser.eval(SIZES, json!([])).await?;
        eprintln!("{width} px: {s}");
        let n = |k: &str| s[k].as_f64().unwrap();
        assert!(
            n("scrollHeight") <= n("contentBottom").max(n("clientHeight")) + 1.0,
            "{width} px: the document is taller than its content: {s}"
        );
        assert!(
            n("scrollWidth") <= n("clientWidth"),
            "{width} px: a horizontal scrollbar: {s}"
        );
        screenshot(&browser, &format!("dashboard-layout-{width}.png")).await?;
    }
    Ok(())
}
