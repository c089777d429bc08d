use super::*;

const RECORDED: &str = include_str!("../../../data/recentchange-2024-02-06-all-wikis.jsonl");

fn summary_of(event: &str) -> Summary {
    Summary::of(&crate::event::parse(event.as_bytes()).unwrap())
}

fn tagged(s: &Summary, event: &str) -> Vec<u8> {
    let mut out = Vec::new();
    s.tag(event.as_bytes(), &mut out);
    out
}

/// The `editpulse-summary-*` members of a payload, by name, and the rest of it.
fn split(payload: &[u8]) -> (Vec<String>, serde_json::Value) {
    let mut value: serde_json::Value = serde_json::from_slice(payload).unwrap();
    let object = value.as_object_mut().unwrap();
    let names: Vec<String> = object
        .keys()
        .filter(|k| k.starts_with("editpulse-summary"))
        .cloned()
        .collect();
    names.iter().for_each(|n| drop(object.remove(n)));
    (names, value)
}

#[test]
fn a_tagged_event_is_the_same_json_with_one_member_more() {
    for line in RECORDED.lines() {
        let s = summary_of(line);
        assert!(matches!(&s.id, Some(EventId::Exact(_))));
        let tagged = tagged(&s, line);
        assert_eq!(Summary::untag(&tagged), Some(s.clone()));
        // Other readers still get the event, and the relay's own parser the same summary.
        let (names, rest) = split(&tagged);
        assert_eq!(names, ["editpulse-summary-v3"]);
        assert_eq!(
            rest,
            serde_json::from_str::<serde_json::Value>(line).unwrap()
        );
        assert_eq!(Summary::of(&crate::event::parse(&tagged).unwrap()), s);
    }
}

#[test]
fn every_field_round_trips() {
    let ids = [
        None,
        Some(""),
        Some("x"),
        Some("ab8f9f18-a974-48f6-a668-988eb66b1536"),
    ];
    let long = "é".repeat(MAX_TAGGED_ID / 2);
    for kind in [
        Kind::Edit,
        Kind::New,
        Kind::Log,
        Kind::Categorize,
        Kind::Other,
    ] {
        for flags in 0..8 {
            let (bot, canary, article) = (flags & 1 != 0, flags & 2 != 0, flags & 4 != 0);
            for id in ids.iter().copied().chain([Some(long.as_str())]) {
                let s = Summary {
                    time: Millis(-1),
                    kind,
                    bot,
                    canary,
                    id: id.map(EventId::exact),
                    article,
                };
                assert_eq!(Summary::untag(&tagged(&s, "{}")), Some(s));
            }
        }
    }
}

