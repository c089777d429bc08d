//! Metric 2: counting from the broker. A pre-filled input topic (real events, keyed by wiki,
//! 4 partitions, stamped now, each tagged with the summary a relay's sources write) is read by
//!   - a bare rdkafka consumer (the limit), and 2 in one group (is one reader the limit, or the
//!     broker?),
//!   - the relay's real counting loop (`relay::window::task::run` on a `KafkaInput`, writing
//!     partial windows to a Kafka output topic), 1, 2 and 3 instances in one consumer group,
//!     and once more 1 on a copy of the topic without summary tags (another producer's records,
//!     which the counter must parse),
//!   - Quix Streams doing a 1-second tumbling count (bench/quix_count.py),
//!
//! each timed from its first record, not from subscribing (a group join takes seconds).
//!
//! Over 400 lines because every reader above runs on the one pre-filled topic and broker, and
//! its metrics are reported side by side.

use std::path::Path;
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use relay::bus::kafka::{self, KafkaInput, KafkaOutputSink, KafkaSettings};
use relay::bus::{InputConsumer, OutputSink};
use relay::config::TimeMode;
use relay::telemetry::{Telemetry, get};
use relay::window::Timing;
use support::broker::{Broker, Storage};
use support::names::{TempDir, unique};
use support::proc_stats::{cpu_secs, own_cpu_secs};
use tokio::sync::watch;

use crate::Ctx;
use crate::events::{Generator, fresh_now};
use crate::report::{Metric, Target};
use crate::stats::median;

/// The output topic's retention, as a relay with the default `--history` sets it.
pub const HISTORY: std::time::Duration = std::time::Duration::from_secs(86_400);

const PARTITIONS: u32 = 4;

