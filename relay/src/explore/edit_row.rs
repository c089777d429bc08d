//! An event as `/v1/edits` lists it. What the counter counts by (time, type, bot, wiki,
//! article or not, id) comes from the counter's own decoding ([`Found`]); only what is shown
//! besides (title, user, comment, the namespace's number, the links) is read from the payload,
//! with serde.

use serde::Deserialize;
use wire::{ChangeType, EditRow};

use super::store::Found;

/// The fields shown, as Wikimedia's `recentchange` schema names them.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Display {
    pub namespace: Option<i64>,
    pub title: Option<String>,
    pub user: Option<String>,
    pub comment: Option<String>,
    pub server_url: Option<String>,
    pub server_script_path: Option<String>,
    pub revision: Option<Revision>,
    pub meta: Option<Meta>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Revision {
    pub old: Option<u64>,
    pub new: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Meta {
    pub uri: Option<String>,
    pub id: Option<String>,
}

/// What a ranking reads of an event: far less than a row shows, so an hour's events are
/// parsed in a fraction of the time.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Names {
    pub title: Option<String>,
    pub user: Option<String>,
}

/// Fields read from a payload with serde; an event whose fields are not of the schema's types
/// yields none of them (it still counted, so it is still listed and ranked).
pub trait Fields: serde::de::DeserializeOwned + Default + Send + 'static {
    fn of(payload: &[u8]) -> Self {
        serde_json::from_slice(payload).unwrap_or_default()
    }
}

impl Fields for Display {}

impl Fields for Names {}

/// The row of a counted event.
pub fn row(found: &Found, display: Display) -> EditRow {
    let kind = found.summary.kind;
    let url = url(kind, &display);
    EditRow {
        time: found.summary.time,
        wiki: found.wiki.clone(),
        kind,
        bot: found.summary.bot,
        namespace: display.namespace,
        title: display.title,
        user: display.user,
        comment: display.comment,
        url,
        id: display.meta.and_then(|m| m.id),
    }
}

/// The wiki's page for the change: the diff of an edit, the first revision of a new page, the
/// event's own page (`meta.uri`: the log entry's or the page's) for anything else, and for an
/// edit or new page that does not name its wiki or revisions.
fn url(kind: ChangeType, d: &Display) -> Option<String> {
    let base = d.server_url.as_deref().map(|server| {
        format!(
            "{server}{}/index.php",
            d.server_script_path.as_deref().unwrap_or("")
        )
    });
    let rev = d.revision.as_ref();
    let own = match (kind, base, rev) {
        (
            ChangeType::Edit,
            Some(base),
            Some(Revision {
                old: Some(old),
                new: Some(new),
            }),
        ) => Some(format!("{base}?diff={new}&oldid={old}")),
        (ChangeType::New, Some(base), Some(Revision { new: Some(new), .. })) => {
            Some(format!("{base}?oldid={new}"))
        }
        _ => None,
    };
    own.or_else(|| d.meta.as_ref().and_then(|m| m.uri.clone()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_go_to_the_diff_the_page_or_the_entry() {
        let d = |json: &str| <Display as Fields>::of(json.as_bytes());
        let base = r#""server_url":"https://en.wikipedia.org","server_script_path":"/w","meta":{"uri":"https://en.wikipedia.org/wiki/X"}"#;
        let edit = d(&format!(r#"{{{base},"revision":{{"old":1,"new":2}}}}"#));
        assert_eq!(
            url(ChangeType::Edit, &edit).as_deref(),
            Some("https://en.wikipedia.org/w/index.php?diff=2&oldid=1")
        );
        let new = d(&format!(r#"{{{base},"revision":{{"new":5}}}}"#));
        assert_eq!(
            url(ChangeType::New, &new).as_deref(),
            Some("https://en.wikipedia.org/w/index.php?oldid=5")
        );
        let log = d(&format!(r#"{{{base}}}"#));
        assert_eq!(
            url(ChangeType::Log, &log).as_deref(),
            Some("https://en.wikipedia.org/wiki/X")
        );
        assert_eq!(url(ChangeType::Edit, &d("{}")), None);
        // Fields of the wrong type: nothing shown, nothing invented.
        assert!(d(r#"{"title":5}"#).title.is_none());
    }
}
