//! Every answer of the read API equals a brute force over the same events. Both 2024
//! recordings (and copies of their events changed the ways the admission rules care about) are
//! posted through the gateway, then late events that revise seconds already final; random
//! filters and ranges are asked of `/v1/counts` (per second and in buckets), `/v1/top` (by
//! wiki, page and user), `/v1/stream?since=` and `/v1/edits` (every page, through its cursor),
//! and each answer is compared with [`support::truth`], which reads the events with serde_json
//! and counts them by scanning. On the embedded bus and on Kafka, before and after a SIGKILL;
//! across two counting relays and a serve-only one, which must also answer alike; and with
//! partials of the old format (no breakdown) on the output topic. `EDITPULSE_SEED=<n>` repeats
//! a run's cases (each test prints its seed).

#[path = "explore/check.rs"]
mod check;
#[path = "explore/edits.rs"]
mod edits;
#[path = "explore/events.rs"]
mod events;
#[path = "explore/old_partials.rs"]
mod old_partials;

use serde_json::Value;
use support::broker::brokers;
use support::names::unique;
use support::relay_process::{RelayProcess, env_refs, kafka_env};
use support::truth::Rng;

use check::{Case, Held};
use events::{Posted, TOKEN};

/// Random cases per round; each is a handful of HTTP requests per relay.
const CASES: usize = 24;
/// Of those, how many are also asked of `/v1/stream`.
const STREAMS: usize = 4;
/// Of those, how many are also asked of `/v1/edits` (every page, in pages of the next of
/// [`LIMITS`] rows) and `/v1/top?by=page|user`.
const EDITS: usize = 9;
const LIMITS: [usize; 3] = [7, 40, 1_000];

const ARGS: [&str; 3] = ["--no-upstream", "--watermark-delay-ms", "1000"];

/// A round of `cases` on every relay: each answer equals the brute force; and where the range
/// starts in the recording (so quiet seconds a relay did or did not watch before it are not
/// in it) every relay gives the same answer. Returns those answers.
async fn round(
    relays: &[&RelayProcess],
    posted: &Posted,
    cases: &[Case],
) -> support::Result<Vec<Vec<Value>>> {
    let mut held: Vec<Held> = Vec::new();
    for r in relays {
        held.push(check::settle(r, posted).await?);
    }
    let mut shared = Vec::new();
    for (i, c) in cases.iter().enumerate() {
        let mut first: Option<Vec<Value>> = None;
        for (r, h) in relays.iter().zip(&held) {
            let mut answers = check::case(r, posted, h, c).await?;
            if i < STREAMS {
                check::stream(r, posted, h, c).await?;
            }
            if i < EDITS {
                answers.extend(edits::list(r, posted, c, LIMITS[i % LIMITS.len()]).await?);
                answers.extend(edits::top(r, posted, c).await?);
            }
            if c.from < posted.first {
                continue;
            }
            match &first {
                None => first = Some(answers),
                Some(a) => anyhow::ensure!(
                    *a == answers,
                    "{} answers {c:?} unlike {}:\n{answers:?}\n{a:?}",
                    r.name(),
                    relays[0].name()
                ),
            }
        }
        shared.extend(first);
    }
    Ok(shared)
}

fn draw(rng: &mut Rng, posted: &Posted, n: usize) -> Vec<Case> {
    (0..n).map(|_| Case::draw(rng, posted)).collect()
}

/// Posts, checks a round, SIGKILLs and restarts the relay, checks the same cases again: the
/// answers are the brute force's and the same as before the kill.
async fn answers_survive_a_sigkill(name: &str, envs: &[(&str, &str)]) -> support::Result<()> {
    let mut relay = RelayProcess::spawn(name, &ARGS, envs)?;
    relay.wait_healthy().await?;
    let mut posted = events::post_all(&relay).await?;
    check::settle(&relay, &posted).await?;
    events::post_late(&relay, &mut posted).await?;
    check::until_counted(&relay, &posted).await?;
    let mut rng = Rng::from_env(name);
    let cases = draw(&mut rng, &posted, CASES);
    let before = round(&[&relay], &posted, &cases).await?;

    relay.kill();
    relay.restart()?;
    relay.wait_healthy().await?;
    let after = round(&[&relay], &posted, &cases).await?;
    anyhow::ensure!(
        before == after,
        "answers differ after a SIGKILL:\nbefore {before:?}\n after {after:?}"
    );
    eprintln!(
        "{name}: {} events, {} counted, {CASES} cases before and after a SIGKILL",
        posted.events.len(),
        posted.truth.edits.len()
    );
    Ok(())
}

