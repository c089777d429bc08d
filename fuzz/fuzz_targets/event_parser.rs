#![no_main]
//! Any bytes: the event parser returns an event or an error, never panics, and an accepted
//! event's time round-trips through its RFC 3339 form.

use editpulse_fuzz::event;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(edit) = event::parse(data) {
        let text = edit.time.to_string();
        assert_eq!(wire::Millis::parse_rfc3339(&text), Ok(edit.time));
    }
});
