//! Where things are: the workspace, the artifacts and logs directories, the dashboard build,
//! the recordings, and the relay, nisshi and Prometheus binaries.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

/// The workspace root (the directory holding the root `Cargo.toml`).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .expect("tests/support sits two levels below the workspace root")
        .to_path_buf()
}

/// Cargo's target directory: `CARGO_TARGET_DIR`, else `<workspace>/target`.
pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target"))
}

/// A shipped recording, by file name, from `<workspace>/data`.
pub fn data_file(name: &str) -> PathBuf {
    workspace_root().join("data").join(name)
}

/// Where tests and benchmarks put what they leave behind (`EDITPULSE_ARTIFACTS`, else
/// `<workspace>/artifacts`); created if missing.
pub fn artifacts_dir() -> anyhow::Result<PathBuf> {
    let dir = std::env::var_os("EDITPULSE_ARTIFACTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("artifacts"));
    fs::create_dir_all(&dir)
        .with_context(|| format!("cannot create artifacts dir {}", dir.display()))?;
    Ok(dir)
}

/// `<artifacts>/logs`, created if missing.
pub fn logs_dir() -> anyhow::Result<PathBuf> {
    let dir = artifacts_dir()?.join("logs");
    fs::create_dir_all(&dir)
        .with_context(|| format!("cannot create logs dir {}", dir.display()))?;
    Ok(dir)
}

/// The dashboard build (`EDITPULSE_DIST`, else `<workspace>/dist`). An error when it has no
/// `index.html`.
pub fn dist_dir() -> anyhow::Result<PathBuf> {
    let dir = std::env::var_os("EDITPULSE_DIST")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("dist"));
    if !dir.join("index.html").is_file() {
        bail!(
            "no dashboard build at {}: run `trunk build --release` (or set EDITPULSE_DIST)",
            dir.display()
        );
    }
    Ok(dir)
}

/// The file named by the environment variable `var`, if it is set; an error if it names no
/// file (`hint` says how to make one).
fn file_from_env(var: &str, hint: &str) -> anyhow::Result<Option<PathBuf>> {
    let Some(p) = std::env::var_os(var).map(PathBuf::from) else {
        return Ok(None);
    };
    if !p.is_file() {
        bail!("{var}={} does not exist{hint}", p.display());
    }
    Ok(Some(p))
}

/// The relay binary: `EDITPULSE_RELAY_BIN`, else `<target>/release/relay`, else
/// `<target>/debug/relay`.
pub fn relay_bin() -> anyhow::Result<PathBuf> {
    let build = ": build it with `cargo build --release -p relay`";
    if let Some(p) = file_from_env("EDITPULSE_RELAY_BIN", build)? {
        return Ok(p);
    }
    let target = target_dir();
    ["release", "debug"]
        .map(|profile| target.join(profile).join("relay"))
        .into_iter()
        .find(|p| p.is_file())
        .with_context(|| {
            format!(
                "no relay binary: set EDITPULSE_RELAY_BIN or run `cargo build --release -p relay` \
                 (looked in {}/{{release,debug}}/relay)",
                target.display()
            )
        })
}

/// `name` on `PATH` or in `~/.cargo/bin`.
pub fn find_on_path(name: &str) -> Option<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    if let Some(home) = std::env::var_os("HOME") {
        dirs.push(PathBuf::from(home).join(".cargo/bin"));
    }
    dirs.into_iter().map(|d| d.join(name)).find(|p| p.is_file())
}

/// The nisshi binary: `EDITPULSE_NISSHI`, else `nisshi` on `PATH` or in `~/.cargo/bin`.
pub fn nisshi_bin() -> anyhow::Result<PathBuf> {
    if let Some(p) = file_from_env("EDITPULSE_NISSHI", "")? {
        return Ok(p);
    }
    find_on_path("nisshi").context(
        "EDITPULSE_NISSHI is not set and no nisshi is on PATH: run `bash scripts/test.sh` \
         (it installs nisshi) or set EDITPULSE_NISSHI=/path/to/nisshi",
    )
}

/// The Prometheus server: `EDITPULSE_PROMETHEUS`, else `prometheus` on `PATH`.
pub fn prometheus_bin() -> anyhow::Result<PathBuf> {
    if let Some(p) = file_from_env("EDITPULSE_PROMETHEUS", "")? {
        return Ok(p);
    }
    find_on_path("prometheus").context(
        "EDITPULSE_PROMETHEUS is not set and no prometheus is on PATH: run \
         `bash scripts/setup.sh prometheus` (Debian's prometheus package) or set \
         EDITPULSE_PROMETHEUS=/path/to/prometheus",
    )
}
