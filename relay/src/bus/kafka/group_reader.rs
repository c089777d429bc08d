//! The counter's reader: takes input records off librdkafka on a task of its own, so reading
//! the next records and counting the last ones run side by side.
//!
//! Taking a record from librdkafka (its poll, the message's release) costs about as much as
//! counting it; in one task the two would add up (docs/performance.md). Order is kept:
//! records, partition ends and rebalances reach the counting loop as librdkafka produced them,
//! so records of a partition never arrive before its assignment, nor its end before them.

use std::sync::Arc;

use rdkafka::consumer::StreamConsumer;
use rdkafka::error::KafkaError;
use rdkafka::message::{BorrowedMessage, Message};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use wire::Millis;

use super::rebalance::RebalanceForwarder;
use crate::bus::{Content, Delivered, InputEvent};

/// What the reader hands the counting loop.
pub(super) enum Read {
    Records(Vec<Delivered>),
    /// The partition's end was reached, after the records sent before this.
    End(u32),
    Rebalance(InputEvent),
}

/// Records per batch at most: a backlog is handed over in chunks of ~200 KB.
const BATCH: usize = 2_048;
/// Batches read ahead of the counting loop. A few keep both tasks busy; when the loop falls
/// behind, the reader waits, librdkafka's queue fills and fetching pauses.
const AHEAD: usize = 4;

pub(super) fn spawn(
    consumer: Arc<StreamConsumer<RebalanceForwarder>>,
    mut rebalances: mpsc::UnboundedReceiver<InputEvent>,
) -> (mpsc::Receiver<Read>, JoinHandle<()>) {
    let (tx, rx) = mpsc::channel(AHEAD);
    let task = tokio::spawn(async move {
        // Sized like the last batch: a backlog's batches are full, so they are not grown
        // (and copied) from a small start every time.
        let mut capacity = 256;
        loop {
            // A rebalance is handled inside librdkafka's poll, which then returns nothing; the
            // event it forwarded goes out before any record polled after it.
            let first = tokio::select! {
                biased;
                e = rebalances.recv() => {
                    let Some(e) = e else { return };
                    if tx.send(Read::Rebalance(e)).await.is_err() {
                        return;
                    }
                    continue;
                }
                m = consumer.recv() => m,
            };
            let mut batch = Vec::with_capacity(capacity);
            let mut next = Some(first);
            while let Some(m) = next {
                match m {
                    Ok(m) => batch.push(delivered(&m)),
                    Err(KafkaError::PartitionEOF(p)) => {
                        if !batch.is_empty() {
                            let full = std::mem::replace(&mut batch, Vec::with_capacity(capacity));
                            if tx.send(Read::Records(full)).await.is_err() {
                                return;
                            }
                        }
                        if tx.send(Read::End(p as u32)).await.is_err() {
                            return;
                        }
                    }
                    Err(e) => tracing::warn!(error = %e, "input consumer"),
                }
                // Drain what librdkafka already holds without waiting, so a backlog goes over
                // in batches.
                next = if batch.len() < BATCH {
                    futures::FutureExt::now_or_never(consumer.recv())
                } else {
                    None
                };
            }
            capacity = batch.len().clamp(256, BATCH);
            if !batch.is_empty() && tx.send(Read::Records(batch)).await.is_err() {
                return;
            }
        }
    });
    (rx, task)
}

fn delivered(m: &BorrowedMessage<'_>) -> Delivered {
    Delivered {
        partition: m.partition() as u32,
        offset: m.offset() as u64,
        ingest: Millis(m.timestamp().to_millis().unwrap_or(0)),
        content: content_of(m),
    }
}

/// A relay's record is counted from the summary it was tagged with and its key, without
/// parsing the payload; anything else is parsed in place, without copying it out.
fn content_of(m: &BorrowedMessage<'_>) -> Content {
    let payload = m.payload().unwrap_or_default();
    Content::from_tag(payload, m.key()).unwrap_or_else(|| Content::parse(payload))
}
