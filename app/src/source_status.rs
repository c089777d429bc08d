//! Where the numbers on the page come from, in words: the connection badge's text and the
//! tagline under the title. Decided from the link to the relay and the `kind` of the relay's
//! source (its `origin` is shown as the relay gives it), so the page only says "live" while
//! the live Wikimedia stream is actually delivering.

use wire::Health;

use crate::health_panel::format_age;
use crate::relay::reconnect::LinkState;

/// A source silent for this long is said to be receiving nothing.
pub const QUIET_AFTER_MS: u64 = 10_000;

/// What the badge and tagline say, and the badge's colour.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceText {
    /// The badge's `data-tone`: `live` (green, pulsing), `replay` (blue), `warning` (amber),
    /// `neutral` (grey), `offline` (red).
    pub tone: &'static str,
    pub badge: String,
    pub tagline: String,
}

/// How long something has been silent, floored to whole 10 s below a minute so the badge
/// (a status region) is not rewritten every second: "10 s", "50 s", "3 min".
pub fn silence(ms: u64) -> String {
    match ms / 1_000 {
        s @ 0..60 => format!("{} s", s / 10 * 10),
        _ => format_age(ms),
    }
}

/// "nothing received yet" or "nothing received for 20 s" when the source is quiet; `None`
/// while events arrive.
fn quiet(last_event_age_ms: Option<u64>) -> Option<String> {
    match last_event_age_ms {
        None => Some("nothing received yet".to_owned()),
        Some(ms) if ms >= QUIET_AFTER_MS => Some(format!("nothing received for {}", silence(ms))),
        Some(_) => None,
    }
}

/// The tagline: what the counts are counting, from the latest health report.
pub fn tagline(health: Option<&Health>) -> String {
    let Some(h) = health else {
        return "Wikipedia edits per second".to_owned();
    };
    match h.source.kind.as_str() {
        "upstream" => "Wikipedia edits per second, live from the Wikimedia event stream".to_owned(),
        "replay" => "Wikipedia edits per second, replayed from a recording: not live".to_owned(),
        "fallback-replay" => "Wikipedia edits per second, replayed from the bundled recording \
                              because the live Wikimedia stream is unreachable: not live"
            .to_owned(),
        "gateway" => {
            "Wikipedia edits per second, counted from events posted to this relay".to_owned()
        }
        "none" => "Wikipedia edits per second, counted by other relays".to_owned(),
        _ => "Wikipedia edits per second".to_owned(),
    }
}

/// The badge: the link to the relay while it is not delivering, else the relay's source.
pub fn badge(
    link: LinkState,
    ever_connected: bool,
    health: Option<&Health>,
) -> (&'static str, String) {
    match link {
        LinkState::Reconnecting if !ever_connected => {
            return ("neutral", "Connecting to the relay…".to_owned());
        }
        LinkState::Reconnecting => return ("warning", "Reconnecting to the relay…".to_owned()),
        LinkState::Offline => return ("offline", "Offline: the relay is unreachable".to_owned()),
        LinkState::Live => {}
    }
    let Some(h) = health else {
        return (
            "neutral",
            "Connected, waiting for the relay's report".to_owned(),
        );
    };
    let s = &h.source;
    match s.kind.as_str() {
        "upstream" if !s.connected => (
            "warning",
            "Wikimedia stream unreachable, reconnecting".to_owned(),
        ),
        "upstream" => match quiet(s.last_event_age_ms) {
            Some(q) => ("warning", format!("Wikimedia stream: {q}")),
            None => ("live", "Live: Wikimedia stream".to_owned()),
        },
        "replay" if s.origin.is_empty() => ("replay", "Replay of a recording".to_owned()),
        "replay" => ("replay", format!("Replay of {}", s.origin)),
        "fallback-replay" => (
            "warning",
            "Fallback replay: the Wikimedia stream is unreachable".to_owned(),
        ),
        "gateway" => match quiet(s.last_event_age_ms) {
            Some(q) => ("warning", format!("Gateway only: {q}")),
            None => ("live", "Gateway only: receiving posted events".to_owned()),
        },
        "none" => ("neutral", "Counts from other relays".to_owned()),
        "" => ("neutral", "Connected".to_owned()),
        kind => ("neutral", format!("Source: {kind}")),
    }
}

