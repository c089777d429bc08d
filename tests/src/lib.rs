//! Harness for EditPulse's end-to-end tests: where the relay binary, the test broker and the
//! artifacts are, and handles on relay and broker processes that clean up after themselves.
//!
//! Everything here fails loudly: a missing broker, binary or directory is a panic that says
//! what to set, never a skipped test. `bash scripts/test.sh` sets all of it:
//!
//! | variable              | meaning                                                        |
//! |-----------------------|----------------------------------------------------------------|
//! | `EDITPULSE_BROKERS`   | `host:port` of the shared Kafka-protocol broker (nisshi)       |
//! | `EDITPULSE_NISSHI`    | path of the nisshi binary, for tests that run their own broker |
//! | `EDITPULSE_RELAY_BIN` | the relay binary (default: target/release, then target/debug)  |
//! | `EDITPULSE_ARTIFACTS` | where logs go (default: `<workspace>/artifacts`)               |
//! | `EDITPULSE_DIST`      | the dashboard trunk built (`<workspace>/dist`)                 |

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Seek, SeekFrom};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// How long [`RelayProcess::wait_healthy`] waits for `GET /v1/health` to answer 200.
pub const HEALTHY_TIMEOUT: Duration = Duration::from_secs(30);
/// How long [`Broker`] waits for a started nisshi to accept TCP connections.
pub const BROKER_START_TIMEOUT: Duration = Duration::from_secs(30);

/// The workspace root (the directory holding the root `Cargo.toml`).
pub fn workspace_root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest
        .parent()
        .expect("tests/ has a parent directory")
        .to_path_buf()
}

/// The shared test broker's bootstrap address, from `EDITPULSE_BROKERS`. Panics when unset.
pub fn brokers() -> String {
    match std::env::var("EDITPULSE_BROKERS") {
        Ok(b) if !b.trim().is_empty() => b,
        _ => panic!(
            "EDITPULSE_BROKERS is not set: these tests need a Kafka-protocol broker. \
             Run them with `bash scripts/test.sh` (it starts nisshi), or start a broker and \
             set EDITPULSE_BROKERS=127.0.0.1:PORT"
        ),
    }
}

/// The relay binary: `EDITPULSE_RELAY_BIN`, else `target/release/relay`, else
/// `target/debug/relay` (under `CARGO_TARGET_DIR` when set). Panics when none exists.
pub fn relay_bin() -> PathBuf {
    if let Ok(p) = std::env::var("EDITPULSE_RELAY_BIN") {
        let p = PathBuf::from(p);
        assert!(
            p.is_file(),
            "EDITPULSE_RELAY_BIN={} does not exist: build it with `cargo build --release -p relay`",
            p.display()
        );
        return p;
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target"));
    for profile in ["release", "debug"] {
        let p = target.join(profile).join("relay");
        if p.is_file() {
            return p;
        }
    }
    panic!(
        "no relay binary: set EDITPULSE_RELAY_BIN or run `cargo build --release -p relay` \
         (looked in {}/{{release,debug}}/relay)",
        target.display()
    )
}

/// The nisshi binary: `EDITPULSE_NISSHI`, else `nisshi` on `PATH` or in `~/.cargo/bin`.
pub fn nisshi_bin() -> PathBuf {
    if let Ok(p) = std::env::var("EDITPULSE_NISSHI") {
        let p = PathBuf::from(p);
        assert!(
            p.is_file(),
            "EDITPULSE_NISSHI={} does not exist",
            p.display()
        );
        return p;
    }
    let mut dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    if let Some(home) = std::env::var_os("HOME") {
        dirs.push(PathBuf::from(home).join(".cargo/bin"));
    }
    dirs.into_iter()
        .map(|d| d.join("nisshi"))
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!(
                "EDITPULSE_NISSHI is not set and no nisshi is on PATH: run `bash scripts/test.sh` \
             (it installs nisshi) or set EDITPULSE_NISSHI=/path/to/nisshi"
            )
        })
}

