//! What /proc says about a process: resident memory, open file descriptors, CPU time, the
//! open-files limit, and the send and receive queues of its TCP sockets.

use std::collections::HashMap;
use std::fs;

use anyhow::{Context, bail};

fn read(path: &str) -> anyhow::Result<String> {
    fs::read_to_string(path).with_context(|| format!("cannot read {path}"))
}

/// `VmRSS` and `VmHWM` (the peak) of a process, in kB, from `/proc/<pid>/status`.
pub fn rss_kb(pid: u32) -> anyhow::Result<(u64, u64)> {
    let path = format!("/proc/{pid}/status");
    let status = read(&path)?;
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| {
                l.strip_prefix(name)?
                    .trim()
                    .strip_suffix("kB")?
                    .trim()
                    .parse()
                    .ok()
            })
            .with_context(|| format!("no {name} in {path}"))
    };
    Ok((field("VmRSS:")?, field("VmHWM:")?))
}

/// Open file descriptors of a process, from `/proc/<pid>/fd`.
pub fn open_fds(pid: u32) -> anyhow::Result<usize> {
    let path = format!("/proc/{pid}/fd");
    Ok(fs::read_dir(&path)
        .with_context(|| format!("cannot read {path}"))?
        .count())
}

/// CPU time (user + system) a process has used, in seconds, from `/proc/<pid>/stat`.
pub fn cpu_secs(pid: u32) -> anyhow::Result<f64> {
    cpu_secs_of(&pid.to_string())
}

/// CPU time (user + system) this process has used, in seconds.
pub fn own_cpu_secs() -> anyhow::Result<f64> {
    cpu_secs_of("self")
}

fn cpu_secs_of(pid: &str) -> anyhow::Result<f64> {
    let path = format!("/proc/{pid}/stat");
    let stat = read(&path)?;
    // Fields after the command name, which is in parentheses and may hold spaces.
    let ticks = (|| {
        let rest = &stat[stat.rfind(')')? + 2..];
        let f: Vec<&str> = rest.split_whitespace().collect();
        Some(f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?)
    })()
    .with_context(|| format!("no utime and stime in {path}"))?;
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    Ok(ticks / hz.max(1.0))
}

/// The soft open-files limit of a process, from `/proc/<pid>/limits`.
pub fn nofile_limit(pid: u32) -> anyhow::Result<u64> {
    let path = format!("/proc/{pid}/limits");
    let limits = read(&path)?;
    let Some(line) = limits.lines().find(|l| l.starts_with("Max open files")) else {
        bail!("no \"Max open files\" in {path}");
    };
    line.split_whitespace()
        .nth(3)
        .and_then(|v| v.parse().ok())
        .with_context(|| format!("unreadable open-files limit in {path}: {line}"))
}

/// Send and receive queues (bytes) of the IPv4 sockets on local `port`, by peer port, from
/// `/proc/net/tcp`.
pub fn tcp_queues(port: u16) -> anyhow::Result<HashMap<u16, (u64, u64)>> {
    let table = read("/proc/net/tcp")?;
    let port_of = |addr: &str| {
        addr.rsplit(':')
            .next()
            .and_then(|p| u16::from_str_radix(p, 16).ok())
    };
    Ok(table
        .lines()
        .skip(1)
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            if port_of(f.get(1)?)? != port {
                return None;
            }
            let (tx, rx) = f.get(4)?.split_once(':')?;
            Some((
                port_of(f[2])?,
                (
                    u64::from_str_radix(tx, 16).ok()?,
                    u64::from_str_radix(rx, 16).ok()?,
                ),
            ))
        })
        .collect())
}
