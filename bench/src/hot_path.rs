//! Metric 1: parse real recorded events and assign them to windows, on one core, next to
//! `serde_json` validating the same bytes into `IgnoredAny` (the limit).
//!
//! Three loops — the limit, parse only, parse and count (each pass into a fresh
//! `PartitionCounter`, so no event is a repeat) — timed in-process so the quick run takes a
//! fraction of a second: each figure is the median of repetitions, and each repetition runs
//! limit and relay back to back, so the ratio is taken within one run.

use std::hint::black_box;
use std::time::{Duration, Instant};

use codec::event;
use relay::config::TimeMode;
use relay::window::{PartitionCounter, Timing};
use serde::de::IgnoredAny;
use wire::Millis;

use crate::Ctx;
use crate::report::{Metric, Target};
use crate::stats::median;

pub fn run(ctx: &Ctx, out: &mut Vec<Metric>) -> anyhow::Result<()> {
    let events = crate::events::recorded_lines(&ctx.data)?;
    let bytes: usize = events.iter().map(Vec::len).sum();
    let timing = Timing {
        mode: TimeMode::Event,
        delay_ms: 2_000,
        lateness_ms: 60_000,
        max_future_ms: 300_000,
        slack_ms: 10_000,
    };
    // Ingest times a moment after each event, as live: every event counts.
    let ingest: Vec<Millis> = events
        .iter()
        .map(|e| event::parse(e).map(|e| e.time.plus(1_500)))
        .collect::<Result<_, _>>()
        .map_err(|e| anyhow::anyhow!("recorded event unreadable: {e}"))?;

    let per_rep = if ctx.quick {
        Duration::from_millis(60)
    } else {
        Duration::from_millis(700)
    };
    let reps = ctx.reps(5);
    let (mut limit, mut parse, mut window, mut ratio) = (vec![], vec![], vec![], vec![]);
    for _ in 0..reps {
        let l = timed(per_rep, events.len(), || {
            for e in &events {
                let _: IgnoredAny = serde_json::from_slice(black_box(e)).expect("valid JSON");
            }
        });
        let p = timed(per_rep, events.len(), || {
            for e in &events {
                black_box(event::parse(black_box(e)).expect("valid event"));
            }
        });
        let mut offset = 0u64;
        let mut drained = Vec::new();
        let w = timed(per_rep, events.len(), || {
            // A fresh counter each pass: the same events again in the same windows would be
            // repeats of their meta.id, which a counter drops instead of counting.
            let mut counter = PartitionCounter::new(0, timing);
            for (e, &t) in events.iter().zip(&ingest) {
                let edit = event::parse(black_box(e)).expect("valid event");
                counter.add(&edit, t, offset);
                offset += 1;
            }
            counter.drain(&mut drained);
            drained.clear();
        });
        limit.push(l);
        parse.push(p);
        window.push(w);
        ratio.push(w / l);
    }
    let note = format!(
        "{} recorded events, {} bytes/event, one thread",
        events.len(),
        bytes / events.len()
    );
    out.push(
        Metric::median_of("hot_path_parse_window_events_per_s", window, "events/s")
            .note(note.clone()),
    );
    out.push(Metric::median_of(
        "hot_path_parse_only_events_per_s",
        parse,
        "events/s",
    ));
    out.push(
        Metric::median_of("hot_path_limit_ignored_any_events_per_s", limit, "events/s").note(note),
    );
    let r = median(&ratio);
    let mut m = Metric::new("hot_path_ratio_to_limit", r, "ratio").target(Target::AtLeast(0.6));
    m.samples = ratio;
    out.push(m);
    Ok(())
}

/// Runs `pass` (one pass over `per_pass` events) for at least `budget`; events per second.
fn timed(budget: Duration, per_pass: usize, mut pass: impl FnMut()) -> f64 {
    pass(); // warm caches
    let start = Instant::now();
    let mut passes = 0u64;
    while start.elapsed() < budget {
        pass();
        passes += 1;
    }
    (passes * per_pass as u64) as f64 / start.elapsed().as_secs_f64()
}
