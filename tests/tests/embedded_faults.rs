//! The embedded bus against the real relay binary: a 202 means the events are in the state
//! directory's log, so a relay SIGKILLed mid-stream and restarted on the same state directory
//! counts every acknowledged event exactly once, per second, each second final — the same
//! promise a Kafka relay keeps (`kafka_faults.rs`), without a broker.

use std::time::Duration;

use support::load::{self, Load};
use support::relay_process::RelayProcess;

const TOKEN: &str = "embedded-fault-token";

#[tokio::test]
async fn relay_on_the_embedded_bus_sigkilled_mid_stream_counts_every_acknowledged_event_once()
-> support::Result<()> {
    let env = [
        ("RELAY_INGEST_TOKEN", TOKEN),
        ("RELAY_WATERMARK_DELAY_MS", "1000"),
    ];
    let mut relay = RelayProcess::spawn("embedded-kill", &["--no-upstream"], &env)?;
    relay.wait_healthy().await?;
    // 50 events every 20 ms: at the kill, the last second or two of acknowledged events are
    // not final yet (some not even counted), which is what a restart must not lose.
    let load = Load::start(
        relay.url("/v1/events"),
        Some(TOKEN.into()),
        50,
        Duration::from_millis(20),
    )?;
    tokio::time::sleep(Duration::from_secs(4)).await;
    relay.kill();
    tokio::time::sleep(Duration::from_millis(500)).await;
    relay.restart()?;
    relay.wait_healthy().await?;
    tokio::time::sleep(Duration::from_secs(3)).await;
    // And again, while the restarted relay is still well inside the first kill's lateness:
    // the second restart re-reads from a commit point the first restart's counter made.
    relay.kill();
    relay.restart()?;
    relay.wait_healthy().await?;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let outcome = load.stop().await?;
    assert!(outcome.unexpected.is_empty(), "{:?}", outcome.unexpected);
    assert!(outcome.unreachable > 0, "the relay was not really down");
    assert!(outcome.total_acked() > 5_000, "{outcome:?}");
    load::assert_counted(&relay.base_url(), &outcome.acked, Duration::from_secs(60)).await;
    eprintln!(
        "embedded relay killed twice: {} events acknowledged in {} requests, {} attempts \
         unanswered while it was down",
        outcome.total_acked(),
        outcome.accepted_requests,
        outcome.unreachable
    );
    Ok(())
}
