//! The dashboard end to end: the relay (embedded bus, replaying a real recording) serving the
//! release build to Debian's Chromium. The first load comes compressed and with the caching
//! each file's name allows; the page connects, draws its chart, shows the relay's exact
//! numbers, and recovers on its own when the relay restarts. [`truth`] checks that its words
//! and figures say what the relay behind it is doing.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{Value, json};
use support::page_load::{PageLoad, response_headers};
use support::paths::{artifacts_dir, data_file, dist_dir};
use support::relay_process::RelayProcess;
use support::webdriver::Browser;

#[path = "dashboard/coverage.rs"]
mod coverage;
#[path = "dashboard/explore.rs"]
mod explore;
#[path = "dashboard/history.rs"]
mod history;
#[path = "dashboard/truth.rs"]
mod truth;

/// The link to the relay is delivering (the badge's `data-state`; its text names the source).
const LIVE: &str = "return document.querySelector('#connection-badge')?.dataset.state === 'live'";

/// Painted pixels of the chart canvas, and how many distinct colours they use.
const CANVAS_INK: &str = r#"
const c = document.getElementById('chart');
if (!c || c.width === 0) return null;
const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
let painted = 0; const colours = new Set();
for (let i = 0; i < d.length; i += 4) {
  if (d[i + 3] > 0) { painted++; if (colours.size < 64) colours.add(d[i] << 16 | d[i + 1] << 8 | d[i + 2]); }
}
return {painted, colours: colours.size, width: c.width, height: c.height,
        cssWidth: c.getBoundingClientRect().width, dpr: window.devicePixelRatio};
"#;

/// The final seconds the page lists in its hidden table.
const SHOWN: &str = r#"
return [...document.querySelectorAll('#recent-values tr[data-start]')]
  .filter(r => r.dataset.final === 'true')
  .map(r => [r.dataset.start, Number(r.dataset.count)]);
"#;

