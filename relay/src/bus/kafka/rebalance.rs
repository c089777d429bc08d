//! Consumer-group rebalances, forwarded to the counting task as partitions assigned or revoked.

use rdkafka::ClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::topic_partition_list::{Offset, TopicPartitionList};
use rdkafka::types::RDKafkaRespErr;
use tokio::sync::mpsc;

use super::context::log_client_error;
use super::{METADATA_TIMEOUT, commit_metadata};
use crate::bus::{Assignment, InputEvent};

/// Forwards consumer-group rebalances to the counting task.
pub struct RebalanceForwarder {
    pub(super) tx: mpsc::UnboundedSender<InputEvent>,
}

impl ClientContext for RebalanceForwarder {
    fn error(&self, error: KafkaError, reason: &str) {
        log_client_error(error, reason);
    }
}

/// How many records before its committed offset a newly assigned partition is read from. Each
/// of them fed a window dropped before the commit, so they bound the drop horizon from below
/// where the broker does not return the commit's metadata (nisshi stores it but answers
/// OffsetFetch without it). Thousands of records are a few hundred milliseconds to re-read.
const READ_BACK: u64 = 2_000;

impl ConsumerContext for RebalanceForwarder {
    /// rdkafka's own handler, plus a start [`READ_BACK`] records before each committed offset.
    /// The group uses the eager protocol (librdkafka's default), so an assignment is the
    /// whole new set and a revocation takes everything.
    fn rebalance(
        &self,
        consumer: &BaseConsumer<Self>,
        err: RDKafkaRespErr,
        tpl: &mut TopicPartitionList,
    ) {
        match err {
            RDKafkaRespErr::RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS => {
                let assigned = assignments(consumer, tpl);
                let topics: Vec<String> = tpl
                    .elements()
                    .iter()
                    .map(|e| e.topic().to_owned())
                    .collect();
                for (topic, a) in topics.iter().zip(&assigned) {
                    let Some(c) = a.committed.filter(|&c| c > 0) else {
                        continue;
                    };
                    let from = Offset::Offset(c.saturating_sub(READ_BACK) as i64);
                    if let Err(e) = tpl.set_partition_offset(topic, a.partition as i32, from) {
                        tracing::warn!(error = %e, "cannot start before the commit point");
                    }
                }
                if let Err(e) = consumer.assign(tpl) {
                    tracing::warn!(error = %e, "assignment failed");
                }
                let _ = self.tx.send(InputEvent::Assigned(assigned));
            }
            RDKafkaRespErr::RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS => {
                let _ = self.tx.send(InputEvent::Revoked(partitions_of(tpl)));
                if let Err(e) = consumer.unassign() {
                    tracing::warn!(error = %e, "unassignment failed");
                }
            }
            other => {
                tracing::warn!(error = ?RDKafkaErrorCode::from(other), "rebalance failed");
                if let Err(e) = consumer.unassign() {
                    tracing::warn!(error = %e, "unassignment failed");
                }
            }
        }
    }
}

/// The assigned partitions with their committed offsets and the drop horizons their last
/// commits recorded. Asked here, before the assignment takes effect, so a counter knows its
/// horizon before it counts anything; a broker that cannot answer leaves both unknown
/// (`None`), which is what a partition never committed has too.
fn assignments(
    consumer: &BaseConsumer<RebalanceForwarder>,
    tpl: &TopicPartitionList,
) -> Vec<Assignment> {
    let committed = consumer
        .committed_offsets(tpl.clone(), METADATA_TIMEOUT)
        .inspect_err(|e| tracing::warn!(error = %e, "cannot read the committed offsets"))
        .ok();
    tpl.elements()
        .iter()
        .map(|e| {
            let c = committed
                .as_ref()
                .and_then(|c| c.find_partition(e.topic(), e.partition()));
            Assignment {
                partition: e.partition() as u32,
                drop_horizon: c.as_ref().and_then(|c| commit_metadata::read(c.metadata())),
                committed: c.and_then(|c| match c.offset() {
                    Offset::Offset(o) if o >= 0 => Some(o as u64),
                    _ => None,
                }),
            }
        })
        .collect()
}

pub(super) fn partitions_of(tpl: &TopicPartitionList) -> Vec<u32> {
    tpl.elements()
        .iter()
        .map(|e| e.partition() as u32)
        .collect()
}
