//! Metric 6: the dashboard's wasm size (dist/*.wasm, raw and gzipped) and the chart redraw
//! figure the dashboard's own benchmark left in BENCHMARKS.md's `## Dashboard` section.

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
    let md = std::fs::read_to_string(ctx.root.join("BENCHMARKS.md")).unwrap_or_default();
    match redraw_ms(&md) {
        Some(r) => out.push(
            Metric::new("dashboard_chart_redraw_3600_worst_median_ms", r.worst, "ms")
                .target(Target::AtMost(8.0))
                .note(format!(
                    "from BENCHMARKS.md ## Dashboard (the dashboard's own benchmark, headless \
                     Chromium): worst median of {} 3600-point cases ({}); not re-measured here",
                    r.rows, r.case
                )),
        ),
        None => out.push(Metric::missing(
            "dashboard_chart_redraw_3600_worst_median_ms",
            "ms",
            "no 3600-point redraw table in BENCHMARKS.md's ## Dashboard section",
        )),
    }
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
    pub rows: usize,
    pub case: String,
}

/// In the `## Dashboard` section, the table with `points` and `median` columns: the largest
/// median (in ms) over its 3600-point rows.
pub fn redraw_ms(md: &str) -> Option<Redraw> {
    let start = if md.starts_with("## Dashboard") {
        0
    } else {
        md.find("\n## Dashboard")? + 1
    };
    let section = &md[start..];
    let end = section[3..].find("\n## ").map_or(section.len(), |i| i + 3);
    let cells = |l: &str| -> Vec<String> {
        l.trim()
            .trim_matches('|')
            .split('|')
            .map(|c| c.trim().to_string())
            .collect()
    };
    let mut cols: Option<(usize, usize)> = None;
    let mut best: Option<Redraw> = None;
    for line in section[..end].lines() {
        if !line.trim_start().starts_with('|') {
            cols = None;
            continue;
        }
        let c = cells(line);
        let lower: Vec<String> = c.iter().map(|x| x.to_ascii_lowercase()).collect();
        if let (Some(p), Some(m)) = (
            lower.iter().position(|x| x == "points"),
            lower.iter().position(|x| x == "median"),
        ) {
            cols = Some((p, m));
            continue;
        }
        let Some((p, m)) = cols else { continue };
        if c.get(p).map(String::as_str) != Some("3600") {
            continue;
        }
        let Some(v) = c.get(m).and_then(|v| to_ms(v)) else {
            continue;
        };
        let rows = best.as_ref().map_or(0, |b| b.rows) + 1;
        match &mut best {
            Some(b) if b.worst >= v => b.rows = rows,
            _ => {
                best = Some(Redraw {
                    worst: v,
                    rows,
                    case: c.join(" | "),
                })
            }
        }
    }
    best
}

/// "1.5 ms" or "850 µs" in milliseconds.
fn to_ms(v: &str) -> Option<f64> {
    let v = v.trim();
    if let Some(n) = v.strip_suffix("ms") {
        return n.trim().parse().ok();
    }
    let n = v.strip_suffix("µs").or_else(|| v.strip_suffix("us"))?;
    n.trim().parse::<f64>().ok().map(|x| x / 1e3)
}

#[cfg(test)]
mod tests {
    use super::redraw_ms;

    #[test]
    fn finds_the_worst_3600_point_median_in_its_section() {
        let md = "# B\n## Dashboard\n\n| points | canvas | median | p95 |\n|---:|---|---:|---:|\n\
                  | 3600 | a | 1.5 ms | 3.1 ms |\n| 3600 | b | 4.9 ms | 5.3 ms |\n\
                  | 900 | c | 7.0 ms | 7.6 ms |\n| 3600 | d | 900 µs | 1 ms |\n\
                  ## Other\n| points | median |\n| 3600 | 99 ms |\n";
        let r = redraw_ms(md).unwrap();
        assert_eq!(r.worst, 4.9);
        assert_eq!(r.rows, 3);
        assert!(r.case.contains("| b |"));
        assert_eq!(
            redraw_ms("## Other\n| points | median |\n| 3600 | 9 ms |\n"),
            None
        );
    }
}