#[test]
fn an_id_the_tag_cannot_carry_is_read_from_the_payload() {
    let long = "x".repeat(MAX_TAGGED_ID + 1);
    for id in [r#"a\"b"#, r"a\\b", r"a\nb", r"\u0001", long.as_str()] {
        let event = format!(r#"{{"meta":{{"dt":"2026-01-01T00:00:00Z","id":"{id}"}},"a":1}}"#);
        let s = summary_of(&event);
        let tagged = tagged(&s, &event);
        assert_eq!(Summary::untag(&tagged), None, "{id}: parse the payload");
        // Parsing it gives the whole id back, and the tag is one well-formed member.
        assert_eq!(Summary::of(&crate::event::parse(&tagged).unwrap()), s);
        let (names, rest) = split(&tagged);
        assert_eq!(names, ["editpulse-summary-v3"]);
        assert_eq!(
            rest,
            serde_json::from_str::<serde_json::Value>(&event).unwrap()
        );
        // Re-tagging replaces it like any other tag.
        assert_eq!(
            self::tagged(&s, std::str::from_utf8(&tagged).unwrap()),
            tagged
        );
    }
}

#[test]
fn ids_with_the_same_fnv_hash_stay_apart() {
    // Two ids whose 64-bit FNV-1a hashes are equal (found by a collision search).
    let (a, b) = ("1c86250014731b7a", "b3ab5660ac93a162");
    assert_eq!(fnv1a_64(a.as_bytes()), fnv1a_64(b.as_bytes()));
    let event = |id: &str| format!(r#"{{"meta":{{"dt":"2026-01-01T00:00:00Z","id":"{id}"}}}}"#);
    let (sa, sb) = (summary_of(&event(a)), summary_of(&event(b)));
    let read_a = Summary::untag(&tagged(&sa, &event(a))).unwrap();
    let read_b = Summary::untag(&tagged(&sb, &event(b))).unwrap();
    assert_ne!(read_a.id, read_b.id);
    assert_eq!(read_a, sa);
}

#[test]
fn tags_any_object_and_copies_anything_else() {
    let s = summary_of(r#"{"meta":{"dt":"2026-01-01T00:00:00Z","id":"x"}}"#);
    let mut out = Vec::new();
    for (event, members) in [(&b" {}"[..], 0), (b"\n{ }", 0), (b"{\"a\":1}", 1)] {
        s.tag(event, &mut out);
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v.as_object().unwrap().len(), members + 1, "{event:?}");
        assert_eq!(Summary::untag(&out), Some(s.clone()));
    }
    for event in [&b"[1]"[..], b"", b"  7"] {
        s.tag(event, &mut out);
        assert_eq!(out, event);
        assert_eq!(Summary::untag(&out), None);
    }
}

#[test]
fn retagging_replaces_the_old_tag() {
    let s = summary_of(r#"{"meta":{"dt":"2026-01-01T00:00:00Z","id":"x"}}"#);
    let other = Summary {
        bot: true,
        id: Some(EventId::exact("a much longer id than x")),
        ..s.clone()
    };
    for members in [r#""a":1"#, ""] {
        let once = tagged(&other, &format!("{{{members}}}"));
        let v2 = legacy::tag_v2(&other, members);
        for before in [once, v2] {
            let twice = tagged(&s, std::str::from_utf8(&before).unwrap());
            assert_eq!(Summary::untag(&twice), Some(s.clone()));
            let (names, rest) = split(&twice);
            assert_eq!(names, ["editpulse-summary-v3"]);
            assert_eq!(rest, split(&before).1);
            // Exactly one summary member in the bytes, not only in the parsed map.
            let name = br#""editpulse-summary-v"#;
            assert_eq!(twice.windows(name.len()).filter(|w| w == name).count(), 1);
        }
    }
}

#[test]
fn the_previous_versions_records_are_parsed_for_what_their_tags_lack() {
    for line in RECORDED.lines().take(50) {
        let s = summary_of(line);
        let v2 = legacy::tag_v2(&s, &line[1..line.len() - 1]);
        assert_eq!(Summary::untag(&v2), None, "no namespace in a v2 tag");
        assert_eq!(Summary::of(&crate::event::parse(&v2).unwrap()), s);
    }
}

#[test]
fn a_tag_without_the_namespace_is_parsed_and_one_with_it_says_article() {
    let article = summary_of(r#"{"meta":{"dt":"2026-01-01T00:00:00Z","id":"x"},"namespace":0}"#);
    let talk = summary_of(r#"{"meta":{"dt":"2026-01-01T00:00:00Z","id":"x"},"namespace":1}"#);
    assert!(article.article && !talk.article);
    for s in [&article, &talk] {
        let good = tagged(s, "{}");
        assert_eq!(Summary::untag(&good).as_ref(), Some(s));
        // The flags as a relay wrote them before it read namespaces: parse the payload.
        let mut old = good.clone();
        let flags = TAG.len();
        old[flags] = b'0';
        assert_eq!(Summary::untag(&old), None);
    }
}

#[test]
fn untags_only_what_it_tagged() {
    let s = summary_of(r#"{"meta":{"dt":"2026-01-01T00:00:00Z","id":"xyz"}}"#);
    let good = tagged(&s, r#"{"a":1}"#);
    assert!(Summary::untag(&good).is_some());
    let hex = TAG.len();
    let id = hex + HEAD_HEX;
    let corrupt = [
        (hex, b'A'),
        (hex + 1, b'g'),
        (0, b' '),
        // A flag this version never writes; both id flags; no id flag but an id.
        (hex, b'1'),
        (hex + 1, b'c'),
        (hex + 1, b'0'),
        // A type beyond Other; a wrong id length either way.
        (hex + 3, b'5'),
        (hex + 5, b'2'),
        (hex + 5, b'4'),
        // The closing quote.
        (id + 3, b'x'),
    ];
    for (at, value) in corrupt {
        let mut bad = good.clone();
        bad[at] = value;
        assert_eq!(Summary::untag(&bad), None, "byte {at} = {}", value as char);
    }
    for cut in [hex + HEAD_HEX - 1, id + 2, id + 3] {
        assert_eq!(Summary::untag(&good[..cut]), None, "cut at {cut}");
    }
    let v2 = legacy::tag_v2(&s, "");
    let mut bad = v2.clone();
    bad[legacy::TAGGED_LEN - 1] = b'0';
    assert_eq!(Summary::untag(&bad), None);
    assert_eq!(Summary::untag(&v2[..legacy::TAGGED_LEN - 1]), None);
}
