//! A day of count history in-process: written to the history file as a relay would have
//! written it, a relay on the embedded bus starts from it and serves it whole, in buckets
//! equal to brute-force sums; a file that is not history stops the relay with a clear error.
//! Restarts of real processes (SIGTERM, SIGKILL) are tested in tests/, against the binary.

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use history::{FinalSecond, History};
use http_body_util::BodyExt;
use relay::Relay;
use serde_json::Value;
use tower::ServiceExt;
use wire::{Buckets, Cell, ChangeType, Cube, Millis, TypeCounts, WindowRecord};

const DAY: i64 = 86_400;

mod in_process;

async fn start(state_dir: &std::path::Path) -> Result<Relay, relay::run::RelayError> {
    in_process::gateway_relay(state_dir, &[]).await
}

async fn get(app: &Router, uri: &str) -> (StatusCode, Value) {
    let resp = app
        .clone()
        .oneshot(Request::get(uri).body(Body::empty()).expect("request"))
        .await
        .expect("the router never fails");
    let status = resp.status();
    let bytes = resp.into_body().collect().await.expect("body").to_bytes();
    (status, serde_json::from_slice(&bytes).expect("JSON"))
}

/// A day of final seconds ending a minute ago, as a relay would have recorded them: counts
/// from a fixed pseudo-random sequence, a quiet hour, and one revised second.
fn a_day(now_s: i64) -> Vec<WindowRecord> {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    (now_s - DAY + 60..now_s - 60)
        .map(|s| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let quiet = (now_s - s) / 3_600 == 5;
            let count = if quiet { 0 } else { x % 90 };
            let start = Millis(s * 1_000);
            let mut w = WindowRecord::empty(start, start.plus(1_000), true);
            w.count = count;
            w.bots = count / 3;
            w.humans = count - w.bots;
            w.by_type = TypeCounts {
                edit: count - count / 4,
                new: count / 4,
                ..TypeCounts::default()
            };
            w.revision = u32::from(s % 997 == 0);
            if count > 0 {
                w.top_wikis = vec![("enwiki".into(), count)];
            }
            w
        })
        .collect()
}

/// A second as a relay records it: with its cube, here all of enwiki's articles, its bots
/// edits first.
fn recorded(w: &WindowRecord) -> FinalSecond {
    let edit_bots = w.bots.min(w.by_type.edit);
    let new_bots = w.bots - edit_bots;
    let cells = [
        (ChangeType::Edit, false, w.by_type.edit - edit_bots),
        (ChangeType::Edit, true, edit_bots),
        (ChangeType::New, false, w.by_type.new - new_bots),
        (ChangeType::New, true, new_bots),
    ];
    FinalSecond {
        record: w.clone(),
        partials: None,
        cube: Some(Cube::of(
            cells.map(|(kind, bot, n)| Cell::new("enwiki", kind, bot, true, n)),
        )),
    }
}

fn brute_force(day: &[WindowRecord], start: i64, end: i64) -> Option<(u64, u64, u64, u32)> {
    let inside: Vec<_> = day
        .iter()
        .filter(|w| w.start.0 >= start && w.start.0 < end)
        .collect();
    (!inside.is_empty()).then(|| {
        (
            inside.iter().map(|w| w.count).sum(),
            inside.iter().map(|w| w.count).min().unwrap(),
            inside.iter().map(|w| w.count).max().unwrap(),
            inside.len() as u32,
        )
    })
}

