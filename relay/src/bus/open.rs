//! Opens the bus the configuration names: the embedded one, or Kafka (waiting for the broker
//! as long as it takes), with the clients the relay's role needs.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use tokio::sync::mpsc;

use super::embedded::EmbeddedBus;
use super::kafka::{
    self, KafkaInput, KafkaInputProducer, KafkaOutputSink, KafkaOutputSource, KafkaSettings,
};
use super::{BusError, InputConsumer, InputProducer, OutputSink, OutputSource};
use crate::config::{Config, Role};
use crate::telemetry::Telemetry;

/// The relay's ends of the bus; a role that does not take events in, or does not count, has
/// no producer, or no input and sink.
pub struct Bus {
    pub producer: Option<InputProducer>,
    pub input: Option<InputConsumer>,
    pub sink: Option<OutputSink>,
    pub source: OutputSource,
    pub partitions: u32,
}

pub async fn open(
    config: &Config,
    role: Role,
    telemetry: &Arc<Telemetry>,
) -> Result<Bus, BusError> {
    let Some(brokers) = &config.brokers else {
        *telemetry.bus.kind.write().expect("lock") = "embedded".into();
        telemetry.bus.reachable.store(true, Ordering::Relaxed);
        let (embedded, consumer) = EmbeddedBus::open(
            &config.state_dir,
            config.partitions,
            config.embedded_capacity,
            config.keep_edits,
        )?;
        // The output side stays in memory: after a restart the counter recomputes every
        // window from the commit point, and the merger starts from the history file.
        let (tx, rx) = mpsc::channel(65_536);
        return Ok(Bus {
            producer: Some(InputProducer::Embedded(embedded)),
            input: Some(InputConsumer::Embedded(consumer)),
            sink: Some(OutputSink::Embedded(tx)),
            source: OutputSource::Embedded(rx),
            partitions: config.partitions,
        });
    };
    *telemetry.bus.kind.write().expect("lock") = "kafka".into();
    let settings = KafkaSettings::new(brokers, &config.kafka_option);
    let mut wait = Duration::from_millis(250);
    let partitions = loop {
        match kafka::ensure_topics(
            &settings,
            &config.input_topic,
            &config.output_topic,
            config.partitions,
            1,
            config.history,
        )
        .await
        {
            Ok(p) => break p,
            Err(e) => {
                tracing::warn!(%brokers, error = %e, "waiting for the broker");
                telemetry.bus_error(Some(e.to_string()));
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(Duration::from_secs(5));
            }
        }
    };
    telemetry.bus.reachable.store(true, Ordering::Relaxed);
    telemetry.bus_error(None);
    let source = OutputSource::Kafka(
        KafkaOutputSource::new(&settings, &config.output_topic, config.history).await?,
    );
    let t = telemetry.clone();
    let on_change = move |error: Option<String>| {
        t.bus.reachable.store(error.is_none(), Ordering::Relaxed);
        t.bus_error(error);
    };
    if role == Role::ServeOnly {
        let probe = KafkaInputProducer::new(&settings, &config.input_topic)?;
        kafka::spawn_probe(probe.client(), vec![], on_change);
        return Ok(Bus {
            producer: None,
            input: None,
            sink: None,
            source,
            partitions,
        });
    }
    let producer = KafkaInputProducer::new(&settings, &config.input_topic)?;
    if role == Role::IngestOnly {
        kafka::spawn_probe(producer.client(), vec![producer.reachable()], on_change);
        return Ok(Bus {
            producer: Some(InputProducer::Kafka(Arc::new(producer))),
            input: None,
            sink: None,
            source,
            partitions,
        });
    }
    let sink = KafkaOutputSink::new(
        &settings,
        &config.output_topic,
        kafka::topic_partitions(&settings, &config.output_topic).await?,
    )?;
    kafka::spawn_probe(
        producer.client(),
        vec![producer.reachable(), sink.reachable()],
        on_change,
    );
    let input = KafkaInput::new(&settings, &config.input_topic, &config.group_id)?;
    Ok(Bus {
        producer: Some(InputProducer::Kafka(Arc::new(producer))),
        input: Some(InputConsumer::Kafka(input)),
        sink: Some(OutputSink::Kafka(Arc::new(sink))),
        source,
        partitions,
    })
}
