//! The long ranges against a real relay: the 24-hour range fetches its old part, draws
//! buckets, and names the busiest single second the relay counted; a drag zooms in and
//! "Reset zoom" goes back. (A relay that holds a whole day is not set up here: this relay holds
//! only the minutes since it started, so the day's old part comes back empty.)

use std::time::Duration;

use serde_json::{Value, json};
use support::paths::data_file;
use support::relay_process::RelayProcess;
use support::webdriver::Browser;

use super::LIVE;
use super::truth::{screenshot, serve};

/// The chart's state once a view has finished loading, else null.
const LOADED: &str = r#"
const c = document.getElementById('chart');
const status = document.getElementById('history-status')?.textContent ?? 'missing';
if (!c || status !== '' || c.dataset.step !== arguments[0] || !(Number(c.dataset.points) > 0)) return null;
const t = id => document.getElementById(id)?.textContent ?? '';
return {step: c.dataset.step, points: Number(c.dataset.points), peak: t('peak-value'),
        peakAt: t('peak-note'), label: t('peak-label'), caption: t('chart-summary')};
"#;

/// A drag across the chart from `arguments[0]` to `arguments[1]` of its width.
const DRAG: &str = r#"
const c = document.getElementById('chart');
const r = c.getBoundingClientRect();
const at = (kind, share) => c.dispatchEvent(new PointerEvent(kind, {bubbles: true, button: 0,
  pointerId: 1, clientX: r.left + share * r.width, clientY: r.top + r.height / 2}));
at('pointerdown', arguments[0]); at('pointermove', arguments[1]); at('pointerup', arguments[1]);
"#;

/// The busiest final second the relay holds that its live source delivered whole.
async fn relay_peak(relay: &RelayProcess) -> u64 {
    let seconds: Value = reqwest::get(relay.url("/v1/counts"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    seconds
        .as_array()
        .unwrap()
        .iter()
        .filter(|w| w["final"] == true && w["source_down"] != true)
        .map(|w| w["count"].as_u64().unwrap())
        .max()
        .unwrap_or(0)
}

/// Waits for the chart to show buckets of `step` seconds, loaded.
async fn loaded(browser: &Browser, step: &str) -> support::Result<Value> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let v = browser.eval(LOADED, json!([step])).await?;
        if !v.is_null() {
            return Ok(v);
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(support::Error::msg(format!(
                "timed out waiting for buckets of {step} s"
            )));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn a_day_loads_as_buckets_names_its_busiest_second_and_zooms() -> support::Result<()> {
    let file = data_file("recentchange-2024-02-06-all-wikis.jsonl")
        .display()
        .to_string();
    let relay = serve("history", &["--replay", &file, "--replay-loop"]).await?;
    let browser = Browser::start(1280, 900).await?;
    browser.goto(&relay.base_url()).await?;
    browser
        .wait_for("the link to the relay", LIVE, Duration::from_secs(30))
        .await?;
    browser
        .wait_for(
            "a 1-minute average",
            "return /[0-9]/.test(document.getElementById('avg-value')?.textContent ?? '')",
            Duration::from_secs(30),
        )
        .await?;

    browser
        .eval(
            "document.querySelector(\"button[data-range='1440']\").click()",
            json!([]),
        )
        .await?;
    let day = loaded(&browser, "60").await?;
    eprintln!("24 h: {day}");
    assert!(
        day["label"].as_str().unwrap().contains("last 24 hours"),
        "{day}"
    );
    assert!(
        day["caption"]
            .as_str()
            .unwrap()
            .contains("in 60-second buckets"),
        "{day}"
    );
    // The peak is the relay's busiest second, exactly, once there is one; new seconds may land
    // between the two reads, so a few reads are allowed to agree.
    let mut agreed = false;
    for _ in 0..40 {
        let shown = loaded(&browser, "60").await?;
        let truth = relay_peak(&relay).await;
        if truth > 0 && shown["peak"].as_str() == Some(truth.to_string().as_str()) {
            // "at 14:02:05", or "between …" if its bucket began before the page's hour.
            let at = shown["peakAt"].as_str().unwrap();
            assert!(
                at.starts_with("at ") || at.starts_with("between "),
                "{shown}"
            );
            agreed = true;
            break;
        }
        eprintln!("peak {} vs the relay's {truth}", shown["peak"]);
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert!(agreed, "the 24-hour peak is the relay's busiest second");
    screenshot(&browser, "dashboard-24h.png").await?;

    // The last fifth of the day holds everything this relay has: a drag over it zooms in.
    browser.eval(DRAG, json!([0.8, 0.999])).await?;
    let zoomed = browser
        .wait_for(
            "a zoom",
            "const c = document.getElementById('chart'); \
             return document.getElementById('reset-zoom') && c.dataset.step !== '60' \
               ? c.dataset.step : null",
            Duration::from_secs(30),
        )
        .await?;
    eprintln!("zoomed: {zoomed} s buckets");
    assert_eq!(zoomed, "15", "about five hours, in 15-second buckets");
    browser
        .eval("document.getElementById('reset-zoom').click()", json!([]))
        .await?;
    loaded(&browser, "60").await?;
    let reset = browser
        .eval(
            "return document.getElementById('reset-zoom') === null",
            json!([]),
        )
        .await?;
    assert_eq!(reset, true);
    Ok(())
}
