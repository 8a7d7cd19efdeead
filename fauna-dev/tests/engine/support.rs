//! Test helpers.

use std::time::Duration;

use fauna_dev::engine::{Engine, EngineOptions, Request, Response};

pub const ROOT: &str = "secret";

pub fn engine() -> Engine {
    Engine::new(EngineOptions::default())
}

pub fn engine_with(mvt_offset: Duration, day_length: Duration) -> Engine {
    Engine::new(EngineOptions {
        root_secret: ROOT.into(),
        mvt_offset,
        day_length,
        ..EngineOptions::default()
    })
}

pub fn run_as(e: &Engine, secret: &str, body: &str) -> Response {
    e.execute(&Request {
        secret: Some(secret),
        body: body.as_bytes(),
        last_seen_txn: None,
        api_version: "4",
        read_only: false,
        deadline: None,
    })
}

pub fn run(e: &Engine, body: &str) -> Response {
    run_as(e, ROOT, body)
}

/// Runs and asserts success; returns the body.
pub fn ok(e: &Engine, body: &str) -> String {
    let r = run(e, body);
    assert!(
        r.status == 200 || r.status == 201,
        "{body} -> {} {}",
        r.status,
        r.body
    );
    r.body
}

/// Replaces every `"ts":<digits>` and `@ts` text with placeholders for stable comparisons.
pub fn scrub_ts(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find("\"ts\":") {
        out.push_str(&rest[..i + 5]);
        rest = &rest[i + 5..];
        let n = rest.bytes().take_while(|b| b.is_ascii_digit()).count();
        if n > 0 {
            out.push_str("TS");
            rest = &rest[n..];
        }
    }
    out.push_str(rest);
    out
}

pub fn setup_foo(e: &Engine) {
    ok(e, r#"{"create_collection":{"object":{"name":"foo"}}}"#);
}

pub fn create_doc(e: &Engine, coll: &str, id: &str, data: &str) -> String {
    ok(
        e,
        &format!(
            r#"{{"create":{{"ref":{{"collection":"{coll}"}},"id":"{id}"}},"params":{{"object":{{"data":{{"object":{data}}}}}}}}}"#
        ),
    )
}

pub fn fooref(id: &str) -> String {
    format!(
        r#"{{"@ref":{{"id":"{id}","collection":{{"@ref":{{"id":"foo","collection":{{"@ref":{{"id":"collections"}}}}}}}}}}}}"#
    )
}
