//! What EditPulse's end-to-end tests (`editpulse-e2e`) and benchmarks (`editpulse-bench`)
//! share: where things are, real relay and broker processes that clean up after themselves,
//! /proc readers, and clients that read the relay's streams byte for byte.
//!
//! # Layout
//!
//! | module             | concern                                                                   |
//! |--------------------|---------------------------------------------------------------------------|
//! | [`paths`]          | workspace, artifacts, logs, dashboard build; relay, nisshi, Prometheus    |
//! | [`ports`]          | free loopback ports; waiting for one to open or close                     |
//! | [`names`]          | unique names (topics, groups) and temporary directories                   |
//! | [`logs`]           | process log files: opened for append, read back by their tail             |
//! | [`process`]        | stopping child processes: SIGTERM, waiting with a timeout, SIGKILL        |
//! | [`relay_process`]  | a relay process: spawn, wait healthy, health/metrics, stop, restart       |
//! | [`broker`]         | a nisshi broker process, and the shared test broker's address             |
//! | [`prometheus`]     | a Prometheus server process scraping relays; its query API                |
//! | [`proc_stats`]     | /proc readers: RSS, open fds, CPU time, open-files limit, TCP queues      |
//! | [`chunked`]        | HTTP/1.1 chunked transfer coding, both ways                               |
//! | [`raw_sse`]        | a raw-TCP SSE client for thousands of connections; frame splitting        |
//! | [`sse_client`]     | an SSE client over reqwest, for a handful of connections                  |
//! | [`recording`]      | independent counts of the recorded events (chrono, not relay code)        |
//! | [`truth`]          | a brute-force model of every read-API answer over a set of events         |
//! | [`load`]           | a gateway load generator that remembers what was acknowledged             |
//! | [`fake_upstream`]  | a misbehaving stand-in for Wikimedia EventStreams                         |
//! | [`webdriver`]      | headless Chromium through chromedriver                                    |
//! | [`page_load`]      | a page load's bytes on the wire (Resource Timing); headers it got         |
//!
//! # Errors
//!
//! Everything that can fail returns [`Result`] with an error that says what failed and what to
//! set or run (a missing broker, binary or directory is an error naming the variable, never a
//! skipped test); a process that dies early is reported with the tail of its log. Tests
//! propagate these with `?`, the benchmark with its own `anyhow` context. The `assert_*`
//! functions are test assertions and panic.
//!
//! # Environment
//!
//! `bash scripts/test.sh` and `bash scripts/bench.sh` set all of it:
//!
//! | variable               | meaning                                                        |
//! |------------------------|----------------------------------------------------------------|
//! | `EDITPULSE_BROKERS`    | `host:port` of the shared Kafka-protocol broker (nisshi)       |
//! | `EDITPULSE_NISSHI`     | path of the nisshi binary, for tests that run their own broker |
//! | `EDITPULSE_PROMETHEUS` | the Prometheus server (default: `prometheus` on `PATH`)        |
//! | `EDITPULSE_RELAY_BIN`  | the relay binary (default: target/release, then target/debug)  |
//! | `EDITPULSE_ARTIFACTS`  | where logs go (default: `<workspace>/artifacts`)               |
//! | `EDITPULSE_DIST`       | the dashboard trunk built (`<workspace>/dist`)                 |

pub mod broker;
pub mod chunked;
pub mod fake_upstream;
pub mod load;
pub mod logs;
pub mod names;
pub mod page_load;
pub mod paths;
pub mod ports;
pub mod proc_stats;
pub mod process;
pub mod prometheus;
pub mod raw_sse;
pub mod recording;
pub mod relay_process;
pub mod sse_client;
pub mod truth;
pub mod webdriver;

pub use anyhow::{Error, Result};
