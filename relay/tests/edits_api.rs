//! `/v1/edits` and `/v1/top?by=page|user` on the embedded bus: real recordings (moved to now,
//! with repeats added) posted through the gateway, and every answer for random ranges and
//! filters equal to a brute-force reading of them; every page of a listing covering each edit
//! once; each second's list as long as its count; hostile parameters refused by name.
//! The same against Kafka and from a `--serve-only` relay: `edits_kafka.rs`.

mod edits_check;
mod in_process;

use edits_check::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn edits_and_top_names_equal_a_brute_force_reading_on_the_embedded_bus() {
    let seed = seed();
    let dir = tempfile::tempdir().unwrap();
    let relay = in_process::gateway_relay(
        dir.path(),
        &[
            "--allowed-lateness-ms",
            "600000",
            "--watermark-delay-ms",
            "300",
        ],
    )
    .await
    .expect("relay starts");
    let app = relay.router();
    let (body, truths) = recording(now_ms() - 2_000, seed);
    post(&app, body).await;
    let (lo, hi) = span(&truths);
    wait_counted(&app, lo - 1_000, hi + 1_000, truths.len()).await;

    check_seconds_agree(&app, lo - 1_000, hi + 1_000).await;
    check_random(&app, lo, hi, &truths, seed, 25, &[1, 7, 50, 1000]).await;
    check_hostile(&app).await;
}
