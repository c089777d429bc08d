//! The counting loop: reads the input partitions this relay owns, counts, and writes partial
//! windows and watermarks out; commits input offsets only behind what a restart can rebuild.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::watch;
use wire::{Millis, PartitionState};

use super::counter::{Admission, PartitionCounter};
use super::timing::{NO_WATERMARK, Timing};
use crate::bus::{
    CommitPoint, Content, GroupProbe, InputConsumer, InputEvent, OutputRecord, OutputSink,
};
use crate::clock;
use crate::telemetry::{Telemetry, add};

/// How often changed windows go out. Short, because a count's latency to the browser is this
/// plus the merger's tick; only what changed is sent, so a short tick costs little.
pub const TICK: Duration = Duration::from_millis(10);
/// A partition's watermark is written when it enters a new second (that is what finalizes
/// windows) and otherwise at least this often, as a heartbeat.
const WATERMARK_HEARTBEAT: Duration = Duration::from_millis(250);
const COMMIT_EVERY: Duration = Duration::from_secs(1);

pub struct Counting {
    counters: BTreeMap<u32, PartitionCounter>,
    timing: Timing,
    telemetry: Arc<Telemetry>,
    output: OutputSink,
    /// A broker probe is running; with the broker down one takes seconds, so they must not pile up.
    probing: Arc<AtomicBool>,
    /// A write to the output failed since the last commit: the next commit is skipped.
    send_failed: bool,
    /// Per partition: the second of the last watermark written, and when.
    watermarks_sent: BTreeMap<u32, (i64, Instant)>,
}

/// A partition's state at the end of a tick, for the output and for health.
struct TickState {
    partition: u32,
    /// [`NO_WATERMARK`] while the partition rebuilds or has none: then it is not announced.
    watermark: Millis,
    open_windows: usize,
}

#[derive(Default)]
struct Tally {
    counted: u64,
    late: u64,
    too_late: u64,
    too_early: u64,
    canaries: u64,
    duplicates: u64,
    unreadable: u64,
}

pub async fn run(
    mut input: InputConsumer,
    output: OutputSink,
    timing: Timing,
    telemetry: Arc<Telemetry>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut c = Counting {
        counters: BTreeMap::new(),
        timing,
        telemetry,
        output,
        probing: Arc::default(),
        watermarks_sent: BTreeMap::new(),
        send_failed: false,
    };
    let mut tick = tokio::time::interval(TICK);
    let mut commit = tokio::time::interval(COMMIT_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        // A window closes the moment the watermark passes its end: the loop wakes for that
        // moment itself rather than on the next tick, so finals are not a tick late.
        let closes = tokio::time::sleep(c.timing.until_next_close(clock::now()));
        tokio::select! {
            ev = input.next() => c.on_input(ev, &input).await,
            _ = tick.tick() => c.publish(&input).await,
            _ = closes => c.publish(&input).await,
            _ = commit.tick() => c.commit(&input, false).await,
            _ = shutdown.changed() => break,
        }
    }
    c.publish(&input).await;
    c.commit(&input, true).await;
    tracing::info!("counting stopped, offsets committed");
}

impl Counting {
    async fn on_input(&mut self, ev: InputEvent, input: &InputConsumer) {
        match ev {
            InputEvent::Records(batch) => {
                let now = clock::now();
                // Tallied here and added to the shared counters once per batch.
                let mut tally = Tally::default();
                // One counter lookup per run of a partition's records, the way they arrive.
                for run in batch.chunk_by(|a, b| a.partition == b.partition) {
                    let Some(counter) = self.counters.get_mut(&run[0].partition) else {
                        continue;
                    };
                    for d in run {
                        let admission = match &d.content {
                            Content::Summarized { summary, wiki } => {
                                Some(counter.count(summary, wiki.as_bytes(), d.ingest, d.offset))
                            }
                            // Sources validate what they write, but the topic is open to other
                            // producers: one unreadable record is counted and skipped, never fatal.
                            Content::Unreadable(_) if d.offset < counter.committed() => None,
                            Content::Unreadable(e) => {
                                tally.unreadable += 1;
                                tracing::debug!(partition = d.partition, offset = d.offset, error = %e, "unreadable input record");
                                None
                            }
                        };
                        match admission {
                            Some(Admission::Counted) => tally.counted += 1,
                            Some(Admission::Late) => {
                                tally.counted += 1;
                                tally.late += 1;
                            }
                            Some(Admission::TooLate) => tally.too_late += 1,
                            Some(Admission::TooEarly) => tally.too_early += 1,
                            Some(Admission::Canary) => tally.canaries += 1,
                            Some(Admission::Duplicate) => tally.duplicates += 1,
                            Some(Admission::BeforeCommit) | None => {}
                        }
                    }
                    // The watermark is read only when windows are drained, so moving it once
                    // per run, to its latest record, decides exactly as once per record would.
                    // Never trust a record's clock beyond our own (skew between relays).
                    if let Some(latest) = run.iter().map(|d| d.ingest).max() {
                        counter.advance(self.timing.watermark_at(latest.min(now)));
                    }
                }
                let w = &self.telemetry.windows;
                for (counter, n) in [
                    (&w.counted, tally.counted),
                    (&w.late, tally.late),
                    (&w.too_late, tally.too_late),
                    (&w.too_early, tally.too_early),
                    (&w.canaries, tally.canaries),
                    (&w.duplicates, tally.duplicates),
                    (&w.unreadable, tally.unreadable),
                ] {
                    if n > 0 {
                        add(counter, n);
                    }
                }
            }
            InputEvent::Assigned(assigned) => {
                tracing::info!(?assigned, "partitions assigned");
                for a in assigned {
                    self.counters.entry(a.partition).or_insert_with(|| {
                        PartitionCounter::rebuilding(a.partition, self.timing, a.drop_horizon)
                            .reading_back_to(a.committed.unwrap_or(0))
                    });
                }
            }
            InputEvent::Revoked(partitions) => {
                tracing::info!(?partitions, "partitions revoked");
                // Best effort: the group may already have moved on, so this commit can be refused;
                // that only makes the next owner re-read a little more from the older commit.
                self.publish(input).await;
                self.commit(input, false).await;
                for p in partitions {
                    self.counters.remove(&p);
                    self.watermarks_sent.remove(&p);
                }
            }
            InputEvent::Idle => {}
        }
    }

