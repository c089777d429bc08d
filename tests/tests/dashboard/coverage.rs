//! A 0 on the page means the relay watched that second and heard nothing: no second from
//! before the relay started is shown as one, and seconds while its live source was down are
//! marked as such in the API, shaded on the chart and named in the legend.

use std::time::Duration;

use serde_json::{Value, json};
use support::paths::dist_dir;
use support::ports::free_port;
use support::recording::{now_ms, rfc3339};
use support::relay_process::RelayProcess;
use support::webdriver::Browser;

use super::truth::{screenshot, serve};

/// The final seconds the relay serves: `(start, count, source_down)`.
async fn finals(relay: &RelayProcess) -> support::Result<Vec<(String, u64, bool)>> {
    let body: Value = reqwest::get(relay.url("/v1/counts")).await?.json().await?;
    Ok(body
        .as_array()
        .unwrap()
        .iter()
        .filter(|w| w["final"] == true)
        .map(|w| {
            (
                w["start"].as_str().unwrap().to_owned(),
                w["count"].as_u64().unwrap(),
                w["source_down"] == true,
            )
        })
        .collect())
}

async fn until_finals(relay: &RelayProcess, n: usize) -> support::Result<Vec<(String, u64, bool)>> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        // The relay may not be listening yet.
        let f = finals(relay).await;
        match f {
            Ok(f) if f.len() >= n => return Ok(f),
            f if tokio::time::Instant::now() > deadline => return f,
            _ => {}
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

#[tokio::test]
async fn no_second_before_the_start_is_a_zero() -> support::Result<()> {
    // Every second the relay covers whole starts at or after this.
    let first_whole = rfc3339((now_ms() / 1_000 + 1) * 1_000);
    let relay = serve("coverage-start", &["--no-upstream"]).await?;
    let browser = Browser::start(1280, 900).await?;
    browser.goto(&relay.base_url()).await?;
    let shown = browser
        .wait_for(
            "three final seconds on the page",
            "const r = [...document.querySelectorAll('#recent-values tr[data-start]')]
               .filter(r => r.dataset.final === 'true').map(r => r.dataset.start);
             return r.length >= 3 ? r : null;",
            Duration::from_secs(30),
        )
        .await?;
    let served = until_finals(&relay, 3).await?;
    eprintln!("first whole second {first_whole}; served {served:?}; shown {shown}");
    assert!(
        served.iter().all(|(s, _, _)| *s >= first_whole),
        "seconds from before the relay started served as counted: {served:?}"
    );
    let shown: Vec<String> = serde_json::from_value(shown)?;
    assert!(shown.iter().all(|s| *s >= first_whole), "{shown:?}");
    // Nothing was posted: the seconds it watched are honest zeros, with nothing down.
    assert!(
        served.iter().all(|(_, n, down)| *n == 0 && !down),
        "{served:?}"
    );
    Ok(())
}

#[tokio::test]
async fn seconds_while_the_upstream_is_unreachable_are_marked_not_zero() -> support::Result<()> {
    // Nothing listens there: the relay's live source never connects.
    let upstream = format!("http://127.0.0.1:{}/v2/stream/recentchange", free_port()?);
    let dist = dist_dir()?.display().to_string();
    let relay = RelayProcess::spawn(
        "coverage-down",
        &[
            "--upstream",
            &upstream,
            "--no-fallback",
            "--static-dir",
            &dist,
        ],
        &[],
    )?;
    let served = until_finals(&relay, 3).await?;
    assert!(served.len() >= 3, "{served:?}\n{}", relay.log_tail(20));
    assert!(
        served.iter().all(|(_, _, down)| *down),
        "seconds while the source was down served as plain counts: {served:?}"
    );

    let browser = Browser::start(1280, 900).await?;
    browser.goto(&relay.base_url()).await?;
    let page = browser
        .wait_for(
            "the page to mark the seconds",
            "const rows = [...document.querySelectorAll('#recent-values tr[data-start]')]
               .filter(r => r.dataset.final === 'true');
             const legend = document.querySelector('.legend')?.textContent ?? '';
             return rows.length >= 3 && legend.includes('source down')
               ? {marked: rows.every(r => r.dataset.sourceDown === 'true'), legend,
                  avg: document.getElementById('avg-value')?.textContent}
               : null;",
            Duration::from_secs(30),
        )
        .await?;
    eprintln!("page: {page}");
    assert_eq!(page["marked"], json!(true), "{page}");
    // No figure is made of seconds nobody could count.
    assert_eq!(page["avg"], json!("–"), "{page}");
    screenshot(&browser, "dashboard-source-down.png").await?;
    Ok(())
}
