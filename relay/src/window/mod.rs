//! Counting: events into 1-second tumbling windows, per input partition.
//!
//! Everything here is a pure function of the records a partition delivered (their event
//! times, ingest times and offsets), so the same input always yields the same partial
//! windows — which is what lets a restarted or rebalanced counter recompute instead of add.

pub mod counter;
pub(crate) mod recent_ids;
pub(crate) mod seen_ids;
pub mod task;
pub mod timing;

pub use counter::{Admission, PartitionCounter};
pub use timing::Timing;
