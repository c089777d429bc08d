//! The processes a benchmark runs: its own nisshi broker and relay binaries, on free loopback
//! ports, logs under `<artifacts>/logs/bench-*.log`, killed when dropped.

use std::collections::BTreeMap;
use std::fs::{self, OpenOptions};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail};

/// The workspace root (the directory holding the root `Cargo.toml`).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("bench/ has a parent directory")
        .to_path_buf()
}

/// A loopback TCP port that was free a moment ago.
pub fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

pub fn port_open(port: u16) -> bool {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok()
}

/// A name no other run or repetition uses (topics, consumer groups, ids).
pub fn unique(prefix: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!(
        "{prefix}-{}-{}-{}",
        std::process::id(),
        nanos % 1_000_000_000_000,
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// A temporary directory removed on drop.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(prefix: &str) -> anyhow::Result<TempDir> {
        let dir = std::env::temp_dir().join(unique(prefix));
        fs::create_dir_all(&dir).with_context(|| format!("create {}", dir.display()))?;
        Ok(TempDir(dir))
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn log_file(path: &Path) -> anyhow::Result<(Stdio, Stdio)> {
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir)?;
    }
    let f = OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .with_context(|| format!("open log {}", path.display()))?;
    let g = f.try_clone()?;
    Ok((Stdio::from(f), Stdio::from(g)))
}

/// The last `n` lines of a log, for error messages.
pub fn tail(path: &Path, n: usize) -> String {
    let text = fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Storage {
    /// `memory://nisshi/`: nothing on disk; the broker's fastest.
    Memory,
    /// `sqlite://broker.db` in a temporary directory: what a persistent broker costs.
    Sqlite,
}

impl Storage {
    pub fn name(self) -> &'static str {
        match self {
            Storage::Memory => "memory",
            Storage::Sqlite => "sqlite",
        }
    }
}

/// A nisshi broker of the benchmark's own.
pub struct Nisshi {
    port: u16,
    child: Child,
    log: PathBuf,
    _dir: TempDir,
}

