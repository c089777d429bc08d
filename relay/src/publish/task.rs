//! The publish loop: partial windows and watermarks in, merged totals out to every client.

use std::sync::Arc;

use tokio::sync::watch;

use super::Published;
use crate::bus::kafka::OutputEvent;
use crate::bus::{OutputRecord, OutputSource};
use crate::clock;
use crate::window::task::TICK;

const HEARTBEAT: std::time::Duration = std::time::Duration::from_millis(200);

pub async fn run(
    mut source: OutputSource,
    published: Arc<Published>,
    mut shutdown: watch::Receiver<bool>,
) {
    // A relay reading Kafka first replays the history the topic holds, silently, so clients
    // see one final total per past second instead of a flurry of provisional ones.
    let mut loading = source.has_history();
    let mut tick = tokio::time::interval(TICK);
    let mut out = Vec::new();
    let mut last_heartbeat = std::time::Instant::now();
    loop {
        tokio::select! {
            ev = source.next() => match ev {
                OutputEvent::Record(OutputRecord::Window(p)) => {
                    let revision = published.merger.write().expect("merger lock").apply_partial(p);
                    if let Some(r) = revision.filter(|_| !loading) {
                        published.publish(&[r]);
                    }
                }
                OutputEvent::Record(OutputRecord::Watermark { partition, watermark }) => {
                    let mut merger = published.merger.write().expect("merger lock");
                    merger.apply_watermark(partition, watermark);
                    // Windows this watermark closes go out now, not on the next tick.
                    if !loading {
                        merger.publish(clock::now(), false, &mut out);
                        drop(merger);
                        published.publish(&out);
                        out.clear();
                    }
                }
                OutputEvent::Loaded => {
                    tracing::info!("count history loaded from the output topic");
                    loading = false;
                }
                OutputEvent::Idle => {}
            },
            _ = tick.tick(), if !loading => {
                // The open second goes out at least every 200 ms (≥ 4 a second) even when
                // unchanged; anything that changed goes out on the next tick.
                let heartbeat = last_heartbeat.elapsed() >= HEARTBEAT;
                if heartbeat {
                    last_heartbeat = std::time::Instant::now();
                }
                published.merger.write().expect("merger lock").publish(clock::now(), heartbeat, &mut out);
                published.publish(&out);
                out.clear();
            }
            _ = shutdown.changed() => break,
        }
    }
}
