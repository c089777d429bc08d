//! `editpulse-bench`: EditPulse's benchmarks, one command (`bash scripts/bench.sh [--quick]`).
//!
//! Prints one `name value unit` line per metric on stdout (progress goes to stderr) and writes
//! the same, with targets, samples and notes, as JSON. Targets are reported, never asserted:
//! the exit status is non-zero only when a part could not run. See BENCHMARKS.md.

mod counter;
mod dashboard;
mod edits;
mod edits_kafka;
mod events;
mod fanout;
mod gateway;
mod history;
mod hot_path;
mod kafka;
mod latency;
mod procs;
mod report;
mod sources;
mod stats;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Parser;
use support::paths;

use report::{Failure, Machine, Metric, PartTime, Report};

const PARTS: [&str; 10] = [
    "hot_path",
    "counter",
    "gateway",
    "latency",
    "fanout",
    "sources",
    "history",
    "edits",
    "dashboard",
    "quix",
];

#[derive(Debug, Parser)]
#[command(
    name = "editpulse-bench",
    about = "EditPulse benchmarks (see BENCHMARKS.md)"
)]
struct Args {
    /// Tiny sizes, one repetition: exercises every part in well under a minute.
    #[arg(long)]
    quick: bool,
    /// Where to write the JSON report (default: <artifacts>/bench.json, where <artifacts> is
    /// EDITPULSE_ARTIFACTS or <workspace>/artifacts).
    #[arg(long)]
    json: Option<PathBuf>,
    /// Run only these parts (comma-separated): hot_path, counter, gateway, latency, fanout,
    /// sources, history, edits, dashboard. `quix` is part of counter.
    #[arg(long, value_delimiter = ',')]
    only: Vec<String>,
    /// Skip these parts (comma-separated; `quix` skips the Quix Streams peer).
    #[arg(long, value_delimiter = ',', env = "EDITPULSE_BENCH_SKIP")]
    skip: Vec<String>,
    /// The relay binary.
    #[arg(long, env = "EDITPULSE_RELAY_BIN")]
    relay_bin: Option<PathBuf>,
    /// The nisshi binary (else `nisshi` on PATH or in ~/.cargo/bin).
    #[arg(long, env = "EDITPULSE_NISSHI")]
    nisshi: Option<PathBuf>,
    /// The Python of a venv with bench/quix-requirements.txt installed.
    #[arg(long, env = "EDITPULSE_QUIX_PYTHON")]
    quix_python: Option<PathBuf>,
    /// Where process logs go (default: <artifacts>/logs).
    #[arg(long)]
    logs: Option<PathBuf>,
    /// Output of the chart redraw benchmark (`app/tests/redraw_bench.rs` in headless
    /// Chromium); scripts/bench.sh runs it and passes this.
    #[arg(long, env = "EDITPULSE_REDRAW_LOG")]
    redraw_log: Option<PathBuf>,
}

/// What every part needs to know.
pub struct Ctx {
    pub quick: bool,
    pub root: PathBuf,
    pub data: PathBuf,
    pub logs: PathBuf,
    pub relay_bin: PathBuf,
    nisshi_bin: Option<PathBuf>,
    pub quix_python: Option<PathBuf>,
    pub quix_script: PathBuf,
    pub redraw_log: Option<PathBuf>,
    skip: Vec<String>,
}

impl Ctx {
    /// Repetitions: `full` in full mode, 1 in quick mode.
    pub fn reps(&self, full: usize) -> usize {
        if self.quick { 1 } else { full }
    }

    pub fn nisshi(&self) -> anyhow::Result<&Path> {
        self.nisshi_bin.as_deref().context(
            "no nisshi: set EDITPULSE_NISSHI or put nisshi on PATH (bash scripts/setup.sh broker)",
        )
    }

