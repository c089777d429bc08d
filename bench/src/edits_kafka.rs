//! The edits behind the counts on Kafka: a broker of the benchmark's own whose input topic (4
//! partitions) holds an hour of real events as a relay's gateway writes them — keyed by wiki,
//! tagged with their summary, each record stamped with its ingest time (~40 a second over the
//! past hour) and each event 0.7 s before it — and a `--serve-only` relay on it, timed as
//! [`crate::edits`] times the embedded bus. Every `/v1/edits` reads the topic back by
//! timestamp: the ~6 minutes of records whose ingest times can decide the second.

use std::time::Duration;

use support::broker::Storage;
use support::names::unique;
use wire::Millis;

use crate::Ctx;
use crate::edits::{Shape, measured, push};
use crate::events::Generator;
use crate::report::Metric;

const PARTITIONS: u32 = 4;

pub async fn run(ctx: &Ctx, out: &mut Vec<Metric>) -> anyhow::Result<()> {
    let broker = crate::procs::broker(ctx, Storage::Memory, "0s")?;
    let brokers = broker.brokers();
    let (input, output) = ("bench-edits-in", "bench-edits-out");
    let settings = relay::bus::kafka::KafkaSettings::new(&brokers, &[]);
    // The output topic stays empty: the serve-only relay reads no counts here.
    relay::bus::kafka::ensure_topics(
        &settings,
        input,
        output,
        PARTITIONS,
        1,
        Duration::from_secs(3_600),
    )
    .await
    .map_err(|e| anyhow::anyhow!("create topics: {e}"))?;

    let (rate, shape) = Shape::ending_now(ctx);
    let n = (shape.span_s * rate) as usize;
    let ingest = |i: usize| shape.start + (i as i64) * 1_000 / rate;
    let mut g = Generator::new(&ctx.data, &unique("edits"))?;
    // Stamped a little before they were taken in, as Wikimedia's events are.
    let events: Vec<_> = (0..n).map(|i| g.next_at(Millis(ingest(i) - 700))).collect();
    let producer = crate::kafka::producer(&brokers)?;
    let fill = crate::kafka::produce_stamped(&producer, input, &events, &ingest, true).await?;
    drop((events, producer));
    eprintln!("[bench] edits: {n} events in {input} ({fill:.0} events/s to fill)");

    let state = support::names::TempDir::new("bench-edits-kafka")?;
    let state_dir = state.path().display().to_string();
    let args = [
        "--serve-only",
        "--brokers",
        &brokers,
        "--input-topic",
        input,
        "--output-topic",
        output,
        "--state-dir",
        &state_dir,
    ];
    let m = measured(&args, &shape).await?;
    push(
        out,
        "_kafka",
        &m,
        &shape,
        &format!(
            "serve-only relay, input topic of {PARTITIONS} partitions holding {n} records ({rate}/s), nisshi memory storage"
        ),
    );
    drop(broker);
    Ok(())
}
