//! The relay's one reading of the wall clock.

use std::time::{SystemTime, UNIX_EPOCH};

use wire::Millis;

pub fn now() -> Millis {
    Millis(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64),
    )
}
