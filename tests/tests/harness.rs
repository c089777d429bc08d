//! The harness itself: the shared broker answers, and a private broker survives a restart.
//! Both fail loudly (an error naming what to set) when there is no broker, never skip.

use std::time::Duration;

use rdkafka::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use support::broker::{Broker, brokers};

fn metadata_broker_count(bootstrap: &str) -> usize {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", "editpulse-harness")
        .create()
        .expect("create rdkafka consumer");
    let md = consumer
        .fetch_metadata(None, Duration::from_secs(10))
        .unwrap_or_else(|e| panic!("no metadata from broker {bootstrap} within 10 s: {e}"));
    assert!(
        !md.brokers().is_empty(),
        "metadata from {bootstrap} lists no brokers"
    );
    for b in md.brokers() {
        assert_eq!(
            b.host(),
            "127.0.0.1",
            "broker {bootstrap} advertises {}:{}",
            b.host(),
            b.port()
        );
    }
    md.brokers().len()
}

#[test]
fn shared_broker_answers_metadata() -> support::Result<()> {
    let bootstrap = brokers()?;
    assert_eq!(metadata_broker_count(&bootstrap), 1);
    Ok(())
}

#[test]
fn private_broker_restarts_on_same_port() -> support::Result<()> {
    let mut broker = Broker::start()?;
    let bootstrap = broker.brokers();
    metadata_broker_count(&bootstrap);

    broker.restart()?;
    assert!(broker.is_running());
    metadata_broker_count(&bootstrap);

    broker.kill();
    assert!(!broker.is_running());
    broker.resume()?;
    metadata_broker_count(&bootstrap);
    Ok(())
}
