//! The broker probe: asks for metadata once a second and keeps the reachability flags (and
//! health) current, so the gateway refuses at once while no broker answers.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use rdkafka::producer::Producer;

use super::InputClient;

/// Keeps the reachability flags current by asking for metadata once a second.
pub fn spawn_probe(
    producer: InputClient,
    flags: Vec<Arc<AtomicBool>>,
    on_change: impl Fn(Option<String>) + Send + 'static,
) {
    tokio::spawn(async move {
        let mut last = None;
        loop {
            let p = producer.clone();
            let answer = tokio::task::spawn_blocking(move || {
                p.client()
                    .fetch_metadata(None, Duration::from_millis(1_500))
                    .map(|m| m.brokers().len())
            })
            .await;
            let error = match answer {
                Ok(Ok(n)) if n > 0 => None,
                Ok(Ok(_)) => Some("the cluster reports no brokers".to_string()),
                Ok(Err(e)) => Some(e.to_string()),
                Err(e) => Some(e.to_string()),
            };
            for f in &flags {
                f.store(error.is_none(), Ordering::Relaxed);
            }
            if error != last {
                match &error {
                    None => tracing::info!("broker reachable"),
                    Some(e) => tracing::warn!(error = %e, "broker unreachable"),
                }
                on_change(error.clone());
                last = error;
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    });
}
