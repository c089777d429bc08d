//! Just enough of the W3C WebDriver protocol to drive Debian's Chromium through chromedriver:
//! open a page, run a script, find elements and read their accessible names, take a
//! screenshot. No browser downloads, no extra crates.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use base64::Engine;
use serde_json::{Value, json};

use crate::{paths, ports};

/// The key of an element reference in WebDriver answers.
const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";

/// Narrower windows are emulated (see [`Browser::start`]).
const MIN_WINDOW_WIDTH: u32 = 500;

pub struct Browser {
    driver: Child,
    base: String,
    session: String,
    http: reqwest::Client,
    _profile: std::path::PathBuf,
}

/// Where chromedriver is: `CHROMEDRIVER`, else Debian's path. Missing is an error.
fn chromedriver() -> anyhow::Result<String> {
    let path = std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "/usr/bin/chromedriver".into());
    if !std::path::Path::new(&path).exists() {
        bail!(
            "chromedriver not found at {path}: install Debian's chromium and chromium-driver \
             (bash scripts/test.sh does)"
        );
    }
    Ok(path)
}

/// POSTs `body` as JSON (or sends no body) and reads the answer as JSON.
async fn send_json(req: reqwest::RequestBuilder, body: Option<&Value>) -> anyhow::Result<Value> {
    let req = match body {
        Some(b) => req
            .header("content-type", "application/json")
            .body(serde_json::to_vec(b)?),
        None => req,
    };
    let text = req.send().await?.text().await?;
    serde_json::from_str(&text).with_context(|| format!("not JSON: {text}"))
}

impl Browser {
    /// Starts chromedriver and a headless Chromium session with a `width` x `height` window.
    pub async fn start(width: u32, height: u32) -> anyhow::Result<Browser> {
        let port = ports::free_port()?;
        let log = paths::logs_dir()?.join(format!("chromedriver-{port}.log"));
        let driver = Command::new(chromedriver()?)
            .arg(format!("--port={port}"))
            .arg(format!("--log-path={}", log.display()))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("cannot start chromedriver")?;
        let base = format!("http://127.0.0.1:{port}");
        let http = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(20);
        while http.get(format!("{base}/status")).send().await.is_err() {
            if Instant::now() >= deadline {
                let mut driver = driver;
                crate::process::kill_and_reap(&mut driver);
                bail!("chromedriver did not answer on {base}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let profile =
            std::env::temp_dir().join(format!("editpulse-chromium-{port}-{}", std::process::id()));
        let binary = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
        let mut caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": binary,
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--no-first-run", "--disable-background-networking", "--disable-component-update",
                    "--disable-sync", format!("--user-data-dir={}", profile.display()),
                    format!("--window-size={width},{height}"), "--force-device-scale-factor=2"
                ]
            }
        }}});
        // Headless Chromium keeps its window at least ~500 px wide; a phone-sized viewport
        // needs device metrics instead.
        if width < MIN_WINDOW_WIDTH {
            caps["capabilities"]["alwaysMatch"]["goog:chromeOptions"]["mobileEmulation"] =
                json!({"deviceMetrics": {"width": width, "height": height, "pixelRatio": 2.0}});
        }
        let mut browser = Browser {
            driver,
            base,
            session: String::new(),
            http,
            _profile: profile,
        };
        let url = format!("{}/session", browser.base);
        let resp = send_json(browser.http.post(&url), Some(&caps))
            .await
            .with_context(|| format!("POST {url}"))?;
        browser.session = resp["value"]["sessionId"]
            .as_str()
            .with_context(|| format!("no WebDriver session: {resp}"))?
            .to_string();
        Ok(browser)
    }

    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> anyhow::Result<Value> {
        let url = format!("{}/session/{}{path}", self.base, self.session);
        let resp = send_json(self.http.request(method, &url), body.as_ref())
            .await
            .with_context(|| url.clone())?;
        if let Some(err) = resp["value"].get("error") {
            bail!("WebDriver {path}: {err}: {}", resp["value"]["message"]);
        }
        Ok(resp["value"].clone())
    }

    pub async fn goto(&self, url: &str) -> anyhow::Result<()> {
        self.call(reqwest::Method::POST, "/url", Some(json!({"url": url})))
            .await?;
        Ok(())
    }

    /// Runs `script` (a function body; `arguments` holds `args`) and returns its value.
    pub async fn eval(&self, script: &str, args: Value) -> anyhow::Result<Value> {
        self.call(
            reqwest::Method::POST,
            "/execute/sync",
            Some(json!({"script": script, "args": args})),
        )
        .await
    }

    /// WebDriver references of the elements matching the CSS `selector`, in document order.
    pub async fn find_all(&self, selector: &str) -> anyhow::Result<Vec<String>> {
        let found = self
            .call(
                reqwest::Method::POST,
                "/elements",
                Some(json!({"using": "css selector", "value": selector})),
            )
            .await?;
        found
            .as_array()
            .with_context(|| format!("a list of elements, not {found}"))?
            .iter()
            .map(|e| {
                e[ELEMENT_KEY]
                    .as_str()
                    .map(str::to_owned)
                    .with_context(|| format!("an element reference, not {e}"))
            })
            .collect()
    }

    /// The accessible name Chromium computes for an element found by [`Browser::find_all`].
    pub async fn computed_label(&self, element: &str) -> anyhow::Result<String> {
        let v = self
            .call(
                reqwest::Method::GET,
                &format!("/element/{element}/computedlabel"),
                None,
            )
            .await?;
        v.as_str()
            .map(str::to_owned)
            .with_context(|| format!("a label, not {v}"))
    }

    /// Polls `script` until it returns something truthy; returns that, or an error after
    /// `timeout`.
    pub async fn wait_for(
        &self,
        what: &str,
        script: &str,
        timeout: Duration,
    ) -> anyhow::Result<Value> {
        let deadline = Instant::now() + timeout;
        loop {
            let v = self.eval(script, json!([])).await?;
            let truthy = match &v {
                Value::Null => false,
                Value::Bool(b) => *b,
                Value::Number(n) => n.as_f64() != Some(0.0),
                Value::String(s) => !s.is_empty(),
                _ => true,
            };
            if truthy {
                return Ok(v);
            }
            if Instant::now() >= deadline {
                bail!("timed out waiting for {what} (last: {v})");
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Ends the session (closing Chromium) before the driver is stopped.
    pub async fn quit(self) {
        let _ = self
            .http
            .delete(format!("{}/session/{}", self.base, self.session))
            .send()
            .await;
    }

    pub async fn screenshot_png(&self) -> anyhow::Result<Vec<u8>> {
        let v = self.call(reqwest::Method::GET, "/screenshot", None).await?;
        let b64 = v
            .as_str()
            .with_context(|| format!("a screenshot, not {v}"))?;
        base64::engine::general_purpose::STANDARD
            .decode(b64)
            .context("a base64 PNG")
    }
}

impl Drop for Browser {
    /// Ends the session with a plain blocking request (Drop cannot await), so Chromium is
    /// closed by chromedriver instead of outliving the test when chromedriver is killed.
    fn drop(&mut self) {
        use std::io::{Read, Write};
        let addr = self.base.trim_start_matches("http://").to_string();
        if let Ok(mut s) = std::net::TcpStream::connect(&addr) {
            let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
            let req = format!(
                "DELETE /session/{} HTTP/1.1\r\nhost: {addr}\r\nconnection: close\r\n\r\n",
                self.session
            );
            let _ = s.write_all(req.as_bytes());
            let _ = s.read(&mut [0u8; 1024]);
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
        let _ = std::fs::remove_dir_all(&self._profile);
    }
}
