//! The events themselves, read back from the bus by time: the bus is the store, nothing is
//! kept twice. Kafka's input topic is read by its records' timestamps (ingest times) with
//! assigned consumers kept between reads ([`super::kafka_store`]); the embedded bus's log by bisecting each
//! partition's offsets on their ingest times ([`super::embedded_store`]).
//!
//! Either way each partition is read in offset order from the start of the ingest times that
//! decide the range ([`Timing::ingest_span`]), through the counter's own admission rules
//! ([`super::admission`]), so what comes back for a range is what the counter counted in it.

use std::sync::Mutex;

use codec::summary::Summary;
use history::InputLog;
use wire::Millis;

use super::admission::Admitters;
use super::kafka_store::KafkaReaders;
use crate::bus::Content;
use crate::bus::kafka::KafkaSettings;
use crate::config::Config;
use crate::window::Timing;

/// Read connections kept open between reads on the embedded bus; more are opened while
/// reads overlap and closed after.
const MAX_IDLE: usize = 4;

/// Ingest times that disagree by this much (several producers, concurrent requests) are read
/// anyway: the counter allows as much (its `slack`).
pub fn margin(timing: &Timing) -> i64 {
    timing.slack_ms
}

/// An event the counter counted in the range asked for.
#[derive(Debug, Clone)]
pub struct Found {
    pub partition: u32,
    pub offset: u64,
    pub ingest: Millis,
    /// The instant it was counted at: its event time (or ingest time with `--time ingest`).
    pub counted_at: Millis,
    pub summary: Summary,
    pub wiki: String,
    /// The event as it was put on the bus (on Kafka, with the summary tag first).
    pub payload: Vec<u8>,
}

/// What a read found, and from when the store still held everything it needed.
#[derive(Debug, Default)]
pub struct Scan {
    pub found: Vec<Found>,
    /// The oldest counted instant whose events are all still held, when the store has let
    /// older ones go.
    pub earliest: Option<Millis>,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("reading the embedded bus's log: {0}")]
    Log(#[from] history::HistoryError),
    #[error("reading the input topic: {0}")]
    Kafka(#[from] rdkafka::error::KafkaError),
    #[error("the input topic {0} is unknown to the broker")]
    NoTopic(String),
    #[error("the broker did not deliver the input topic's records within {0} s")]
    Timeout(u64),
}

/// Where the events are.
pub enum EditsStore {
    Embedded {
        /// Idle read connections: each read takes one (or opens one), so an hour's ranking
        /// does not hold up a second's listing.
        idle: Mutex<Vec<InputLog>>,
        state_dir: std::path::PathBuf,
        partitions: u32,
    },
    Kafka(KafkaReaders),
}

/// What a read keeps of the admitted records: the filter's test on what the counter reads
/// (wiki, type, bot), before any payload is fetched.
pub type Keep<'a> = &'a (dyn Fn(&Summary, &str) -> bool + Sync);

impl EditsStore {
    /// The store the configuration names: the input topic on Kafka, else the embedded bus's
    /// log in the state directory (a connection of its own, for reading).
    pub fn open(config: &Config) -> Result<EditsStore, StoreError> {
        Ok(match &config.brokers {
            Some(brokers) => EditsStore::Kafka(KafkaReaders::new(
                KafkaSettings::new(brokers, &config.kafka_option),
                config.input_topic.clone(),
            )?),
            None => EditsStore::Embedded {
                // Opened now, so a file the relay cannot read stops it at start.
                idle: Mutex::new(vec![InputLog::open_in(&config.state_dir)?]),
                state_dir: config.state_dir.clone(),
                partitions: config.partitions.max(1),
            },
        })
    }

    /// Every event counted at an instant in `[from, to)` that `keep` keeps. Blocking: run it
    /// on a blocking thread.
    pub fn scan(
        &self,
        timing: Timing,
        from: Millis,
        to: Millis,
        keep: Keep<'_>,
    ) -> Result<Scan, StoreError> {
        let mut reader = Reader {
            timing,
            from,
            to,
            keep,
            admitters: Admitters::default(),
            scan: Scan::default(),
        };
        match self {
            EditsStore::Embedded {
                idle,
                state_dir,
                partitions,
            } => {
                let taken = idle.lock().unwrap_or_else(|p| p.into_inner()).pop();
                let log = match taken {
                    Some(log) => log,
                    None => InputLog::open_in(state_dir)?,
                };
                let result = super::embedded_store::scan(&log, *partitions, &mut reader);
                let mut idle = idle.lock().unwrap_or_else(|p| p.into_inner());
                if idle.len() < MAX_IDLE {
                    idle.push(log);
                }
                result?;
            }
            EditsStore::Kafka(readers) => readers.scan(&mut reader)?,
        }
        Ok(reader.scan)
    }
}

/// What both stores feed each partition's records to, in offset order.
pub struct Reader<'a> {
    pub timing: Timing,
    from: Millis,
    to: Millis,
    keep: Keep<'a>,
    admitters: Admitters,
    pub scan: Scan,
}

impl Reader<'_> {
    /// The ingest times to read: those deciding the range, widened by the [`margin`].
    pub fn ingest_range(&self) -> (Millis, Millis) {
        let (lo, hi) = self.timing.ingest_span(self.from, self.to);
        let m = margin(&self.timing);
        (lo.plus(-m), hi.plus(m))
    }

    /// Whether most records read fall in the range asked for (it is at least as long as the
    /// ingest times around it that are read to decide it).
    pub fn keeps_most(&self) -> bool {
        let (lo, hi) = self.ingest_range();
        2 * (self.to.0 - self.from.0) >= hi.0 - lo.0
    }

    /// The oldest ingest time a partition still holds, when older records were let go: what
    /// was counted before it plus the longest an event may be stamped ahead is incomplete.
    pub fn held_from(&mut self, oldest_ingest: Millis) {
        let complete = oldest_ingest.plus(self.timing.max_future_ms + margin(&self.timing));
        self.scan.earliest = Some(self.scan.earliest.map_or(complete, |e| e.max(complete)));
    }

    /// One record; `payload` is asked for only when the record is kept.
    pub fn record(
        &mut self,
        partition: u32,
        offset: u64,
        ingest: Millis,
        content: Content,
        payload: impl FnOnce() -> Result<Vec<u8>, StoreError>,
    ) -> Result<(), StoreError> {
        let Content::Summarized { summary, wiki } = content else {
            return Ok(());
        };
        let Some(at) = self
            .admitters
            .admit(self.timing, partition, &summary, ingest, offset)
        else {
            return Ok(());
        };
        if at < self.from || at >= self.to {
            return Ok(());
        }
        let wiki = String::from_utf8_lossy(wiki.as_bytes()).into_owned();
        if !(self.keep)(&summary, &wiki) {
            return Ok(());
        }
        self.scan.found.push(Found {
            partition,
            offset,
            ingest,
            counted_at: at,
            summary,
            wiki,
            payload: payload()?,
        });
        Ok(())
    }
}
