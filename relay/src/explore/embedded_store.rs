//! The embedded bus's log read by time: each partition from the first record taken in at the
//! start of the range's ingest times ([`InputLog::offset_at`], a bisection over offsets) to
//! the first one past its end.

use history::InputLog;
use wire::Millis;

use super::store::{Reader, StoreError};
use crate::bus::Content;

/// Records read per query.
const BATCH: usize = 4_096;

pub(super) fn scan(
    log: &InputLog,
    partitions: u32,
    reader: &mut Reader<'_>,
) -> Result<(), StoreError> {
    let (lo, hi) = reader.ingest_range();
    for p in 0..partitions {
        if let Some((first, ingest)) = log.first_held(p)?
            && first > 0
        {
            // Records before `first` were let go (counted and past the retention).
            reader.held_from(Millis(ingest));
        }
        let mut position = log.offset_at(p, lo.0)?;
        'partition: loop {
            let batch = log.read(p, position, BATCH)?;
            if batch.is_empty() {
                break;
            }
            for e in batch {
                position = e.offset + 1;
                if e.ingest_ms >= hi.0 {
                    break 'partition;
                }
                // As the counter's reader decodes it (bus/embedded/consumer.rs).
                let mut parsed = None;
                let content = match Content::from_tag(&e.summary, Some(e.key.as_bytes())) {
                    Some(c) => c,
                    None => {
                        let payload = log.payload(p, e.offset)?.unwrap_or_default();
                        let c = Content::parse(&payload);
                        parsed = Some(payload);
                        c
                    }
                };
                reader.record(p, e.offset, Millis(e.ingest_ms), content, || {
                    Ok(match parsed {
                        Some(payload) => payload,
                        None => log.payload(p, e.offset)?.unwrap_or_default(),
                    })
                })?;
            }
        }
    }
    Ok(())
}
