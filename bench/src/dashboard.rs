//! Metric 6: the dashboard's wasm size (dist/*.wasm, raw and gzipped) and the chart redraw
//! figure the dashboard's own benchmark left in BENCHMARKS.md's `## Dashboard` section.

use std::io::Write;
use std::process::{Command, Stdio};

use anyhow::{Context, bail};

use crate::Ctx;
use crate::report::Metric;

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
            names.push(p.file_name().unwrap_or_default().to_string_lossy().to_string());
        }
        let note = names.join(", ");
        out.push(Metric::new("dashboard_wasm_bytes", raw as f64, "bytes").note(note.clone()));
        out.push(
            Metric::new("dashboard_wasm_gzip_bytes", gz as f64, "bytes")
                .note(format!("gzip -9 of {note}")),
        );
    }
    let md = std::fs::read_to_string(ctx.root.join("BENCHMARKS.md")).unwrap_or_default();
    match redraw_ms(&md) {
        Some((ms, line)) => out.push(
            Metric::new("dashboard_chart_redraw_ms", ms, "ms")
                .note(format!("from BENCHMARKS.md ## Dashboard: {}", line.trim())),
        ),
        None => out.push(Metric::missing(
            "dashboard_chart_redraw_ms",
            "ms",
            "no redraw figure in BENCHMARKS.md's ## Dashboard section",
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
    writer.join().map_err(|_| anyhow::anyhow!("gzip writer panicked"))??;
    if !output.status.success() {
        bail!("gzip exited {}", output.status);
    }
    Ok(output.stdout.len() as u64)
}

/// The first "<number> ms" (or µs/us) on a line mentioning "redraw" in the `## Dashboard`
/// section, in milliseconds.
pub fn redraw_ms(md: &str) -> Option<(f64, &str)> {
    let start = md.find("\n## Dashboard").map(|i| i + 1).or_else(|| md.starts_with("## Dashboard").then_some(0))?;
    let section = &md[start..];
    let end = section[3..].find("\n## ").map_or(section.len(), |i| i + 3);
    for line in section[..end].lines() {
        if !line.to_ascii_lowercase().contains("redraw") {
            continue;
        }
        let b = line.as_bytes();
        let mut i = 0;
        while i < b.len() {
            if b[i].is_ascii_digit() && (i == 0 || !b[i - 1].is_ascii_alphanumeric()) {
                let s = i;
                while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'.') {
                    i += 1;
                }
                let num: Option<f64> = line[s..i].parse().ok();
                let rest = line[i..].trim_start();
                if let Some(v) = num {
                    if rest.starts_with("ms") {
                        return Some((v, line));
                    }
                    if rest.starts_with("µs") || rest.starts_with("us") {
                        return Some((v / 1e3, line));
                    }
                }
            } else {
                i += 1;
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::redraw_ms;

    #[test]
    fn finds_the_redraw_figure_in_its_section() {
        let md = "# B\n## Dashboard\n| what | value |\n| chart redraw (3600 points) | 4.2 ms |\n## Other\nredraw 9 ms\n";
        assert_eq!(redraw_ms(md).map(|r| r.0), Some(4.2));
        assert_eq!(redraw_ms("## Other\nredraw 9 ms\n"), None);
        assert_eq!(redraw_ms("## Dashboard\nredraw: 850 µs median\n").map(|r| r.0), Some(0.85));
    }
}
