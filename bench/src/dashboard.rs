//! Metric 6: the dashboard's wasm size (dist/*.wasm, raw and gzipped, from the `trunk build
//! --release` scripts/bench.sh runs first), the first load's bytes on the wire (the relay
//! serving that build to headless Chromium, measured by the browser's Resource Timing) and the
//! chart redraw time, from the output of `app/tests/redraw_bench.rs` in headless Chromium,
//! which scripts/bench.sh also runs.

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::{Context, bail};
use support::names::TempDir;
use support::page_load::PageLoad;
use support::relay_process::{RelayProcess, RelaySpec};
use support::webdriver::Browser;

use crate::Ctx;
use crate::report::{Metric, Target};

const FIRST_LOAD: &str = "dashboard_first_load_transfer_bytes";

/// True once the page has fetched its wasm and is showing live data.
const LOADED: &str = "return performance.getEntriesByType('resource').some(e => e.name.endsWith('_bg.wasm')) \
    && document.querySelector('#connection-badge')?.dataset.state === 'live'";

pub async fn run(ctx: &Ctx, out: &mut Vec<Metric>) -> anyhow::Result<()> {
    // A first load that cannot be measured fails the part, after the other figures are taken.
    let mut failed = None;
    let dist = ctx.root.join("dist");
    let wasm: Vec<_> = std::fs::read_dir(&dist)
        .map(|d| {
            d.filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "wasm"))
                .collect()
        })
        .unwrap_or_default();
    if wasm.is_empty() {
        let why = format!("no {}/*.wasm (run `trunk build --release`)", dist.display());
        out.push(Metric::missing("dashboard_wasm_bytes", "bytes", &why));
        out.push(Metric::missing("dashboard_wasm_gzip_bytes", "bytes", &why));
        out.push(Metric::missing(FIRST_LOAD, "bytes", &why));
    } else {
        let (mut raw, mut gz) = (0u64, 0u64);
        let mut names = Vec::new();
        for p in &wasm {
            let bytes = std::fs::read(p)?;
            raw += bytes.len() as u64;
            gz += gzip_len(&bytes)?;
            names.push(
                p.file_name()
                    .unwrap_or_default()
                    .to_string_lossy()
                    .to_string(),
            );
        }
        let note = names.join(", ");
        out.push(Metric::new("dashboard_wasm_bytes", raw as f64, "bytes").note(note.clone()));
        out.push(
            Metric::new("dashboard_wasm_gzip_bytes", gz as f64, "bytes")
                .target(Target::AtMost(400_000.0))
                .note(format!(
                    "gzip -9 of {note}; budget 400 KB from BENCHMARKS.md"
                )),
        );
        match first_load(ctx, &dist).await {
            Ok(m) => out.extend(m),
            Err(e) => {
                out.push(Metric::missing(FIRST_LOAD, "bytes", &format!("{e:#}")));
                failed = Some(e.context("first load in headless Chromium"));
            }
        }
    }
    let name = "dashboard_chart_redraw_3600_worst_median_ms";
    let Some(path) = &ctx.redraw_log else {
        out.push(Metric::missing(
            name,
            "ms",
            "no --redraw-log: scripts/bench.sh runs app/tests/redraw_bench.rs and passes it",
        ));
        return failed.map_or(Ok(()), Err);
    };
    let log = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the redraw log {}", path.display()))?;
    for (name, what) in [
        (name, "3600 points"),
        ("dashboard_chart_redraw_24h_worst_median_ms", "1440 buckets"),
    ] {
        let Some(r) = redraw_ms(&log, what) else {
            bail!("no {what} redraw line in {}", path.display());
        };
        out.push(
            Metric::new(name, r.worst, "ms")
                .target(Target::AtMost(8.0))
                .note(format!(
                    "app/tests/redraw_bench.rs in headless Chromium, measured in this run: worst \
                     median of {} {what} cases ({})",
                    r.cases, r.case
                )),
        );
    }
    failed.map_or(Ok(()), Err)
}

/// The 24-hour view, drawn whole: buckets of 60 s, loaded, at least 1,400 of them.
const DAY_DRAWN: &str = "const c = document.getElementById('chart'); \
    return c?.dataset.step === '60' && document.getElementById('history-status')?.textContent === '' \
      && Number(c.dataset.points) >= 1400";

