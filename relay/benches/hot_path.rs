//! The hot path: parse real recorded events and assign them to windows, next to the parse
//! limit — `serde_json` validating the same bytes into `IgnoredAny`.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use relay::config::TimeMode;
use relay::event;
use relay::window::{PartitionCounter, Timing};
use serde::de::IgnoredAny;
use wire::Millis;

fn events() -> Vec<Vec<u8>> {
    [
        include_str!("../../data/recentchange-2024-02-06-all-wikis.jsonl"),
        include_str!("../../data/recentchange-2024-02-07-all-wikis.jsonl"),
    ]
    .iter()
    .flat_map(|f| f.lines().map(|l| l.as_bytes().to_vec()))
    .collect()
}

fn hot_path(c: &mut Criterion) {
    let events = events();
    let bytes: usize = events.iter().map(Vec::len).sum();
    let timing = Timing {
        mode: TimeMode::Event,
        delay_ms: 2_000,
        lateness_ms: 60_000,
        max_future_ms: 300_000,
        slack_ms: 10_000,
    };
    // Ingest times a few seconds after each event, as live: every event counts.
    let ingest: Vec<Millis> = events
        .iter()
        .map(|e| event::parse(e).unwrap().time.plus(1_500))
        .collect();

    let mut g = c.benchmark_group("hot_path");
    g.throughput(Throughput::Elements(events.len() as u64));
    g.bench_function("parse_limit_ignored_any", |b| {
        b.iter(|| {
            for e in &events {
                let _: IgnoredAny = serde_json::from_slice(std::hint::black_box(e)).unwrap();
            }
        })
    });
    g.bench_function("parse_only", |b| {
        b.iter(|| {
            for e in &events {
                std::hint::black_box(event::parse(std::hint::black_box(e)).unwrap());
            }
        })
    });
    g.bench_function("parse_and_window", |b| {
        let mut out = Vec::new();
        b.iter(|| {
            // A fresh counter each pass: the same events again would be dropped as repeats of
            // their meta.id, which is cheaper than counting them.
            let mut counter = PartitionCounter::new(0, timing);
            for (offset, (e, &t)) in events.iter().zip(&ingest).enumerate() {
                let edit = event::parse(std::hint::black_box(e)).unwrap();
                counter.add(&edit, t, offset as u64);
            }
            counter.drain(&mut out);
            out.clear();
        })
    });
    g.finish();
    eprintln!(
        "hot_path input: {} events, {} bytes ({} bytes/event)",
        events.len(),
        bytes,
        bytes / events.len()
    );
}

criterion_group!(benches, hot_path);
criterion_main!(benches);
