//! Consumer-group rebalances, forwarded to the counting task as partitions assigned or revoked.

use rdkafka::ClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext, Rebalance};
use rdkafka::error::KafkaError;
use rdkafka::topic_partition_list::TopicPartitionList;
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

impl ConsumerContext for RebalanceForwarder {
    fn pre_rebalance(&self, _: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if let Rebalance::Revoke(tpl) = rebalance {
            let _ = self.tx.send(InputEvent::Revoked(partitions_of(tpl)));
        }
    }

    fn post_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        match rebalance {
            Rebalance::Assign(tpl) => {
                let _ = self
                    .tx
                    .send(InputEvent::Assigned(assignments(consumer, tpl)));
            }
            Rebalance::Error(e) => tracing::warn!(error = %e, "rebalance failed"),
            Rebalance::Revoke(_) => {}
        }
    }
}

/// The assigned partitions with the drop horizons their last commits recorded. Asked here,
/// before the poll that brings the partitions' first records returns, so a counter knows its
/// horizon before it counts anything; a broker that cannot answer leaves it unknown (`None`),
/// which is what a partition never committed has too.
fn assignments(
    consumer: &BaseConsumer<RebalanceForwarder>,
    tpl: &TopicPartitionList,
) -> Vec<Assignment> {
    let committed = consumer
        .committed_offsets(tpl.clone(), METADATA_TIMEOUT)
        .inspect_err(|e| tracing::warn!(error = %e, "cannot read the committed drop horizons"))
        .ok();
    tpl.elements()
        .iter()
        .map(|e| Assignment {
            partition: e.partition() as u32,
            drop_horizon: committed
                .as_ref()
                .and_then(|c| c.find_partition(e.topic(), e.partition()))
                .and_then(|c| commit_metadata::read(c.metadata())),
        })
        .collect()
}

pub(super) fn partitions_of(tpl: &TopicPartitionList) -> Vec<u32> {
    tpl.elements()
        .iter()
        .map(|e| e.partition() as u32)
        .collect()
}
