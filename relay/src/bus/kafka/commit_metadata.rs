//! What a counter stores with each committed offset: its drop horizon, as the commit's
//! metadata string, so that a counter resuming from the offset knows which windows were
//! already complete and written.

use wire::Millis;

const PREFIX: &str = "editpulse-drop-horizon-v1:";

pub(super) fn write(horizon: Option<Millis>) -> String {
    horizon.map_or_else(String::new, |h| format!("{PREFIX}{}", h.0))
}

/// `None` for a commit without a horizon, or with metadata another client wrote.
pub(super) fn read(metadata: &str) -> Option<Millis> {
    metadata.strip_prefix(PREFIX)?.parse().ok().map(Millis)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_ignores_what_it_did_not_write() {
        for h in [None, Some(Millis(1_800_000_000_000)), Some(Millis(-5))] {
            assert_eq!(read(&write(h)), h);
        }
        assert_eq!(read(""), None);
        assert_eq!(read("someone else's note"), None);
        assert_eq!(read("editpulse-drop-horizon-v1:soon"), None);
    }
}
