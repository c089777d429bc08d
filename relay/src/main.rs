use clap::Parser;
use tracing_subscriber::EnvFilter;

fn main() -> std::process::ExitCode {
    keep_freed_memory();
    let config = relay::Config::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| "relay=info,warn".into()),
        )
        .init();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    match runtime.block_on(serve(config)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e}");
            eprintln!("relay: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn serve(config: relay::Config) -> Result<(), relay::RelayError> {
    let addr = config.listen;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| relay::RelayError::Bind { addr, source })?;
    relay::run(config, listener, shutdown_signal()).await
}

/// SIGINT or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
}

/// glibc serves allocations above its mmap threshold (128 KB at first) with fresh mappings and
/// gives them back on free, and trims freed memory at the heap's top: a gateway request's body
/// (~1.4 MB per 1,000 events) then lands in new zero pages each time, and faulting them in was
/// ~15 % of an ingest-only relay's CPU (perf). With the threshold fixed above the largest body
/// accepted by default (8 MB) and a higher trim threshold, freed buffers are reused; the memory
/// kept is what the busiest moment needed, bounded by the request limits (BENCHMARKS.md).
fn keep_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets allocator parameters; called before any other thread exists.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 128 << 20);
    }
}
