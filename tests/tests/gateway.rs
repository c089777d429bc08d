//! The HTTP gateway: a real recording posted as NDJSON is counted exactly (embedded and Kafka),
//! two different ids with colliding hashes both count, and a corpus of bad requests is refused
//! with its documented error, writing nothing.
//!
//! Over 400 lines because the corpus is data, one bad request per case, written out so each
//! case reads on its own.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use serde_json::Value;
use support::broker::brokers;
use support::chunked;
use support::paths::data_file;
use support::recording::{self, assert_counts_match, now_ms};
use support::relay_process::{RelayProcess, env_refs, kafka_env};

const FILE: &str = "recentchange-2024-02-06-all-wikis.jsonl";
const TOKEN: &str = "s3cret-token";

async fn post_recording_and_check(name: &str, envs: &[(&str, &str)]) -> support::Result<()> {
    let file = data_file(FILE);
    let events = recording::load(&file)?;
    let expected = recording::per_second(&events)?;
    let mut relay = RelayProcess::spawn(
        name,
        &["--no-upstream", "--watermark-delay-ms", "1000"],
        envs,
    )?;
    relay.wait_healthy().await?;

    // Move the recording to start two seconds from now, then post it in three batches.
    let first = *expected.keys().next().unwrap();
    let shift = (now_ms() / 1_000 + 2) * 1_000 - first;
    let body = recording::shifted_ndjson(&events, shift)?;
    let lines: Vec<&str> = body.lines().collect();
    let client = reqwest::Client::new();
    let mut accepted = 0;
    for chunk in lines.chunks(80) {
        let resp = client
            .post(relay.url("/v1/events"))
            .header("content-type", "application/x-ndjson")
            .bearer_auth(TOKEN)
            .body(chunk.join("\n"))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 202, "{}", resp.text().await.unwrap());
        let v: Value = resp.json().await.unwrap();
        accepted += v["accepted"].as_u64().unwrap();
    }
    assert_eq!(accepted, events.len() as u64);

    let total: u64 = expected.values().sum();
    let last = *expected.keys().next_back().unwrap() + shift;
    let counts = recording::until_counts(&relay.base_url(), Duration::from_secs(40), |c| {
        c.get(&(last + 2_000))
            .is_some_and(|(_, f)| *f)
            .then(|| c.clone())
    })
    .await?;
    assert_eq!(counts.values().map(|(n, _)| n).sum::<u64>(), total);
    assert_eq!(assert_counts_match(&counts, &expected), shift);
    Ok(())
}

/// A relay on fresh Kafka topics whose gateway takes [`TOKEN`].
fn kafka_gateway_env(tag: &str) -> support::Result<Vec<(String, String)>> {
    let mut env = kafka_env(&brokers()?, tag);
    env.push(("RELAY_INGEST_TOKEN".into(), TOKEN.into()));
    Ok(env)
}

#[tokio::test]
async fn posted_events_are_counted_exactly_on_the_embedded_bus() -> support::Result<()> {
    post_recording_and_check("gateway-embedded", &[("RELAY_INGEST_TOKEN", TOKEN)]).await
}

#[tokio::test]
async fn posted_events_are_counted_exactly_through_kafka() -> support::Result<()> {
    let env = kafka_gateway_env("gw")?;
    post_recording_and_check("gateway-kafka", &env_refs(&env)).await
}

