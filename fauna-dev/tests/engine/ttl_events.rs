//! `ttl` and set events, as on the real server: the `ttl` is part of an index entry, so
//! changing it writes `remove` + `add` at the write time; expiry is only a read filter and
//! writes no event.

use crate::support::*;

fn events(e: &fauna_dev::engine::Engine, set: &str) -> String {
    scrub_ts(&ok(e, &format!(r#"{{"paginate":{set},"events":true}}"#)))
}

const DOCS: &str = r#"{"documents":{"collection":"foo"}}"#;

#[test]
fn changing_the_ttl_removes_and_adds_the_entry() {
    let e = engine();
    setup_foo(&e);
    ok(
        &e,
        r#"{"create_index":{"object":{"name":"by_x","source":{"collection":"foo"},"values":[{"object":{"field":["data","x"]}}]}}}"#,
    );
    ok(
        &e,
        r#"{"create":{"ref":{"collection":"foo"},"id":"1"},"params":{"object":{"data":{"object":{"x":1}},"ttl":{"@ts":"2999-01-01T00:00:00Z"}}}}"#,
    );
    // A data change that keeps the ttl and the covered values writes nothing.
    ok(
        &e,
        r#"{"update":{"ref":{"collection":"foo"},"id":"1"},"params":{"object":{"data":{"object":{"y":2}}}}}"#,
    );
    ok(
        &e,
        r#"{"update":{"ref":{"collection":"foo"},"id":"1"},"params":{"object":{"ttl":{"@ts":"2999-06-01T00:00:00Z"}}}}"#,
    );
    let doc = fooref("1");
    assert_eq!(
        events(&e, DOCS),
        format!(
            r#"{{"resource":{{"data":[{{"ts":TS,"action":"add","document":{doc}}},{{"ts":TS,"action":"remove","document":{doc}}},{{"ts":TS,"action":"add","document":{doc}}}]}}}}"#
        )
    );
    assert_eq!(
        events(&e, r#"{"match":{"index":"by_x"}}"#),
        format!(
            r#"{{"resource":{{"data":[{{"ts":TS,"action":"add","document":{doc},"data":[1]}},{{"ts":TS,"action":"remove","document":{doc},"data":[1]}},{{"ts":TS,"action":"add","document":{doc},"data":[1]}}]}}}}"#
        )
    );
    assert_eq!(
        ok(&e, r#"{"paginate":{"match":{"index":"by_x"}}}"#),
        r#"{"resource":{"data":[1]}}"#
    );
}

#[test]
fn expiry_hides_the_document_but_writes_no_remove_event() {
    let e = engine();
    setup_foo(&e);
    ok(
        &e,
        r#"{"create":{"ref":{"collection":"foo"},"id":"1"},"params":{"object":{"data":{"object":{}},"ttl":{"@ts":"2000-01-01T00:00:00Z"}}}}"#,
    );
    assert_eq!(
        ok(&e, r#"{"paginate":{"documents":{"collection":"foo"}}}"#),
        r#"{"resource":{"data":[]}}"#
    );
    assert_eq!(
        run(&e, r#"{"get":{"ref":{"collection":"foo"},"id":"1"}}"#).status,
        404
    );
    let doc = fooref("1");
    assert_eq!(
        events(&e, DOCS),
        format!(r#"{{"resource":{{"data":[{{"ts":TS,"action":"add","document":{doc}}}]}}}}"#)
    );
}
