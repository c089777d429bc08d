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

/// How long until the wall clock enters its next whole second (plus a millisecond, so a timer
/// set for it fires when the clock has surely passed it). Everything that goes out once a
/// second is timed from here, so it all reaches SSE clients in one wake and one write.
pub fn until_next_second() -> std::time::Duration {
    let ms = now().0.rem_euclid(1_000);
    std::time::Duration::from_millis((1_000 - ms + 1) as u64)
}
