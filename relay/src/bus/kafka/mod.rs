//! Kafka through librdkafka, one concern a file:
//!
//! - [`settings`]: the brokers, `--kafka-option`s and what each kind of client starts from;
//! - [`admin`]: the topics created when missing, and their partition counts;
//! - [`producer`]: sources and the gateway onto the input topic;
//! - [`probe`]: whether a broker answers, for health and the gateway;
//! - [`group`]: a counter's consumer in the relays' group (its reader task in `group_reader`,
//!   rebalances in `rebalance`);
//! - [`output_sink`] and [`output_source`]: partial windows onto the output topic, and read
//!   back by every relay's merger.

mod admin;
mod commit_metadata;
mod context;
mod group;
mod group_reader;
mod output_sink;
mod output_source;
mod probe;
mod producer;
mod rebalance;
mod settings;

use std::time::Duration;

pub use admin::{ensure_topics, topic_partitions};
pub use context::QuietContext;
pub use group::KafkaInput;
pub use output_sink::KafkaOutputSink;
pub use output_source::KafkaOutputSource;
pub use probe::spawn_probe;
pub use producer::{InputClient, KafkaInputProducer};
pub use rebalance::RebalanceForwarder;
pub use settings::{KafkaOption, KafkaSettings};

/// How long a metadata request (topics, watermarks, offsets by time) may take.
const METADATA_TIMEOUT: Duration = Duration::from_secs(5);
