//! EditPulse's end-to-end tests: real relay processes, a real Kafka-protocol broker (nisshi)
//! and headless Chromium, in `tests/*.rs`. What they start and read them with is in
//! `editpulse-test-support` (tests/support), shared with the benchmarks; its crate docs list
//! the environment `bash scripts/test.sh` sets up for them.
