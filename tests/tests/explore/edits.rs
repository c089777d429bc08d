//! `/v1/edits` and `/v1/top?by=page|user` against the brute force: every page of a case's edit
//! list, followed by its cursor to the end, is the brute force's edits of the range under the
//! filter — each once, newest first, pages no longer than the limit — and the page and editor
//! rankings are the brute force's. Like the counts, these read a range in whole seconds: an
//! edit is in `[from, to)` if its second overlaps it.

use anyhow::{Context, ensure};
use serde_json::{Value, json};
use support::relay_process::RelayProcess;
use support::truth::{Edit, encode};

use super::check::{Case, get, ms};
use super::events::Posted;

/// A row as `/v1/edits` should list it: what the counter read, and each shown field that has
/// its schema's type.
fn row(e: &Edit) -> Value {
    json!({
        "time": e.ms, "wiki": e.wiki, "type": e.type_name(), "bot": e.bot,
        "namespace": e.namespace, "title": e.title, "user": e.user, "id": e.id,
    })
}

/// The fields of a listed row the brute force knows (comment and link are the event's own).
fn comparable(r: &Value) -> support::Result<Value> {
    Ok(json!({
        "time": ms(&r["time"])?, "wiki": r["wiki"], "type": r["type"], "bot": r["bot"],
        "namespace": r["namespace"], "title": r["title"], "user": r["user"], "id": r["id"],
    }))
}

/// Every page of the case's edit list, `limit` rows a page; returns the rows.
pub async fn list(
    relay: &RelayProcess,
    posted: &Posted,
    c: &Case,
    limit: usize,
) -> support::Result<Vec<Value>> {
    let base = c.query(&format!(
        "/v1/edits?from={}&to={}&limit={limit}",
        c.from, c.to
    ));
    let mut rows: Vec<Value> = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let q = match &cursor {
            Some(k) => format!("{base}&cursor={}", encode(k)),
            None => base.clone(),
        };
        let page = get(relay, &q).await?;
        let edits = page["edits"]
            .as_array()
            .with_context(|| format!("{q}: no edits: {page}"))?;
        pages += 1;
        ensure!(edits.len() <= limit, "{q}: {} rows", edits.len());
        for r in edits {
            rows.push(comparable(r)?);
        }
        match page["next_cursor"].as_str() {
            Some(k) => {
                ensure!(edits.len() == limit, "{q}: a short page with a cursor");
                cursor = Some(k.to_string());
            }
            None => break,
        }
        ensure!(pages <= 1_000, "{base}: more than 1,000 pages");
    }
    let times: Vec<i64> = rows
        .iter()
        .map(|r| r["time"].as_i64().unwrap_or(0))
        .collect();
    ensure!(
        times.windows(2).all(|w| w[0] >= w[1]),
        "{base}: not newest first: {times:?}"
    );
    let mut got = rows.clone();
    let mut want: Vec<Value> = posted
        .truth
        .select(c.from, c.to, &c.filter)
        .map(row)
        .collect();
    let key = |r: &Value| (std::cmp::Reverse(r["time"].as_i64()), r.to_string());
    got.sort_by_key(key);
    want.sort_by_key(key);
    if got != want {
        let missing: Vec<&Value> = want.iter().filter(|r| !got.contains(r)).collect();
        let extra: Vec<&Value> = got.iter().filter(|r| !want.contains(r)).collect();
        anyhow::bail!(
            "{}: {base} over {pages} page(s): {} rows, want {}\nmissing {missing:#?}\nextra (or repeated) {extra:#?}",
            relay.name(),
            got.len(),
            want.len()
        );
    }
    Ok(rows)
}

/// `/v1/top?by=page` and `by=user` for the case; returns the answers.
pub async fn top(relay: &RelayProcess, posted: &Posted, c: &Case) -> support::Result<Vec<Value>> {
    let mut answers = Vec::new();
    for by in ["page", "user"] {
        let q = c.query(&format!(
            "/v1/top?by={by}&from={}&to={}&n={}",
            c.from, c.to, c.n
        ));
        let got = get(relay, &q).await?;
        let name = |e: &Edit| {
            let n = if by == "page" { &e.title } else { &e.user };
            n.as_ref().map(|n| format!("{}:{n}", e.wiki))
        };
        let r = posted.truth.top(c.from, c.to, &c.filter, c.n, name);
        let want = json!({"items": r.items, "total": r.total, "distinct": r.distinct});
        let got_cmp =
            json!({"items": got["items"], "total": got["total"], "distinct": got["distinct"]});
        ensure!(
            got_cmp == want && got["by"] == by,
            "{}: {q}:\n   got {got}\n  want {want}",
            relay.name()
        );
        answers.push(got_cmp);
    }
    Ok(answers)
}
