//! What `/v1/top` and `/v1/edits` answer: the busiest wikis, pages or editors of a range, and
//! the edits themselves.

use serde::{Deserialize, Serialize};

use crate::{ChangeType, Filter, Millis};

/// The longest range `/v1/edits` and `/v1/top?by=page|user` read (they read the events one
/// by one): an hour of Wikimedia's edits (~150,000 events), and the second still open at its
/// end (`/v1/top`'s default range).
pub const MAX_EDITS_RANGE_MS: i64 = 3_601_000;

/// What a top list ranks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TopBy {
    Wiki,
    Page,
    User,
}

impl TopBy {
    pub fn parse(s: &str) -> Option<TopBy> {
        match s {
            "wiki" => Some(TopBy::Wiki),
            "page" => Some(TopBy::Page),
            "user" => Some(TopBy::User),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            TopBy::Wiki => "wiki",
            TopBy::Page => "page",
            TopBy::User => "user",
        }
    }
}

/// `GET /v1/top`: the `n` busiest of `[from, to)` under `filter`, most edits first, ties by name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TopList {
    pub by: TopBy,
    pub from: Millis,
    pub to: Millis,
    pub filter: Filter,
    /// `[name, edits]`. A page is `wiki:title` (`enwiki:Main Page`), a user `wiki:name`: the same
    /// title or user name on two wikis is two pages or two people.
    pub items: Vec<(String, u64)>,
    /// Every edit under the filter in the range: what the items are shares of.
    pub total: u64,
    /// How many distinct names the range holds, of which `items` are the first `n`.
    pub distinct: u64,
    /// The oldest instant the answer could draw on: seconds (for wikis) or edits (for pages and
    /// users) before it are no longer held.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub earliest: Option<Millis>,
    /// Seconds of the range counted without a breakdown (by a relay from before breakdowns):
    /// their edits are in no item and not in `total`.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub seconds_without_breakdown: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// One edit as `/v1/edits` lists it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EditRow {
    /// The instant it is counted at, whose second it is counted in: the event's time
    /// (`meta.dt`), or its ingest time on a relay counting by ingest time (`--time ingest`).
    pub time: Millis,
    pub wiki: String,
    #[serde(rename = "type")]
    pub kind: ChangeType,
    pub bot: bool,
    /// The namespace number (0: an article), if the event has one.
    pub namespace: Option<i64>,
    pub title: Option<String>,
    pub user: Option<String>,
    pub comment: Option<String>,
    /// The wiki's page for this change: the diff of an edit, the page of a new one, the log
    /// entry of a log event; None when the event does not say where it happened.
    pub url: Option<String>,
    /// The event's `meta.id`.
    pub id: Option<String>,
}

/// `GET /v1/edits`: a page of edits, newest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EditsPage {
    pub from: Millis,
    pub to: Millis,
    pub filter: Filter,
    pub edits: Vec<EditRow>,
    /// Pass as `cursor=` for the next (older) page; None on the last page.
    pub next_cursor: Option<String>,
    /// The oldest instant whose edits are still held; earlier ones are no longer on the bus.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub earliest: Option<Millis>,
}
