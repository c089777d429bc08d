//! `/v1/edits` and `/v1/top?by=page|user` on Kafka: the same recordings and brute force as
//! `edits_api.rs`, posted to a relay on the shared test broker (`EDITPULSE_BROKERS`, as every
//! broker test; `bash scripts/test.sh` starts one) and answered alike by it and by a
//! `--serve-only` relay, which reads the input topic by time without taking part in counting.

mod edits_check;
mod in_process;

use edits_check::*;

fn brokers() -> String {
    std::env::var("EDITPULSE_BROKERS")
        .ok()
        .filter(|b| !b.trim().is_empty())
        .expect(
            "EDITPULSE_BROKERS is not set: this test needs a Kafka-protocol broker. Run it with \
             `bash scripts/test.sh` (it starts nisshi), or start one and set \
             EDITPULSE_BROKERS=127.0.0.1:PORT",
        )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn edits_and_top_names_equal_a_brute_force_reading_on_kafka_and_from_a_serve_only_relay() {
    let seed = seed();
    let brokers = brokers();
    let run = format!("edits-{}-{}", std::process::id(), now_ms());
    let (input, output) = (format!("{run}-in"), format!("{run}-out"));
    let shared = [
        "--brokers",
        &brokers,
        "--input-topic",
        &input,
        "--output-topic",
        &output,
        "--group-id",
        &run,
        "--allowed-lateness-ms",
        "600000",
        "--watermark-delay-ms",
        "300",
    ];
    let dir = tempfile::tempdir().unwrap();
    let counting = in_process::gateway_relay(dir.path(), &shared)
        .await
        .expect("relay starts");
    let app = counting.router();
    let (body, truths) = recording(now_ms() - 2_000, seed);
    post(&app, body).await;
    let (lo, hi) = span(&truths);
    wait_counted(&app, lo - 1_000, hi + 1_000, truths.len()).await;

    check_seconds_agree(&app, lo - 1_000, hi + 1_000).await;
    // Each page is a read of the topic: pages of 25 and more keep the test short.
    check_random(&app, lo, hi, &truths, seed, 8, &[25, 1000]).await;
    check_hostile(&app).await;

    let serve_dir = tempfile::tempdir().unwrap();
    let mut serve_args = shared.to_vec();
    serve_args.push("--serve-only");
    let serving = in_process::gateway_relay(serve_dir.path(), &serve_args)
        .await
        .expect("serve-only relay starts");
    let served = serving.router();
    wait_counted(&served, lo - 1_000, hi + 1_000, truths.len()).await;
    check_seconds_agree(&served, lo - 1_000, hi + 1_000).await;
    check_random(&served, lo, hi, &truths, seed ^ 1, 8, &[25, 1000]).await;
}
