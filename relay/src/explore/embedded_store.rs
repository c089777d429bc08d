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
    let inline = reader.keeps_most();
    for p in 0..partitions {
        if let Some((first, ingest)) = log.first_held(p)?
            && first > 0
        {
            // Records before `first` were let go (counted and past the retention).
            reader.held_from(Millis(ingest));
        }
        let mut position = log.offset_at(p, lo.0)?;
        'partition: loop {
            // Payloads come with the rows when most rows read are kept (a long range: an
            // hour's ranking), else one by one for the rows kept (a second's listing reads
            // minutes of rows to keep a few): measured, each way is the faster one by 2–3×.
            let batch = if inline {
                log.read_with_payloads(p, position, BATCH)?
                    .into_iter()
                    .map(|(e, payload)| (e, Some(payload)))
                    .collect()
            } else {
                log.read(p, position, BATCH)?
                    .into_iter()
                    .map(|e| (e, None))
                    .collect::<Vec<_>>()
            };
            if batch.is_empty() {
                break;
            }
            for (e, payload) in batch {
                position = e.offset + 1;
                if e.ingest_ms >= hi.0 {
                    break 'partition;
                }
                let payload = match payload {
                    Some(payload) => Some(payload),
                    // As the counter's reader decodes it (bus/embedded/consumer.rs): the
                    // payload only where the tag does not say it all.
                    None if Content::from_tag(&e.summary, Some(e.key.as_bytes())).is_none() => {
                        Some(log.payload(p, e.offset)?.unwrap_or_default())
                    }
                    None => None,
                };
                let content = Content::from_tag(&e.summary, Some(e.key.as_bytes()))
                    .unwrap_or_else(|| Content::parse(payload.as_deref().unwrap_or_default()));
                reader.record(p, e.offset, Millis(e.ingest_ms), content, || {
                    Ok(match payload {
                        Some(payload) => payload,
                        None => log.payload(p, e.offset)?.unwrap_or_default(),
                    })
                })?;
            }
        }
    }
    Ok(())
}
