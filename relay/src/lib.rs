//! EditPulse relay. Data flows one way through the modules:
//!
//! [`source`] (upstream SSE client, HTTP gateway, replay) → [`bus`] (Kafka or embedded) →
//! [`window`] (per-partition counting) → [`publish`] (merge, update log, output topic) →
//! [`http`] (SSE, history, health, metrics, dashboard) → browser.

pub mod bus;
pub mod clock;
pub mod config;
pub mod health;
pub mod http;
pub mod publish;
pub mod run;
pub mod source;
pub mod telemetry;
pub mod window;

pub use config::Config;
pub use run::{Relay, RelayError, run};