#[tokio::test]
async fn a_day_of_history_is_served_whole_in_buckets_equal_to_brute_force_sums() {
    let dir = tempfile::tempdir().expect("temp dir");
    let now_s = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let day = a_day(now_s);
    let recorded: Vec<FinalSecond> = day.iter().map(recorded).collect();
    History::open_in(dir.path())
        .unwrap()
        .write_seconds(&recorded)
        .unwrap();
    let relay = start(dir.path()).await.expect("starts from its history");
    let app = relay.router();

    // A day without a step: buckets of the shortest step that keeps them within 2,000.
    let (from, to) = ((now_s - DAY) * 1_000, now_s * 1_000);
    let (status, body) = get(&app, &format!("/v1/counts?from={from}&to={to}")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let auto: Buckets = serde_json::from_value(body).unwrap();
    assert_eq!(auto.step, 60);
    assert_eq!(auto.earliest, Some(day[0].start));
    for step in [60, 300, 3_600] {
        let buckets = if step == 60 {
            auto.clone()
        } else {
            let (status, body) =
                get(&app, &format!("/v1/counts?from={from}&to={to}&step={step}")).await;
            assert_eq!(status, StatusCode::OK, "{body}");
            serde_json::from_value(body).unwrap()
        };
        assert!(buckets.buckets.len() <= 2_000);
        let step_ms = i64::from(step) * 1_000;
        let mut want = Vec::new();
        let mut b = from.div_euclid(step_ms) * step_ms;
        while b < to {
            if let Some(sums) = brute_force(&day, b, b + step_ms) {
                want.push((b, sums));
            }
            b += step_ms;
        }
        let got: Vec<_> = buckets
            .buckets
            .iter()
            .map(|b| (b.start.0, (b.count, b.min, b.max, b.seconds)))
            .collect();
        assert_eq!(got, want, "step {step}");
    }

    // Under a filter, from the recorded cubes: new pages by humans, per hour, and the day's
    // busiest wikis.
    let (status, body) = get(
        &app,
        &format!("/v1/counts?from={from}&to={to}&step=3600&type=new&bot=false"),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let filtered: Buckets = serde_json::from_value(body).unwrap();
    for b in &filtered.buckets {
        let want: u64 = recorded
            .iter()
            .filter(|s| s.record.start >= b.start && s.record.start < b.end)
            .flat_map(|s| s.cube.as_ref().unwrap().0.iter())
            .filter(|c| c.kind() == ChangeType::New && !c.bot())
            .map(|c| c.count())
            .sum();
        assert_eq!((b.count, b.humans, b.by_type.new), (want, want, want));
    }
    assert!(filtered.buckets.iter().any(|b| b.count > 0));
    let (status, body) = get(&app, &format!("/v1/top?from={from}&to={to}&by=wiki")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let total: u64 = day.iter().map(|w| w.count).sum();
    assert_eq!(body["items"], serde_json::json!([["enwiki", total]]));
    assert_eq!(body["total"], total);

    // An hour is answered second by second, each as it was recorded.
    let hour_from = (now_s - 3 * 3_600) * 1_000;
    let (_, body) = get(
        &app,
        &format!("/v1/counts?from={hour_from}&to={}", hour_from + 3_600_000),
    )
    .await;
    let seconds: Vec<WindowRecord> = serde_json::from_value(body).unwrap();
    let want: Vec<_> = day
        .iter()
        .filter(|w| w.start.0 >= hour_from && w.start.0 < hour_from + 3_600_000)
        .cloned()
        .collect();
    assert_eq!(seconds.len(), 3_600);
    assert_eq!(seconds, want);

    // Older than the history: not served, and forgotten.
    let (_, body) = get(
        &app,
        &format!("/v1/counts?from={}&to={}&step=60", from - 3_600_000, from),
    )
    .await;
    assert_eq!(body["buckets"], serde_json::json!([]), "{body}");
}

#[tokio::test]
async fn a_file_that_is_not_history_stops_the_relay_and_is_kept() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join(history::FILE_NAME);
    let bytes = b"these are somebody's notes, not an EditPulse history file\n".repeat(100);
    std::fs::write(&path, &bytes).unwrap();
    let err = start(dir.path())
        .await
        .err()
        .expect("the relay refuses to start");
    let msg = err.to_string();
    assert!(
        msg.contains(&path.display().to_string()) && msg.contains("not an EditPulse history file"),
        "{msg}"
    );
    assert_eq!(std::fs::read(&path).unwrap(), bytes, "the file was changed");
}
