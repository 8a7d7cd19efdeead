//! Indexes, Range, events and the exact Airbyte queries.

use crate::support::*;

fn seed(e: &fauna_dev::engine::Engine) {
    setup_foo(e);
    ok(
        e,
        r#"{"do":[
        {"create":{"ref":{"collection":"foo"},"id":"101"},"params":{"object":{"data":{"object":{"a":5}}}}},
        {"create":{"ref":{"collection":"foo"},"id":"102"},"params":{"object":{"data":{"object":{"a":6}}}}},
        {"create":{"ref":{"collection":"foo"},"id":"103"},"params":{"object":{"data":{"object":{"a":7}}}}}]}"#,
    );
    ok(
        e,
        r#"{"create_index":{"object":{"name":"ts","source":{"collection":"foo"},"terms":[],"values":[{"object":{"field":"ts"}},{"object":{"field":"ref"}}]}}}"#,
    );
}

#[test]
fn index_document_keeps_fields_verbatim() {
    let e = engine();
    seed(&e);
    let r = ok(
        &e,
        r#"{"select":"values","from":{"get":{"index":"ts"}},"default":[]}"#,
    );
    assert_eq!(r, r#"{"resource":[{"field":"ts"},{"field":"ref"}]}"#);
    let r = ok(
        &e,
        r#"{"equals":[{"select":"source","from":{"get":{"index":"ts"}}},{"collection":"foo"}]}"#,
    );
    assert_eq!(r, r#"{"resource":true}"#);
    let g = ok(&e, r#"{"get":{"collection":"foo"}}"#);
    assert_eq!(
        scrub_ts(&g),
        r#"{"resource":{"ref":{"@ref":{"id":"foo","collection":{"@ref":{"id":"collections"}}}},"ts":TS,"history_days":0,"name":"foo"}}"#
    );
}

#[test]
fn airbyte_incremental_range_and_full_refresh() {
    let e = engine();
    seed(&e);
    let upd = ok(
        &e,
        r#"{"update":{"ref":{"collection":"foo"},"id":"102"},"params":{"object":{"data":{"object":{"a":10}}}}}"#,
    );
    let q = r#"{"map":{"lambda":"x","expr":{"let":[{"document":{"get":{"select":1,"from":{"var":"x"}}}}],"in":{"object":{"ref":{"select":["ref","id"],"from":{"var":"document"}},"data":{"select":"data","from":{"var":"document"}}}}}},"collection":{"paginate":{"range":{"match":{"index":"ts"}},"from":[0],"to":[]},"size":2}}"#;
    let r = ok(&e, q);
    assert!(
        r.contains(r#""data":[{"ref":"101","data":{"a":5}},{"ref":"103","data":{"a":7}}]"#),
        "{r}"
    );
    assert!(r.contains(r#"{"resource":{"after":["#), "{r}");
    // Continue from the after cursor: the updated doc comes last.
    let after_start = r.find(r#""after":"#).unwrap() + 8;
    let after_end = r.find(r#","data":"#).unwrap();
    let cursor = &r[after_start..after_end];
    let q2 = q.replace(r#""size":2}"#, &format!(r#""size":2,"after":{cursor}}}"#));
    let r2 = ok(&e, &q2);
    assert!(
        r2.ends_with(r#""data":[{"ref":"102","data":{"a":10}}]}}"#),
        "{r2}"
    );
    assert!(upd.contains(r#""a":10"#));
    // The far-future bound returns nothing.
    let q3 = r#"{"paginate":{"range":{"match":{"index":"ts"}},"from":[253370764800000000,{"ref":{"collection":"foo"},"id":"10"}],"to":[]}}"#;
    assert_eq!(ok(&e, q3), r#"{"resource":{"data":[]}}"#);
    // Full refresh pinned with At.
    let now = ok(&e, r#"{"to_micros":{"now":null}}"#);
    let ts = &now[12..now.len() - 1];
    let fr = format!(
        r#"{{"at":{ts},"expr":{{"map":{{"lambda":"x","expr":{{"let":[{{"document":{{"get":{{"var":"x"}}}}}}],"in":{{"object":{{"ref":{{"select":["ref","id"],"from":{{"var":"document"}}}},"data":{{"select":"data","from":{{"var":"document"}}}},"col":{{"select":["data","nope"],"from":{{"var":"document"}},"default":null}}}}}}}}}},"collection":{{"paginate":{{"documents":{{"collection":"foo"}}}},"size":64}}}}}}"#
    );
    assert_eq!(
        ok(&e, &fr),
        r#"{"resource":{"data":[{"ref":"101","data":{"a":5},"col":null},{"ref":"102","data":{"a":10},"col":null},{"ref":"103","data":{"a":7},"col":null}]}}"#
    );
}

#[test]
fn airbyte_deletions_query() {
    let e = engine();
    seed(&e);
    ok(&e, r#"{"delete":{"ref":{"collection":"foo"},"id":"103"}}"#);
    ok(&e, r#"{"delete":{"ref":{"collection":"foo"},"id":"101"}}"#);
    let q = r#"{"map":{"lambda":"x","expr":{"object":{"ref":{"select":"document","from":{"var":"x"}},"ts":{"select":"ts","from":{"var":"x"}}}}},"collection":{"filter":{"lambda":"x","expr":{"equals":[{"select":["action"],"from":{"var":"x"}},"remove"]}},"collection":{"paginate":{"documents":{"collection":"foo"}},"events":true,"after":{"object":{"ts":0,"action":"remove"}},"size":64}}}"#;
    let r = scrub_ts(&ok(&e, q));
    assert_eq!(
        r,
        format!(
            r#"{{"resource":{{"before":{{"ts":TS,"action":"remove"}},"data":[{{"ref":{},"ts":TS}},{{"ref":{},"ts":TS}}]}}}}"#,
            fooref("103"),
            fooref("101")
        )
    );
}

#[test]
fn set_events_and_document_events() {
    let e = engine();
    seed(&e);
    ok(
        &e,
        r#"{"update":{"ref":{"collection":"foo"},"id":"101"},"params":{"object":{"data":{"object":{"a":8,"z":1}}}}}"#,
    );
    ok(&e, r#"{"delete":{"ref":{"collection":"foo"},"id":"101"}}"#);
    let r = scrub_ts(&ok(
        &e,
        r#"{"paginate":{"events":{"ref":{"collection":"foo"},"id":"101"}}}"#,
    ));
    let d = fooref("101");
    assert_eq!(
        r,
        format!(
            r#"{{"resource":{{"data":[{{"ts":TS,"action":"create","document":{d},"data":{{"a":5}}}},{{"ts":TS,"action":"update","document":{d},"data":{{"a":8,"z":1}}}},{{"ts":TS,"action":"delete","document":{d},"data":null}}]}}}}"#
        )
    );
    // Documents events: no event for the data-only update.
    let r = scrub_ts(&ok(
        &e,
        r#"{"paginate":{"documents":{"collection":"foo"}},"events":true}"#,
    ));
    assert_eq!(
        r,
        format!(
            r#"{{"resource":{{"data":[{{"ts":TS,"action":"add","document":{}}},{{"ts":TS,"action":"add","document":{}}},{{"ts":TS,"action":"add","document":{}}},{{"ts":TS,"action":"remove","document":{d}}}]}}}}"#,
            fooref("101"),
            fooref("102"),
            fooref("103")
        )
    );
    // Index with values: update → remove(old) + add(new), with data.
    let r = ok(
        &e,
        r#"{"paginate":{"events":{"match":{"index":"ts"}}},"size":100}"#,
    );
    assert_eq!(r.matches(r#""action":"remove""#).count(), 2, "{r}");
    assert!(r.contains(r#""data":["#));
    let r = run(
        &e,
        r#"{"paginate":{"range":{"match":{"index":"ts"}},"from":[],"to":[]},"events":true}"#,
    );
    assert_eq!(
        r.body,
        r#"{"errors":[{"position":[],"code":"invalid argument","description":"Set does not support events history."}]}"#
    );
}

#[test]
fn cursor_sentinels_and_invalid_cursor_object() {
    let e = engine();
    seed(&e);
    let docs = r#"{"paginate":{"documents":{"collection":"foo"}}"#;
    assert_eq!(
        ok(&e, &format!(r#"{docs},"after":null}}"#)),
        r#"{"resource":{"before":[null],"data":[]}}"#
    );
    let r = ok(&e, &format!(r#"{docs},"after":0,"size":1}}"#));
    assert_eq!(
        r,
        format!(
            r#"{{"resource":{{"before":[0],"after":[{}],"data":[{}]}}}}"#,
            fooref("102"),
            fooref("101")
        )
    );
    let r = ok(&e, &format!(r#"{docs},"before":null,"size":2}}"#));
    assert_eq!(
        r,
        format!(
            r#"{{"resource":{{"before":[{}],"after":[null],"data":[{},{}]}}}}"#,
            fooref("102"),
            fooref("102"),
            fooref("103")
        )
    );
    let r = run(&e, &format!(r#"{docs},"cursor":{{"object":{{"x":1}}}}}}"#));
    assert_eq!(
        r.body,
        r#"{"errors":[{"position":["cursor"],"code":"invalid argument","description":"Invalid cursor object. Expected an object with either 'before' or 'after' key in it."}]}"#
    );
}

#[test]
fn match_with_terms_and_reverse_values() {
    let e = engine();
    setup_foo(&e);
    for (id, g, n) in [("1", "x", 3), ("2", "y", 1), ("3", "x", 2), ("4", "x", 5)] {
        create_doc(&e, "foo", id, &format!(r#"{{"g":"{g}","n":{n}}}"#));
    }
    ok(
        &e,
        r#"{"create_index":{"object":{"name":"by_g","source":{"collection":"foo"},"terms":[{"object":{"field":["data","g"]}}],"values":[{"object":{"field":["data","n"],"reverse":true}}]}}}"#,
    );
    assert_eq!(
        ok(&e, r#"{"paginate":{"match":{"index":"by_g"},"terms":"x"}}"#),
        r#"{"resource":{"data":[5,3,2]}}"#
    );
    assert_eq!(
        ok(
            &e,
            r#"{"paginate":{"range":{"match":"by_g","terms":"x"},"from":4,"to":2}}"#
        ),
        r#"{"resource":{"data":[3,2]}}"#
    );
    assert_eq!(
        ok(&e, r#"{"count":{"match":{"index":"by_g"},"terms":["y"]}}"#),
        r#"{"resource":1}"#
    );
    let r = ok(&e, r#"{"get":{"match":{"index":"by_g"},"terms":"y"}}"#);
    assert!(r.contains(r#""data":{"g":"y","n":1}"#));
    let r = run(&e, r#"{"get":{"match":{"index":"by_g"},"terms":"zzz"}}"#);
    assert_eq!(
        r.body,
        r#"{"errors":[{"position":[],"code":"instance not found","description":"Set not found."}]}"#
    );
}
