//! A relay process on `127.0.0.1:<free port>`: spawned with only the `RELAY_*` variables it is
//! given, its stdout and stderr appended to a log file, waited on until healthy, asked for
//! health and metrics, stopped gently or killed, restarted on the same port. Killed on drop.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow, bail};

use crate::names::{TempDir, unique};
use crate::{logs, paths, ports, process};

/// How long [`RelayProcess::wait_healthy`] waits for `GET /v1/health` to answer 200.
pub const HEALTHY_TIMEOUT: Duration = Duration::from_secs(30);

/// How to start a relay.
#[derive(Debug, Clone)]
pub struct RelaySpec {
    /// Names the log file: `<logs>/<log_prefix>-<name>-<port>.log`.
    pub name: String,
    pub bin: PathBuf,
    pub logs: PathBuf,
    pub log_prefix: String,
    pub args: Vec<String>,
    /// The child's `RELAY_*` variables are these and `RELAY_LISTEN`, none inherited.
    pub envs: Vec<(String, String)>,
}

impl RelaySpec {
    /// The end-to-end tests' relay: [`paths::relay_bin`], its log in [`paths::logs_dir`] as
    /// `relay-<name>-<port>.log`, `RUST_BACKTRACE=1` and these arguments and variables.
    pub fn test(name: &str, args: &[&str], envs: &[(&str, &str)]) -> anyhow::Result<RelaySpec> {
        let mut all_envs = vec![("RUST_BACKTRACE".to_string(), "1".to_string())];
        all_envs.extend(envs.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        Ok(RelaySpec {
            name: name.to_owned(),
            bin: paths::relay_bin()?,
            logs: paths::logs_dir()?,
            log_prefix: "relay".into(),
            args: args.iter().map(|s| s.to_string()).collect(),
            envs: all_envs,
        })
    }
}

/// A relay's variables for Kafka mode on topics and a group of its own (names tagged `tag`),
/// so that no two tests share them.
pub fn kafka_env(brokers: &str, tag: &str) -> Vec<(String, String)> {
    vec![
        ("RELAY_BROKERS".into(), brokers.into()),
        ("RELAY_INPUT_TOPIC".into(), unique(&format!("{tag}-in"))),
        ("RELAY_OUTPUT_TOPIC".into(), unique(&format!("{tag}-out"))),
        ("RELAY_GROUP_ID".into(), unique(&format!("{tag}-group"))),
    ]
}

/// Owned `(name, value)` pairs as the borrowed ones [`RelayProcess::spawn`] takes.
pub fn env_refs(env: &[(String, String)]) -> Vec<(&str, &str)> {
    env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
}

pub struct RelayProcess {
    spec: RelaySpec,
    port: u16,
    log: PathBuf,
    dir: TempDir,
    child: Option<Child>,
}

impl RelayProcess {
    /// Starts [`RelaySpec::test`] on a free port, without waiting for it to be healthy.
    pub fn spawn(name: &str, args: &[&str], envs: &[(&str, &str)]) -> anyhow::Result<Self> {
        Self::start(RelaySpec::test(name, args, envs)?)
    }

    /// Starts `spec` on a free port, without waiting for it to be healthy.
    pub fn start(spec: RelaySpec) -> anyhow::Result<Self> {
        if !spec.bin.is_file() {
            bail!(
                "no relay binary at {}: build it with `cargo build --release -p relay`",
                spec.bin.display()
            );
        }
        let port = ports::free_port()?;
        let log = spec
            .logs
            .join(format!("{}-{}-{port}.log", spec.log_prefix, spec.name));
        let dir = TempDir::new("editpulse-relay")?;
        let mut relay = RelayProcess {
            spec,
            port,
            log,
            dir,
            child: None,
        };
        relay.launch()?;
        Ok(relay)
    }

    fn launch(&mut self) -> anyhow::Result<()> {
        if self.child.is_some() {
            bail!("relay {} is already running", self.spec.name);
        }
        let (out, err) = logs::append(&self.log)?;
        let mut cmd = Command::new(&self.spec.bin);
        for (k, _) in std::env::vars_os() {
            if k.to_string_lossy().starts_with("RELAY_") {
                cmd.env_remove(&k);
            }
        }
        // A directory of its own, kept across restarts, so nothing (the history file, the
        // upstream's last event id) is shared with another relay or an earlier run.
        cmd.current_dir(self.dir.path());
        let names = |flag: &str, var: &str| {
            self.spec.args.iter().any(|a| a == flag) || self.spec.envs.iter().any(|(k, _)| k == var)
        };
        if !names("--state-dir", "RELAY_STATE_DIR") {
            cmd.arg("--state-dir").arg(self.dir.path().join("state"));
        }
        if !names("--static-dir", "RELAY_STATIC_DIR") {
            cmd.arg("--static-dir").arg(self.dir.path().join("no-dist"));
        }
        cmd.env("RELAY_LISTEN", format!("127.0.0.1:{}", self.port))
            .envs(self.spec.envs.iter().map(|(k, v)| (k, v)))
            .args(&self.spec.args)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err);
        let child = cmd
            .spawn()
            .with_context(|| format!("cannot start {}", self.spec.bin.display()))?;
        self.child = Some(child);
        Ok(())
    }

