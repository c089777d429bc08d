//! What a page load cost on the wire, as Chromium measured it (Resource Timing: the navigation
//! entry and one entry per resource), and the response headers of a file fetched from the page.

use anyhow::Context;
use serde_json::{Value, json};

use crate::webdriver::Browser;

/// The navigation and every resource the page fetched that has ended, in the order Chromium
/// lists them. Each entry: `url`, `kind` (`navigation`, or the resource's initiator: `script`,
/// `link`, `fetch`, ...) and its sizes.
const ENTRIES: &str = r#"
return performance.getEntriesByType('navigation').concat(performance.getEntriesByType('resource'))
  .map(e => ({url: e.name, kind: e.entryType === 'navigation' ? 'navigation' : e.initiatorType,
              transfer: e.transferSize, encoded: e.encodedBodySize, decoded: e.decodedBodySize}));
"#;

/// One Resource Timing entry.
#[derive(Debug, Clone, PartialEq)]
pub struct Transfer {
    pub url: String,
    pub kind: String,
    /// Bytes on the wire: the response's headers and its body as sent. 0 when it came from
    /// the browser's cache.
    pub transfer_size: u64,
    /// The body as sent (compressed, if it was).
    pub encoded_body_size: u64,
    /// The body once its Content-Encoding is undone.
    pub decoded_body_size: u64,
}

impl Transfer {
    /// The URL's path, without scheme, host or query.
    pub fn path(&self) -> &str {
        let rest = self
            .url
            .split_once("://")
            .map_or(self.url.as_str(), |(_, r)| r);
        let path = rest.find('/').map_or("/", |i| &rest[i..]);
        path.split(['?', '#']).next().unwrap_or(path)
    }

    /// A file of the dashboard (the page, its scripts, styles and wasm), not an API request.
    pub fn is_dashboard_file(&self) -> bool {
        let path = self.path();
        !path.starts_with("/v1/") && path != "/metrics"
    }
}

/// The page's load so far: the navigation and the resources that have ended.
#[derive(Debug, Clone)]
pub struct PageLoad {
    pub entries: Vec<Transfer>,
}

impl PageLoad {
    /// Reads the browser's Resource Timing entries for the current page.
    pub async fn read(browser: &Browser) -> anyhow::Result<PageLoad> {
        let v = browser.eval(ENTRIES, json!([])).await?;
        let list = v
            .as_array()
            .with_context(|| format!("Resource Timing entries, not {v}"))?;
        let size = |e: &Value, k: &str| e[k].as_f64().unwrap_or(0.0) as u64;
        let entries = list
            .iter()
            .map(|e| Transfer {
                url: e["url"].as_str().unwrap_or_default().to_string(),
                kind: e["kind"].as_str().unwrap_or_default().to_string(),
                transfer_size: size(e, "transfer"),
                encoded_body_size: size(e, "encoded"),
                decoded_body_size: size(e, "decoded"),
            })
            .collect();
        Ok(PageLoad { entries })
    }

    /// The first entry whose path ends with `suffix` (e.g. `_bg.wasm`).
    pub fn find(&self, suffix: &str) -> Option<&Transfer> {
        self.entries.iter().find(|t| t.path().ends_with(suffix))
    }

    /// The dashboard's files: the navigation and every resource that is not an API request.
    pub fn dashboard_files(&self) -> impl Iterator<Item = &Transfer> {
        self.entries.iter().filter(|t| t.is_dashboard_file())
    }

    /// Bytes on the wire for the dashboard's files.
    pub fn dashboard_transfer_bytes(&self) -> u64 {
        self.dashboard_files().map(|t| t.transfer_size).sum()
    }

    /// The same files' bodies, decoded.
    pub fn dashboard_decoded_bytes(&self) -> u64 {
        self.dashboard_files().map(|t| t.decoded_body_size).sum()
    }

    /// One line per entry, for logs.
    pub fn describe(&self) -> String {
        self.entries
            .iter()
            .map(|t| {
                format!(
                    "{:<10} {:<40} transfer {:>8} encoded {:>8} decoded {:>8}",
                    t.kind,
                    t.path(),
                    t.transfer_size,
                    t.encoded_body_size,
                    t.decoded_body_size
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// Fetches `path` from the page (same origin, past the cache) and returns the status and the
/// response headers, names in lower case: what the browser was sent, `content-encoding`
/// included.
pub async fn response_headers(browser: &Browser, path: &str) -> anyhow::Result<Value> {
    browser
        .eval(
            "return fetch(arguments[0], {cache: 'no-store'}).then(async r => { \
               await r.arrayBuffer(); \
               return {status: r.status, headers: Object.fromEntries(r.headers)}; })",
            json!([path]),
        )
        .await
        .with_context(|| format!("fetch {path} from the page"))
}

#[cfg(test)]
mod tests {
    use super::{PageLoad, Transfer};

    fn t(url: &str, transfer: u64) -> Transfer {
        Transfer {
            url: url.into(),
            kind: "script".into(),
            transfer_size: transfer,
            encoded_body_size: 0,
            decoded_body_size: 0,
        }
    }

    #[test]
    fn dashboard_files_leave_the_api_out() {
        let load = PageLoad {
            entries: vec![
                t("http://127.0.0.1:3000/", 1_000),
                t(
                    "http://127.0.0.1:3000/app-0123456789abcdef_bg.wasm?x=1",
                    200_000,
                ),
                t("http://127.0.0.1:3000/v1/counts?since=2024", 5_000),
                t("http://127.0.0.1:3000/v1/stream", 9_000),
            ],
        };
        assert_eq!(load.dashboard_transfer_bytes(), 201_000);
        assert_eq!(
            load.find("_bg.wasm").map(|t| t.path()),
            Some("/app-0123456789abcdef_bg.wasm")
        );
        assert_eq!(t("http://h:1", 0).path(), "/");
    }
}
