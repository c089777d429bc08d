//! A real recording replayed through a real relay process: every per-second count equals an
//! independent count of the file, zeros included — on the embedded bus and on Kafka.

use std::time::Duration;

use support::broker::brokers;
use support::names::unique;
use support::paths::data_file;
use support::recording::{self, assert_counts_match};
use support::relay_process::RelayProcess;

const FILE: &str = "recentchange-2024-02-06-all-wikis.jsonl";

async fn replay_and_check(
    name: &str,
    extra: &[&str],
    envs: &[(&str, &str)],
) -> support::Result<()> {
    let file = data_file(FILE);
    let expected = recording::per_second(&recording::load(&file)?)?;
    let file_arg = file.display().to_string();
    let mut args = vec!["--replay", &file_arg, "--watermark-delay-ms", "1000"];
    args.extend_from_slice(extra);
    let mut relay = RelayProcess::spawn(name, &args, envs)?;
    relay.wait_healthy().await?;

    // The recording spans 10 s; wait until its last second is final (watermark delay 1 s).
    let deadline = tokio::time::Instant::now() + Duration::from_secs(45);
    loop {
        let counts = recording::fetch_counts(&relay.base_url()).await?;
        let total_final: u64 = counts.values().filter(|(_, f)| *f).map(|(n, _)| n).sum();
        let total: u64 = expected.values().sum();
        let tail_final = counts
            .iter()
            .rev()
            .find(|(_, (n, _))| *n > 0)
            .is_some_and(|(s, _)| counts.get(&(s + 2_000)).is_some_and(|(_, f)| *f));
        if total_final == total && tail_final {
            assert_counts_match(&counts, &expected);
            return Ok(());
        }
        if tokio::time::Instant::now() > deadline {
            panic!(
                "replay not fully counted in time; last counts {counts:?}\n{}",
                relay.log_tail(40)
            );
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

#[tokio::test]
async fn replay_counts_exactly_on_the_embedded_bus() -> support::Result<()> {
    replay_and_check("replay-embedded", &[], &[]).await
}

#[tokio::test]
async fn replay_counts_exactly_through_kafka() -> support::Result<()> {
    let brokers = brokers()?;
    let input = unique("replay-in");
    let output = unique("replay-out");
    let group = unique("replay-group");
    replay_and_check(
        "replay-kafka",
        &[],
        &[
            ("RELAY_BROKERS", &brokers),
            ("RELAY_INPUT_TOPIC", &input),
            ("RELAY_OUTPUT_TOPIC", &output),
            ("RELAY_GROUP_ID", &group),
            ("RELAY_PARTITIONS", "4"),
        ],
    )
    .await
}
