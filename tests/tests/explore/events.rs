//! The events the explore tests post: both 2024 recordings laid over the same seconds (so each
//! second holds a few dozen edits of ~40 wikis), plus copies of recorded events changed the
//! ways the admission rules care about — a repeated `meta.id`, a canary, no `wiki`, an unknown
//! or missing `type`, a namespace that is not the integer 0, no `meta.id` at all.

use serde_json::{Value, json};
use support::paths::data_file;
use support::recording::{self, now_ms};
use support::relay_process::RelayProcess;
use support::truth::Truth;

pub const TOKEN: &str = "explore-token";

const FILES: [&str; 2] = [
    "recentchange-2024-02-06-all-wikis.jsonl",
    "recentchange-2024-02-07-all-wikis.jsonl",
];

/// What was posted, and what of it counts.
pub struct Posted {
    pub events: Vec<Value>,
    pub truth: Truth,
    /// The first and last second holding an edit (starts, Unix ms).
    pub first: i64,
    pub last: i64,
}

impl Posted {
    /// The range the random cases are drawn from: the recording and a few seconds around it.
    pub fn span(&self) -> (i64, i64) {
        (self.first - 3_000, self.last + 4_000)
    }
}

/// The recordings with their first second moved to `start`, and the variants.
pub fn build(start: i64) -> support::Result<Vec<Value>> {
    let mut events = Vec::new();
    for file in FILES {
        let recorded = recording::load(&data_file(file))?;
        let first = recorded
            .iter()
            .map(recording::event_ms)
            .collect::<support::Result<Vec<_>>>()?
            .into_iter()
            .min()
            .unwrap_or_default();
        let shift = start - first.div_euclid(1_000) * 1_000;
        for text in recording::shifted_events(&recorded, shift)? {
            events.push(serde_json::from_str::<Value>(&text)?);
        }
    }
    let recorded = events.clone();
    let mut variant = |i: usize, id: &str, change: &dyn Fn(&mut Value)| {
        let mut e = recorded[i % recorded.len()].clone();
        if !id.is_empty() {
            e["meta"]["id"] = json!(format!("explore-{id}"));
        }
        change(&mut e);
        events.push(e);
    };
    // Repeats of a recorded event, same id and time: counted once.
    for i in [3, 50, 51, 200, 290] {
        variant(i, "", &|_| {});
    }
    variant(7, "canary", &|e| e["meta"]["domain"] = json!("canary"));
    for (i, n) in [(11, 1), (120, 2)] {
        variant(i, &format!("no-wiki-{n}"), &|e| {
            e.as_object_mut().map(|o| o.remove("wiki"));
        });
    }
    variant(13, "odd-type", &|e| e["type"] = json!("suppress"));
    variant(14, "no-type", &|e| {
        e.as_object_mut().map(|o| o.remove("type"));
    });
    variant(15, "ns-float", &|e| e["namespace"] = json!(0.0));
    variant(16, "ns-string", &|e| e["namespace"] = json!("0"));
    variant(17, "ns-none", &|e| {
        e.as_object_mut().map(|o| o.remove("namespace"));
    });
    variant(18, "ns-zero-human", &|e| {
        e["namespace"] = json!(0);
        e["bot"] = json!(false);
    });
    // Without a meta.id: never a repeat, so both copies count.
    for _ in 0..2 {
        variant(19, "", &|e| {
            e["meta"].as_object_mut().map(|m| m.remove("id"));
        });
    }
    // A wiki whose name needs percent-encoding in a filter.
    variant(20, "odd-wiki", &|e| e["wiki"] = json!("zh_min_nan wiki&ü"));
    Ok(events)
}

/// Posts the events with their first second two seconds from now.
pub async fn post_all(relay: &RelayProcess) -> support::Result<Posted> {
    let start = (now_ms() / 1_000 + 2) * 1_000;
    let events = build(start)?;
    let body: String = events.iter().map(|e| format!("{e}\n")).collect();
    post(relay, body).await?;
    let truth = Truth::of(&events)?;
    let seconds = truth.seconds();
    let (first, last) = (
        *seconds.first().expect("edits"),
        *seconds.last().expect("edits"),
    );
    Ok(Posted {
        events,
        truth,
        first,
        last,
    })
}

/// Events that arrive after their seconds were published final (but within the allowed
/// lateness): copies of recorded events with new ids — a third of them of a wiki nothing named
/// before — and a repeat of an id already counted, which must not count again. They revise
/// their seconds; the brute force is taken again over everything posted.
pub async fn post_late(relay: &RelayProcess, posted: &mut Posted) -> support::Result<()> {
    let mut late = Vec::new();
    for (i, e) in posted.events.iter().step_by(17).take(20).enumerate() {
        let mut e = e.clone();
        e["meta"]["id"] = json!(format!("explore-late-{i}"));
        if i % 3 == 0 {
            e["wiki"] = json!("explore_newwiki");
        }
        late.push(e);
    }
    late.push(posted.events[5].clone());
    let body: String = late.iter().map(|e| format!("{e}\n")).collect();
    post(relay, body).await?;
    posted.events.extend(late);
    posted.truth = Truth::of(&posted.events)?;
    Ok(())
}

pub async fn post(relay: &RelayProcess, ndjson: String) -> support::Result<()> {
    let resp = reqwest::Client::new()
        .post(relay.url("/v1/events"))
        .header("content-type", "application/x-ndjson")
        .bearer_auth(TOKEN)
        .body(ndjson)
        .send()
        .await?;
    let status = resp.status();
    let text = resp.text().await?;
    anyhow::ensure!(status == 202, "POST /v1/events: {status} {text}");
    Ok(())
}
