//! Pages and editors ranked by edits in a range: every counted event under the filter read
//! back and counted by `wiki:title` or `wiki:user`. Events without a title (or a user) are in
//! `total` but in no item: they were counted, but name no page (or editor).

use std::collections::HashMap;

use wire::{Filter, Millis, TopBy, TopList};

use super::edit_row::Names;
use super::store::Found;

/// The top `n` of `rows` by `by` (page or user).
pub fn rank(
    rows: &[(Found, Names)],
    by: TopBy,
    from: Millis,
    to: Millis,
    filter: &Filter,
    n: usize,
    earliest: Option<Millis>,
) -> TopList {
    let mut counts: HashMap<String, u64> = HashMap::new();
    for (f, d) in rows {
        let name = match by {
            TopBy::Page => d.title.as_deref(),
            TopBy::User => d.user.as_deref(),
            TopBy::Wiki => Some(f.wiki.as_str()),
        };
        if let Some(name) = name {
            let key = match by {
                TopBy::Wiki => name.to_string(),
                _ => format!("{}:{name}", f.wiki),
            };
            *counts.entry(key).or_default() += 1;
        }
    }
    TopList {
        by,
        from,
        to,
        filter: filter.clone(),
        distinct: counts.len() as u64,
        items: wire::top_n(counts.into_iter(), n),
        total: rows.len() as u64,
        earliest,
        seconds_without_breakdown: 0,
    }
}
