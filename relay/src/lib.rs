//! EditPulse relay. Data flows one way through the modules:
//!
//! [`source`] (upstream SSE client, HTTP gateway, replay) → [`bus`] (Kafka or embedded) →
//! [`window`] (per-partition counting) → [`publish`] (merge, update log, output topic) →
//! [`http`] (SSE, history, health, metrics, dashboard) → browser.
//!
//! Around them: [`config`] (the flags, read once into a [`config::Role`] and a
//! [`config::Source`]), [`run`] (starts the stages and stops them in order), [`telemetry`] (the
//! stages' counters), [`health_report`] (those counters as a health report each second) and
//! [`metrics`] (those counters as Prometheus metrics, read at each scrape).
//! The bytes of events and SSE frames are parsed by the `codec` crate, which has no I/O.

pub mod bus;
pub mod clock;
pub mod config;
pub mod explore;
pub mod health_report;
pub mod http;
pub mod metrics;
pub mod publish;
pub mod run;
pub mod source;
pub mod telemetry;
pub mod window;

pub use config::Config;
pub use run::{Relay, RelayError, run};
