#![no_main]
//! Any bytes, split anywhere: the SSE parser yields the same events whole or in pieces, and
//! never buffers more than its line limit.

use codec::sse_parse::SseParser;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: (u16, &[u8])| {
    let (split, data) = input;
    let split = usize::from(split) % (data.len() + 1);
    let mut whole = SseParser::new(1_024);
    let all = whole.feed(data);
    let mut parts = SseParser::new(1_024);
    let mut pieces = parts.feed(&data[..split]);
    pieces.extend(parts.feed(&data[split..]));
    assert_eq!(all, pieces);
    for e in &all {
        // Invalid UTF-8 becomes U+FFFD (three bytes), so compare characters, not bytes.
        assert!(e.data.chars().count() <= data.len());
    }
});
