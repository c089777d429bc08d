//! The processes a benchmark runs, started through the shared test support: nisshi brokers
//! and relays of its own on free loopback ports, logs under `<logs>/bench-*.log`, killed when
//! dropped; and the open-files limit thousands of SSE clients need.

use anyhow::{Context, bail};
use support::broker::{Broker, BrokerSpec, Storage};
use support::relay_process::{RelayProcess, RelaySpec};

use crate::Ctx;

/// A broker of the benchmark's own. `rebalance_delay` is nisshi's
/// `--group-initial-rebalance-delay` (e.g. "0s", "1s").
pub fn broker(ctx: &Ctx, storage: Storage, rebalance_delay: &str) -> anyhow::Result<Broker> {
    let broker = Broker::start_with(BrokerSpec {
        bin: ctx.nisshi()?.to_path_buf(),
        storage,
        rebalance_delay: rebalance_delay.into(),
        logs: ctx.logs.clone(),
        log_prefix: "bench-nisshi".into(),
    })?;
    eprintln!(
        "[bench] nisshi ({}) on {}",
        storage.name(),
        broker.brokers()
    );
    Ok(broker)
}

/// The memory-storage broker a part's relay uses on the Kafka bus; none on the embedded bus.
pub fn bus_broker(ctx: &Ctx, kafka: bool) -> anyhow::Result<Option<Broker>> {
    kafka
        .then(|| broker(ctx, Storage::Memory, "0s"))
        .transpose()
}

/// Starts the relay with `args` in a temporary directory of its own (`--state-dir` and
/// `--static-dir` inside it) and waits until `GET /v1/health` answers 200.
pub async fn relay(ctx: &Ctx, name: &str, args: &[String]) -> anyhow::Result<RelayProcess> {
    let mut relay = RelayProcess::start(RelaySpec {
        name: name.into(),
        bin: ctx.relay_bin.clone(),
        logs: ctx.logs.clone(),
        log_prefix: "bench-relay".into(),
        args: args.to_vec(),
        envs: vec![("RUST_LOG".into(), "relay=info,warn".into())],
    })?;
    relay.wait_healthy().await?;
    eprintln!(
        "[bench] relay {name} on {} (pid {})",
        relay.base_url(),
        running_pid(&relay)?
    );
    Ok(relay)
}

/// The relay's pid; an error if it is not running.
pub fn running_pid(relay: &RelayProcess) -> anyhow::Result<u32> {
    relay
        .pid()
        .with_context(|| format!("relay {} is not running", relay.name()))
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
