//! Consumer-group rebalances, forwarded to the counting task as partitions assigned or revoked.

use rdkafka::ClientContext;
use rdkafka::consumer::{BaseConsumer, ConsumerContext, Rebalance};
use rdkafka::error::KafkaError;
use rdkafka::topic_partition_list::TopicPartitionList;
use tokio::sync::mpsc;

use super::context::log_client_error;
use crate::bus::InputEvent;

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

    fn post_rebalance(&self, _: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        match rebalance {
            Rebalance::Assign(tpl) => {
                let _ = self.tx.send(InputEvent::Assigned(partitions_of(tpl)));
            }
            Rebalance::Error(e) => tracing::warn!(error = %e, "rebalance failed"),
            Rebalance::Revoke(_) => {}
        }
    }
}

pub(super) fn partitions_of(tpl: &TopicPartitionList) -> Vec<u32> {
    tpl.elements()
        .iter()
        .map(|e| e.partition() as u32)
        .collect()
}
