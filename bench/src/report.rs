//! Metrics, their targets, and the two ways they are written out: one `name value unit` line
//! each on stdout, and the same as JSON.

use std::path::Path;

use serde::Serialize;

/// What a metric should be. Benchmarks never fail on a missed target; it is reported.
#[derive(Debug, Clone, Copy, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Target {
    AtLeast(f64),
    AtMost(f64),
}

impl Target {
    pub fn met(self, v: f64) -> bool {
        match self {
            Target::AtLeast(t) => v >= t,
            Target::AtMost(t) => v <= t,
        }
    }

    pub fn describe(self) -> String {
        match self {
            Target::AtLeast(t) => format!(">= {}", fmt_value(t)),
            Target::AtMost(t) => format!("<= {}", fmt_value(t)),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Metric {
    pub name: String,
    /// None: could not be measured (reported as `missing`).
    pub value: Option<f64>,
    pub unit: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<Target>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pass: Option<bool>,
    /// The repetitions the value is the median of (or the raw figures it comes from).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub samples: Vec<f64>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub note: String,
}

impl Metric {
    pub fn new(name: &str, value: f64, unit: &str) -> Metric {
        Metric {
            name: name.to_string(),
            value: Some(value),
            unit: unit.to_string(),
            target: None,
            pass: None,
            samples: Vec::new(),
            note: String::new(),
        }
    }

    /// The median of `samples`.
    pub fn median_of(name: &str, samples: Vec<f64>, unit: &str) -> Metric {
        let mut m = Metric::new(name, crate::stats::median(&samples), unit);
        m.samples = samples;
        m
    }

    pub fn missing(name: &str, unit: &str, why: &str) -> Metric {
        Metric {
            value: None,
            note: why.to_string(),
            ..Metric::new(name, 0.0, unit)
        }
    }

    pub fn target(mut self, t: Target) -> Metric {
        self.target = Some(t);
        self.pass = self.value.map(|v| t.met(v));
        self
    }

    pub fn note(mut self, note: impl Into<String>) -> Metric {
        self.note = note.into();
        self
    }

    pub fn line(&self) -> String {
        let v = self.value.map_or_else(|| "missing".to_string(), fmt_value);
        format!("{} {} {}", self.name, v, self.unit)
    }
}

/// Integers as integers, large figures as `1.03e6`, the rest with three decimals at most.
pub fn fmt_value(v: f64) -> String {
    if !v.is_finite() {
        return v.to_string();
    }
    if v.fract() == 0.0 && v.abs() < 1e9 {
        return format!("{v:.0}");
    }
    if v.abs() >= 1e4 {
        return format!("{v:.2e}");
    }
    let s = format!("{v:.3}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    s.to_string()
}

#[derive(Debug, Clone, Serialize)]
pub struct Failure {
    pub part: String,
    pub error: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct PartTime {
    pub part: String,
    pub seconds: f64,
    pub status: &'static str,
}

#[derive(Debug, Serialize)]
pub struct Report {
    pub mode: &'static str,
    pub started_unix_ms: i64,
    pub machine: Machine,
    pub metrics: Vec<Metric>,
    pub failures: Vec<Failure>,
    pub parts: Vec<PartTime>,
    pub total_seconds: f64,
}

#[derive(Debug, Serialize)]
pub struct Machine {
    pub nproc: usize,
    pub cpu: String,
    pub mem_total_kb: u64,
    pub kernel: String,
}

impl Machine {
    pub fn probe() -> Machine {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpu = cpuinfo
            .lines()
            .find_map(|l| {
                l.strip_prefix("model name")
                    .map(|r| r.trim_start_matches([' ', '\t', ':']))
            })
            .unwrap_or("unknown")
            .to_string();
        let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
        let mem_total_kb = meminfo
            .lines()
            .find_map(|l| l.strip_prefix("MemTotal:"))
            .and_then(|r| r.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0);
        let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .unwrap_or_default()
            .trim()
            .to_string();
        Machine {
            nproc: std::thread::available_parallelism().map_or(1, |n| n.get()),
            cpu,
            mem_total_kb,
            kernel,
        }
    }
}

impl Report {
    pub fn write_json(&self, path: &Path) -> anyhow::Result<()> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::write(path, serde_json::to_vec_pretty(self)?)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_print_compactly() {
        assert_eq!(fmt_value(1_026_123.4), "1.03e6");
        assert_eq!(fmt_value(738_311.0), "738311");
        assert_eq!(fmt_value(0.8734), "0.873");
        assert_eq!(fmt_value(12.5), "12.5");
        assert_eq!(fmt_value(41_234.5), "4.12e4");
    }

    #[test]
    fn targets_judge_values() {
        let m = Metric::new("x", 0.5, "ratio").target(Target::AtLeast(0.6));
        assert_eq!(m.pass, Some(false));
        let m = Metric::new("y", 80.0, "ms").target(Target::AtMost(100.0));
        assert_eq!(m.pass, Some(true));
        assert_eq!(m.line(), "y 80 ms");
        assert_eq!(Metric::missing("z", "ms", "no data").line(), "z missing ms");
    }
}