pub async fn run(ctx: &Ctx, out: &mut Vec<Metric>) -> anyhow::Result<()> {
    // A 1 s initial rebalance delay lets 2 or 3 counters that subscribe together share the
    // group's first generation, instead of the first taking every partition and a rebalance
    // interrupting it a moment later.
    let broker = crate::procs::broker(ctx, Storage::Memory, "1s")?;
    let brokers = broker.brokers();
    let n: usize = if ctx.quick { 20_000 } else { 600_000 };
    let input = "bench-counter-in";
    let foreign = "bench-counter-foreign";
    let output = "bench-counter-out";
    let settings = KafkaSettings::new(&brokers, &[]);
    for topic in [input, foreign] {
        kafka::ensure_topics(&settings, topic, output, PARTITIONS, 1, HISTORY)
            .await
            .map_err(|e| anyhow::anyhow!("create topics: {e}"))?;
    }

    let mut g = Generator::new(&ctx.data, &unique("counter"))?;
    let events = fresh_now(&mut g, n);
    let producer = crate::kafka::producer(&brokers)?;
    // An idempotent producer's first acknowledgement takes ~0.5 s: not part of the fill rate.
    crate::kafka::produce_all(&producer, output, &events[..1], None, false).await?;
    let fill = crate::kafka::produce_all(&producer, input, &events, None, true).await?;
    crate::kafka::produce_all(&producer, foreign, &events, None, false).await?;
    drop(events);
    eprintln!("[bench] counter: {n} events in {input} ({fill:.0} events/s to fill)");
    out.push(
        Metric::new("counter_prefill_produce_events_per_s", fill, "events/s")
            .note("rdkafka, idempotent, acks=all, memory storage; informational"),
    );

    let timeout = Duration::from_secs(if ctx.quick { 60 } else { 120 });
    // Five: the ratio is taken per repetition on 2 shared cores, and moves ±10 % between them.
    let reps = ctx.reps(5);
    let mut bare = Vec::new();
    let (mut bare2, mut ratio2) = (Vec::new(), Vec::new());
    let mut by_instances: [Vec<f64>; 3] = Default::default();
    let (mut ratio, mut foreign_rates, mut foreign_ratio) = (vec![], vec![], vec![]);
    let mut overread = 0u64;
    // CPU per record, of this process (the reader) and of the broker, per reader.
    let (mut cpu_bare, mut cpu_relay) = (Cpu::default(), Cpu::default());
    for rep in 0..reps {
        let mark = cpu_now(&broker);
        let b = crate::kafka::consume_n(&brokers, input, n as u64, 1, timeout).await?;
        cpu_bare.add(mark, cpu_now(&broker), n);
        bare.push(b);
        eprintln!("[bench] counter rep {rep}: bare rdkafka {b:.0}/s");
        let b2 = crate::kafka::consume_n(&brokers, input, n as u64, 2, timeout).await?;
        bare2.push(b2);
        eprintln!("[bench] counter rep {rep}: bare rdkafka x2 {b2:.0}/s");
        for k in 1..=3usize {
            let mark = cpu_now(&broker);
            let (rate, extra) = relay_count(&settings, input, output, n as u64, k, timeout).await?;
            if k == 1 {
                cpu_relay.add(mark, cpu_now(&broker), n);
            }
            overread += extra;
            by_instances[k - 1].push(rate);
            match k {
                1 => ratio.push(rate / b),
                2 => ratio2.push(rate / b2),
                _ => {}
            }
            eprintln!("[bench] counter rep {rep}: relay x{k} {rate:.0}/s");
        }
        let (f, _) = relay_count(&settings, foreign, output, n as u64, 1, timeout).await?;
        eprintln!("[bench] counter rep {rep}: relay x1 on records without summary tags {f:.0}/s");
        foreign_rates.push(f);
        foreign_ratio.push(f / b);
    }
    let note = format!(
        "{n} real events, {PARTITIONS} partitions, nisshi memory storage, from the first record"
    );
    out.push(
        Metric::median_of(
            "counter_bare_rdkafka_events_per_s",
            bare.clone(),
            "events/s",
        )
        .note(format!(
            "{note}; rdkafka StreamConsumer with the relay's settings"
        )),
    );
    out.push(
        Metric::median_of("counter_bare_rdkafka_x2_events_per_s", bare2, "events/s").note(
            "2 bare consumers in one group, same settings; informational: above the 1-consumer \
             figure, one reader rather than the broker sets that limit",
        ),
    );
    for (who, cpu) in [("bare", cpu_bare), ("relay", cpu_relay)] {
        let what = match who {
            "bare" => "the bare consumer",
            _ => "one counting loop",
        };
        out.push(
            Metric::median_of(&format!("counter_{who}_cpu_us_per_record"), cpu.own, "us").note(
                format!(
                    "CPU time (user + system) of the process running {what}, per record, \
                     group join included; informational"
                ),
            ),
        );
        out.push(
            Metric::median_of(
                &format!("counter_{who}_broker_cpu_us_per_record"),
                cpu.broker,
                "us",
            )
            .note(format!(
                "the broker's CPU time per record while serving {what}"
            )),
        );
    }
    let [one, two, three] = by_instances;
    let relay1 = median(&one);
    out.push(
        Metric::median_of("counter_relay_events_per_s", one, "events/s").note(format!(
            "{note}; relay::window::task::run, Kafka output sink"
        )),
    );
    out.push(
        Metric::median_of("counter_relay_ratio_to_bare", ratio, "ratio")
            .target(Target::AtLeast(0.9)),
    );
    out.push(
        Metric::median_of(
            "counter_relay_foreign_events_per_s",
            foreign_rates,
            "events/s",
        )
        .note(
            "as counter_relay_events_per_s, on records without the summary tag (another \
             producer's topic): every payload parsed",
        ),
    );
    out.push(Metric::median_of(
        "counter_relay_foreign_ratio_to_bare",
        foreign_ratio,
        "ratio",
    ));
    out.push(
        Metric::median_of("counter_relay_x2_events_per_s", two, "events/s")
            .note("2 counting loops in one consumer group, one process"),
    );
    out.push(Metric::median_of(
        "counter_relay_x2_ratio_to_bare_x2",
        ratio2,
        "ratio",
    ));
    out.push(
        Metric::median_of("counter_relay_x3_events_per_s", three, "events/s").note(format!(
            "3 counting loops in one consumer group, one process; records read twice after \
             rebalances over all runs: {overread}"
        )),
    );

    if ctx.skips("quix") {
        out.push(Metric::missing(
            "counter_quix_events_per_s",
            "events/s",
            "skipped",
        ));
        return Ok(());
    }
    let Some(python) = ctx.quix_python.as_deref() else {
        out.push(Metric::missing(
            "counter_quix_events_per_s",
            "events/s",
            "no --quix-python given (scripts/bench.sh sets it up)",
        ));
        return Ok(());
    };
    let mut quix = Vec::new();
    let mut quix_ratio = Vec::new();
    for rep in 0..ctx.reps(3) {
        let q = quix_count(ctx, python, &brokers, input, n as u64, timeout).await?;
        eprintln!("[bench] counter rep {rep}: quix {q:.0}/s");
        quix.push(q);
        quix_ratio.push(relay1 / q);
    }
    out.push(
        Metric::median_of("counter_quix_events_per_s", quix, "events/s").note(format!(
            "{note}; Quix Streams tumbling_window(1 s).count().final() by meta.dt, \
             with the retention.ms shim for nisshi"
        )),
    );
    out.push(
        Metric::median_of("counter_relay_ratio_to_quix", quix_ratio, "ratio")
            .target(Target::AtLeast(20.0)),
    );
    Ok(())
}

