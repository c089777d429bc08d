//! Stopping child processes: SIGTERM, waiting with a timeout, SIGKILL and reap.

use std::process::{Child, ExitStatus};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

/// Sends SIGTERM (a graceful shutdown) without waiting.
pub fn sigterm(child: &Child) -> anyhow::Result<()> {
    let pid = libc::pid_t::try_from(child.id()).context("pid out of range")?;
    // SAFETY: kill(2) has no memory preconditions; `pid` is our own, not yet reaped, child.
    if unsafe { libc::kill(pid, libc::SIGTERM) } != 0 {
        bail!("kill -TERM {pid}: {}", std::io::Error::last_os_error());
    }
    Ok(())
}

/// Waits up to `timeout` for `child` to exit; `None` if it is still running.
pub fn wait_timeout(child: &mut Child, timeout: Duration) -> anyhow::Result<Option<ExitStatus>> {
    let deadline = Instant::now() + timeout;
    loop {
        match child
            .try_wait()
            .with_context(|| format!("waiting for pid {}", child.id()))?
        {
            Some(status) => return Ok(Some(status)),
            None if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
            None => return Ok(None),
        }
    }
}

/// SIGKILL and reap; a child that has already exited is only reaped.
pub fn kill_and_reap(child: &mut Child) {
    let _ = child.kill();
    let _ = child.wait();
}
