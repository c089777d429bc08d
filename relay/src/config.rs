//! The relay's whole configuration: one clap struct, every flag with a `RELAY_…` env var.
//! Flags that only make sense together are read once into [`Role`] and [`Source`], so the rest
//! of the relay matches on what it is to do rather than re-deriving it from booleans.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::{Parser, ValueEnum};

use crate::bus::kafka::KafkaOption;

/// Default upstream: Wikimedia's public stream of every change to every wiki.
pub const WIKIMEDIA_RECENTCHANGE: &str = "https://stream.wikimedia.org/v2/stream/recentchange";

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TimeMode {
    /// Count by the edit's own time, `meta.dt`.
    Event,
    /// Count by the time the relay received the event.
    Ingest,
}

#[derive(Debug, Clone, Parser)]
#[command(
    name = "relay",
    version,
    about = "EditPulse relay: Wikipedia's edit stream -> Kafka -> exact per-second counts -> SSE",
    long_about = "Takes Wikipedia's edit stream in (live Wikimedia EventStreams, an HTTP gateway or a \
recorded file), puts it on Kafka (or an embedded bus kept in the state directory when --brokers is not given), counts \
edits in 1-second windows by event time, writes the counts to an output topic and serves them and the \
dashboard over HTTP."
)]
pub struct Config {
    /// Address to serve HTTP on.
    #[arg(long, env = "RELAY_LISTEN", default_value = "127.0.0.1:3000")]
    pub listen: SocketAddr,

    /// Kafka bootstrap servers (HOST:PORT,...). Without it the relay runs on an embedded
    /// bus with the same semantics, kept in the state directory.
    #[arg(long, env = "RELAY_BROKERS")]
    pub brokers: Option<String>,

    /// Topic the raw events are written to, keyed by wiki.
    #[arg(long, env = "RELAY_INPUT_TOPIC", default_value = "wiki-edits")]
    pub input_topic: String,

