//! The publish loop: partial windows and watermarks in, merged totals out to every client.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::watch;
use wire::WindowRecord;

use super::Published;
use super::history_writer::HistoryWriter;
use crate::bus::OutputEvent;
use crate::bus::{OutputRecord, OutputSource};
use crate::clock;
use crate::telemetry::Telemetry;
use crate::window::task::TICK;

/// Open windows go out at most once per this: every update is a write to every SSE client,
/// so under load changes are coalesced (10,000 clients × 25 updates a second is the budget the
/// fan-out benchmark holds), while a lone change after a quiet spell goes out at once.
const MIN_GAP: Duration = Duration::from_millis(40);

pub async fn run(
    mut source: OutputSource,
    published: Arc<Published>,
    telemetry: Arc<Telemetry>,
    mut history: Option<HistoryWriter>,
    mut shutdown: watch::Receiver<bool>,
) {
    // A relay reading Kafka first replays the history the topic holds, silently, so clients
    // see one final total per past second instead of a flurry of provisional ones.
    let mut loading = source.has_history();
    let mut tick = tokio::time::interval(TICK);
    let mut out = Vec::new();
    let mut last_publish = Instant::now();
    // The new second goes out the moment it starts, together with the health report timed to
    // the same instant, rather than up to a tick later on its own.
    let second_starts = tokio::time::sleep(clock::until_next_second());
    tokio::pin!(second_starts);
    loop {
        tokio::select! {
            ev = source.next() => match ev {
                OutputEvent::Record(OutputRecord::Window(p)) => {
                    let (revision, recorded) = {
                        let mut merger = published.merger.write().expect("merger lock");
                        let revision = merger.apply_partial(p).filter(|_| !loading);
                        let recorded = match (&revision, &history) {
                            (Some(r), Some(_)) => merger.final_seconds(std::slice::from_ref(r)),
                            _ => Vec::new(),
                        };
                        (revision, recorded)
                    };
                    if let Some(r) = revision {
                        if let Some(h) = &mut history {
                            h.write(&recorded, clock::now());
                        }
                        published.publish(&[r]);
                    }
                    // A change goes out at once unless one went out just before; then the
                    // tick sends it once the gap has passed.
                    if !loading && last_publish.elapsed() >= MIN_GAP {
                        publish(&published, &telemetry, &mut history, &mut out, &mut last_publish);
                    }
                }
                OutputEvent::Record(OutputRecord::Watermark { partition, watermark }) => {
                    published.merger.write().expect("merger lock").apply_watermark(partition, watermark);
                    // Windows this watermark closes go out now, gap or not: once a second.
                    if !loading {
                        publish(&published, &telemetry, &mut history, &mut out, &mut last_publish);
                    }
                }
                OutputEvent::Loaded => {
                    tracing::info!("count history loaded from the output topic");
                    published.merger.write().expect("merger lock").history_loaded();
                    loading = false;
                }
                OutputEvent::Idle => {}
            },
            // Sends what the gap held back, and each new second as it starts.
            _ = tick.tick(), if !loading && last_publish.elapsed() >= MIN_GAP => {
                publish(&published, &telemetry, &mut history, &mut out, &mut last_publish);
            }
            _ = &mut second_starts, if !loading => {
                publish(&published, &telemetry, &mut history, &mut out, &mut last_publish);
                let next = tokio::time::Instant::now() + clock::until_next_second();
                second_starts.as_mut().reset(next);
            }
            _ = shutdown.changed() => break,
        }
    }
}

/// Publishes what the merger has to say, after telling it whether the live source is up and
/// recording its final seconds; `at` moves only when something went out, so a change right
/// after a quiet tick is not held back by the gap.
fn publish(
    published: &Published,
    telemetry: &Telemetry,
    history: &mut Option<HistoryWriter>,
    out: &mut Vec<WindowRecord>,
    at: &mut Instant,
) {
    let now = clock::now();
    let mut merger = published.merger.write().expect("merger lock");
    merger.note_source(telemetry.source_up(), now);
    merger.publish(now, out);
    // Taken with the merger still locked, so each second's partials are the ones its total
    // was merged from; written after, so HTTP readers do not wait on the file.
    let recorded = match history {
        Some(_) => merger.final_seconds(out),
        None => Vec::new(),
    };
    drop(merger);
    if !out.is_empty() {
        if let Some(h) = history {
            h.write(&recorded, now);
        }
        published.publish(out);
        out.clear();
        *at = Instant::now();
    }
}
