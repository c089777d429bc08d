//! Wires the stages together: [`Relay::start`] opens the bus and starts every stage,
//! [`Relay::serve`] answers HTTP on a listener until the shutdown future resolves and then stops
//! the stages in order. Tests drive [`Relay::router`] in-process.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::bus::{BusError, InputProducer, OutputSink};
use crate::config::{Config, Fallback, Source};
use crate::explore::store::{EditsStore, StoreError};
use crate::health_report::Reporter;
use crate::http::{self, AppState};
use crate::metrics;
use crate::publish::history_writer::HistoryWriter;
use crate::publish::{self, Merger, Published};
use crate::source::ingest::Ingest;
use crate::source::playlist::{self, Playlist};
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
    #[error("history: {0}")]
    History(#[from] history::HistoryError),
    #[error("edits: {0}")]
    Edits(#[from] StoreError),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: std::net::SocketAddr,
        source: std::io::Error,
    },
}

/// Runs a relay on `listener` until `shutdown` resolves; a shutdown while the broker is still
/// being waited for ends it at once.
pub async fn run(
    config: Config,
    listener: TcpListener,
    shutdown: impl Future<Output = ()>,
) -> Result<(), RelayError> {
    let mut shutdown = std::pin::pin!(shutdown);
    let relay = tokio::select! {
        r = Relay::start(config) => r?,
        _ = &mut shutdown => return Ok(()),
    };
    relay.serve(listener, shutdown).await;
    Ok(())
}

/// A started relay: its stages running, its HTTP surface built but not yet listening.
pub struct Relay {
    config: Arc<Config>,
    telemetry: Arc<Telemetry>,
    published: Arc<Published>,
    app: Router,
    producer: Option<InputProducer>,
    sink: Option<OutputSink>,
    counter: Option<JoinHandle<()>>,
    publisher: JoinHandle<()>,
    // Two stages of shutdown: first sources and HTTP stop taking work (requests in flight
    // finish), then counting writes what it has and commits. Nothing acknowledged is lost on
    // either bus: the next start re-reads from the commit point (the topic's, or the one in the
    // embedded bus's log in the state directory).
    stop_ingest: watch::Sender<bool>,
    ingest_stopped: watch::Receiver<bool>,
    stop_counting: watch::Sender<bool>,
}

