#![no_main]
//! Any body, either format: the splitter never panics, respects the batch limit, and every
//! item it yields is a slice of the body.

use codec::ndjson::{self, BodyFormat};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: (bool, &[u8])| {
    let (ndjson, body) = input;
    let format = if ndjson { BodyFormat::Ndjson } else { BodyFormat::Json };
    if let Ok(items) = ndjson::split(body, format, 64) {
        assert!(!items.is_empty() && items.len() <= 64);
        let range = body.as_ptr_range();
        for item in items {
            let r = item.bytes.as_ptr_range();
            assert!(r.start >= range.start && r.end <= range.end);
            assert!(item.line >= 1);
        }
    }
});
