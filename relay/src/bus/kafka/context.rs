//! How librdkafka's client errors are logged, and the context of clients that need nothing
//! more.

use rdkafka::ClientContext;
use rdkafka::consumer::ConsumerContext;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};

/// librdkafka reports reaching the end of a partition as an error; for us it is the signal
/// that a reader is caught up, not something to log.
pub(super) fn log_client_error(error: KafkaError, reason: &str) {
    let eof = matches!(
        error,
        KafkaError::PartitionEOF(_) | KafkaError::Global(RDKafkaErrorCode::PartitionEOF)
    );
    if !eof && !reason.contains("PartitionEOF") {
        tracing::warn!(error = %error, reason, "kafka client");
    }
}

/// The context of the output topic's reader: quiet about end-of-partition.
pub struct QuietContext;

impl ClientContext for QuietContext {
    fn error(&self, error: KafkaError, reason: &str) {
        log_client_error(error, reason);
    }
}

impl ConsumerContext for QuietContext {}
