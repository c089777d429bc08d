#![no_main]
//! Any bytes: the event scanner returns an event or an error, never panics, accepts exactly what
//! the serde_json oracle accepts and reads the same fields (the article flag included); an
//! accepted event's time round-trips through its RFC 3339 form.

use codec::{event, oracle};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    match (event::parse(data), oracle::parse(data)) {
        (Ok(edit), Ok(want)) => {
            assert_eq!(edit.time, want.time);
            assert_eq!(edit.kind, want.kind);
            assert_eq!((edit.bot, edit.canary), (want.bot, want.canary));
            assert_eq!(edit.article, want.article);
            assert_eq!((&edit.wiki, &edit.id), (&want.wiki, &want.id));
            let text = edit.time.to_string();
            assert_eq!(wire::Millis::parse_rfc3339(&text), Ok(edit.time));
        }
        (Err(_), Err(_)) => {}
        (got, want) => panic!("scanner {got:?}, serde {want:?}"),
    }
});
