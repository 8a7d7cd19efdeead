//! `Filter(lambda, set)` yields a set (`LambdaFilterSet`): pages hold `size` matching elements
//! and carry the source's cursors.

use crate::support::*;

fn seeded() -> fauna_dev::engine::Engine {
    let e = engine();
    setup_foo(&e);
    for i in 1..=10 {
        create_doc(
            &e,
            "foo",
            &i.to_string(),
            &format!(r#"{{"n":{i},"even":{}}}"#, i % 2 == 0),
        );
    }
    ok(
        &e,
        r#"{"create_index":{"object":{"name":"by_n","source":{"collection":"foo"},"values":[{"object":{"field":["data","n"]}},{"object":{"field":"ref"}}]}}}"#,
    );
    e
}

const EVEN_DOCS: &str = r#"{"filter":{"lambda":"r","expr":{"select":["data","even"],"from":{"get":{"var":"r"}}}},"collection":{"documents":{"collection":"foo"}}}"#;

#[test]
fn filtered_documents_paginate_forward_with_the_source_cursors() {
    let e = seeded();
    let page = ok(&e, &format!(r#"{{"paginate":{EVEN_DOCS},"size":2}}"#));
    assert_eq!(
        page,
        format!(
            r#"{{"resource":{{"after":[{}],"data":[{},{}]}}}}"#,
            fooref("6"),
            fooref("2"),
            fooref("4")
        )
    );
    let page = ok(
        &e,
        &format!(
            r#"{{"paginate":{EVEN_DOCS},"size":2,"after":[{}]}}"#,
            fooref("6")
        ),
    );
    assert_eq!(
        page,
        format!(
            r#"{{"resource":{{"before":[{}],"after":[{}],"data":[{},{}]}}}}"#,
            fooref("6"),
            fooref("10"),
            fooref("6"),
            fooref("8")
        )
    );
    let page = ok(
        &e,
        &format!(
            r#"{{"paginate":{EVEN_DOCS},"size":2,"after":[{}]}}"#,
            fooref("10")
        ),
    );
    assert_eq!(
        page,
        format!(
            r#"{{"resource":{{"before":[{}],"data":[{}]}}}}"#,
            fooref("10"),
            fooref("10")
        )
    );
}

#[test]
fn filtered_index_paginates_backward_and_counts() {
    let e = seeded();
    let set = r#"{"filter":{"lambda":["n","r"],"expr":{"not":{"equals":[{"var":"n"},6]}}},"collection":{"range":{"match":{"index":"by_n"}},"from":3,"to":8}}"#;
    let page = ok(
        &e,
        &format!(r#"{{"paginate":{set},"size":4,"before":null}}"#),
    );
    let entry = |i: u32| format!("[{i},{}]", fooref(&i.to_string()));
    assert_eq!(
        page,
        format!(
            r#"{{"resource":{{"before":[4,{},{}],"after":[null],"data":[{},{},{},{}]}}}}"#,
            fooref("4"),
            fooref("4"),
            entry(4),
            entry(5),
            entry(7),
            entry(8)
        )
    );
    assert_eq!(
        ok(&e, &format!(r#"{{"count":{EVEN_DOCS}}}"#)),
        r#"{"resource":5}"#
    );
    let first = ok(
        &e,
        &format!(r#"{{"select":"ref","from":{{"get":{EVEN_DOCS}}}}}"#),
    );
    assert_eq!(first, format!(r#"{{"resource":{}}}"#, fooref("2")));
}

#[test]
fn predicate_errors_and_writes_are_rejected_at_the_lambda() {
    let e = seeded();
    let r = run(
        &e,
        r#"{"paginate":{"filter":{"lambda":"r","expr":1},"collection":{"documents":{"collection":"foo"}}}}"#,
    );
    assert_eq!(r.status, 400);
    assert_eq!(
        r.body,
        r#"{"errors":[{"position":["paginate","filter"],"code":"invalid argument","description":"Boolean expected, Integer provided."}]}"#
    );
    let r = run(
        &e,
        r#"{"paginate":{"filter":{"lambda":"r","expr":{"do":[{"delete":{"var":"r"}},true]}},"collection":{"documents":{"collection":"foo"}}}}"#,
    );
    assert_eq!(r.status, 400);
    assert_eq!(
        r.body,
        r#"{"errors":[{"position":["paginate","filter"],"code":"invalid argument","description":"Invalid lambda. Lambda in this context may not write or call a user function."}]}"#
    );
    let r = run(&e, &format!(r#"{{"paginate":{EVEN_DOCS},"events":true}}"#));
    assert_eq!(
        r.body,
        r#"{"errors":[{"position":[],"code":"invalid argument","description":"Set does not support events history."}]}"#
    );
}