/// CPU seconds used so far by this process and by the broker.
fn cpu_now(broker: &Broker) -> (Option<f64>, Option<f64>) {
    (
        own_cpu_secs().ok(),
        broker.pid().and_then(|pid| cpu_secs(pid).ok()),
    )
}

/// Per repetition: microseconds of CPU per record, this process and the broker.
#[derive(Default)]
struct Cpu {
    own: Vec<f64>,
    broker: Vec<f64>,
}

impl Cpu {
    fn add(
        &mut self,
        before: (Option<f64>, Option<f64>),
        after: (Option<f64>, Option<f64>),
        n: usize,
    ) {
        let per_record = |a: Option<f64>, b: Option<f64>| Some((b? - a?) * 1e6 / n as f64);
        self.own.extend(per_record(before.0, after.0));
        self.broker.extend(per_record(before.1, after.1));
    }
}

async fn warm_sink(settings: &KafkaSettings, output: &str) -> anyhow::Result<KafkaOutputSink> {
    let sink =
        KafkaOutputSink::new(settings, output, PARTITIONS).map_err(|e| anyhow::anyhow!("{e}"))?;
    let mark = relay::bus::OutputRecord::Watermark {
        partition: 0,
        watermark: wire::Millis(0),
    };
    sink.send(&[mark], relay::clock::now())
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    sink.flush().await.map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(sink)
}

/// Records the relay's counters have taken off the bus, whatever became of them.
fn processed(t: &Telemetry) -> u64 {
    let w = &t.windows;
    get(&w.counted)
        + get(&w.duplicates)
        + get(&w.too_late)
        + get(&w.too_early)
        + get(&w.canaries)
        + get(&w.unreadable)
}

