//! The edits behind the counts: `/v1/edits` lists the events a range counted, and `/v1/top`
//! ranks its pages and editors, both read back from the bus ([`store`]) through the counter's
//! own admission rules ([`admission`]), so a second's list is exactly what its count counted.
//!
//! - [`store`]: the bus read by time ([`embedded_store`], [`kafka_store`]);
//! - [`admission`]: which records the counter counted;
//! - [`edit_row`]: an event as listed;
//! - [`cursor`]: where the next page starts;
//! - [`top_names`]: pages and editors ranked.

pub mod admission;
pub mod cursor;
pub mod edit_row;
mod embedded_store;
mod kafka_store;
pub mod store;
pub mod top_names;

use std::sync::Arc;

use wire::{EditRow, EditsPage, Filter, Millis};

use self::cursor::Position;
use self::edit_row::{Display, Fields};
use self::store::{EditsStore, Found, Scan};
use crate::window::Timing;

pub use wire::explore::MAX_EDITS_RANGE_MS as MAX_RANGE_MS;
/// The most rows a page of `/v1/edits` holds.
pub const MAX_LIMIT: usize = 1_000;
pub const DEFAULT_LIMIT: usize = 100;

/// Reads the events counted in `[from, to)` under `filter` (on a blocking thread), each with
/// the fields `F` reads from its payload. The filter is applied to what the counter reads
/// (wiki, type, bot, article), before any payload is fetched.
pub async fn read<F: Fields>(
    store: &Arc<EditsStore>,
    timing: Timing,
    from: Millis,
    to: Millis,
    filter: &Filter,
) -> Result<(Vec<(Found, F)>, Option<Millis>), store::StoreError> {
    let store = store.clone();
    let filter = filter.clone();
    tokio::task::spawn_blocking(move || {
        let keep =
            |s: &codec::summary::Summary, wiki: &str| filter.admits(wiki, s.kind, s.bot, s.article);
        let Scan { found, earliest } = store.scan(timing, from, to, &keep)?;
        let rows = found
            .into_iter()
            .map(|f| {
                let d = F::of(&f.payload);
                (f, d)
            })
            .collect();
        Ok((rows, earliest))
    })
    .await
    .expect("the edits reader does not panic")
}

/// One page of the events of `[from, to)`, newest first, from after `after` (a cursor).
pub async fn edits_page(
    store: &Arc<EditsStore>,
    timing: Timing,
    from: Millis,
    to: Millis,
    filter: &Filter,
    limit: usize,
    after: Option<Position>,
) -> Result<EditsPage, store::StoreError> {
    // A row's time is the instant it counted at (its event time, or with `--time ingest` its
    // ingest time), the time ranges are read by: nothing newer than the cursor is read again.
    let read_to = match after {
        Some(p) => to.min(p.time.plus(1)),
        None => to,
    };
    let (mut rows, earliest) = read::<Display>(store, timing, from, read_to, filter).await?;
    let position = |f: &Found| Position {
        time: f.counted_at,
        partition: f.partition,
        offset: f.offset,
    };
    rows.retain(|(f, _)| after.is_none_or(|a| position(f) < a));
    rows.sort_unstable_by_key(|(f, _)| std::cmp::Reverse(position(f)));
    let more = rows.len() > limit;
    rows.truncate(limit);
    let next_cursor = more
        .then(|| rows.last().map(|(f, _)| position(f).encode()))
        .flatten();
    let edits: Vec<EditRow> = rows
        .into_iter()
        .map(|(f, d)| edit_row::row(&f, d))
        .collect();
    Ok(EditsPage {
        from,
        to,
        filter: filter.clone(),
        edits,
        next_cursor,
        earliest,
    })
}