impl Relay {
    /// Loads the recordings, opens the bus (waiting for the broker as long as it takes) and
    /// starts sources, counting, publishing and health.
    pub async fn start(config: Config) -> Result<Relay, RelayError> {
        let config = Arc::new(config);
        let telemetry = Arc::new(Telemetry::default());
        let timing = Timing::from_config(&config);
        let role = config.role();
        let (stop_ingest, ingest_stopped) = watch::channel(false);
        let (stop_counting, counting_stopped) = watch::channel(false);

        // Recordings are checked before anything starts: a bad file is a start-up error, not a
        // half-running relay.
        let source = role
            .takes_events()
            .then(|| Sources::load(config.source()))
            .transpose()?;

        let bus = crate::bus::open::open(&config, role, &telemetry).await?;
        let history_ms = config.history.as_millis() as i64;
        let mut merger = Merger::new(bus.partitions, history_ms)
            .covering_from(crate::clock::now())
            .settling_after(config.allowed_lateness);
        // Kafka keeps the history on the output topic; the embedded bus, in the state directory.
        let history = match &config.brokers {
            None => Some(HistoryWriter::resume(
                &config.state_dir,
                config.history,
                &mut merger,
                telemetry.clone(),
            )?),
            Some(_) => None,
        };
        let published = Published::new(merger, config.update_log);
        let publisher = tokio::spawn(publish::task::run(
            bus.source,
            published.clone(),
            telemetry.clone(),
            history,
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
        match (&ingest, source) {
            (Some(ingest), Some(source)) => {
                source.start(&config, ingest.clone(), &telemetry, ingest_stopped.clone());
            }
            _ => telemetry.set_source("none", "serve-only: counts come from other relays"),
        }

        let health = Reporter::new(
            telemetry.clone(),
            published.clone(),
            config.clone(),
            bus.producer.clone(),
        )
        .spawn(counting_stopped);
        let app = http::router(AppState {
            config: config.clone(),
            published: published.clone(),
            telemetry: telemetry.clone(),
            ingest,
            metrics: Arc::new(metrics::registry(telemetry.clone(), health.clone())),
            health,
            shutdown: ingest_stopped.clone(),
            edits: Arc::new(EditsStore::open(&config)?),
        });
        Ok(Relay {
            config,
            telemetry,
            published,
            app,
            producer: bus.producer,
            sink: bus.sink,
            counter,
            publisher,
            stop_ingest,
            ingest_stopped,
            stop_counting,
        })
    }

    /// The HTTP surface, for driving it without a socket.
    pub fn router(&self) -> Router {
        self.app.clone()
    }

    /// Serves HTTP on `listener` until `shutdown` resolves, then stops: no new events, requests
    /// in flight finished, what was taken in flushed, counted, written and committed.
    pub async fn serve(self, listener: TcpListener, shutdown: impl Future<Output = ()>) {
        let addr = listener.local_addr().map_or(self.config.listen, |a| a);
        tracing::info!(
            url = %format!("http://{addr}/"),
            bus = %self.telemetry.bus.kind.read().expect("lock"),
            "relay listening"
        );
        let limits = http::server::Limits {
            header_timeout: self.config.header_timeout,
            max_connections: self.config.max_connections,
            drain: Duration::from_secs(5),
        };
        let server = tokio::spawn(http::server::serve(
            listener,
            self.app.clone(),
            limits,
            self.ingest_stopped.clone(),
        ));

        shutdown.await;
        tracing::info!("shutting down: no new events, finishing requests in flight");
        let _ = self.stop_ingest.send(true);
        // SSE clients wait on the publisher's signal alone; this makes them see the shutdown.
        self.published.wake_clients();
        let _ = server.await;
        if let Some(p) = &self.producer {
            p.flush().await;
        }
        let _ = self.stop_counting.send(true);
        if let Some(c) = self.counter {
            let _ = c.await;
        }
        if let Some(sink) = &self.sink
            && let Err(e) = sink.flush().await
        {
            tracing::warn!(error = %e, "window counts not flushed");
        }
        let _ = self.publisher.await;
        tracing::info!("relay stopped");
    }
}

/// A relay's source with its recordings loaded.
enum Sources {
    Replay {
        recording: Recording,
        speed: f64,
        looped: bool,
    },
    Upstream {
        url: String,
        stall: Duration,
        max_backoff: Duration,
        fallback: Option<playlist::Fallback>,
    },
    GatewayOnly,
}

impl Sources {
    fn load(source: Source<'_>) -> Result<Sources, ReplayError> {
        Ok(match source {
            Source::Replay {
                path,
                speed,
                looped,
            } => Sources::Replay {
                recording: Recording::load(path)?,
                speed,
                looped,
            },
            Source::Upstream {
                url,
                stall,
                max_backoff,
                fallback,
            } => Sources::Upstream {
                url: url.to_string(),
                stall,
                max_backoff,
                fallback: match fallback {
                    Fallback::Off => None,
                    Fallback::Recording(path) => Some(playlist::Fallback::Given(Arc::new(
                        Playlist::one(Recording::load(path)?),
                    ))),
                    Fallback::Bundled => Some(playlist::Fallback::Bundled),
                },
            },
            Source::GatewayOnly => Sources::GatewayOnly,
        })
    }

    fn start(
        self,
        config: &Config,
        ingest: Ingest,
        telemetry: &Telemetry,
        stop: watch::Receiver<bool>,
    ) {
        match self {
            Sources::Replay {
                recording,
                speed,
                looped,
            } => {
                telemetry.set_source("replay", recording.name());
                tokio::spawn(replay::run(
                    Arc::new(Playlist::one(recording)),
                    speed,
                    looped,
                    "replay",
                    ingest,
                    stop,
                ));
            }
            Sources::GatewayOnly => telemetry.set_source("gateway", "POST /v1/events"),
            Sources::Upstream {
                url,
                stall,
                max_backoff,
                fallback,
            } => {
                let opts = UpstreamOptions {
                    url,
                    stall,
                    max_backoff,
                    state_dir: config.state_dir.clone(),
                    fallback,
                };
                tokio::spawn(upstream::run(opts, ingest, stop));
            }
        }
    }
}
