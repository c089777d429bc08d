//! The count history: one row per final second, its record as the wire's JSON, replaced when
//! a late event revises it.
//!
//! A second the counters can still revise also keeps the latest partial of each input
//! partition (`partials`), as the output topic keeps them on Kafka. A relay restarted on the
//! embedded bus recomputes those seconds from the input log's commit point; with the partials
//! the merger can tell a recomputed partial that equals the one it had (nothing to publish)
//! from one a late event changed (a revision), instead of either ignoring every partial for a
//! recorded second (losing the late event) or replacing the total with one partition's share.
//! Once a second cannot be revised any more its partials are cleared
//! ([`History::settle_before`]): a day of history stays one record a second.

use rusqlite::{OptionalExtension, params};
use wire::{Cube, Millis, PartialWindow, WindowRecord};

use crate::{History, HistoryError, classify, sqlite};

/// A final second as recorded: its total and, while it can still be revised, the latest
/// partial of each input partition it was merged from (None: settled, or written without them).
#[derive(Debug, Clone, PartialEq)]
pub struct FinalSecond {
    pub record: WindowRecord,
    pub partials: Option<Vec<PartialWindow>>,
    /// The second's breakdown by wiki, type, bot and namespace; None when it was counted
    /// without one (by a relay from before breakdowns).
    pub cube: Option<Cube>,
}

impl History {
    /// Every final second from `since` on, oldest first.
    pub fn load(&self, since: Millis) -> Result<Vec<WindowRecord>, HistoryError> {
        Ok(self
            .load_seconds(since)?
            .into_iter()
            .map(|s| s.record)
            .collect())
    }

    /// Every final second from `since` on with its partials, oldest first.
    pub fn load_seconds(&self, since: Millis) -> Result<Vec<FinalSecond>, HistoryError> {
        self.load_between(since, Millis(i64::MAX))
    }

    /// The final seconds starting in `[from, to)` with their partials, oldest first. A day
    /// read in slices holds a slice's cubes as text at a time, not the day's.
    pub fn load_between(&self, from: Millis, to: Millis) -> Result<Vec<FinalSecond>, HistoryError> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT start_ms, record, partials, cube FROM seconds
                 WHERE start_ms >= ?1 AND start_ms < ?2 ORDER BY start_ms",
            )
            .map_err(|e| classify(&self.path, e))?;
        let rows = stmt
            .query_map([from.0, to.0], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, Option<String>>(2)?,
                    r.get::<_, Option<String>>(3)?,
                ))
            })
            .map_err(|e| classify(&self.path, e))?;
        let mut out = Vec::new();
        for row in rows {
            let (start, json, partials, cube) = row.map_err(|e| classify(&self.path, e))?;
            let unreadable = |source| HistoryError::Record {
                path: self.path.clone(),
                start,
                source,
            };
            out.push(FinalSecond {
                record: serde_json::from_str(&json).map_err(unreadable)?,
                partials: partials
                    .map(|p| serde_json::from_str(&p))
                    .transpose()
                    .map_err(unreadable)?,
                cube: cube
                    .map(|c| serde_json::from_str(&c))
                    .transpose()
                    .map_err(unreadable)?,
            });
        }
        Ok(out)
    }

    /// Writes the final seconds among `records` (a revision replaces what was written), in one
    /// transaction: when this returns, they survive the process.
    pub fn write(&mut self, records: &[WindowRecord]) -> Result<usize, HistoryError> {
        let seconds: Vec<FinalSecond> = records
            .iter()
            .map(|r| FinalSecond {
                record: r.clone(),
                partials: None,
                cube: None,
            })
            .collect();
        self.write_seconds(&seconds)
    }

    /// Writes the final seconds among `seconds` with their partials (a revision replaces both),
    /// in one transaction: when this returns, they survive the process.
    pub fn write_seconds(&mut self, seconds: &[FinalSecond]) -> Result<usize, HistoryError> {
        let tx = self.conn.transaction().map_err(|e| sqlite(&self.path, e))?;
        let mut written = 0;
        {
            let mut stmt = tx
                .prepare_cached(
                    "INSERT INTO seconds (start_ms, record, partials, cube) VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT (start_ms) DO UPDATE SET
                         record = excluded.record, partials = excluded.partials,
                         cube = excluded.cube",
                )
                .map_err(|e| sqlite(&self.path, e))?;
            for s in seconds.iter().filter(|s| s.record.is_final) {
                let json = serde_json::to_string(&s.record).expect("wire types serialize");
                let partials = s
                    .partials
                    .as_ref()
                    .map(|p| serde_json::to_string(p).expect("wire types serialize"));
                let cube = s
                    .cube
                    .as_ref()
                    .map(|c| serde_json::to_string(c).expect("wire types serialize"));
                stmt.execute(params![s.record.start.0, json, partials, cube])
                    .map_err(|e| sqlite(&self.path, e))?;
                written += 1;
            }
        }
        tx.commit().map_err(|e| sqlite(&self.path, e))?;
        Ok(written)
    }

    /// Clears the partials of the seconds before `before`, which can no longer be revised;
    /// returns how many.
    pub fn settle_before(&mut self, before: Millis) -> Result<usize, HistoryError> {
        self.conn
            .execute(
                "UPDATE seconds SET partials = NULL WHERE start_ms < ?1 AND partials IS NOT NULL",
                [before.0],
            )
            .map_err(|e| sqlite(&self.path, e))
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
