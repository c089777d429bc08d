//! Kafka-protocol brokers: the shared test broker's address, and nisshi processes of a test's
//! or a benchmark's own on `127.0.0.1:<free port>`, which can be stopped, killed and resumed on
//! the same port and storage. Killed, and their storage removed, on drop.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow, bail};

use crate::names::TempDir;
use crate::{logs, paths, ports, process};

/// How long a started nisshi has to accept TCP connections.
pub const BROKER_START_TIMEOUT: Duration = Duration::from_secs(30);

/// The shared test broker's bootstrap address, from `EDITPULSE_BROKERS`.
pub fn brokers() -> anyhow::Result<String> {
    match std::env::var("EDITPULSE_BROKERS") {
        Ok(b) if !b.trim().is_empty() => Ok(b),
        _ => bail!(
            "EDITPULSE_BROKERS is not set: these tests need a Kafka-protocol broker. \
             Run them with `bash scripts/test.sh` (it starts nisshi), or start a broker and \
             set EDITPULSE_BROKERS=127.0.0.1:PORT"
        ),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Storage {
    /// `memory://nisshi/`: nothing on disk; the broker's fastest.
    Memory,
    /// `sqlite://broker.db` in the broker's directory: kept across restarts.
    Sqlite,
}

impl Storage {
    pub fn name(self) -> &'static str {
        match self {
            Storage::Memory => "memory",
            Storage::Sqlite => "sqlite",
        }
    }

    fn engine(self) -> &'static str {
        match self {
            Storage::Memory => "memory://nisshi/",
            // nisshi resolves the sqlite path against its working directory.
            Storage::Sqlite => "sqlite://broker.db",
        }
    }
}

/// How to start a broker.
#[derive(Debug, Clone)]
pub struct BrokerSpec {
    pub bin: PathBuf,
    pub storage: Storage,
    /// nisshi's `--group-initial-rebalance-delay` (e.g. "0s", "1s").
    pub rebalance_delay: String,
    /// The log file is `<logs>/<log_prefix>-<port>.log`.
    pub logs: PathBuf,
    pub log_prefix: String,
}

impl BrokerSpec {
    /// The end-to-end tests' broker: [`paths::nisshi_bin`], SQLite storage (it survives a
    /// restart, and so do topics and committed offsets), no initial rebalance delay, its log in
    /// [`paths::logs_dir`] as `nisshi-<port>.log`.
    pub fn test() -> anyhow::Result<BrokerSpec> {
        Ok(BrokerSpec {
            bin: paths::nisshi_bin()?,
            storage: Storage::Sqlite,
            rebalance_delay: "0s".into(),
            logs: paths::logs_dir()?,
            log_prefix: "nisshi".into(),
        })
    }
}

pub struct Broker {
    spec: BrokerSpec,
    port: u16,
    dir: TempDir,
    log: PathBuf,
    child: Option<Child>,
}

impl Broker {
    /// Starts [`BrokerSpec::test`] on a free port and waits until it accepts connections.
    pub fn start() -> anyhow::Result<Self> {
        Self::start_with(BrokerSpec::test()?)
    }

    /// Starts `spec` on a free port and waits until it accepts connections.
    pub fn start_with(spec: BrokerSpec) -> anyhow::Result<Self> {
        let port = ports::free_port()?;
        let mut broker = Broker {
            log: spec.logs.join(format!("{}-{port}.log", spec.log_prefix)),
            spec,
            port,
            dir: TempDir::new("editpulse-broker")?,
            child: None,
        };
        broker.resume()?;
        Ok(broker)
    }

    /// Starts the (stopped) broker again on the same port and storage, and waits until it
    /// accepts connections.
    pub fn resume(&mut self) -> anyhow::Result<()> {
        if self.child.is_some() {
            bail!("broker on port {} is already running", self.port);
        }
        let bin = &self.spec.bin;
        let (out, err) = logs::append(&self.log)?;
        let listener = format!("tcp://127.0.0.1:{}", self.port);
        let child = Command::new(bin)
            .current_dir(self.dir.path())
            .args(["broker", "--listener-url", &listener])
            .args(["--advertised-listener-url", &listener])
            .args(["--storage-engine", self.spec.storage.engine()])
            .args([
                "--group-initial-rebalance-delay",
                &self.spec.rebalance_delay,
            ])
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .with_context(|| format!("cannot start {}", bin.display()))?;
        self.child = Some(child);
        let deadline = Instant::now() + BROKER_START_TIMEOUT;
        while !ports::port_open(self.port) {
            if let Some(status) = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                self.child = None;
                return Err(self.fail(&format!("exited ({status}) before listening")));
            }
            if Instant::now() >= deadline {
                return Err(self.fail(&format!("not listening within {BROKER_START_TIMEOUT:?}")));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(())
    }

    fn fail(&self, why: &str) -> anyhow::Error {
        anyhow!(
            "nisshi on 127.0.0.1:{}: {why}\n--- last 40 lines of {}:\n{}",
            self.port,
            self.log.display(),
            logs::tail(&self.log, 40)
        )
    }

    /// Graceful stop: SIGTERM, then SIGKILL after 10 s. Waits until the port is closed.
    pub fn stop(&mut self) -> anyhow::Result<()> {
        if let Some(mut child) = self.child.take() {
            let stopped = process::sigterm(&child)
                .and_then(|()| process::wait_timeout(&mut child, Duration::from_secs(10)));
            if !matches!(stopped, Ok(Some(_))) {
                process::kill_and_reap(&mut child);
            }
            stopped?;
        }
        ports::wait_port_closed(self.port, Duration::from_secs(10));
        Ok(())
    }

    /// Crash: SIGKILL. Waits until the port is closed.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            process::kill_and_reap(&mut child);
        }
        ports::wait_port_closed(self.port, Duration::from_secs(10));
    }

    /// `stop()` then `resume()`: same port, same storage.
    pub fn restart(&mut self) -> anyhow::Result<()> {
        self.stop()?;
        self.resume()
    }

    pub fn is_running(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|c| matches!(c.try_wait(), Ok(None)))
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Bootstrap address: `127.0.0.1:<port>`.
    pub fn brokers(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    pub fn storage_dir(&self) -> &Path {
        self.dir.path()
    }

    pub fn log_path(&self) -> &Path {
        &self.log
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            process::kill_and_reap(&mut child);
        }
    }
}
