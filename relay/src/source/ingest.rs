//! The one door onto the bus for every source: checks an event's time, keys it by wiki,
//! stamps its ingest time and waits for the bus to acknowledge it.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use codec::event::{self, Edit};
use codec::summary::Summary;
use tokio::sync::watch;
use wire::Millis;

use crate::bus::{BusError, InputProducer, InputRecord};
use crate::config::TimeMode;
use crate::telemetry::{Telemetry, add};
use crate::window::Timing;

#[derive(Clone)]
pub struct Ingest {
    pub producer: InputProducer,
    pub telemetry: Arc<Telemetry>,
    pub timing: Timing,
}

/// Why an event's time is refused at the door rather than counted as too late later.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TimeRefusal {
    #[error("meta.dt {0} is more than {1} ms ahead of the relay's clock")]
    Future(Millis, i64),
    #[error("meta.dt {0} is older than the allowed lateness ({1} ms after its second closed)")]
    TooOld(Millis, i64),
}

impl Ingest {
    /// Whether an event with this time would be counted if it reached the bus now.
    pub fn check_time(&self, edit: &Edit<'_>, now: Millis) -> Result<(), TimeRefusal> {
        if self.timing.mode == TimeMode::Ingest {
            return Ok(());
        }
        let t = self.timing;
        if edit.time.0 > now.0 + t.max_future_ms {
            return Err(TimeRefusal::Future(edit.time, t.max_future_ms));
        }
        let end = Timing::window_start(edit.time) + crate::window::timing::WINDOW_MS;
        if now.0 >= end + t.delay_ms + t.lateness_ms {
            return Err(TimeRefusal::TooOld(edit.time, t.lateness_ms));
        }
        Ok(())
    }

    pub fn record(edit: &Edit<'_>, payload: Bytes, now: Millis) -> InputRecord {
        InputRecord {
            key: event::key_of(edit),
            payload,
            summary: Summary::of(edit),
            ingest: now,
        }
    }

    /// Submits until the bus takes the records; false if `stop` flipped first. Sources pause
    /// rather than drop events while the bus is down (an upstream is not read meanwhile, so
    /// its resume id still points before these events).
    pub async fn submit_until_taken(
        &self,
        records: Vec<InputRecord>,
        source: &str,
        stop: &mut watch::Receiver<bool>,
    ) -> bool {
        let mut wait = Duration::from_millis(100);
        let mut refused = false;
        loop {
            match self.submit(records.clone()).await {
                Ok(()) => {
                    if refused {
                        self.telemetry.source_error(None);
                    }
                    return true;
                }
                Err(e) => {
                    if !refused {
                        tracing::warn!(source, error = %e, "bus refused events; retrying");
                    }
                    refused = true;
                    self.telemetry.source_error(Some(format!(
                        "{source} paused: the bus refused its events ({e})"
                    )));
                    tokio::select! {
                        _ = tokio::time::sleep(wait) => {}
                        _ = stop.changed() => return false,
                    }
                    wait = (wait * 2).min(Duration::from_secs(2));
                }
            }
        }
    }

    pub async fn submit(&self, records: Vec<InputRecord>) -> Result<(), BusError> {
        let n = records.len() as u64;
        let result = self.producer.send(records).await;
        match &result {
            Ok(()) => add(&self.telemetry.bus.produced, n),
            Err(_) => add(&self.telemetry.bus.produce_errors, n),
        }
        result
    }
}