async fn relay_counts(relay: &RelayProcess) -> BTreeMap<String, u64> {
    let body: Value = reqwest::get(relay.url("/v1/counts"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    body.as_array()
        .unwrap()
        .iter()
        .filter(|w| w["final"] == true)
        .map(|w| {
            (
                w["start"].as_str().unwrap().to_string(),
                w["count"].as_u64().unwrap(),
            )
        })
        .collect()
}

/// Every final second the page shows equals the relay's value for it. A late revision may
/// land between the two reads, so a mismatch is re-read a few times before it counts. After a
/// restart of the embedded relay (which keeps no history) only the seconds it knows are compared.
async fn assert_page_matches_relay(
    browser: &Browser,
    relay: &RelayProcess,
    only_known: bool,
) -> support::Result<usize> {
    let mut last = String::new();
    for _ in 0..10 {
        let shown = browser.eval(SHOWN, json!([])).await?;
        let shown: Vec<(String, u64)> = serde_json::from_value(shown).unwrap();
        let truth = relay_counts(relay).await;
        let shown: Vec<(String, u64)> = shown
            .into_iter()
            .filter(|(s, _)| !only_known || truth.contains_key(s))
            .collect();
        let wrong: Vec<_> = shown
            .iter()
            .filter(|(s, n)| truth.get(s) != Some(n))
            .collect();
        if shown.len() >= 5 && wrong.is_empty() {
            return Ok(shown.len());
        }
        last = format!("shown {shown:?}\nwrong {wrong:?}");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    panic!("the page's numbers differ from /v1/counts:\n{last}");
}

/// Every second the page shows as "so far" is one the relay is still counting: none is left
/// over from the connection before a restart, which the new relay will never finalise.
async fn assert_no_stale_provisional(
    browser: &Browser,
    relay: &RelayProcess,
) -> support::Result<()> {
    const PROVISIONAL: &str = r#"
return [...document.querySelectorAll('#recent-values tr[data-start]')]
  .filter(r => r.dataset.final === 'false')
  .map(r => r.dataset.start);
"#;
    // The page may be a moment behind the relay: a mismatch is re-read a few times.
    let mut last = String::new();
    for _ in 0..10 {
        let shown: Vec<String> =
            serde_json::from_value(browser.eval(PROVISIONAL, json!([])).await?)?;
        let newest_final = relay_counts(relay).await.into_keys().max();
        // RFC 3339 UTC with milliseconds: string order is time order.
        let stale: Vec<&String> = shown
            .iter()
            .filter(|s| newest_final.as_ref().is_some_and(|f| *s <= f))
            .collect();
        if stale.is_empty() && shown.len() <= 4 {
            return Ok(());
        }
        last = format!("{stale:?} of {shown:?} (newest final {newest_final:?})");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    panic!("seconds shown as still counting that the relay has final or never had: {last}");
}

/// The first load, as Chromium measured it: the wasm came compressed (its bytes on the wire
/// well below its decoded size), and the headers the page gets say how each file may be
/// cached: index.html revalidated every time, the content-hashed files kept for good.
async fn assert_first_load_compressed_and_cached(browser: &Browser) -> support::Result<()> {
    let load = PageLoad::read(browser).await?;
    eprintln!(
        "first load: {} bytes on the wire for the dashboard's files, {} decoded\n{}",
        load.dashboard_transfer_bytes(),
        load.dashboard_decoded_bytes(),
        load.describe()
    );
    let nav = load
        .entries
        .iter()
        .find(|t| t.kind == "navigation")
        .expect("a navigation entry");
    assert!(
        nav.transfer_size > 0,
        "the page came from the network: {nav:?}"
    );
    let wasm = load.find("_bg.wasm").expect("the wasm was loaded");
    assert!(
        wasm.transfer_size > 0 && wasm.decoded_body_size > 100_000,
        "the wasm came from the network: {wasm:?}"
    );
    assert!(
        wasm.transfer_size * 2 < wasm.decoded_body_size,
        "the wasm came compressed (less than half its size on the wire): {wasm:?}"
    );

    let index = response_headers(browser, "/").await?;
    eprintln!("GET / as the page sees it: {index}");
    assert_eq!(index["headers"]["cache-control"], "no-cache", "{index}");
    for (name, file) in [("wasm", wasm.path()), ("JS", js_path(&load))] {
        let got = response_headers(browser, file).await?;
        eprintln!("GET {file} as the page sees it: {got}");
        let headers = &got["headers"];
        assert_eq!(got["status"], 200, "{name}: {got}");
        assert_eq!(
            headers["cache-control"], "public, max-age=31536000, immutable",
            "{name}: {got}"
        );
        assert!(
            matches!(headers["content-encoding"].as_str(), Some("br" | "gzip")),
            "{name} compressed: {got}"
        );
        assert!(
            headers["vary"]
                .as_str()
                .is_some_and(|v| v.to_ascii_lowercase().contains("accept-encoding")),
            "{name}: {got}"
        );
    }
    Ok(())
}

/// The app's JS module (`app-<hash>.js`, which boot.js imports).
fn js_path(load: &PageLoad) -> &str {
    load.entries
        .iter()
        .map(|t| t.path())
        .find(|p| p.starts_with("/app-") && p.ends_with(".js"))
        .expect("the app's JS module was loaded")
}

#[tokio::test]
async fn dashboard_goes_live_draws_exact_numbers_and_recovers() -> support::Result<()> {
    let dist = dist_dir()?;
    let file = data_file("recentchange-2024-02-06-all-wikis.jsonl")
        .display()
        .to_string();
    let dist_arg = dist.display().to_string();
    let mut relay = RelayProcess::spawn(
        "dashboard",
        &[
            "--replay",
            &file,
            "--replay-loop",
            "--static-dir",
            &dist_arg,
        ],
        &[],
    )?;
    relay.wait_healthy().await?;

    let browser = Browser::start(1280, 900).await?;
    browser.goto(&relay.base_url()).await?;
    browser
        .wait_for(
            "the link to the relay to deliver",
            LIVE,
            Duration::from_secs(20),
        )
        .await?;
    assert_first_load_compressed_and_cached(&browser).await?;

    // The chart is drawn: a HiDPI backing store with real ink in several colours.
    let ink = browser
        .wait_for(
            "the chart to be drawn",
            &format!("const r = (() => {{ {CANVAS_INK} }})(); return r && r.painted > 2000 && r.colours > 3 ? r : null;"),
            Duration::from_secs(20),
        )
        .await?;
    eprintln!("canvas: {ink}");
    assert_eq!(ink["dpr"], 2);
    assert!(
        ink["width"].as_f64().unwrap() >= ink["cssWidth"].as_f64().unwrap() * 1.9,
        "backing store follows devicePixelRatio: {ink}"
    );

    // Wait for the whole recording to be counted, then compare every second shown.
    tokio::time::sleep(Duration::from_secs(12)).await;
    let compared = assert_page_matches_relay(&browser, &relay, false).await?;
    assert!(compared >= 10, "only {compared} seconds were on the page");
    let headline = browser
        .eval("return ['now-value','avg-value','peak-value'].map(id => document.getElementById(id)?.textContent)", json!([]))
        .await?;
    eprintln!("headline: {headline}");
    let peak: f64 = headline[2]
        .as_str()
        .unwrap()
        .trim()
        .parse()
        .expect("peak is a number");
    let truth = relay_counts(&relay).await;
    assert!(
        truth.values().any(|&n| n as f64 == peak),
        "peak {peak} is one of the relay's seconds"
    );

    let png = browser.screenshot_png().await?;
    assert!(png.starts_with(b"\x89PNG"), "a PNG screenshot");
    let shot = artifacts_dir()?.join("dashboard.png");
    std::fs::write(&shot, &png).unwrap();
    eprintln!("screenshot: {} ({} bytes)", shot.display(), png.len());

    // The relay goes away and comes back on the same port: the page notices and recovers.
    relay.kill();
    browser
        .wait_for(
            "the link to the relay to drop",
            "return document.querySelector('#connection-badge')?.dataset.state !== 'live'",
            Duration::from_secs(15),
        )
        .await?;
    relay.restart()?;
    relay.wait_healthy().await?;
    browser
        .wait_for(
            "the link to the relay to deliver again",
            LIVE,
            Duration::from_secs(40),
        )
        .await?;
    tokio::time::sleep(Duration::from_secs(6)).await;
    assert_page_matches_relay(&browser, &relay, true).await?;
    assert_no_stale_provisional(&browser, &relay).await?;
    std::fs::write(
        artifacts_dir()?.join("dashboard-after-restart.png"),
        browser.screenshot_png().await?,
    )
    .unwrap();
    Ok(())
}