    pub fn skips(&self, part: &str) -> bool {
        self.skip.iter().any(|s| s == part)
    }
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "error".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let root = paths::workspace_root();
    let artifacts = match paths::artifacts_dir() {
        Ok(dir) => dir,
        Err(e) => {
            eprintln!("[bench] {e:#}");
            return std::process::ExitCode::from(1);
        }
    };
    let ctx = Ctx {
        quick: args.quick,
        data: root.join("data"),
        logs: args.logs.unwrap_or_else(|| artifacts.join("logs")),
        relay_bin: args
            .relay_bin
            .unwrap_or_else(|| paths::target_dir().join("release").join("relay")),
        nisshi_bin: args.nisshi.or_else(|| paths::find_on_path("nisshi")),
        quix_python: args.quix_python,
        quix_script: root.join("bench").join("quix_count.py"),
        redraw_log: args.redraw_log,
        skip: args.skip.clone(),
        root,
    };
    let json = match &args.json {
        Some(p) if p.is_relative() => std::env::current_dir().unwrap_or_default().join(p),
        Some(p) => p.clone(),
        None => artifacts.join("bench.json"),
    };
    let wanted =
        |p: &str| (args.only.is_empty() || args.only.iter().any(|o| o == p)) && !ctx.skips(p);

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let started = Instant::now();
    let started_unix_ms = relay::clock::now().0;
    let mut metrics: Vec<Metric> = Vec::new();
    let mut failures = Vec::new();
    let mut parts = Vec::new();
    let part_timeout = Duration::from_secs(if ctx.quick { 120 } else { 600 });
    for part in PARTS.iter().copied().filter(|p| *p != "quix") {
        if !wanted(part) {
            continue;
        }
        eprintln!("[bench] == {part}");
        let t = Instant::now();
        let mut out = Vec::new();
        let result = runtime.block_on(async {
            let run = async {
                match part {
                    "hot_path" => hot_path::run(&ctx, &mut out),
                    "counter" => counter::run(&ctx, &mut out).await,
                    "gateway" => gateway::run(&ctx, &mut out).await,
                    "latency" => {
                        latency::run(&ctx, &mut out, false).await?;
                        if ctx.quick {
                            Ok(())
                        } else {
                            latency::run(&ctx, &mut out, true).await
                        }
                    }
                    "fanout" => fanout::run(&ctx, &mut out).await,
                    "sources" => sources::run(&ctx, &mut out).await,
                    "history" => history::run(&ctx, &mut out).await,
                    "edits" => edits::run(&ctx, &mut out).await,
                    "dashboard" => dashboard::run(&ctx, &mut out).await,
                    _ => unreachable!("unknown part {part}"),
                }
            };
            match tokio::time::timeout(part_timeout, run).await {
                Ok(r) => r,
                Err(_) => Err(anyhow::anyhow!("did not finish within {part_timeout:?}")),
            }
        });
        for m in &out {
            println!("{}", m.line());
        }
        metrics.extend(out);
        let status = match result {
            Ok(()) => "ok",
            Err(e) => {
                eprintln!("[bench] {part} FAILED: {e:#}");
                failures.push(Failure {
                    part: part.to_string(),
                    error: format!("{e:#}"),
                });
                "failed"
            }
        };
        let secs = t.elapsed().as_secs_f64();
        eprintln!("[bench] {part}: {status} in {secs:.1} s");
        parts.push(PartTime {
            part: part.to_string(),
            seconds: secs,
            status,
        });
    }
    runtime.shutdown_timeout(Duration::from_secs(5));

    let report = Report {
        mode: if ctx.quick { "quick" } else { "full" },
        started_unix_ms,
        machine: Machine::probe(),
        metrics,
        failures,
        parts,
        total_seconds: started.elapsed().as_secs_f64(),
    };
    eprintln!("[bench] targets:");
    for m in report.metrics.iter().filter(|m| m.target.is_some()) {
        let t = m.target.expect("filtered");
        let verdict = match m.pass {
            Some(true) => "pass",
            Some(false) => "MISS",
            None => "n/a",
        };
        eprintln!(
            "[bench]   {:<44} {:>10} {:<8} target {:<10} {verdict}",
            m.name,
            m.value.map_or("missing".into(), report::fmt_value),
            m.unit,
            t.describe()
        );
    }
    let mut code = if report.failures.is_empty() { 0 } else { 1 };
    match report.write_json(&json) {
        Ok(()) => eprintln!(
            "[bench] wrote {} ({:.1} s)",
            json.display(),
            report.total_seconds
        ),
        Err(e) => {
            eprintln!("[bench] cannot write {}: {e:#}", json.display());
            code = 1;
        }
    }
    for f in &report.failures {
        eprintln!("[bench] FAILED part {}: {}", f.part, f.error);
    }
    std::process::ExitCode::from(code)
}