    /// Kills (if running) and starts the relay again: same port, arguments, environment,
    /// directories and log.
    pub fn restart(&mut self) -> anyhow::Result<()> {
        self.kill();
        self.launch()
    }

    pub fn name(&self) -> &str {
        &self.spec.name
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// `http://127.0.0.1:<port>`
    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// `base_url() + path`; `path` starts with `/`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url())
    }

    pub fn log_path(&self) -> &Path {
        &self.log
    }

    /// The last `lines` lines of this relay's log.
    pub fn log_tail(&self, lines: usize) -> String {
        logs::tail(&self.log, lines)
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// `Some(status)` once the process has exited.
    pub fn try_exit_status(&mut self) -> anyhow::Result<Option<ExitStatus>> {
        match self.child.as_mut() {
            Some(c) => c.try_wait().context("try_wait on relay"),
            None => Ok(None),
        }
    }

    /// An error about this relay, with the tail of its log.
    pub fn fail(&self, why: &str) -> anyhow::Error {
        anyhow!(
            "relay {} (port {}): {why}\n--- last 60 lines of {}:\n{}",
            self.spec.name,
            self.port,
            self.log.display(),
            self.log_tail(60)
        )
    }

    /// An error (with the log's tail) if the process has exited.
    pub fn check_alive(&mut self) -> anyhow::Result<()> {
        match self.try_exit_status()? {
            Some(status) => Err(self.fail(&format!("exited ({status})"))),
            None => Ok(()),
        }
    }

    /// Polls `GET /v1/health` until it answers 200 (at most [`HEALTHY_TIMEOUT`]); returns the
    /// body. An error with the log's tail if the relay exits or the time runs out.
    pub async fn wait_healthy(&mut self) -> anyhow::Result<serde_json::Value> {
        self.wait_healthy_within(HEALTHY_TIMEOUT).await
    }

    pub async fn wait_healthy_within(
        &mut self,
        timeout: Duration,
    ) -> anyhow::Result<serde_json::Value> {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(2))
            .build()
            .context("reqwest client")?;
        let url = self.url("/v1/health");
        let deadline = Instant::now() + timeout;
        let mut last;
        loop {
            if let Some(status) = self.try_exit_status()? {
                return Err(self.fail(&format!("exited ({status}) before /v1/health answered 200")));
            }
            match client.get(&url).send().await {
                Ok(resp) if resp.status() == reqwest::StatusCode::OK => {
                    let body = resp.text().await.unwrap_or_default();
                    return serde_json::from_str(&body).map_err(|e| {
                        self.fail(&format!(
                            "/v1/health answered 200 with non-JSON ({e}): {body}"
                        ))
                    });
                }
                Ok(resp) => last = format!("HTTP {}", resp.status()),
                Err(e) => last = e.to_string(),
            }
            if Instant::now() >= deadline {
                return Err(self.fail(&format!(
                    "GET /v1/health not 200 within {timeout:?} (last: {last})"
                )));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// `GET /v1/health`, whatever its status (a 503 carries the same report).
    pub async fn health(&self, client: &reqwest::Client) -> anyhow::Result<serde_json::Value> {
        let body = async {
            client
                .get(self.url("/v1/health"))
                .send()
                .await?
                .text()
                .await
        }
        .await
        .map_err(|e| self.fail(&format!("GET /v1/health: {e}")))?;
        serde_json::from_str(&body)
            .map_err(|e| self.fail(&format!("/v1/health is not JSON ({e}): {body}")))
    }

    /// `GET /metrics`, as name (without the `editpulse_` prefix) → value.
    pub async fn metrics(&self, client: &reqwest::Client) -> anyhow::Result<BTreeMap<String, f64>> {
        let text = async {
            client
                .get(self.url("/metrics"))
                .send()
                .await?
                .error_for_status()?
                .text()
                .await
        }
        .await
        .map_err(|e| self.fail(&format!("GET /metrics: {e}")))?;
        Ok(text
            .lines()
            .filter(|l| !l.starts_with('#'))
            .filter_map(|l| {
                let (k, v) = l.split_once(' ')?;
                Some((
                    k.trim_start_matches("editpulse_").to_string(),
                    v.trim().parse().ok()?,
                ))
            })
            .collect())
    }

    /// SIGKILL and reap. No-op if not running.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            process::kill_and_reap(&mut child);
        }
    }

    /// Sends SIGTERM (graceful shutdown) without waiting; see [`Self::wait_exit`].
    pub fn terminate(&mut self) -> anyhow::Result<()> {
        match self.child.as_ref() {
            Some(child) => process::sigterm(child),
            None => Ok(()),
        }
    }

    /// Waits up to `timeout` for the process to exit; `None` if it is still running (it is
    /// left running). Once it has exited, the handle is cleared and `restart` starts a new one.
    pub fn wait_exit(&mut self, timeout: Duration) -> anyhow::Result<Option<ExitStatus>> {
        let Some(child) = self.child.as_mut() else {
            return Ok(None);
        };
        let status = process::wait_timeout(child, timeout)?;
        if status.is_some() {
            self.child = None;
        }
        Ok(status)
    }
}

impl Drop for RelayProcess {
    fn drop(&mut self) {
        self.kill();
    }
}
