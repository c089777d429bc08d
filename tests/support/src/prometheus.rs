//! A Prometheus server on `127.0.0.1:<free port>` that scrapes the given targets every second,
//! its configuration and TSDB in a temporary directory of its own, its output appended to a log
//! file; asked through its HTTP API (`/api/v1/query`, `/api/v1/targets`). Killed on drop.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow, bail};
use serde_json::Value;

use crate::names::TempDir;
use crate::{logs, paths, ports, process};

/// How long a started Prometheus has to answer `GET /-/ready` with 200.
pub const READY_TIMEOUT: Duration = Duration::from_secs(60);

/// The job name every target is scraped under (the `job` label of what is scraped).
pub const JOB: &str = "editpulse";

pub struct PrometheusServer {
    port: u16,
    _dir: TempDir,
    log: PathBuf,
    child: Option<Child>,
    client: reqwest::Client,
}

/// One series of an instant vector: its labels and its value.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub labels: serde_json::Map<String, Value>,
    pub value: f64,
}

impl PrometheusServer {
    /// Starts [`paths::prometheus_bin`] scraping `targets` (`host:port`, path `/metrics`) every
    /// second as job [`JOB`], and waits until it is ready.
    pub async fn start(targets: &[String]) -> anyhow::Result<Self> {
        let bin = paths::prometheus_bin()?;
        let port = ports::free_port()?;
        let dir = TempDir::new("editpulse-prometheus")?;
        let config = dir.path().join("prometheus.yml");
        std::fs::write(&config, config_yaml(targets))
            .with_context(|| format!("cannot write {}", config.display()))?;
        let log = paths::logs_dir()?.join(format!("prometheus-{port}.log"));
        let (out, err) = logs::append(&log)?;
        let child = Command::new(&bin)
            .current_dir(dir.path())
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .with_context(|| format!("cannot start {}", bin.display()))?;
        let mut server = PrometheusServer {
            port,
            _dir: dir,
            log,
            child: Some(child),
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(5))
                .build()
                .context("reqwest client")?,
        };
        server.wait_ready().await?;
        Ok(server)
    }

    async fn wait_ready(&mut self) -> anyhow::Result<()> {
        let url = self.url("/-/ready");
        let deadline = Instant::now() + READY_TIMEOUT;
        let mut last;
        loop {
            if let Some(status) = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                self.child = None;
                return Err(self.fail(&format!("exited ({status}) before it was ready")));
            }
            match self.client.get(&url).send().await {
                Ok(resp) if resp.status() == reqwest::StatusCode::OK => return Ok(()),
                Ok(resp) => last = format!("HTTP {}", resp.status()),
                Err(e) => last = e.to_string(),
            }
            if Instant::now() >= deadline {
                return Err(self.fail(&format!(
                    "GET /-/ready not 200 within {READY_TIMEOUT:?} (last: {last})"
                )));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// `http://127.0.0.1:<port><path>`
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// An error about this server, with the tail of its log.
    pub fn fail(&self, why: &str) -> anyhow::Error {
        anyhow!(
            "prometheus on 127.0.0.1:{}: {why}\n--- last 30 lines of {}:\n{}",
            self.port,
            self.log.display(),
            logs::tail(&self.log, 30)
        )
    }

    pub fn log_path(&self) -> &Path {
        &self.log
    }

    /// `GET path` with `query` parameters: the `data` member of a `"status": "success"` answer.
    async fn api(&self, path: &str, query: &[(&str, &str)]) -> anyhow::Result<Value> {
        let text = async {
            self.client
                .get(self.url(path))
                .query(query)
                .send()
                .await?
                .text()
                .await
        }
        .await
        .map_err(|e| self.fail(&format!("GET {path}: {e}")))?;
        let body: Value = serde_json::from_str(&text)
            .map_err(|e| self.fail(&format!("GET {path}: not JSON ({e}): {text}")))?;
        if body["status"] != "success" {
            bail!("GET {path} {query:?}: {body}");
        }
        Ok(body["data"].clone())
    }

    /// An instant query (`/api/v1/query`) whose result is a vector: its series.
    pub async fn query(&self, promql: &str) -> anyhow::Result<Vec<Sample>> {
        let data = self.api("/api/v1/query", &[("query", promql)]).await?;
        if data["resultType"] != "vector" {
            bail!("{promql}: not an instant vector: {data}");
        }
        let series = data["result"].as_array().cloned().unwrap_or_default();
        series
            .into_iter()
            .map(|s| {
                // A sample is `[unix seconds, "value"]`.
                let value = s["value"][1]
                    .as_str()
                    .and_then(|v| v.parse().ok())
                    .with_context(|| format!("{promql}: no value in {s}"))?;
                let labels = s["metric"].as_object().cloned().unwrap_or_default();
                Ok(Sample { labels, value })
            })
            .collect()
    }

    /// The active targets as `/api/v1/targets` reports them (scrape URL, health, last error),
    /// for error messages.
    pub async fn targets(&self) -> anyhow::Result<String> {
        let data = self.api("/api/v1/targets", &[("state", "active")]).await?;
        let targets = data["activeTargets"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        Ok(targets
            .iter()
            .map(|t| {
                format!(
                    "{} health={} lastError={:?}",
                    t["scrapeUrl"], t["health"], t["lastError"]
                )
            })
            .collect::<Vec<_>>()
            .join("\n"))
    }

    /// Polls `promql` until it answers exactly one series with value `expected`, for at most
    /// `timeout`. The error shows the last answer and the targets' scrape state.
    pub async fn wait_for_value(
        &self,
        promql: &str,
        expected: f64,
        timeout: Duration,
    ) -> anyhow::Result<()> {
        let deadline = Instant::now() + timeout;
        loop {
            let last = self.query(promql).await?;
            if matches!(last.as_slice(), [only] if only.value == expected) {
                return Ok(());
            }
            if Instant::now() >= deadline {
                let targets = self.targets().await.unwrap_or_else(|e| e.to_string());
                return Err(self.fail(&format!(
                    "{promql} did not answer {expected} within {timeout:?}; last answer: \
                     {last:?}\ntargets:\n{targets}"
                )));
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
}

/// Scrape every second, time out after one.
fn config_yaml(targets: &[String]) -> String {
    let list = targets
        .iter()
        .map(|t| format!("\"{t}\""))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\n\
         scrape_configs:\n  - job_name: {JOB}\n    static_configs:\n      - targets: [{list}]\n"
    )
}

impl Drop for PrometheusServer {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            process::kill_and_reap(&mut child);
        }
    }
}