/// The badge and the tagline together.
pub fn describe(link: LinkState, ever_connected: bool, health: Option<&Health>) -> SourceText {
    let (tone, badge) = badge(link, ever_connected, health);
    SourceText {
        tone,
        badge,
        tagline: tagline(health),
    }
}

/// The health panel's name for a source `kind`.
pub fn source_name(kind: &str) -> String {
    match kind {
        "upstream" => "Source: Wikimedia stream".to_owned(),
        "replay" => "Source: recording".to_owned(),
        "fallback-replay" => "Source: bundled recording (upstream unreachable)".to_owned(),
        "gateway" => "Source: posted events only".to_owned(),
        "none" => "Source: other relays".to_owned(),
        "" => "Source".to_owned(),
        kind => format!("Source ({kind})"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn health(kind: &str, origin: &str, connected: bool, age: Option<u64>) -> Health {
        let mut h = Health::default();
        h.source.kind = kind.into();
        h.source.origin = origin.into();
        h.source.connected = connected;
        h.source.last_event_age_ms = age;
        h
    }

    #[test]
    fn only_a_delivering_upstream_is_called_live() {
        let live = |h: &Health| describe(LinkState::Live, true, Some(h));
        let up = live(&health(
            "upstream",
            "https://stream.wikimedia.org/x",
            true,
            Some(40),
        ));
        assert_eq!(
            (up.tone, up.badge.as_str()),
            ("live", "Live: Wikimedia stream")
        );
        assert!(up.tagline.contains("live from the Wikimedia"));

        let quiet = live(&health("upstream", "u", true, Some(25_400)));
        assert_eq!(quiet.badge, "Wikimedia stream: nothing received for 20 s");
        assert_eq!(quiet.tone, "warning");
        let down = live(&health("upstream", "u", false, Some(90_000)));
        assert_eq!(down.badge, "Wikimedia stream unreachable, reconnecting");

        let rec = live(&health("replay", "data/rec.jsonl", true, Some(10)));
        assert_eq!(
            (rec.tone, rec.badge.as_str()),
            ("replay", "Replay of data/rec.jsonl")
        );
        assert!(rec.tagline.contains("not live") && !rec.badge.contains("Live"));

        let fb = live(&health("fallback-replay", "bundled", true, Some(10)));
        assert_eq!(
            fb.badge,
            "Fallback replay: the Wikimedia stream is unreachable"
        );
        assert!(fb.tagline.contains("unreachable: not live"));

        let gw = live(&health("gateway", "POST /v1/events", false, None));
        assert_eq!(gw.badge, "Gateway only: nothing received yet");
        let gw = live(&health("gateway", "POST /v1/events", false, Some(75_000)));
        assert_eq!(gw.badge, "Gateway only: nothing received for 1 min");
        let gw = live(&health("gateway", "POST /v1/events", false, Some(300)));
        assert_eq!(gw.badge, "Gateway only: receiving posted events");

        for t in [&up, &quiet, &down, &rec, &fb] {
            assert!(!t.badge.contains("fallback-replay") && !t.tagline.contains("fallback-replay"));
        }
    }

    #[test]
    fn the_link_to_the_relay_comes_first() {
        let h = health("upstream", "u", true, Some(40));
        let b = |link, ever| describe(link, ever, Some(&h)).badge;
        assert_eq!(
            b(LinkState::Reconnecting, false),
            "Connecting to the relay…"
        );
        assert_eq!(
            b(LinkState::Reconnecting, true),
            "Reconnecting to the relay…"
        );
        assert_eq!(
            b(LinkState::Offline, true),
            "Offline: the relay is unreachable"
        );
        assert_eq!(
            describe(LinkState::Live, true, None).badge,
            "Connected, waiting for the relay's report"
        );
        assert_eq!(silence(9_999), "0 s");
        assert_eq!(silence(59_999), "50 s");
    }
}