/// `k` counting loops in one fresh consumer group read the whole topic. Returns records per
/// second from the first record to the last, and how many records were read more than once
/// (after a rebalance, the new owner recomputes from the last commit).
async fn relay_count(
    settings: &KafkaSettings,
    input: &str,
    output: &str,
    n: u64,
    k: usize,
    timeout: Duration,
) -> anyhow::Result<(f64, u64)> {
    // Lateness of a day: repetitions read the same records minutes after they were written,
    // and must count every one, as a live relay would.
    let timing = Timing {
        mode: TimeMode::Event,
        delay_ms: 2_000,
        lateness_ms: 86_400_000,
        max_future_ms: 300_000,
        slack_ms: 10_000,
    };
    let group = unique("bench-relay");
    let (stop, stopped) = watch::channel(false);
    let mut telemetry = Vec::new();
    let mut tasks = Vec::new();
    // Output producers are warmed up first: an idempotent producer's first acknowledgement
    // takes ~0.5 s on nisshi, and the counting loop's first commit would wait for it.
    let sinks = futures::future::try_join_all((0..k).map(|_| warm_sink(settings, output))).await?;
    for sink in sinks {
        let consumer =
            KafkaInput::new(settings, input, &group).map_err(|e| anyhow::anyhow!("{e}"))?;
        let t = Arc::new(Telemetry::default());
        tasks.push(tokio::spawn(relay::window::task::run(
            InputConsumer::Kafka(consumer),
            OutputSink::Kafka(Arc::new(sink)),
            timing,
            t.clone(),
            stopped.clone(),
        )));
        telemetry.push(t);
    }
    let total = || telemetry.iter().map(|t| processed(t)).sum::<u64>();
    let deadline = Instant::now() + timeout;
    let mut first: Option<(Instant, u64)> = None;
    // The longest time the count stood still once started, for the progress log.
    let (mut last_change, mut last_c, mut longest_stall) = (Instant::now(), 0u64, Duration::ZERO);
    let end = loop {
        let now = Instant::now();
        let c = total();
        if c > 0 && first.is_none() {
            first = Some((now, c));
        }
        if c != last_c {
            if first.is_some() && last_c > 0 {
                longest_stall = longest_stall.max(now - last_change);
            }
            last_change = now;
            last_c = c;
        }
        if c >= n {
            break now;
        }
        if now > deadline {
            let _ = stop.send(true);
            bail!("{k} relay counter(s) processed {c} of {n} records in {timeout:?}");
        }
        tokio::time::sleep(Duration::from_micros(500)).await;
    };
    // Let a last tick settle, to see whether anything was read twice.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let extra = total().saturating_sub(n);
    let counted: u64 = telemetry.iter().map(|t| get(&t.windows.counted)).sum();
    let _ = stop.send(true);
    for t in tasks {
        let _ = tokio::time::timeout(Duration::from_secs(15), t).await;
    }
    if counted < n {
        bail!(
            "the relay counted {counted} of {n} records (the rest refused as late or unreadable)"
        );
    }
    let (t0, c0) = first.expect("records were seen");
    eprintln!(
        "[bench]   x{k}: {n} records in {:.3} s, longest pause in counting {:.0} ms",
        end.duration_since(t0).as_secs_f64(),
        longest_stall.as_secs_f64() * 1e3
    );
    let secs = end.duration_since(t0).as_secs_f64().max(1e-6);
    Ok(((n - c0) as f64 / secs, extra))
}

#[derive(serde::Deserialize)]
struct QuixResult {
    events_per_s: f64,
}

async fn quix_count(
    ctx: &Ctx,
    python: &Path,
    brokers: &str,
    topic: &str,
    n: u64,
    timeout: Duration,
) -> anyhow::Result<f64> {
    let state = TempDir::new("editpulse-bench-quix")?;
    let log = ctx.logs.join("bench-quix.log");
    let stderr = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log)?;
    let child = tokio::process::Command::new(python)
        .arg(&ctx.quix_script)
        .args(["--brokers", brokers, "--topic", topic])
        .arg("--group")
        .arg(unique("bench-quix"))
        .arg("--count")
        .arg(n.to_string())
        .arg("--state-dir")
        .arg(state.path())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::from(stderr))
        .kill_on_drop(true)
        .spawn()
        .with_context(|| format!("cannot start {}", python.display()))?;
    let output = tokio::time::timeout(timeout + Duration::from_secs(30), child.wait_with_output())
        .await
        .with_context(|| format!("Quix did not finish in time; log: {}", log.display()))??;
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        bail!(
            "quix_count.py exited {}:\n{}",
            output.status,
            support::logs::tail(&log, 30)
        );
    }
    let line = stdout
        .lines()
        .rev()
        .find(|l| l.starts_with('{'))
        .context("quix_count.py printed no result")?;
    let r: QuixResult = serde_json::from_str(line).context("quix_count.py result")?;
    Ok(r.events_per_s)
}
