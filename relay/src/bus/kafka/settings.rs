//! How the relay's Kafka clients are configured: the brokers, the `--kafka-option`s, and the
//! settings each kind of client starts from.

use std::str::FromStr;

use rdkafka::config::ClientConfig;

/// Connection settings shared by every client the relay makes.
#[derive(Debug, Clone)]
pub struct KafkaSettings {
    pub brokers: String,
    /// `--kafka-option`s, applied last so they can override ours.
    pub extra: Vec<KafkaOption>,
}

/// One `--kafka-option KEY=VALUE`: a librdkafka setting applied to every client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KafkaOption {
    pub key: String,
    pub value: String,
}

impl FromStr for KafkaOption {
    type Err = String;

    /// Parsed with the rest of the configuration, so a malformed one stops the relay at start
    /// with a usage error instead of surfacing later as a broker problem.
    fn from_str(option: &str) -> Result<Self, String> {
        match option.split_once('=') {
            Some((key, value)) if !key.trim().is_empty() => Ok(KafkaOption {
                key: key.trim().to_string(),
                value: value.trim().to_string(),
            }),
            _ => Err(format!("{option:?} is not KEY=VALUE")),
        }
    }
}

impl KafkaSettings {
    pub fn new(brokers: &str, options: &[KafkaOption]) -> Self {
        KafkaSettings {
            brokers: brokers.to_string(),
            extra: options.to_vec(),
        }
    }

    /// What every client starts from: the brokers and how to reach them again.
    fn base(&self) -> ClientConfig {
        let mut c = ClientConfig::new();
        c.set("bootstrap.servers", &self.brokers);
        c.set("socket.keepalive.enable", "true");
        // A broker restart must not strand the relay: retry connections quickly.
        c.set("reconnect.backoff.ms", "100");
        c.set("reconnect.backoff.max.ms", "2000");
        c
    }

    /// `c` with the `--kafka-option`s over it.
    pub(super) fn finish(&self, mut c: ClientConfig) -> ClientConfig {
        for KafkaOption { key, value } in &self.extra {
            c.set(key, value);
        }
        c
    }

    /// A client that only reads metadata (topic admin, partition counts).
    pub(super) fn metadata_config(&self) -> ClientConfig {
        self.finish(self.base())
    }

    /// What every consumer of the relay's shares: offsets committed by hand (or never), the
    /// end of a partition reported, and fetches that neither wait nor back off long.
    fn consumer_base(&self, group: &str) -> ClientConfig {
        let mut c = self.base();
        c.set("group.id", group);
        c.set("enable.auto.commit", "false");
        // Reaching the end of a partition is how a reader knows it is caught up: a counter
        // may then let the wall clock advance the watermark, the output reader has read its
        // history.
        c.set("enable.partition.eof", "true");
        // How long the broker may hold a fetch that finds nothing new. A count's latency to the
        // browser includes it twice (input, then output topic) when the broker does not answer
        // a waiting fetch as soon as records arrive (nisshi re-checks at halving intervals), so
        // keep it short; idle, it costs ~100 small requests a second per consumer.
        c.set("fetch.wait.max.ms", "10");
        // librdkafka pauses fetching for a second whenever its prefetch queue fills; with a
        // backlog that stalls the reader ~0.9 s in every second (measured: 3.7× the rate).
        c.set("fetch.queue.backoff.ms", "10");
        c
    }

    /// A reader of the input topic by time (`/v1/edits`): partitions assigned by hand, never
    /// committed, so it joins no group (librdkafka still wants a group id to exist).
    pub fn edits_reader_config(&self) -> ClientConfig {
        let mut c = self.consumer_base("editpulse-edits-reader");
        // One request reads a few minutes of records: a small prefetch is plenty.
        c.set("queued.max.messages.kbytes", "16384");
        self.finish(c)
    }

    /// The output topic reader's settings: never committed and never shared, so the group id
    /// only satisfies librdkafka.
    pub(super) fn output_reader_config(&self) -> ClientConfig {
        let group = format!("editpulse-reader-{}", std::process::id());
        let mut c = self.consumer_base(&group);
        // Reading a day of history back, librdkafka would otherwise prefetch up to 64 MB per
        // partition ahead of the merger; 8 MB keeps it fed (the records are small) at a
        // quarter of the memory.
        c.set("queued.max.messages.kbytes", "8192");
        self.finish(c)
    }

    /// A counter's consumer settings. Public so the benchmark's bare consumer, the limit the
    /// counting loop is measured against, reads with exactly these.
    ///
    /// Offsets are committed only up to a point from which a restart recomputes every open
    /// window whole (see `window::counter`).
    pub fn counter_consumer_config(&self, group: &str) -> ClientConfig {
        let mut c = self.consumer_base(group);
        c.set("auto.offset.reset", "earliest");
        c.set("session.timeout.ms", "10000");
        c.set("heartbeat.interval.ms", "1000");
        self.finish(c)
    }

    /// `linger_ms`: how long librdkafka waits to fill a batch. The input producer waits a little
    /// (many small gateway requests make one batch); the output sink does not, since a tick's
    /// windows are handed over together and every millisecond shows in the count's latency.
    /// Public, like the consumer's, for the benchmark's bare producer.
    pub fn producer_config(&self, linger_ms: u32) -> ClientConfig {
        let mut c = self.base();
        c.set("enable.idempotence", "true");
        c.set("acks", "all");
        c.set("linger.ms", linger_ms.to_string());
        c.set("batch.num.messages", "10000");
        c.set("queue.buffering.max.messages", "500000");
        // A gateway request waits for this at most before it is answered 503: long enough to
        // ride out a leader change, short enough for a client to retry elsewhere.
        c.set("message.timeout.ms", "10000");
        self.finish(c)
    }
}