/// Two different `meta.id`s whose 64-bit FNV-1a hashes are equal (anyone can compute such
/// pairs), posted for the same second together with a repeat of each: both count, the repeats
/// do not.
async fn colliding_ids_count_apart(name: &str, envs: &[(&str, &str)]) -> support::Result<()> {
    let mut relay = RelayProcess::spawn(
        name,
        &["--no-upstream", "--watermark-delay-ms", "1000"],
        envs,
    )?;
    relay.wait_healthy().await?;
    let second = (now_ms() / 1_000 + 1) * 1_000;
    let dt = recording::rfc3339(second + 250);
    let body: Vec<String> = ["1c86250014731b7a", "b3ab5660ac93a162"]
        .iter()
        .flat_map(|id| [id, id])
        .map(|id| {
            format!(
                r#"{{"meta":{{"dt":"{dt}","id":"{id}","domain":"en.wikipedia.org"}},"type":"edit","wiki":"enwiki"}}"#
            )
        })
        .collect();
    let resp = reqwest::Client::new()
        .post(relay.url("/v1/events"))
        .header("content-type", "application/x-ndjson")
        .bearer_auth(TOKEN)
        .body(body.join("\n"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 202, "{}", resp.text().await.unwrap());
    let count = recording::until_counts(&relay.base_url(), Duration::from_secs(30), |c| {
        c.get(&second).filter(|(_, f)| *f).map(|(n, _)| *n)
    })
    .await?;
    assert_eq!(count, 2, "two different ids, each posted twice");
    Ok(())
}

#[tokio::test]
async fn colliding_ids_count_apart_on_the_embedded_bus() -> support::Result<()> {
    colliding_ids_count_apart("collide-embedded", &[("RELAY_INGEST_TOKEN", TOKEN)]).await
}

#[tokio::test]
async fn colliding_ids_count_apart_through_kafka() -> support::Result<()> {
    let env = kafka_gateway_env("cl")?;
    colliding_ids_count_apart("collide-kafka", &env_refs(&env)).await
}

fn good_event(offset_ms: i64) -> String {
    let t = chrono::DateTime::from_timestamp_millis(now_ms() + offset_ms).unwrap();
    format!(
        r#"{{"$schema":"/mediawiki/recentchange/1.0.0","meta":{{"dt":"{}","id":"x","domain":"en.wikipedia.org"}},"type":"edit","bot":false,"wiki":"enwiki"}}"#,
        t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
    )
}

struct Case {
    name: &'static str,
    content_type: &'static str,
    body: Vec<u8>,
    status: u16,
    /// The error names the line it found wrong.
    line: Option<u64>,
}

fn corpus() -> Vec<Case> {
    let ok = good_event(0);
    let mut bad_last = vec![ok.clone(); 99];
    bad_last.push(r#"{"meta":{"dt":"not a date"}}"#.into());
    let tiny_lines = "{}\n".repeat(1_000_000);
    let deep = format!("[{}{}]", "[".repeat(50_000), "]".repeat(50_000));
    let c = |name, content_type, body: &[u8], status, line| Case {
        name,
        content_type,
        body: body.to_vec(),
        status,
        line,
    };
    vec![
        c(
            "malformed JSON",
            "application/json",
            b"{\"meta\":",
            400,
            Some(1),
        ),
        c(
            "invalid UTF-8",
            "application/x-ndjson",
            b"{\"meta\":{\"dt\":\"\xff\xfe\"}}",
            400,
            Some(1),
        ),
        c(
            "NUL byte",
            "application/x-ndjson",
            b"{\"meta\":{\"dt\":\"2026-01-01T00:00:00Z\"}}\0",
            400,
            Some(1),
        ),
        c(
            "meta a string",
            "application/json",
            br#"{"meta":"2026-01-01T00:00:00Z"}"#,
            400,
            Some(1),
        ),
        c(
            "meta.dt a number",
            "application/json",
            br#"{"meta":{"dt":1767225600}}"#,
            400,
            Some(1),
        ),
        c(
            "bot a string",
            "application/x-ndjson",
            format!("{}\n{}", ok, ok.replace("\"bot\":false", "\"bot\":\"no\"")).as_bytes(),
            400,
            Some(2),
        ),
        c(
            "missing meta.dt",
            "application/json",
            br#"{"meta":{"id":"x"},"type":"edit"}"#,
            400,
            Some(1),
        ),
        c(
            "far past",
            "application/json",
            good_event(-10 * 365 * 86_400_000).as_bytes(),
            400,
            Some(1),
        ),
        c(
            "far future",
            "application/json",
            good_event(365 * 86_400_000).as_bytes(),
            400,
            Some(1),
        ),
        c(
            "only the last line bad",
            "application/x-ndjson",
            bad_last.join("\n").as_bytes(),
            400,
            Some(100),
        ),
        c(
            "array with a non-object",
            "application/json",
            format!("[{ok},{ok},5]").as_bytes(),
            400,
            Some(3),
        ),
        c(
            "deeply nested arrays",
            "application/json",
            deep.as_bytes(),
            400,
            None,
        ),
        c(
            "a million tiny lines",
            "application/x-ndjson",
            tiny_lines.as_bytes(),
            413,
            None,
        ),
        c("empty body", "application/json", b"", 400, None),
        c("wrong content type", "text/plain", ok.as_bytes(), 415, None),
        c("no content type", "", ok.as_bytes(), 415, None),
    ]
}

async fn metric(client: &reqwest::Client, relay: &RelayProcess, name: &str) -> f64 {
    let text = client
        .get(relay.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix(name).and_then(|v| v.trim().parse().ok()))
        .unwrap_or_else(|| panic!("metric {name} missing"))
}

#[tokio::test]
async fn hostile_requests_are_refused_cleanly_and_write_nothing() -> support::Result<()> {
    let mut relay = RelayProcess::spawn(
        "gateway-hostile",
        &[
            "--no-upstream",
            "--max-body-bytes",
            "4194304",
            "--header-timeout-ms",
            "1500",
        ],
        &[("RELAY_INGEST_TOKEN", TOKEN)],
    )?;
    relay.wait_healthy().await?;
    // No pooled connections: the relay closes idle ones after the header timeout (1.5 s here),
    // and a request racing that close would fail for reasons this test is not about.
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    let url = relay.url("/v1/events");

    for case in corpus() {
        let mut req = client.post(&url).bearer_auth(TOKEN).body(case.body.clone());
        if !case.content_type.is_empty() {
            req = req.header("content-type", case.content_type);
        }
        let resp = req
            .send()
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", case.name));
        let status = resp.status().as_u16();
        let body: Value = resp
            .json()
            .await
            .unwrap_or_else(|e| panic!("{}: error body is not JSON: {e}", case.name));
        assert_eq!(status, case.status, "{}: {body}", case.name);
        assert!(
            body["error"].as_str().is_some_and(|e| !e.is_empty()),
            "{}: {body}",
            case.name
        );
        if let Some(line) = case.line {
            assert_eq!(body["line"].as_u64(), Some(line), "{}: {body}", case.name);
        }
    }

    // Authentication: missing and wrong tokens.
    let ok = good_event(0);
    for auth in [None, Some("Bearer wrong"), Some("Basic czNjcmV0LXRva2Vu")] {
        let mut req = client
            .post(&url)
            .header("content-type", "application/json")
            .body(ok.clone());
        if let Some(a) = auth {
            req = req.header("authorization", a);
        }
        let resp = req.send().await.unwrap();
        assert_eq!(resp.status(), 401, "{auth:?}");
        assert_eq!(resp.headers()["www-authenticate"], "Bearer");
    }

    // Bodies over the limit: honest Content-Length, chunked (no length), and a lying length.
    // The relay answers as soon as it sees the length, without reading the body (which is why
    // this is sent raw: an HTTP client still writing the body would see a broken pipe).
    let big = vec![b' '; 5 * 1024 * 1024];
    let mut head = format!(
        "POST /v1/events HTTP/1.1\r\nhost: x\r\nauthorization: Bearer {TOKEN}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
        big.len()
    )
    .into_bytes();
    head.extend_from_slice(&big[..64 * 1024]);
    let answer = raw_request(relay.port(), &head);
    assert!(
        answer.starts_with("HTTP/1.1 413"),
        "honest Content-Length over the limit: {answer}"
    );
    let answer = chunked_request(relay.port(), &big);
    assert!(
        answer.starts_with("HTTP/1.1 413"),
        "chunked body over the limit: {answer}"
    );
    let answer = raw_request(
        relay.port(),
        format!(
            "POST /v1/events HTTP/1.1\r\nhost: x\r\nauthorization: Bearer {TOKEN}\r\ncontent-type: application/json\r\ncontent-length: 99999999\r\n\r\n{ok}"
        )
        .as_bytes(),
    );
    assert!(
        answer.starts_with("HTTP/1.1 413"),
        "lying Content-Length: {answer}"
    );

    // Unknown routes and methods.
    assert_eq!(
        client
            .get(relay.url("/v1/nope"))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    assert_eq!(
        client
            .delete(relay.url("/v1/events"))
            .send()
            .await
            .unwrap()
            .status(),
        405
    );
    assert_eq!(
        client
            .put(relay.url("/v1/counts"))
            .send()
            .await
            .unwrap()
            .status(),
        405
    );

    // Slowloris: headers one byte at a time, slower than the header timeout.
    let started = std::time::Instant::now();
    let closed = slowloris(relay.port(), Duration::from_secs(6));
    assert!(
        closed,
        "the relay kept a connection whose headers never finished"
    );
    assert!(started.elapsed() < Duration::from_secs(6));

    // Nothing reached the bus, and the relay is healthy and still accepts good events.
    assert_eq!(
        metric(&client, &relay, "editpulse_bus_produced_total").await,
        0.0
    );
    let health = relay.wait_healthy().await?;
    assert_eq!(health["gateway"]["accepted"], 0);
    assert!(health["gateway"]["rejected"]["bad_event"].as_u64().unwrap() >= 10);
    // The gateway is this relay's source: nothing it refused counts as received.
    assert_eq!(health["source"]["kind"], "gateway");
    assert!(health["source"]["last_event_age_ms"].is_null(), "{health}");
    assert_eq!(health["source"]["events"], 0);
    let resp = client
        .post(&url)
        .bearer_auth(TOKEN)
        .header("content-type", "application/json")
        .body(ok)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 202);
    assert_eq!(
        metric(&client, &relay, "editpulse_bus_produced_total").await,
        1.0
    );
    // What it accepted is what the source received, and just now (health is reported once a
    // second).
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    let health = loop {
        let health = relay.wait_healthy().await?;
        if health["source"]["events"] == 1 || std::time::Instant::now() > deadline {
            break health;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(health["source"]["events"], 1, "{health}");
    let age = health["source"]["last_event_age_ms"].as_u64();
    assert!(age.is_some_and(|a| a < 10_000), "{health}");
    Ok(())
}

fn raw_request(port: u16, bytes: &[u8]) -> String {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(bytes).unwrap();
    let mut buf = vec![0; 4096];
    let n = s.read(&mut buf).unwrap_or(0);
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

/// Streams `body` chunked until the relay answers (it stops reading at its limit).
fn chunked_request(port: u16, body: &[u8]) -> String {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let head = format!(
        "POST /v1/events HTTP/1.1\r\nhost: x\r\nauthorization: Bearer {TOKEN}\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n"
    );
    s.write_all(head.as_bytes()).unwrap();
    for chunk in body.chunks(64 * 1024) {
        if s.write_all(&chunked::encode(chunk)).is_err() {
            break;
        }
    }
    let _ = s.write_all(chunked::END);
    let mut buf = vec![0; 4096];
    let n = s.read(&mut buf).unwrap_or(0);
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

/// Sends a request line and headers a byte every 300 ms; true if the relay hung up first.
fn slowloris(port: u16, budget: Duration) -> bool {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_millis(10))).unwrap();
    let request = b"GET /v1/health HTTP/1.1\r\nhost: x\r\nx-slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n";
    let started = std::time::Instant::now();
    for b in request.iter().cycle() {
        if started.elapsed() > budget {
            return false;
        }
        if s.write_all(&[*b]).is_err() {
            return true;
        }
        let mut buf = [0u8; 512];
        match s.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => return true, // answered (408) and closing
            Err(e)
                if e.kind() == std::io::ErrorKind::WouldBlock
                    || e.kind() == std::io::ErrorKind::TimedOut => {}
            Err(_) => return true,
        }
        std::thread::sleep(Duration::from_millis(300));
    }
    false
}