    /// Topic the per-partition window counts are written to.
    #[arg(
        long,
        env = "RELAY_OUTPUT_TOPIC",
        default_value = "wiki-edits-per-second"
    )]
    pub output_topic: String,

    /// Partitions of the topics created at start-up (and of the embedded bus).
    #[arg(long, env = "RELAY_PARTITIONS", default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..=1024))]
    pub partitions: u32,

    /// Consumer group shared by relays that split the input topic between them.
    #[arg(long, env = "RELAY_GROUP_ID", default_value = "editpulse-relay")]
    pub group_id: String,

    /// Wikimedia EventStreams URL to read live edits from.
    #[arg(long, env = "RELAY_UPSTREAM", default_value = WIKIMEDIA_RECENTCHANGE)]
    upstream: String,

    /// Replay a recording (JSON lines of recorded events) instead of the live upstream.
    #[arg(long, env = "RELAY_REPLAY", conflicts_with = "no_upstream")]
    replay: Option<PathBuf>,

    /// Replay pace relative to the recording (2 = twice as fast).
    #[arg(long, env = "RELAY_REPLAY_SPEED", default_value_t = 1.0)]
    replay_speed: f64,

    /// Start the replay again when it reaches the end of the file.
    #[arg(long, env = "RELAY_REPLAY_LOOP")]
    replay_loop: bool,

    /// Take events only through POST /v1/events: no upstream, no fallback replay.
    #[arg(long, env = "RELAY_NO_UPSTREAM")]
    no_upstream: bool,

    /// While the live upstream cannot be reached, replay this recording instead (looping).
    /// Without it, the real recordings built into the binary are replayed in turn (5.6 minutes).
    #[arg(long, env = "RELAY_FALLBACK_REPLAY")]
    fallback_replay: Option<PathBuf>,

    /// Never fall back to a replay when the upstream is unreachable.
    #[arg(long, env = "RELAY_NO_FALLBACK")]
    no_fallback: bool,

    /// Serve browsers only: no sources, no counting; read the counts other relays publish.
    #[arg(long, env = "RELAY_SERVE_ONLY", requires = "brokers")]
    serve_only: bool,

    /// Take events in only (sources, gateway): put them on Kafka and leave the counting to the
    /// relays of the group that count. A gateway tier, whose CPU goes to ingest alone.
    #[arg(
        long,
        env = "RELAY_INGEST_ONLY",
        requires = "brokers",
        conflicts_with = "serve_only"
    )]
    ingest_only: bool,

    /// Which clock assigns events to windows.
    #[arg(long = "time", env = "RELAY_TIME", value_enum, default_value_t = TimeMode::Event)]
    pub time_mode: TimeMode,

    /// How long after a second ends it is closed (published final), in milliseconds.
    #[arg(long = "watermark-delay-ms", env = "RELAY_WATERMARK_DELAY_MS", value_name = "WATERMARK_DELAY_MS", default_value = "2000", value_parser = millis)]
    pub watermark_delay: Duration,

    /// How late an event may arrive after its second closed and still revise it, in milliseconds.
    #[arg(long = "allowed-lateness-ms", env = "RELAY_ALLOWED_LATENESS_MS", value_name = "ALLOWED_LATENESS_MS", default_value = "60000", value_parser = millis)]
    pub allowed_lateness: Duration,

    /// Events whose time is further ahead of the relay's clock than this are refused, in milliseconds.
    #[arg(long = "max-future-ms", env = "RELAY_MAX_FUTURE_MS", value_name = "MAX_FUTURE_MS", default_value = "300000", value_parser = millis)]
    pub max_future: Duration,

    /// Bearer token required by POST /v1/events (compared in constant time). Unset: open.
    #[arg(long, env = "RELAY_INGEST_TOKEN", hide_env_values = true)]
    pub ingest_token: Option<String>,

    /// Largest request body POST /v1/events accepts, in bytes.
    #[arg(long, env = "RELAY_MAX_BODY_BYTES", default_value_t = 8 * 1024 * 1024)]
    pub max_body_bytes: usize,

    /// Most events one POST /v1/events request may carry.
    #[arg(long, env = "RELAY_MAX_BATCH_EVENTS", default_value_t = 50_000)]
    pub max_batch_events: usize,

    /// Most POST /v1/events requests handled at once (each may hold a body of up to
    /// --max-body-bytes); further ones wait.
    #[arg(long, env = "RELAY_MAX_INGEST_REQUESTS", default_value_t = 64)]
    pub max_ingest_requests: usize,

    /// Time a client has to send its request headers, in milliseconds (slowloris guard).
    #[arg(long = "header-timeout-ms", env = "RELAY_HEADER_TIMEOUT_MS", value_name = "HEADER_TIMEOUT_MS", default_value = "5000", value_parser = millis)]
    pub header_timeout: Duration,

    /// Time a client has to send a whole request body, in milliseconds.
    #[arg(long = "body-timeout-ms", env = "RELAY_BODY_TIMEOUT_MS", value_name = "BODY_TIMEOUT_MS", default_value = "30000", value_parser = millis)]
    pub body_timeout: Duration,

    /// Most concurrent HTTP connections; further ones wait for a free slot.
    #[arg(long, env = "RELAY_MAX_CONNECTIONS", default_value_t = 16_384)]
    pub max_connections: usize,

    /// Origins allowed to read the API cross-origin (comma-separated). Unset: same origin only.
    #[arg(long, env = "RELAY_CORS_ORIGINS", value_delimiter = ',')]
    pub cors_origins: Vec<String>,

    /// Directory of the built dashboard (trunk's dist/), served at /.
    #[arg(long, env = "RELAY_STATIC_DIR", default_value = "dist")]
    pub static_dir: PathBuf,

    /// Directory for state that must survive a restart (the upstream's last event id; on the
    /// embedded bus, the input log and the count history).
    #[arg(long, env = "RELAY_STATE_DIR", default_value = ".editpulse")]
    pub state_dir: PathBuf,

    /// How much count history to keep and serve (/v1/counts), as a duration: 90m, 24h, 7d.
    /// On the embedded bus it is kept in the state directory; on Kafka, on the output topic.
    #[arg(long, env = "RELAY_HISTORY", default_value = "24h", value_parser = history)]
    pub history: Duration,

    /// How long the embedded bus keeps the events themselves for /v1/edits and /v1/top by page
    /// or user, as a duration: 30m, 1h, 6h (at most a day: Wikimedia's rate is ~3 GB a day).
    /// The default holds the last hour's ranking whole: its first second is decided by events
    /// taken in up to --max-future-ms before it. On Kafka the input topic's retention decides.
    #[arg(long, env = "RELAY_KEEP_EDITS", default_value = "90m", value_parser = keep_edits)]
    pub keep_edits: Duration,

    /// Most count updates kept for Last-Event-ID resume.
    #[arg(long, env = "RELAY_UPDATE_LOG", default_value_t = 65_536)]
    pub update_log: usize,

    /// An upstream connection that sends no bytes for this long is dead, in milliseconds.
    #[arg(long = "upstream-stall-ms", env = "RELAY_UPSTREAM_STALL_MS", value_name = "UPSTREAM_STALL_MS", default_value = "60000", value_parser = millis)]
    pub upstream_stall: Duration,

    /// Longest wait between upstream reconnects, in milliseconds.
    #[arg(long = "upstream-max-backoff-ms", env = "RELAY_UPSTREAM_MAX_BACKOFF_MS", value_name = "UPSTREAM_MAX_BACKOFF_MS", default_value = "30000", value_parser = millis)]
    pub upstream_max_backoff: Duration,

    /// Events the embedded bus holds not yet counted before the gateway answers 503.
    #[arg(long, env = "RELAY_EMBEDDED_CAPACITY", default_value_t = 1_000_000)]
    pub embedded_capacity: usize,

    /// Extra librdkafka settings, KEY=VALUE, applied to every client (comma-separated).
    #[arg(long, env = "RELAY_KAFKA_OPTION", value_delimiter = ',')]
    pub kafka_option: Vec<KafkaOption>,
}