/// The relay (embedded bus, no upstream, a day of history on disk) serving `dist` to a fresh
/// headless Chromium: the bytes on the wire of the page and every file it loads, up to showing
/// live data; then how long the 24-hour view takes to appear once asked for.
async fn first_load(ctx: &Ctx, dist: &std::path::Path) -> anyhow::Result<Vec<Metric>> {
    let name = FIRST_LOAD;
    if !dist.join("index.html").is_file() {
        let why = format!("no {}/index.html", dist.display());
        return Ok(vec![Metric::missing(name, "bytes", &why)]);
    }
    let state = TempDir::new("editpulse-bench-dashboard")?;
    let now_s = relay::clock::now().0 / 1_000;
    crate::history::written(state.path(), now_s - 86_400 + 60, now_s - 1)?;
    let mut relay = RelayProcess::start(RelaySpec {
        name: "dashboard".into(),
        bin: ctx.relay_bin.clone(),
        logs: ctx.logs.clone(),
        log_prefix: "bench-relay".into(),
        args: [
            "--no-upstream",
            "--static-dir",
            &dist.display().to_string(),
            "--state-dir",
            &state.path().display().to_string(),
        ]
        .map(String::from)
        .to_vec(),
        envs: vec![("RUST_LOG".into(), "relay=info,warn".into())],
    })?;
    relay.wait_healthy().await?;
    let browser = Browser::start(1280, 900).await?;
    browser.goto(&relay.base_url()).await?;
    browser
        .wait_for("the dashboard to load", LOADED, Duration::from_secs(30))
        .await?;
    let load = PageLoad::read(&browser).await?;
    let asked = std::time::Instant::now();
    browser
        .eval(
            "document.querySelector(\"button[data-range='1440']\").click()",
            serde_json::json!([]),
        )
        .await?;
    browser
        .wait_for("the 24-hour view", DAY_DRAWN, Duration::from_secs(30))
        .await?;
    let day_ms = asked.elapsed().as_secs_f64() * 1e3;
    browser.quit().await;
    eprintln!("[bench] first load:\n{}", load.describe());
    let wasm = load
        .find("_bg.wasm")
        .context("no wasm among the loaded resources")?;
    let day = Metric::new("dashboard_24h_view_ms", day_ms, "ms")
        .target(Target::AtMost(1_000.0))
        .note(
            "a day of history on the relay: the 24 h button clicked to 1,400+ buckets drawn \
             (WebDriver round trips included)",
        );
    let first = Metric::new(name, load.dashboard_transfer_bytes() as f64, "bytes")
        .target(Target::AtMost(300_000.0))
        .note(format!(
            "Resource Timing transferSize of the page and the files it loads (API requests left \
             out) in headless Chromium, fresh profile; {} bytes decoded; the wasm {} on the wire \
             of {} decoded; budget 300 KB from BENCHMARKS.md",
            load.dashboard_decoded_bytes(),
            wasm.transfer_size,
            wasm.decoded_body_size
        ));
    Ok(vec![first, day])
}

fn gzip_len(bytes: &[u8]) -> anyhow::Result<u64> {
    let mut child = Command::new("gzip")
        .args(["-9", "-c"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .context("cannot run gzip")?;
    let mut stdin = child.stdin.take().context("gzip stdin")?;
    let data = bytes.to_vec();
    let writer = std::thread::spawn(move || stdin.write_all(&data));
    let output = child.wait_with_output()?;
    writer
        .join()
        .map_err(|_| anyhow::anyhow!("gzip writer panicked"))??;
    if !output.status.success() {
        bail!("gzip exited {}", output.status);
    }
    Ok(output.stdout.len() as u64)
}

#[derive(Debug, PartialEq)]
pub struct Redraw {
    pub worst: f64,
    pub cases: usize,
    pub case: String,
}

/// The largest median over the benchmark's lines of `what` ("3600 points", "1440 buckets"),
/// which read `redraw 3600 points, <canvas and mode>: median 4.90 ms, p95 5.30 ms (60 runs)`.
pub fn redraw_ms(log: &str, what: &str) -> Option<Redraw> {
    let prefix = format!("redraw {what}, ");
    let mut worst: Option<Redraw> = None;
    let mut cases = 0;
    for line in log.lines() {
        let Some(rest) = line.split(prefix.as_str()).nth(1) else {
            continue;
        };
        let Some((case, figures)) = rest.split_once(": median ") else {
            continue;
        };
        let Some(median) = figures
            .split_once(" ms")
            .and_then(|(v, _)| v.trim().parse::<f64>().ok())
        else {
            continue;
        };
        cases += 1;
        if worst.as_ref().is_none_or(|w| median > w.worst) {
            worst = Some(Redraw {
                worst: median,
                cases: 0,
                case: case.to_string(),
            });
        }
    }
    worst.map(|w| Redraw { cases, ..w })
}

#[cfg(test)]
mod tests {
    use super::redraw_ms;

    #[test]
    fn finds_the_worst_full_hour_median() {
        let log = "running 1 test\n\
            redraw 3600 points, 1200x400 CSS px at dpr 1, total: median 1.50 ms, p95 3.10 ms (60 runs)\n\
            redraw 3600 points, 3840x700 CSS px at dpr 1, total: median 4.90 ms, p95 5.30 ms (60 runs)\n\
            redraw 900 points, 3840x700 CSS px at dpr 1, total: median 7.00 ms, p95 7.60 ms (60 runs)\n\
            redraw 3600 points, 1200x400 CSS px at dpr 2, total: median garbage\n\
            test redraw_3600_points ... ok\n";
        let r = redraw_ms(log, "3600 points").unwrap();
        assert_eq!(r.worst, 4.9);
        assert_eq!(r.cases, 2);
        assert_eq!(r.case, "3840x700 CSS px at dpr 1, total");
        assert_eq!(
            redraw_ms("test redraw_3600_points ... ok\n", "3600 points"),
            None
        );
        assert_eq!(redraw_ms(log, "1440 buckets"), None);
    }
}
