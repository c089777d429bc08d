//! The long ranges against a real relay: the 24-hour range fetches its old part, draws
//! buckets, and names the busiest single second the relay counted; a drag zooms in and
//! "Reset zoom" goes back. (A relay that holds a whole day is not set up here: this relay holds
//! only the minutes since it started, so the day's old part comes back empty.)

use std::time::Duration;

use serde_json::{Value, json};
use support::paths::data_file;
use support::relay_process::RelayProcess;
use support::webdriver::Browser;

use super::truth::{live_page, pick_range, screenshot, serve};

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
    loaded_where(browser, step, |_| true).await
}

/// Waits for the chart to show buckets of `step` seconds, loaded, in a state `wanted` takes.
async fn loaded_where(
    browser: &Browser,
    step: &str,
    wanted: impl Fn(&Value) -> bool,
) -> support::Result<Value> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let v = browser.eval(LOADED, json!([step])).await?;
        if !v.is_null() && wanted(&v) {
            return Ok(v);
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(support::Error::msg(format!(
                "timed out waiting for buckets of {step} s: {v}"
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
    let browser = live_page(&relay).await?;
    browser
        .wait_for(
            "a 1-minute average",
            "return /[0-9]/.test(document.getElementById('avg-value')?.textContent ?? '')",
            Duration::from_secs(30),
        )
        .await?;

    pick_range(&browser, 1_440).await?;
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

/// Drags across the chart from `arguments[0]` to `arguments[1]` (epoch ms), placed on the plot
/// by the span the chart says it drew.
const DRAG_TIMES: &str = r#"
const c = document.getElementById('chart');
const r = c.getBoundingClientRect();
const [from, to] = [Number(c.dataset.from), Number(c.dataset.to)];
const left = Number(c.dataset.plotLeft), plot = r.width - left - Number(c.dataset.plotRight);
const x = t => r.left + left + (t - from) / (to - from) * plot;
const at = (kind, t) => c.dispatchEvent(new PointerEvent(kind, {bubbles: true, button: 0,
  pointerId: 1, clientX: x(t), clientY: r.top + r.height / 2}));
at('pointerdown', arguments[0]); at('pointermove', arguments[1]); at('pointerup', arguments[1]);
"#;

/// A day of seconds as a relay records them, ending a minute ago: a quiet rhythm, five hours
/// ago a busy minute, and one second in it the day's busiest.
fn a_recorded_day(now_s: i64) -> (Vec<wire::WindowRecord>, i64) {
    let busiest = now_s - 5 * 3_600;
    let day = (now_s - 86_400 + 120..now_s - 60)
        .map(|s| {
            let start = wire::Millis(s * 1_000);
            let mut w = wire::WindowRecord::empty(start, start.plus(1_000), true);
            w.count = match s - busiest {
                0 => 480,
                -30..=30 => 100 + (s % 7) as u64,
                _ => 20 + (s % 11) as u64,
            };
            w.humans = w.count;
            w.by_type.edit = w.count;
            w
        })
        .collect();
    (day, busiest)
}

/// Waits until the chart draws `points` steps of `step` s and the headline's peak reads
/// `peak` (the figures and the drawing follow a new view separately).
async fn showing(
    browser: &Browser,
    step: &str,
    peak: u64,
    points: std::ops::RangeInclusive<u64>,
) -> support::Result<Value> {
    loaded_where(browser, step, |v| {
        v["peak"].as_str() == Some(peak.to_string().as_str())
            && v["points"].as_u64().is_some_and(|n| points.contains(&n))
    })
    .await
}

#[tokio::test]
async fn a_day_on_disk_is_drawn_whole_and_zooms_down_to_its_seconds() -> support::Result<()> {
    let state = support::names::TempDir::new("editpulse-dashboard-day")?;
    let now_s = support::recording::now_ms() / 1_000;
    let (day, busiest) = a_recorded_day(now_s);
    history::History::open_in(state.path())?.write(&day)?;
    let state_arg = state.path().display().to_string();
    let relay = serve("day", &["--no-upstream", "--state-dir", &state_arg]).await?;
    let loading = std::time::Instant::now();
    let browser = live_page(&relay).await?;
    pick_range(&browser, 1_440).await?;
    // 1,440 minutes but the first two and the last, which hold no recorded second.
    let whole = showing(&browser, "60", 480, 1_436..=1_441).await?;
    eprintln!(
        "24 h drawn {:.1} s after the page was asked for: {whole}",
        loading.elapsed().as_secs_f64()
    );
    screenshot(&browser, "dashboard-24h-day.png").await?;

    // Half an hour around the busy minute (placed to the pixel of a day-wide plot, ~70 s),
    // then the minute itself: single seconds, and the
    // busiest one named by its own time.
    let ms = |s: i64| s * 1_000;
    browser
        .eval(DRAG_TIMES, json!([ms(busiest - 900), ms(busiest + 900)]))
        .await?;
    showing(&browser, "2", 480, 850..=920).await?;
    browser
        .eval(DRAG_TIMES, json!([ms(busiest - 30), ms(busiest + 30)]))
        .await?;
    // Single seconds (the drag's ends land within a second of the times asked for).
    let minute = showing(&browser, "1", 480, 59..=63).await?;
    eprintln!("the minute: {minute}");
    assert!(
        minute["peakAt"].as_str().unwrap().starts_with("at "),
        "{minute}"
    );
    screenshot(&browser, "dashboard-24h-zoomed-minute.png").await?;

    // Double-click goes back a step; Reset zoom to the day.
    browser
        .eval(
            "document.getElementById('chart').dispatchEvent(new MouseEvent('dblclick', {bubbles: true}))",
            json!([]),
        )
        .await?;
    showing(&browser, "2", 480, 850..=920).await?;
    browser
        .eval("document.getElementById('reset-zoom').click()", json!([]))
        .await?;
    showing(&browser, "60", 480, 1_436..=1_441).await?;
    Ok(())
}
