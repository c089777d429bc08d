//! Wires the stages together and runs them until a shutdown signal.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use tokio::sync::{mpsc, watch};

use crate::bus::embedded::{EmbeddedBus, EmbeddedConsumer};
use crate::bus::kafka::{
    self, KafkaInput, KafkaInputProducer, KafkaOutputSink, KafkaOutputSource, KafkaSettings,
};
use crate::bus::{BusError, InputConsumer, InputProducer, OutputSink, OutputSource};
use crate::config::Config;
use crate::health::Reporter;
use crate::http::{self, AppState};
use crate::publish::{self, Merger, Published};
use crate::source::ingest::Ingest;
use crate::source::replay::{self, Recording, ReplayError};
use crate::source::upstream::{self, UpstreamOptions};
use crate::telemetry::Telemetry;
use crate::window::{self, Timing};

#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    #[error("bus: {0}")]
    Bus(#[from] BusError),
    #[error("replay: {0}")]
    Replay(#[from] ReplayError),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: std::net::SocketAddr,
        source: std::io::Error,
    },
}

struct Bus {
    producer: Option<InputProducer>,
    input: Option<InputConsumer>,
    sink: Option<OutputSink>,
    source: OutputSource,
    partitions: u32,
}

pub async fn run(config: Config) -> Result<(), RelayError> {
    let config = Arc::new(config);
    let telemetry = Arc::new(Telemetry::default());
    let timing = Timing::from_config(&config);
    // Two stages of shutdown: first sources and HTTP stop taking work (requests in flight
    // finish), then counting writes what it has and commits. On Kafka nothing acknowledged is
    // lost: the next start re-reads from the commit point. The embedded bus keeps nothing
    // across a restart by design.
    let (stop_ingest, ingest_stopped) = watch::channel(false);
    let (stop_counting, counting_stopped) = watch::channel(false);

    // Replays are checked before anything starts: a bad file is a start-up error, not a
    // half-running relay.
    let replay = config.replay.as_deref().map(Recording::load).transpose()?;
    let fallback = match (&config.fallback_replay, config.no_fallback) {
        (_, true) => None,
        (Some(path), false) => Some(Recording::load(path)?),
        (None, false) => Some(Recording::parse(replay::BUNDLED_NAME, replay::BUNDLED)?),
    };

    let bus = tokio::select! {
        b = open_bus(&config, &telemetry) => b?,
        _ = shutdown_signal() => return Ok(()),
    };
    let history_ms = config.history_secs as i64 * 1_000;
    let published = Published::new(Merger::new(bus.partitions, history_ms), config.update_log);
    let publisher = tokio::spawn(publish::task::run(
        bus.source,
        published.clone(),
        counting_stopped.clone(),
    ));
    let counter = match (bus.input, bus.sink.clone()) {
        (Some(input), Some(sink)) => Some(tokio::spawn(window::task::run(
            input,
            sink,
            timing,
            telemetry.clone(),
            counting_stopped.clone(),
        ))),
        _ => None,
    };

    let ingest = bus.producer.clone().map(|producer| Ingest {
        producer,
        telemetry: telemetry.clone(),
        timing,
    });
    start_sources(
        &config,
        ingest.clone(),
        replay,
        fallback,
        &telemetry,
        ingest_stopped.clone(),
    );

    let health = Reporter::new(
        telemetry.clone(),
        published.clone(),
        config.clone(),
        bus.producer.clone(),
    )
    .spawn(counting_stopped.clone());
    let app = http::router(AppState {
        config: config.clone(),
        published: published.clone(),
        telemetry: telemetry.clone(),
        ingest,
        health,
        shutdown: ingest_stopped.clone(),
    });
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|source| RelayError::Bind {
            addr: config.listen,
            source,
        })?;
    tracing::info!(
        url = %format!("http://{}/", listener.local_addr().map_or(config.listen, |a| a)),
        bus = %telemetry.bus.kind.read().expect("lock"),
        "relay listening"
    );
    let limits = http::server::Limits {
        header_timeout: Duration::from_millis(config.header_timeout_ms),
        max_connections: config.max_connections,
        drain: Duration::from_secs(5),
    };
    let server = tokio::spawn(http::server::serve(listener, app, limits, ingest_stopped));

    shutdown_signal().await;
    tracing::info!("shutting down: no new events, finishing requests in flight");
    let _ = stop_ingest.send(true);
    // SSE clients wait on the publisher's signal alone; this makes them see the shutdown.
    published.wake_clients();
    let _ = server.await;
    if let Some(p) = &bus.producer {
        p.flush().await;
    }
    let _ = stop_counting.send(true);
    if let Some(c) = counter {
        let _ = c.await;
    }
    if let Some(sink) = &bus.sink
        && let Err(e) = sink.flush().await
    {
        tracing::warn!(error = %e, "window counts not flushed");
    }
    let _ = publisher.await;
    tracing::info!("relay stopped");
    Ok(())
}

async fn open_bus(config: &Config, telemetry: &Arc<Telemetry>) -> Result<Bus, RelayError> {
    let Some(brokers) = &config.brokers else {
        *telemetry.bus.kind.write().expect("lock") = "embedded".into();
        telemetry.bus.reachable.store(true, Ordering::Relaxed);
        let embedded = EmbeddedBus::new(config.partitions, config.embedded_capacity);
        let (tx, rx) = mpsc::channel(65_536);
        return Ok(Bus {
            producer: Some(InputProducer::Embedded(embedded.clone())),
            input: Some(InputConsumer::Embedded(EmbeddedConsumer::new(embedded))),
            sink: Some(OutputSink::Embedded(tx)),
            source: OutputSource::Embedded(rx),
            partitions: config.partitions,
        });
    };
    *telemetry.bus.kind.write().expect("lock") = "kafka".into();
    let settings = KafkaSettings::new(brokers, &config.kafka_option)?;
    let mut wait = Duration::from_millis(250);
    let partitions = loop {
        match kafka::ensure_topics(
            &settings,
            &config.input_topic,
            &config.output_topic,
            config.partitions,
            1,
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
        KafkaOutputSource::new(
            &settings,
            &config.output_topic,
            Duration::from_secs(config.history_secs),
        )
        .await?,
    );
    let t = telemetry.clone();
    let on_change = move |error: Option<String>| {
        t.bus.reachable.store(error.is_none(), Ordering::Relaxed);
        t.bus_error(error);
    };
    if config.serve_only {
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
    if config.ingest_only {
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

fn start_sources(
    config: &Config,
    ingest: Option<Ingest>,
    replay: Option<Recording>,
    fallback: Option<Recording>,
    telemetry: &Telemetry,
    stop: watch::Receiver<bool>,
) {
    let Some(ingest) = ingest else {
        telemetry.set_source("none", "serve-only: counts come from other relays");
        return;
    };
    if let Some(rec) = replay {
        telemetry.set_source("replay", rec.name());
        tokio::spawn(replay::run(
            Arc::new(rec),
            config.replay_speed,
            config.replay_loop,
            ingest,
            stop,
        ));
    } else if config.no_upstream {
        telemetry.set_source("gateway", "POST /v1/events");
    } else {
        let opts = UpstreamOptions {
            url: config.upstream.clone(),
            stall: Duration::from_millis(config.upstream_stall_ms),
            max_backoff: Duration::from_millis(config.upstream_max_backoff_ms),
            state_dir: config.state_dir.clone(),
            fallback: fallback.map(Arc::new),
        };
        tokio::spawn(upstream::run(opts, ingest, stop));
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
}