/// Where tests put what they leave behind (`EDITPULSE_ARTIFACTS`, else
/// `<workspace>/artifacts`); created if missing.
pub fn artifacts_dir() -> PathBuf {
    let dir = std::env::var_os("EDITPULSE_ARTIFACTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("artifacts"));
    fs::create_dir_all(&dir)
        .unwrap_or_else(|e| panic!("cannot create artifacts dir {}: {e}", dir.display()));
    dir
}

/// `<artifacts>/logs`, created if missing.
pub fn logs_dir() -> PathBuf {
    let dir = artifacts_dir().join("logs");
    fs::create_dir_all(&dir)
        .unwrap_or_else(|e| panic!("cannot create logs dir {}: {e}", dir.display()));
    dir
}

/// The dashboard build (`EDITPULSE_DIST`, else `<workspace>/dist`). Panics when it has no
/// `index.html`.
pub fn dist_dir() -> PathBuf {
    let dir = std::env::var_os("EDITPULSE_DIST")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("dist"));
    assert!(
        dir.join("index.html").is_file(),
        "no dashboard build at {}: run `trunk build --release` (or set EDITPULSE_DIST)",
        dir.display()
    );
    dir
}

/// A loopback TCP port that was free a moment ago.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("bind 127.0.0.1:0")
        .port()
}

/// Does something accept TCP connections on 127.0.0.1:`port`?
pub fn port_open(port: u16) -> bool {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok()
}

/// The last `lines` lines of a file (empty if it can't be read); reads at most the last 64 KiB.
pub fn file_tail(path: &Path, lines: usize) -> String {
    let Ok(mut f) = File::open(path) else {
        return String::new();
    };
    let len = f.metadata().map(|m| m.len()).unwrap_or(0);
    let _ = f.seek(SeekFrom::Start(len.saturating_sub(64 * 1024)));
    let mut buf = Vec::new();
    let _ = f.read_to_end(&mut buf);
    let text = String::from_utf8_lossy(&buf);
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

fn append_log(path: &Path) -> (Stdio, Stdio) {
    let f = OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap_or_else(|e| panic!("cannot open log {}: {e}", path.display()));
    let g = f.try_clone().expect("clone log file handle");
    (Stdio::from(f), Stdio::from(g))
}

fn send_sigterm(pid: u32) {
    let status = Command::new("kill")
        .arg("-TERM")
        .arg(pid.to_string())
        .status();
    if let Err(e) = status {
        panic!("cannot run `kill -TERM {pid}`: {e}");
    }
}

/// Waits up to `timeout` for `child` to exit.
fn wait_timeout(child: &mut Child, timeout: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + timeout;
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Some(status),
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
            Ok(None) => return None,
            Err(e) => panic!("waiting for pid {}: {e}", child.id()),
        }
    }
}

/// A relay process listening on `127.0.0.1:<port>` (given to it as `RELAY_LISTEN`), its
/// stdout and stderr appended to `<artifacts>/logs/relay-<name>-<port>.log`. Killed on drop.
///
/// The child gets no `RELAY_*` variable from the test's own environment: only those passed in.
pub struct RelayProcess {
    name: String,
    port: u16,
    args: Vec<String>,
    envs: Vec<(String, String)>,
    log: PathBuf,
    child: Option<Child>,
}

impl RelayProcess {
    /// Starts the relay on a free port with these arguments and environment variables.
    pub fn spawn(name: &str, args: &[&str], envs: &[(&str, &str)]) -> Self {
        Self::spawn_on(name, free_port(), args, envs)
    }

    /// Starts the relay on `port`.
    pub fn spawn_on(name: &str, port: u16, args: &[&str], envs: &[(&str, &str)]) -> Self {
        let log = logs_dir().join(format!("relay-{name}-{port}.log"));
        let mut relay = RelayProcess {
            name: name.to_owned(),
            port,
            args: args.iter().map(|s| s.to_string()).collect(),
            envs: envs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            log,
            child: None,
        };
        relay.start();
        relay
    }