fn millis(v: &str) -> Result<Duration, std::num::ParseIntError> {
    v.parse().map(Duration::from_millis)
}

/// A history of whole seconds, from one minute (what the dashboard's shortest range shows)
/// to a year.
fn history(v: &str) -> Result<Duration, String> {
    let d = humantime::parse_duration(v).map_err(|e| format!("{v:?}: {e} (e.g. 90m, 24h, 7d)"))?;
    if d.subsec_nanos() != 0 || !(60..=366 * 86_400).contains(&d.as_secs()) {
        return Err(format!("{v:?}: give whole seconds from 1m to 366d"));
    }
    Ok(d)
}

/// Events kept from one minute (a second's edits need the lateness that follows it) to a day.
fn keep_edits(v: &str) -> Result<Duration, String> {
    let d = humantime::parse_duration(v).map_err(|e| format!("{v:?}: {e} (e.g. 30m, 1h, 6h)"))?;
    if !(60..=86_400).contains(&d.as_secs()) {
        return Err(format!("{v:?}: give a duration from 1m to 24h"));
    }
    Ok(d)
}

/// What a relay does with events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Takes events in, counts its share of the partitions, and serves the totals.
    Full,
    /// Takes events in and puts them on Kafka; the counting is left to the group (a gateway
    /// tier). Serves the group's totals.
    IngestOnly,
    /// Serves the totals other relays publish: no sources, no counting.
    ServeOnly,
}

impl Role {
    pub fn takes_events(self) -> bool {
        self != Role::ServeOnly
    }

    pub fn counts(self) -> bool {
        self == Role::Full
    }
}

/// Where a relay that takes events in gets them from, besides POST /v1/events.
#[derive(Debug, Clone, PartialEq)]
pub enum Source<'a> {
    /// A recording, paced like the original.
    Replay {
        path: &'a Path,
        /// Pace relative to the recording (2 = twice as fast).
        speed: f64,
        /// Start again at the end of the file.
        looped: bool,
    },
    /// Wikimedia EventStreams (or a stand-in).
    Upstream {
        url: &'a str,
        /// A connection that sends no bytes for this long is dead.
        stall: Duration,
        /// Longest wait between reconnects.
        max_backoff: Duration,
        fallback: Fallback<'a>,
    },
    /// Only the gateway.
    GatewayOnly,
}

/// What is replayed while the upstream cannot be reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fallback<'a> {
    /// The recordings built into the binary, in turn.
    Bundled,
    Recording(&'a Path),
    /// Nothing: the chart stays empty while the upstream is away.
    Off,
}

impl Config {
    pub fn role(&self) -> Role {
        match (self.serve_only, self.ingest_only) {
            (true, _) => Role::ServeOnly,
            (false, true) => Role::IngestOnly,
            (false, false) => Role::Full,
        }
    }

