//! An event as `/v1/edits` lists it. What the counter counts by (time, type, bot, wiki,
//! article or not, id) comes from the counter's own decoding ([`Found`]); only what is shown
//! besides (title, user, comment, the namespace's number, the links) is read from the payload,
//! with serde.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};
use wire::{ChangeType, EditRow};

use super::store::Found;

/// The fields shown, as Wikimedia's `recentchange` schema names them. Each is read on its
/// own: a field of another type than the schema's is left out, the others are still shown.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Display {
    #[serde(deserialize_with = "lenient")]
    pub namespace: Option<i64>,
    #[serde(deserialize_with = "lenient")]
    pub title: Option<String>,
    #[serde(deserialize_with = "lenient")]
    pub user: Option<String>,
    #[serde(deserialize_with = "lenient")]
    pub comment: Option<String>,
    #[serde(deserialize_with = "lenient")]
    pub server_url: Option<String>,
    #[serde(deserialize_with = "lenient")]
    pub server_script_path: Option<String>,
    #[serde(deserialize_with = "lenient")]
    pub revision: Option<Revision>,
    #[serde(deserialize_with = "lenient")]
    pub meta: Option<Meta>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Revision {
    #[serde(deserialize_with = "lenient")]
    pub old: Option<u64>,
    #[serde(deserialize_with = "lenient")]
    pub new: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Meta {
    #[serde(deserialize_with = "lenient")]
    pub uri: Option<String>,
}

/// What a ranking reads of an event: far less than a row shows, so an hour's events are
/// parsed in a fraction of the time.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Names {
    #[serde(deserialize_with = "lenient")]
    pub title: Option<String>,
    #[serde(deserialize_with = "lenient")]
    pub user: Option<String>,
}

/// A field of the type asked for, or None: anyone can post an event, and one odd field (a
/// title that is a number) should not hide the rest of the row.
fn lenient<'de, D: Deserializer<'de>, T: DeserializeOwned>(d: D) -> Result<Option<T>, D::Error> {
    let value = serde_json::Value::deserialize(d)?;
    Ok(T::deserialize(value).ok())
}

/// Fields read from a payload with serde. Counted events are JSON objects, so only a field of
/// another type than the schema's is missing (see [`lenient`]).
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
        time: found.counted_at,
        wiki: found.wiki.clone(),
        kind,
        bot: found.summary.bot,
        namespace: display.namespace,
        title: display.title,
        user: display.user,
        comment: display.comment,
        url,
        // The id the counter compared, so a row is exactly the event counted.
        id: found
            .summary
            .id
            .as_ref()
            .map(|id| String::from_utf8_lossy(id.as_bytes()).into_owned()),
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
        .filter(|link| is_web_link(link))
}

/// Whether a link is one a browser may be sent to: an http(s) URL with a host. Events are
/// anyone's input, and a `javascript:` or `data:` "link" would run in the dashboard's page.
fn is_web_link(link: &str) -> bool {
    url::Url::parse(link)
        .is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
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
        // Only web links: anything else would run in the dashboard's page.
        for hostile in [
            r#"{"meta":{"uri":"javascript:alert(1)"}}"#,
            r#"{"meta":{"uri":"data:text/html,<script>alert(1)</script>"}}"#,
            r#"{"server_url":"javascript:alert(1)//","revision":{"old":1,"new":2}}"#,
            r#"{"meta":{"uri":"https://"}}"#,
        ] {
            assert_eq!(url(ChangeType::Edit, &d(hostile)), None, "{hostile}");
        }
        // A field of the wrong type is left out, the rest still shown.
        let odd = d(r#"{"title":5,"user":"U","namespace":0.0,"revision":{"old":"1","new":2}}"#);
        assert_eq!(
            (odd.title, odd.user.as_deref(), odd.namespace),
            (None, Some("U"), None)
        );
        assert_eq!(odd.revision.map(|r| (r.old, r.new)), Some((None, Some(2))));
    }
}
