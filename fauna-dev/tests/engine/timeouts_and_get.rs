//! `X-Query-Timeout` (the engine's deadline) and the read-only context of `GET /?q=`.

use std::time::{Duration, Instant};

use fauna_dev::engine::{Engine, Request, Response};

use crate::support::*;

const TIMED_OUT: &str = r#"{"errors":[{"code":"time out","description":"Read timed out (Query eval has timed out.)"}]}"#;

fn exec(e: &Engine, body: &str, read_only: bool, deadline: Option<Instant>) -> Response {
    e.execute(&Request {
        secret: Some(ROOT),
        body: body.as_bytes(),
        last_seen_txn: None,
        api_version: "4",
        read_only,
        deadline,
    })
}

#[test]
fn a_query_past_its_deadline_times_out_with_503() {
    let e = engine();
    let r = exec(&e, r#"{"add":[1,2]}"#, false, Some(Instant::now()));
    assert_eq!((r.status, r.body.as_str()), (503, TIMED_OUT));
    let later = Instant::now().checked_add(Duration::from_secs(600));
    let r = exec(&e, r#"{"add":[1,2]}"#, false, later);
    assert_eq!((r.status, r.body.as_str()), (200, r#"{"resource":3}"#));
}

#[test]
fn a_write_that_times_out_is_not_committed() {
    let e = engine();
    setup_foo(&e);
    let create = r#"{"create":{"ref":{"collection":"foo"},"id":"1"},"params":{"object":{}}}"#;
    let r = exec(&e, create, false, Some(Instant::now()));
    assert_eq!((r.status, r.body.as_str()), (503, TIMED_OUT));
    assert_eq!(
        ok(&e, r#"{"exists":{"ref":{"collection":"foo"},"id":"1"}}"#),
        r#"{"resource":false}"#
    );
}

#[test]
fn eval_delay_counts_against_the_deadline() {
    let e = Engine::new(fauna_dev::engine::EngineOptions {
        eval_delay: Duration::from_millis(20),
        ..Default::default()
    });
    // The delay is a sleep, so the query always ends after a 1 ms deadline.
    let deadline = Instant::now().checked_add(Duration::from_millis(1));
    let r = exec(&e, "1", false, deadline);
    assert_eq!((r.status, r.body.as_str()), (503, TIMED_OUT));
}

#[test]
fn read_only_queries_reject_writes_at_the_write_form() {
    let e = engine();
    setup_foo(&e);
    let create = r#"{"create":{"ref":{"collection":"foo"},"id":"1"},"params":{"object":{}}}"#;
    let r = exec(&e, create, true, None);
    assert_eq!(r.status, 400);
    assert_eq!(
        r.body,
        r#"{"errors":[{"position":[],"code":"invalid expression","description":"Call performs a write, which is not allowed in get requests."}]}"#
    );
    let r = exec(&e, &format!(r#"{{"do":[1,{create}]}}"#), true, None);
    assert_eq!(
        r.body,
        r#"{"errors":[{"position":["do",1],"code":"invalid expression","description":"Call performs a write, which is not allowed in get requests."}]}"#
    );
    let r = exec(
        &e,
        r#"{"create_collection":{"object":{"name":"bar"}}}"#,
        true,
        None,
    );
    assert_eq!(r.status, 400);
    assert_eq!(
        ok(&e, r#"{"exists":{"ref":{"collection":"foo"},"id":"1"}}"#),
        r#"{"resource":false}"#
    );
    let r = exec(&e, r#"{"exists":{"collection":"foo"}}"#, true, None);
    assert_eq!((r.status, r.body.as_str()), (200, r#"{"resource":true}"#));
}
