//! The count history: one row per final second, its record as the wire's JSON, replaced when
//! a late event revises it.

use rusqlite::{OptionalExtension, params};
use wire::{Millis, WindowRecord};

use crate::{History, HistoryError, classify, sqlite};

impl History {
    /// Every final second from `since` on, oldest first.
    pub fn load(&self, since: Millis) -> Result<Vec<WindowRecord>, HistoryError> {
        let mut stmt = self
            .conn
            .prepare("SELECT start_ms, record FROM seconds WHERE start_ms >= ?1 ORDER BY start_ms")
            .map_err(|e| classify(&self.path, e))?;
        let rows = stmt
            .query_map([since.0], |r| {
                Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?))
            })
            .map_err(|e| classify(&self.path, e))?;
        let mut out = Vec::new();
        for row in rows {
            let (start, json) = row.map_err(|e| classify(&self.path, e))?;
            let record: WindowRecord =
                serde_json::from_str(&json).map_err(|source| HistoryError::Record {
                    path: self.path.clone(),
                    start,
                    source,
                })?;
            out.push(record);
        }
        Ok(out)
    }

    /// Writes the final seconds among `records` (a revision replaces what was written), in one
    /// transaction: when this returns, they survive the process.
    pub fn write(&mut self, records: &[WindowRecord]) -> Result<usize, HistoryError> {
        let tx = self.conn.transaction().map_err(|e| sqlite(&self.path, e))?;
        let mut written = 0;
        {
            let mut stmt = tx
                .prepare_cached(
                    "INSERT INTO seconds (start_ms, record) VALUES (?1, ?2)
                     ON CONFLICT (start_ms) DO UPDATE SET record = excluded.record",
                )
                .map_err(|e| sqlite(&self.path, e))?;
            for r in records.iter().filter(|r| r.is_final) {
                let json = serde_json::to_string(r).expect("wire types serialize");
                stmt.execute(params![r.start.0, json])
                    .map_err(|e| sqlite(&self.path, e))?;
                written += 1;
            }
        }
        tx.commit().map_err(|e| sqlite(&self.path, e))?;
        Ok(written)
    }

    /// Forgets the seconds before `before`; returns how many.
    pub fn forget_before(&mut self, before: Millis) -> Result<usize, HistoryError> {
        self.conn
            .execute("DELETE FROM seconds WHERE start_ms < ?1", [before.0])
            .map_err(|e| sqlite(&self.path, e))
    }

    /// The oldest second held, if any.
    pub fn earliest(&self) -> Result<Option<Millis>, HistoryError> {
        self.conn
            .query_row("SELECT min(start_ms) FROM seconds", [], |r| {
                r.get::<_, Option<i64>>(0)
            })
            .optional()
            .map(|v| v.flatten().map(Millis))
            .map_err(|e| sqlite(&self.path, e))
    }
}
