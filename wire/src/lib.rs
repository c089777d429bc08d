//! Types that cross the wire between the EditPulse relay and its dashboard.
//!
//! Both sides depend on this crate, so a field renamed here is renamed everywhere at
//! once and the two can never disagree about what a count update or a health report is.

pub mod bucket;
pub mod cube;
pub mod explore;
pub mod filter;
pub mod health;
pub mod stream;
pub mod time;
pub mod window;

pub use bucket::{Bucket, Buckets, roll_up};
pub use cube::{Cell, ChangeType, Cube, top_n};
pub use explore::{EditRow, EditsPage, TopBy, TopList};
pub use filter::{Filter, FilterError};
pub use health::{
    BusHealth, ClientsHealth, GatewayHealth, Health, PartitionState, SourceHealth, Status,
    WindowsHealth,
};
pub use time::{Millis, TimeError};
pub use window::{PartialWindow, TypeCounts, WindowRecord};