#[tokio::test]
async fn embedded_answers_equal_brute_force_before_and_after_a_sigkill() -> support::Result<()> {
    answers_survive_a_sigkill("explore-embedded", &[("RELAY_INGEST_TOKEN", TOKEN)]).await
}

#[tokio::test]
async fn kafka_answers_equal_brute_force_before_and_after_a_sigkill() -> support::Result<()> {
    let mut env = kafka_env(&brokers()?, "explore-kafka");
    env.push(("RELAY_INGEST_TOKEN".into(), TOKEN.into()));
    answers_survive_a_sigkill("explore-kafka", &env_refs(&env)).await
}

/// Two counting relays in one group on a 4-partition input topic, and a serve-only relay:
/// each holds only part of every second's partials until it merges the output topic, and all
/// three answer every case alike, as the brute force does.
#[tokio::test]
async fn scaled_out_relays_answer_alike_and_equal_brute_force() -> support::Result<()> {
    let env: Vec<(String, String)> = vec![
        ("RELAY_BROKERS".into(), brokers()?),
        ("RELAY_INPUT_TOPIC".into(), unique("explore-scale-in")),
        ("RELAY_OUTPUT_TOPIC".into(), unique("explore-scale-out")),
        ("RELAY_GROUP_ID".into(), unique("explore-scale-group")),
        ("RELAY_PARTITIONS".into(), "4".into()),
        ("RELAY_INGEST_TOKEN".into(), TOKEN.into()),
        ("RELAY_WATERMARK_DELAY_MS".into(), "1000".into()),
        (
            "RELAY_KAFKA_OPTION".into(),
            "session.timeout.ms=6000".into(),
        ),
    ];
    let env = env_refs(&env);
    let mut a = RelayProcess::spawn("explore-scale-a", &["--no-upstream"], &env)?;
    let mut b = RelayProcess::spawn("explore-scale-b", &["--no-upstream"], &env)?;
    let mut serve = RelayProcess::spawn("explore-scale-serve", &["--serve-only"], &env)?;
    for r in [&mut a, &mut b, &mut serve] {
        r.wait_healthy().await?;
    }
    wait_split(&a, &b).await?;
    let mut posted = events::post_all(&a).await?;
    check::settle(&a, &posted).await?;
    events::post_late(&b, &mut posted).await?;
    for r in [&a, &b, &serve] {
        check::until_counted(r, &posted).await?;
    }
    let mut rng = Rng::from_env("explore-scale");
    let cases = draw(&mut rng, &posted, CASES);
    round(&[&a, &b, &serve], &posted, &cases).await?;
    Ok(())
}

/// Waits until the two relays each own some of the four partitions, and together all.
async fn wait_split(a: &RelayProcess, b: &RelayProcess) -> support::Result<()> {
    let client = reqwest::Client::new();
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(45);
    loop {
        let mut owned = Vec::new();
        for r in [a, b] {
            let h = r.health(&client).await?;
            let parts: Vec<u64> = h["bus"]["partitions"]
                .as_array()
                .map(|ps| ps.iter().filter_map(|p| p["partition"].as_u64()).collect())
                .unwrap_or_default();
            owned.push(parts);
        }
        if owned.iter().all(|o| !o.is_empty()) && owned.iter().map(Vec::len).sum::<usize>() == 4 {
            return Ok(());
        }
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "the partitions never split between the two relays: {owned:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
}

#[tokio::test]
async fn partials_without_a_breakdown_count_in_totals_and_not_in_filtered_answers()
-> support::Result<()> {
    old_partials::run().await
}