    /// The source of a relay that takes events in (see [`Config::role`]).
    pub fn source(&self) -> Source<'_> {
        if let Some(path) = &self.replay {
            return Source::Replay {
                path,
                speed: self.replay_speed,
                looped: self.replay_loop,
            };
        }
        if self.no_upstream {
            return Source::GatewayOnly;
        }
        let fallback = match (&self.fallback_replay, self.no_fallback) {
            (_, true) => Fallback::Off,
            (Some(path), false) => Fallback::Recording(path),
            (None, false) => Fallback::Bundled,
        };
        Source::Upstream {
            url: &self.upstream,
            stall: self.upstream_stall,
            max_backoff: self.upstream_max_backoff,
            fallback,
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn roles_need_a_broker_and_exclude_each_other() {
        Config::command().debug_assert();
        let parse = |args: &[&str]| Config::try_parse_from([&["relay"], args].concat());
        // Every flag reads its env var too: a RELAY_BROKERS in the caller's shell is a broker.
        if std::env::var_os("RELAY_BROKERS").is_none() {
            assert!(
                parse(&["--ingest-only"]).is_err(),
                "no broker to ingest into"
            );
        }
        assert!(parse(&["--brokers", "b:9092", "--ingest-only", "--serve-only"]).is_err());
        let c = parse(&["--brokers", "b:9092", "--ingest-only"]).unwrap();
        assert_eq!(c.role(), Role::IngestOnly);
        let c = parse(&["--brokers", "b:9092", "--serve-only"]).unwrap();
        assert_eq!(c.role(), Role::ServeOnly);
    }

    #[test]
    fn a_malformed_kafka_option_is_a_usage_error() {
        let parse = |args: &[&str]| Config::try_parse_from([&["relay"], args].concat());
        let err = parse(&["--kafka-option", "linger.ms"]).unwrap_err();
        assert_eq!(err.kind(), clap::error::ErrorKind::ValueValidation);
        assert!(err.to_string().contains("is not KEY=VALUE"), "{err}");
        let c = parse(&["--kafka-option", "linger.ms = 5,acks=1"]).unwrap();
        let keys: Vec<_> = c
            .kafka_option
            .iter()
            .map(|o| (&*o.key, &*o.value))
            .collect();
        assert_eq!(keys, [("linger.ms", "5"), ("acks", "1")]);
    }

    #[test]
    fn durations_keep_their_units() {
        let c = Config::try_parse_from(["relay", "--watermark-delay-ms", "1500"]).unwrap();
        assert_eq!(c.watermark_delay, Duration::from_millis(1_500));
        if std::env::var_os("RELAY_HISTORY").is_none() {
            assert_eq!(c.history, Duration::from_secs(86_400));
        }
        let history =
            |v: &str| Config::try_parse_from(["relay", "--history", v]).map(|c| c.history);
        assert_eq!(history("7d").unwrap(), Duration::from_secs(7 * 86_400));
        assert_eq!(history("90m").unwrap(), Duration::from_secs(5_400));
        for bad in ["10s", "1.5s", "400d", "24", "a day"] {
            assert!(history(bad).is_err(), "{bad} taken");
        }
        let keep =
            |v: &str| Config::try_parse_from(["relay", "--keep-edits", v]).map(|c| c.keep_edits);
        assert_eq!(keep("90m").unwrap(), Duration::from_secs(5_400));
        for bad in ["30s", "2d", "1h30", "forever"] {
            assert!(keep(bad).is_err(), "--keep-edits {bad} taken");
        }
    }

    #[test]
    fn the_source_is_read_once_from_its_flags() {
        let parse = |args: &[&str]| Config::try_parse_from([&["relay"], args].concat()).unwrap();
        if [
            "RELAY_REPLAY",
            "RELAY_NO_UPSTREAM",
            "RELAY_NO_FALLBACK",
            "RELAY_FALLBACK_REPLAY",
        ]
        .iter()
        .all(|v| std::env::var_os(v).is_none())
        {
            assert!(matches!(
                parse(&[]).source(),
                Source::Upstream {
                    fallback: Fallback::Bundled,
                    ..
                }
            ));
            assert!(matches!(
                parse(&["--no-fallback"]).source(),
                Source::Upstream {
                    fallback: Fallback::Off,
                    ..
                }
            ));
            assert_eq!(parse(&["--no-upstream"]).source(), Source::GatewayOnly);
            assert!(matches!(
                parse(&["--replay", "r.jsonl", "--replay-loop"]).source(),
                Source::Replay { looped: true, .. }
            ));
        }
    }
}
