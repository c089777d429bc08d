//! Reading the log by time: each partition's first record taken in at or after an instant
//! (for the events of a time range, `/v1/edits`, and for pruning by retention), and records
//! read with their payloads.

use rusqlite::{OptionalExtension, params};

use super::{InputLog, LogEntry, MAX_OFFSET, id, log_entry};
use crate::{HistoryError, classify};

impl InputLog {
    /// The first record `partition` holds: its offset and ingest time.
    pub fn first_held(&self, partition: u32) -> Result<Option<(u64, i64)>, HistoryError> {
        self.first_from(partition, 0)
    }

    /// The first record of `partition` at or after offset `from`: its offset and ingest time.
    fn first_from(&self, partition: u32, from: u64) -> Result<Option<(u64, i64)>, HistoryError> {
        self.conn
            .prepare_cached(
                "SELECT id, ingest_ms FROM input_log WHERE id >= ?1 AND id <= ?2
                 ORDER BY id LIMIT 1",
            )
            .and_then(|mut stmt| {
                stmt.query_row(
                    params![
                        id(partition, from.min(MAX_OFFSET)),
                        id(partition, MAX_OFFSET)
                    ],
                    |r| Ok((r.get::<_, i64>(0)? as u64 & MAX_OFFSET, r.get(1)?)),
                )
                .optional()
            })
            .map_err(|e| classify(&self.path, e))
    }

    /// The offset of the first record of `partition` taken in at or after `ingest_ms` (the
    /// partition's next offset when there is none), found by bisecting the offsets: a
    /// partition's ingest times rise with its offsets (one writer hands offsets out in the
    /// order it writes), so no index on them is needed and appends pay nothing for it. Times
    /// that disagree by a little (concurrent requests stamped a few milliseconds apart) are
    /// for the caller to allow for by asking a little earlier.
    pub fn offset_at(&self, partition: u32, ingest_ms: i64) -> Result<u64, HistoryError> {
        let end = self.next_offset(partition)?;
        let Some((mut lo, _)) = self.first_held(partition)? else {
            return Ok(end);
        };
        let mut hi = end;
        // Every record before `lo` is earlier, none from `hi` on is; reading from the answer
        // (`id >=`) starts at the first record taken in at or after `ingest_ms`.
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            match self.first_from(partition, mid)? {
                Some((at, t)) if at < hi && t < ingest_ms => lo = at + 1,
                _ => hi = mid,
            }
        }
        Ok(lo)
    }

    /// Up to `limit` records of `partition` from offset `from` on, each with its payload.
    pub fn read_with_payloads(
        &self,
        partition: u32,
        from: u64,
        limit: usize,
    ) -> Result<Vec<(LogEntry, Vec<u8>)>, HistoryError> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT id, ingest_ms, key, summary, payload FROM input_log
                 WHERE id >= ?1 AND id <= ?2 ORDER BY id LIMIT ?3",
            )
            .map_err(|e| classify(&self.path, e))?;
        let rows = stmt
            .query_map(
                params![
                    id(partition, from.min(MAX_OFFSET)),
                    id(partition, MAX_OFFSET),
                    limit as i64
                ],
                |r| Ok((log_entry(r)?, r.get(4)?)),
            )
            .map_err(|e| classify(&self.path, e))?;
        rows.collect::<Result<_, _>>()
            .map_err(|e| classify(&self.path, e))
    }
}