impl Nisshi {
    /// Starts a broker on a free loopback port and waits until it accepts connections.
    /// `rebalance_delay` is nisshi's `--group-initial-rebalance-delay` (e.g. "0s", "1s").
    pub fn start(
        bin: &Path,
        storage: Storage,
        rebalance_delay: &str,
        logs: &Path,
    ) -> anyhow::Result<Nisshi> {
        let port = free_port()?;
        let dir = TempDir::new("editpulse-bench-broker")?;
        let log = logs.join(format!("bench-nisshi-{port}.log"));
        let (out, err) = log_file(&log)?;
        let listener = format!("tcp://127.0.0.1:{port}");
        let engine = match storage {
            Storage::Memory => "memory://nisshi/",
            // nisshi takes the sqlite path relative to its working directory.
            Storage::Sqlite => "sqlite://broker.db",
        };
        let child = Command::new(bin)
            .current_dir(dir.path())
            .args(["broker", "--listener-url", &listener])
            .args(["--advertised-listener-url", &listener])
            .args(["--storage-engine", engine])
            .args(["--group-initial-rebalance-delay", rebalance_delay])
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .with_context(|| format!("cannot start {}", bin.display()))?;
        let mut n = Nisshi {
            port,
            child,
            log,
            _dir: dir,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while !port_open(port) {
            if let Some(status) = n.child.try_wait()? {
                bail!(
                    "nisshi exited ({status}) before listening:\n{}",
                    tail(&n.log, 20)
                );
            }
            if Instant::now() > deadline {
                bail!("nisshi not listening within 30 s:\n{}", tail(&n.log, 20));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        eprintln!("[bench] nisshi ({}) on {}", storage.name(), n.brokers());
        Ok(n)
    }

    pub fn brokers(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Nisshi {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A relay process on a free loopback port, with no `RELAY_*` variable inherited.
pub struct Relay {
    port: u16,
    child: Child,
    log: PathBuf,
    _dir: TempDir,
}

impl Relay {
    /// Starts `bin` with `args` (plus `--listen`, and `--state-dir`/`--static-dir` in a temp dir)
    /// and waits until `GET /v1/health` answers 200.
    pub async fn start(
        bin: &Path,
        name: &str,
        args: &[String],
        logs: &Path,
    ) -> anyhow::Result<Relay> {
        if !bin.is_file() {
            bail!(
                "no relay binary at {}: build it with `cargo build --release -p relay`",
                bin.display()
            );
        }
        let port = free_port()?;
        let dir = TempDir::new("editpulse-bench-relay")?;
        let log = logs.join(format!("bench-relay-{name}-{port}.log"));
        let (out, err) = log_file(&log)?;
        let mut cmd = Command::new(bin);
        for (k, _) in std::env::vars_os() {
            if k.to_string_lossy().starts_with("RELAY_") {
                cmd.env_remove(&k);
            }
        }
        cmd.current_dir(dir.path())
            .env("RUST_LOG", "relay=info,warn")
            .arg("--listen")
            .arg(format!("127.0.0.1:{port}"))
            .arg("--state-dir")
            .arg(dir.path().join("state"))
            .arg("--static-dir")
            .arg(dir.path().join("no-dist"))
            .args(args)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err);
        let child = cmd
            .spawn()
            .with_context(|| format!("cannot start {}", bin.display()))?;
        let mut r = Relay {
            port,
            child,
            log,
            _dir: dir,
        };
        r.wait_healthy(Duration::from_secs(30)).await?;
        eprintln!("[bench] relay {name} on {} (pid {})", r.base_url(), r.pid());
        Ok(r)
    }

    async fn wait_healthy(&mut self, timeout: Duration) -> anyhow::Result<()> {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(2))
            .build()?;
        let url = self.url("/v1/health");
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait()? {
                bail!(
                    "relay exited ({status}) before it was healthy:\n{}",
                    tail(&self.log, 30)
                );
            }
            if let Ok(r) = client.get(&url).send().await
                && r.status() == reqwest::StatusCode::OK
            {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!(
                    "relay not healthy within {timeout:?}:\n{}",
                    tail(&self.log, 30)
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url())
    }

    pub fn log(&self) -> &Path {
        &self.log
    }

    /// Fails with the log's tail if the process has exited.
    pub fn check_alive(&mut self) -> anyhow::Result<()> {
        if let Some(status) = self.child.try_wait()? {
            bail!("relay exited ({status}):\n{}", tail(&self.log, 30));
        }
        Ok(())
    }

    /// `GET /metrics`, as name → value.
    pub async fn metrics(&self, client: &reqwest::Client) -> anyhow::Result<BTreeMap<String, f64>> {
        let text = client
            .get(self.url("/metrics"))
            .send()
            .await?
            .error_for_status()?
            .text()
            .await?;
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
}

impl Drop for Relay {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `VmRSS` and `VmHWM` of a process, in kB, from `/proc/<pid>/status`.
pub fn rss_kb(pid: u32) -> Option<(u64, u64)> {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| -> Option<u64> {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))?
            .trim()
            .trim_end_matches("kB")
            .trim()
            .parse()
            .ok()
    };
    Some((field("VmRSS:")?, field("VmHWM:")?))
}

/// CPU time (user + system) a process has used, in seconds, from `/proc/<pid>/stat`
/// (`self` for this process).
pub fn cpu_secs(pid: &str) -> Option<f64> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name, which is in parentheses and may hold spaces.
    let rest = &stat[stat.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?;
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    Some(ticks / hz.max(1.0))
}

/// The soft open-files limit of a process, from `/proc/<pid>/limits`.
pub fn nofile_limit(pid: u32) -> Option<u64> {
    let limits = fs::read_to_string(format!("/proc/{pid}/limits")).ok()?;
    limits
        .lines()
        .find(|l| l.starts_with("Max open files"))?
        .split_whitespace()
        .nth(3)?
        .parse()
        .ok()
}

/// Raises this process's open-files limit to `want` (the hard limit too, if allowed).
/// Children started afterwards inherit it, so the relay gets the same limit.
pub fn raise_nofile(want: u64) -> anyhow::Result<u64> {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes into the struct we own.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } != 0 {
        bail!("getrlimit: {}", std::io::Error::last_os_error());
    }
    if lim.rlim_cur >= want {
        return Ok(lim.rlim_cur);
    }
    let raised = libc::rlimit {
        rlim_cur: want,
        rlim_max: lim.rlim_max.max(want),
    };
    // SAFETY: setrlimit only reads the struct.
    if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } == 0 {
        return Ok(want);
    }
    // Not allowed to raise the hard limit: go as far as it allows.
    let capped = libc::rlimit {
        rlim_cur: lim.rlim_max,
        rlim_max: lim.rlim_max,
    };
    // SAFETY: as above.
    if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &capped) } != 0 {
        bail!("setrlimit: {}", std::io::Error::last_os_error());
    }
    Ok(lim.rlim_max)
}
