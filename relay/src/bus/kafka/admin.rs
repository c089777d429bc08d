//! Topic set-up: the input and output topics created when missing, and their partition counts.

use std::time::Duration;

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::RDKafkaErrorCode;

use super::{KafkaSettings, METADATA_TIMEOUT};
use crate::bus::BusError;

/// Creates the input and output topics if missing and returns the input topic's partitions.
/// The output topic is the count history: it keeps records for `history` and a day more (a
/// relay started after a day's outage still finds the day before it). A topic that exists
/// keeps the retention it has.
pub async fn ensure_topics(
    settings: &KafkaSettings,
    input: &str,
    output: &str,
    partitions: u32,
    replication: i32,
    history: Duration,
) -> Result<u32, BusError> {
    let retention = (history + Duration::from_secs(86_400))
        .as_millis()
        .to_string();
    let admin: AdminClient<DefaultClientContext> = settings.metadata_config().create()?;
    let topics = [
        NewTopic::new(
            input,
            partitions as i32,
            TopicReplication::Fixed(replication),
        ),
        NewTopic::new(
            output,
            partitions as i32,
            TopicReplication::Fixed(replication),
        )
        .set("retention.ms", &retention),
    ];
    let opts = AdminOptions::new().operation_timeout(Some(METADATA_TIMEOUT));
    for result in admin.create_topics(&topics, &opts).await? {
        match result {
            Ok(_) | Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
            Err((topic, code)) => {
                return Err(BusError::Unreachable(format!(
                    "cannot create topic {topic}: {code}"
                )));
            }
        }
    }
    topic_partitions(settings, input).await
}

/// The number of partitions of `topic`, waiting for fresh topics to show in metadata.
pub async fn topic_partitions(settings: &KafkaSettings, topic: &str) -> Result<u32, BusError> {
    let consumer: BaseConsumer = settings.metadata_config().create()?;
    let topic = topic.to_string();
    tokio::task::spawn_blocking(move || {
        for _ in 0..50 {
            let md = consumer.fetch_metadata(Some(&topic), METADATA_TIMEOUT)?;
            if let Some(t) = md.topics().iter().find(|t| t.name() == topic)
                && !t.partitions().is_empty()
            {
                return Ok(t.partitions().len() as u32);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Err(BusError::Unreachable(format!(
            "topic {topic} has no partitions"
        )))
    })
    .await
    .map_err(|e| BusError::Unreachable(e.to_string()))?
}
