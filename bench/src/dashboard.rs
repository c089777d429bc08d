//! Metric 6: the dashboard's wasm size (dist/*.wasm, raw and gzipped, from the `trunk build
//! --release` scripts/bench.sh runs first) and the chart redraw time, from the output of
//! `app/tests/redraw_bench.rs` in headless Chromium, which scripts/bench.sh also runs.

use std::io::Write;
use std::process::{Command, Stdio};

use anyhow::{Context, bail};

use crate::Ctx;
use crate::report::{Metric, Target};

pub fn run(ctx: &Ctx, out: &mut Vec<Metric>) -> anyhow::Result<()> {
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
    }
    let name = "dashboard_chart_redraw_3600_worst_median_ms";
    let Some(path) = &ctx.redraw_log else {
        out.push(Metric::missing(
            name,
            "ms",
            "no --redraw-log: scripts/bench.sh runs app/tests/redraw_bench.rs and passes it",
        ));
        return Ok(());
    };
    let log = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the redraw log {}", path.display()))?;
    let Some(r) = redraw_ms(&log) else {
        bail!("no 3600-point redraw line in {}", path.display());
    };
    out.push(
        Metric::new(name, r.worst, "ms")
            .target(Target::AtMost(8.0))
            .note(format!(
                "app/tests/redraw_bench.rs in headless Chromium, measured in this run: worst \
                 median of {} 3600-point cases ({})",
                r.cases, r.case
            )),
    );
    Ok(())
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

/// The largest median over the benchmark's full-hour lines, which read
/// `redraw 3600 points, <canvas and mode>: median 4.90 ms, p95 5.30 ms (60 runs)`.
pub fn redraw_ms(log: &str) -> Option<Redraw> {
    let mut worst: Option<Redraw> = None;
    let mut cases = 0;
    for line in log.lines() {
        let Some(rest) = line.split("redraw 3600 points, ").nth(1) else {
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
        let r = redraw_ms(log).unwrap();
        assert_eq!(r.worst, 4.9);
        assert_eq!(r.cases, 2);
        assert_eq!(r.case, "3840x700 CSS px at dpr 1, total");
        assert_eq!(redraw_ms("test redraw_3600_points ... ok\n"), None);
    }
}