    async fn publish(&mut self, input: &InputConsumer) {
        let now = clock::now();
        let mut partials = Vec::new();
        let mut states = Vec::with_capacity(self.counters.len());
        for (&p, counter) in self.counters.iter_mut() {
            if input.reached_end(p) {
                counter.caught_up();
            }
            if input.caught_up(p) {
                counter.advance(self.timing.watermark_at(now));
            }
            counter.drain(&mut partials);
            // A rebuilding partition's watermark is held back with its counts: announcing it
            // would let the merger call windows final before their counts are written.
            let watermark = if counter.is_rebuilding() {
                NO_WATERMARK
            } else {
                counter.watermark()
            };
            states.push(TickState {
                partition: p,
                watermark,
                open_windows: counter.open_windows(),
            });
        }
        let mut records: Vec<OutputRecord> =
            partials.into_iter().map(OutputRecord::Window).collect();
        let tick = Instant::now();
        for &TickState {
            partition,
            watermark,
            ..
        } in states.iter().filter(|s| s.watermark > NO_WATERMARK)
        {
            let second = watermark.floor_second().0;
            let due = self
                .watermarks_sent
                .get(&partition)
                .is_none_or(|&(last, at)| {
                    last != second || tick.duration_since(at) >= WATERMARK_HEARTBEAT
                });
            if due {
                self.watermarks_sent.insert(partition, (second, tick));
                records.push(OutputRecord::Watermark {
                    partition,
                    watermark,
                });
            }
        }
        let open: usize = states.iter().map(|s| s.open_windows).sum();
        self.telemetry
            .windows
            .open_windows
            .store(open as u64, Ordering::Relaxed);
        {
            let mut parts = self.telemetry.bus.partitions.write().expect("lock");
            let lags: BTreeMap<u32, u64> = parts.iter().map(|p| (p.partition, p.lag)).collect();
            *parts = states
                .iter()
                .map(
                    |&TickState {
                         partition,
                         watermark,
                         ..
                     }| PartitionState {
                        partition,
                        lag: input
                            .lag(partition)
                            .or_else(|| lags.get(&partition).copied())
                            .unwrap_or(0),
                        // "None yet" (a partition not read to its end) is shown as the epoch: the
                        // sentinel itself is no date RFC 3339 can write.
                        watermark: watermark.max(Millis(0)),
                    },
                )
                .collect();
        }
        if let Err(e) = self.output.send(records, now).await {
            // Drained windows are marked clean: mark them changed again so they are rewritten,
            // and the next flush (which finds nothing pending) does not let a commit pass them.
            tracing::warn!(error = %e, "cannot write window counts; will rewrite them");
            self.counters
                .values_mut()
                .for_each(PartitionCounter::republish_all);
            self.send_failed = true;
        }
    }

    async fn commit(&mut self, input: &InputConsumer, wait: bool) {
        // Counts first: an offset is committed only once the windows it fed are written.
        if std::mem::take(&mut self.send_failed) {
            return;
        }
        if let Err(e) = self.output.flush().await {
            tracing::warn!(error = %e, "window counts not acknowledged; rewriting them, offsets not committed");
            self.counters
                .values_mut()
                .for_each(PartitionCounter::republish_all);
            return;
        }
        self.counters
            .values_mut()
            .for_each(PartitionCounter::acknowledged);
        let cuts: Vec<CommitPoint> = self
            .counters
            .iter()
            .filter_map(|(&partition, c)| {
                c.commit_point().map(|next_offset| CommitPoint {
                    partition,
                    next_offset,
                    drop_horizon: c.drop_horizon(),
                })
            })
            .collect();
        if let Err(e) = input.commit(&cuts, wait) {
            tracing::warn!(error = %e, "offset commit failed");
        }
        if let Some(probe) = input
            .probe()
            .filter(|_| !self.probing.swap(true, Ordering::AcqRel))
        {
            let t = self.telemetry.clone();
            let probing = self.probing.clone();
            // Off the counting loop: these are broker round trips.
            tokio::task::spawn_blocking(move || {
                let GroupProbe { lag, members } = probe();
                for p in t.bus.partitions.write().expect("lock").iter_mut() {
                    if let Some(l) = lag.get(&p.partition) {
                        p.lag = *l;
                    }
                }
                *t.bus.group_members.write().expect("lock") = members;
                probing.store(false, Ordering::Release);
            });
        }
    }
}
