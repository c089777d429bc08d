//! Query strings of the read API: the filter every endpoint shares ([`wire::Filter`]) and the
//! endpoint's own parameters, each named once. `wiki=` repeats, so serde's struct extractors
//! (last value wins, or an error) do not fit; and a parameter nobody reads is refused, since a
//! misspelt `wikis=` silently answering for every wiki is the worst answer there is.

use wire::Filter;

use super::ApiError;

/// A query string taken apart: the filter and the endpoint's parameters.
#[derive(Debug, Default)]
pub struct Params {
    pub filter: Filter,
    rest: Vec<(String, String)>,
}

impl Params {
    /// Reads `raw` (the query string, without `?`); `known` names the endpoint's parameters
    /// besides the filter's. Anything else, a repeated parameter, or a bad filter is a 400.
    pub fn parse(raw: Option<&str>, known: &[&str]) -> Result<Params, ApiError> {
        let pairs: Vec<(String, String)> = form_urlencoded::parse(raw.unwrap_or("").as_bytes())
            .into_owned()
            .collect();
        let (filter, rest) =
            Filter::from_pairs(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())))
                .map_err(|e| ApiError::BadQuery(e.to_string()))?;
        let mut own: Vec<(String, String)> = Vec::with_capacity(rest.len());
        for (k, v) in rest {
            // `_` is the conventional cache-buster (added by some EventSource polyfills and
            // proxies): read by nobody, refused by nobody.
            if k == "_" {
                continue;
            }
            if !known.contains(&k) {
                let mut names: Vec<&str> = known.to_vec();
                names.extend(["wiki", "type", "bot", "namespace"]);
                return Err(ApiError::BadQuery(format!(
                    "unknown parameter {:?}; this endpoint takes {}",
                    k.chars().take(40).collect::<String>(),
                    names.join(", ")
                )));
            }
            if own.iter().any(|(seen, _)| seen == k) {
                return Err(ApiError::BadQuery(format!(
                    "{k}= is given twice; it takes one value"
                )));
            }
            own.push((k.to_string(), v.to_string()));
        }
        Ok(Params { filter, rest: own })
    }

    /// The value of one of the endpoint's parameters, if given.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.rest
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_the_filter_from_the_endpoints_own() {
        let p = Params::parse(
            Some("from=1&wiki=enwiki&wiki=dewiki&bot=false"),
            &["from", "to"],
        )
        .unwrap();
        assert_eq!(p.get("from"), Some("1"));
        assert_eq!(p.get("to"), None);
        assert_eq!(p.filter.wikis.len(), 2);
        assert_eq!(p.filter.bot, Some(false));
        assert!(Params::parse(None, &[]).unwrap().filter.is_all());
    }

    #[test]
    fn refuses_what_it_does_not_read() {
        for (q, want) in [
            ("wikis=enwiki", "unknown parameter \"wikis\""),
            ("from=1&from=2", "from= is given twice"),
            ("type=bogus", "not one of edit"),
        ] {
            let e = Params::parse(Some(q), &["from"]).unwrap_err().to_string();
            assert!(e.contains(want), "{q}: {e}");
        }
    }
}
