//! The filter bar's edits of a [`Filter`], and the sentence that names a filter: plain logic,
//! so what every click does is unit-tested.

use wire::filter::MAX_WIKIS;
use wire::{ChangeType, Filter};

/// Whether edits of type `t` are counted.
pub fn shows_type(f: &Filter, t: ChangeType) -> bool {
    f.types.is_empty() || f.types.contains(&t)
}

/// Counts type `t`, or stops counting it. The last type counted cannot be taken away (that
/// filter would count nothing, and the wire spells "no type named" as every type).
pub fn toggle_type(f: &mut Filter, t: ChangeType) {
    if f.types.is_empty() {
        f.types = ChangeType::ALL.into_iter().filter(|x| *x != t).collect();
    } else if f.types.contains(&t) {
        if f.types.len() > 1 {
            f.types.remove(&t);
        }
    } else {
        f.types.insert(t);
    }
    if f.types.len() == ChangeType::ALL.len() {
        f.types.clear();
    }
}

/// Adds `wiki` to the wikis counted, or takes it away. Returns why not, when it cannot.
pub fn toggle_wiki(f: &mut Filter, wiki: &str) -> Result<(), String> {
    let wiki = wiki.trim();
    if wiki.is_empty() {
        return Err("type a wiki's name, such as enwiki".to_owned());
    }
    if f.wikis.remove(wiki) {
        return Ok(());
    }
    if wiki.len() > wire::filter::MAX_WIKI_LEN || wiki.chars().any(|c| c.is_whitespace()) {
        return Err(format!("{wiki:?} is not a wiki's name (such as enwiki)"));
    }
    if f.wikis.len() >= MAX_WIKIS {
        return Err(format!("at most {MAX_WIKIS} wikis at once"));
    }
    f.wikis.insert(wiki.to_owned());
    Ok(())
}

/// What the page counts, in words: "all edits", "enwiki · edit, new · humans · articles".
pub fn describe(f: &Filter) -> String {
    if f.is_all() {
        return "all edits".to_owned();
    }
    let mut parts = Vec::new();
    if !f.wikis.is_empty() {
        parts.push(f.wikis.iter().cloned().collect::<Vec<_>>().join(", "));
    }
    if !f.types.is_empty() {
        let names: Vec<&str> = f.types.iter().map(|t| t.name()).collect();
        parts.push(names.join(", "));
    }
    match f.bot {
        Some(true) => parts.push("bots".to_owned()),
        Some(false) => parts.push("humans".to_owned()),
        None => {}
    }
    match f.article {
        Some(true) => parts.push("articles".to_owned()),
        Some(false) => parts.push("not articles".to_owned()),
        None => {}
    }
    parts.join(" · ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_toggle_and_the_last_one_stays() {
        let mut f = Filter::all();
        toggle_type(&mut f, ChangeType::Log);
        assert_eq!(f.types.len(), 4);
        assert!(!shows_type(&f, ChangeType::Log) && shows_type(&f, ChangeType::Edit));
        toggle_type(&mut f, ChangeType::Log);
        assert!(f.is_all(), "all five is no type filter");
        for t in [
            ChangeType::New,
            ChangeType::Log,
            ChangeType::Categorize,
            ChangeType::Other,
        ] {
            toggle_type(&mut f, t);
        }
        assert_eq!(f.types.iter().collect::<Vec<_>>(), [&ChangeType::Edit]);
        toggle_type(&mut f, ChangeType::Edit);
        assert_eq!(f.types.len(), 1, "the last type counted stays");
        assert_eq!(describe(&f), "edit");
    }

    #[test]
    fn wikis_toggle_and_bad_names_are_refused_in_words() {
        let mut f = Filter::all();
        toggle_wiki(&mut f, " enwiki ").unwrap();
        toggle_wiki(&mut f, "dewiki").unwrap();
        f.bot = Some(false);
        f.article = Some(true);
        assert_eq!(describe(&f), "dewiki, enwiki · humans · articles");
        toggle_wiki(&mut f, "enwiki").unwrap();
        assert_eq!(f.wikis.len(), 1);
        assert!(
            toggle_wiki(&mut f, "")
                .unwrap_err()
                .contains("such as enwiki")
        );
        assert!(
            toggle_wiki(&mut f, "en wiki")
                .unwrap_err()
                .contains("not a wiki")
        );
        let mut many = Filter::all();
        for i in 0..MAX_WIKIS {
            toggle_wiki(&mut many, &format!("w{i}")).unwrap();
        }
        assert!(
            toggle_wiki(&mut many, "one-more")
                .unwrap_err()
                .contains("at most")
        );
        assert_eq!(describe(&Filter::all()), "all edits");
    }
}