    fn start(&mut self) {
        assert!(
            self.child.is_none(),
            "relay {} is already running",
            self.name
        );
        let bin = relay_bin();
        let (out, err) = append_log(&self.log);
        let mut cmd = Command::new(&bin);
        for (k, _) in std::env::vars_os() {
            if k.to_string_lossy().starts_with("RELAY_") {
                cmd.env_remove(&k);
            }
        }
        cmd.env("RELAY_LISTEN", format!("127.0.0.1:{}", self.port))
            .env("RUST_BACKTRACE", "1")
            .envs(self.envs.iter().map(|(k, v)| (k, v)))
            .args(&self.args)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err);
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()));
        self.child = Some(child);
    }

    /// Kills (if running) and starts the relay again: same port, arguments, environment and log.
    pub fn restart(&mut self) {
        self.kill();
        self.start();
    }

    pub fn name(&self) -> &str {
        &self.name
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
        file_tail(&self.log, lines)
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// `Some(status)` once the process has exited (or was never started again after a stop).
    pub fn try_exit_status(&mut self) -> Option<ExitStatus> {
        self.child
            .as_mut()
            .and_then(|c| c.try_wait().expect("try_wait on relay"))
    }

    fn fail(&self, why: &str) -> ! {
        panic!(
            "relay {} (port {}): {why}\n--- last 60 lines of {}:\n{}",
            self.name,
            self.port,
            self.log.display(),
            self.log_tail(60)
        )
    }

    /// Polls `GET /v1/health` until it answers 200 (at most [`HEALTHY_TIMEOUT`]); returns the
    /// body. Panics with the log's tail if the relay exits or the time runs out.
    pub async fn wait_healthy(&mut self) -> serde_json::Value {
        self.wait_healthy_within(HEALTHY_TIMEOUT).await
    }

    pub async fn wait_healthy_within(&mut self, timeout: Duration) -> serde_json::Value {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(2))
            .build()
            .expect("reqwest client");
        let url = self.url("/v1/health");
        let deadline = Instant::now() + timeout;
        let mut last;
        loop {
            if let Some(status) = self.try_exit_status() {
                self.fail(&format!("exited ({status}) before /v1/health answered 200"));
            }
            match client.get(&url).send().await {
                Ok(resp) if resp.status() == reqwest::StatusCode::OK => {
                    let body = resp.text().await.unwrap_or_default();
                    return serde_json::from_str(&body).unwrap_or_else(|e| {
                        self.fail(&format!(
                            "/v1/health answered 200 with non-JSON ({e}): {body}"
                        ))
                    });
                }
                Ok(resp) => last = format!("HTTP {}", resp.status()),
                Err(e) => last = e.to_string(),
            }
            if Instant::now() >= deadline {
                self.fail(&format!(
                    "GET /v1/health not 200 within {timeout:?} (last: {last})"
                ));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// SIGKILL (`Child::kill`) and reap. No-op if not running.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Sends SIGTERM (graceful shutdown) without waiting; see [`Self::wait_exit`].
    pub fn terminate(&mut self) {
        if let Some(child) = self.child.as_ref() {
            send_sigterm(child.id());
        }
    }

    /// Waits up to `timeout` for the process to exit; `None` if it is still running (it is
    /// left running). Once it has exited, the handle is cleared and `restart` starts a new one.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let status = wait_timeout(self.child.as_mut()?, timeout);
        if status.is_some() {
            self.child = None;
        }
        status
    }

    /// SIGTERM, then waits up to `timeout`; panics (after a SIGKILL) if it did not exit.
    pub fn terminate_and_wait(&mut self, timeout: Duration) -> ExitStatus {
        self.terminate();
        match self.wait_exit(timeout) {
            Some(status) => status,
            None => {
                self.kill();
                self.fail(&format!(
                    "did not exit within {timeout:?} of SIGTERM (killed)"
                ))
            }
        }
    }
}

impl Drop for RelayProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A nisshi broker on `127.0.0.1:<port>` with SQLite storage in its own temporary directory,
/// for tests that stop, kill and restart a broker. The storage directory survives restarts
/// (so do topics and committed offsets) and is removed on drop. Log:
/// `<artifacts>/logs/nisshi-<port>.log`.
pub struct Broker {
    port: u16,
    dir: PathBuf,
    log: PathBuf,
    child: Option<Child>,
}

impl Broker {
    /// Starts a broker on a free port and waits until it accepts connections.
    pub fn start() -> Self {
        Self::start_on(free_port())
    }

    /// Starts a broker on `port` and waits until it accepts connections.
    pub fn start_on(port: u16) -> Self {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let dir = std::env::temp_dir().join(format!(
            "editpulse-broker-{port}-{}-{nanos}",
            std::process::id()
        ));
        fs::create_dir_all(&dir)
            .unwrap_or_else(|e| panic!("cannot create broker dir {}: {e}", dir.display()));
        let mut broker = Broker {
            port,
            dir,
            log: logs_dir().join(format!("nisshi-{port}.log")),
            child: None,
        };
        broker.resume();
        broker
    }

    /// Starts the (stopped) broker again on the same port and storage.
    pub fn resume(&mut self) {
        assert!(
            self.child.is_none(),
            "broker on port {} is already running",
            self.port
        );
        let bin = nisshi_bin();
        let (out, err) = append_log(&self.log);
        let listener = format!("tcp://127.0.0.1:{}", self.port);
        // nisshi resolves the sqlite path against its working directory.
        let child = Command::new(&bin)
            .current_dir(&self.dir)
            .args([
                "broker",
                "--listener-url",
                &listener,
                "--advertised-listener-url",
                &listener,
            ])
            .args(["--storage-engine", "sqlite://broker.db"])
            .args(["--group-initial-rebalance-delay", "0s"])
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()));
        self.child = Some(child);
        let deadline = Instant::now() + BROKER_START_TIMEOUT;
        while !port_open(self.port) {
            if let Some(status) = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                self.child = None;
                self.fail(&format!("exited ({status}) before listening"));
            }
            if Instant::now() >= deadline {
                self.fail(&format!("not listening within {BROKER_START_TIMEOUT:?}"));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn fail(&self, why: &str) -> ! {
        panic!(
            "nisshi on 127.0.0.1:{}: {why}\n--- last 40 lines of {}:\n{}",
            self.port,
            self.log.display(),
            file_tail(&self.log, 40)
        )
    }

    /// Graceful stop: SIGTERM, then SIGKILL after 10 s. Waits until the port is closed.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            send_sigterm(child.id());
            if wait_timeout(&mut child, Duration::from_secs(10)).is_none() {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
        self.wait_port_closed();
    }

    /// Crash: SIGKILL. Waits until the port is closed.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        self.wait_port_closed();
    }

    /// `stop()` then `resume()`: same port, same storage.
    pub fn restart(&mut self) {
        self.stop();
        self.resume();
    }

    fn wait_port_closed(&self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while port_open(self.port) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn is_running(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|c| matches!(c.try_wait(), Ok(None)))
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Bootstrap address: `127.0.0.1:<port>`.
    pub fn brokers(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    pub fn storage_dir(&self) -> &Path {
        &self.dir
    }

    pub fn log_path(&self) -> &Path {
        &self.log
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = fs::remove_dir_all(&self.dir);
    }
}

pub mod load;
pub mod recording;
pub mod sse_client;
pub mod webdriver;

/// The wall clock in Unix milliseconds, the unit of event times.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// A name no other test or earlier run uses (topics, consumer groups).
pub fn unique(prefix: &str) -> String {
    static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!("{prefix}-{}-{nanos}-{n}", std::process::id())
}
pub mod fake_upstream;
