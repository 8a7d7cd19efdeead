//! Literals, rendering, Let/Var/Lambda/Select/If/Do, errors and auth.

use crate::support::*;

#[test]
fn literals_and_arrays_evaluate() {
    let e = engine();
    assert_eq!(
        ok(&e, r#"[1, "a", 2.5, null, true]"#),
        r#"{"resource":[1,"a",2.5,null,true]}"#
    );
    assert_eq!(
        ok(&e, r#"{"quote":{"paginate":1}}"#),
        r#"{"resource":{"paginate":1}}"#
    );
}

#[test]
fn let_var_lambda_select() {
    let e = engine();
    let q = r#"{"let":[{"a":{"object":{"data":{"object":{"x":[1,2,3]}}}}},{"b":{"select":["data","x",1],"from":{"var":"a"}}}],"in":{"var":"b"}}"#;
    assert_eq!(ok(&e, q), r#"{"resource":2}"#);
    let q = r#"{"let":{"a":1},"in":{"map":{"lambda":["x","_"],"expr":{"var":"x"}},"collection":[[1,2],[3,4]]}}"#;
    assert_eq!(ok(&e, q), r#"{"resource":[1,3]}"#);
    let q = r#"{"select":"missing","from":{"object":{}},"default":{"abort":"never"}}"#;
    assert_eq!(run(&e, q).status, 400);
    let q = r#"{"select":["data","foo"],"from":{"object":{"data":{"object":{}}}}}"#;
    let r = run(&e, q);
    assert_eq!(r.status, 404);
    assert_eq!(
        r.body,
        r#"{"errors":[{"position":["from"],"code":"value not found","description":"Value not found at path [data,foo]."}]}"#
    );
    let q = r#"{"select":"a","from":{"object":{"a":1}},"default":{"abort":"lazy"}}"#;
    assert_eq!(ok(&e, q), r#"{"resource":1}"#);
}

#[test]
fn if_do_equals_abort_format() {
    let e = engine();
    assert_eq!(
        ok(&e, r#"{"if":{"equals":[1,1]},"then":"y","else":"n"}"#),
        r#"{"resource":"y"}"#
    );
    assert_eq!(ok(&e, r#"{"do":[1,2,3]}"#), r#"{"resource":3}"#);
    let r = run(&e, r#"{"do":[1,{"abort":"boom"}]}"#);
    assert_eq!(r.status, 400);
    assert_eq!(
        r.body,
        r#"{"errors":[{"position":["do",1],"code":"transaction aborted","description":"boom"}]}"#
    );
    assert_eq!(
        ok(&e, r#"{"format":"%s is %d%%","values":["x",5]}"#),
        r#"{"resource":"x is 5%"}"#
    );
}

#[test]
fn unknown_form_and_unbound_variable() {
    let e = engine();
    let r = run(&e, r#"{"paginate":{"foo":1,"bar":2}}"#);
    assert_eq!(r.status, 400);
    assert_eq!(
        r.body,
        r#"{"errors":[{"position":["paginate"],"code":"invalid expression","description":"No form/function found, or invalid argument keys: { foo, bar }."}]}"#
    );
    let r = run(&e, r#"{"var":"x"}"#);
    assert_eq!(
        r.body,
        r#"{"errors":[{"position":[],"code":"invalid expression","description":"Variable 'x' is not defined."}]}"#
    );
}

#[test]
fn auth_rejects_unknown_secrets() {
    let e = engine();
    let r = run_as(&e, "nope", "1");
    assert_eq!(r.status, 401);
    assert_eq!(
        r.body,
        r#"{"errors":[{"code":"unauthorized","description":"Unauthorized"}]}"#
    );
    let r = e.execute(&fauna_dev::engine::Request {
        secret: None,
        body: b"1",
        last_seen_txn: None,
        api_version: "4",
        read_only: false,
        deadline: None,
    });
    assert_eq!(r.status, 401);
}

#[test]
fn time_functions() {
    let e = engine();
    assert_eq!(
        ok(&e, r#"{"to_micros":{"time":"2022-07-18T23:58:03.585Z"}}"#),
        r#"{"resource":1658188683585000}"#
    );
    assert_eq!(
        ok(&e, r#"{"epoch":1,"unit":"second"}"#),
        r#"{"resource":{"@ts":"1970-01-01T00:00:01Z"}}"#
    );
    assert_eq!(
        ok(&e, r#"{"date":"2012-02-01"}"#),
        r#"{"resource":{"@date":"2012-02-01"}}"#
    );
    let r = run(&e, r#"{"now":null}"#);
    assert!(r.body.starts_with(r#"{"resource":{"@ts":""#), "{}", r.body);
}

#[test]
fn crud_and_documents_pages() {
    let e = engine();
    setup_foo(&e);
    let r = run(
        &e,
        r#"{"create":{"ref":{"collection":"foo"},"id":"101"},"params":{"object":{"data":{"object":{"a":1}}}}}"#,
    );
    assert_eq!(r.status, 201);
    assert_eq!(
        scrub_ts(&r.body),
        format!(
            r#"{{"resource":{{"ref":{},"ts":TS,"data":{{"a":1}}}}}}"#,
            fooref("101")
        )
    );
    let r = run(
        &e,
        r#"{"create":{"ref":{"collection":"foo"},"id":"101"},"params":{"object":{}}}"#,
    );
    assert_eq!(
        r.body,
        r#"{"errors":[{"position":["create"],"code":"instance already exists","description":"Document already exists."}]}"#
    );
    create_doc(&e, "foo", "103", r#"{"a":3}"#);
    create_doc(&e, "foo", "20", r#"{"a":0}"#);
    let page = ok(
        &e,
        r#"{"paginate":{"documents":{"collection":"foo"}},"size":2}"#,
    );
    assert_eq!(
        page,
        format!(
            r#"{{"resource":{{"after":[{}],"data":[{},{}]}}}}"#,
            fooref("103"),
            fooref("20"),
            fooref("101")
        )
    );
    let page = ok(
        &e,
        &format!(
            r#"{{"paginate":{{"documents":{{"collection":"foo"}}}},"size":2,"after":[{}]}}"#,
            fooref("103")
        ),
    );
    assert_eq!(
        page,
        format!(
            r#"{{"resource":{{"before":[{}],"data":[{}]}}}}"#,
            fooref("103"),
            fooref("103")
        )
    );
    let upd = ok(
        &e,
        r#"{"update":{"ref":{"collection":"foo"},"id":"101"},"params":{"object":{"data":{"object":{"b":2,"a":null}}}}}"#,
    );
    assert!(
        scrub_ts(&upd).ends_with(r#""ts":TS,"data":{"b":2}}}"#),
        "{upd}"
    );
    let del = run(&e, r#"{"delete":{"ref":{"collection":"foo"},"id":"101"}}"#);
    assert_eq!(del.status, 200);
    assert!(scrub_ts(&del.body).ends_with(r#""ts":TS,"data":{"b":2}}}"#));
    let r = run(&e, r#"{"get":{"ref":{"collection":"foo"},"id":"101"}}"#);
    assert_eq!(r.status, 404);
    assert_eq!(
        r.body,
        r#"{"errors":[{"position":[],"code":"instance not found","description":"Document not found."}]}"#
    );
    assert_eq!(
        ok(&e, r#"{"exists":{"ref":{"collection":"foo"},"id":"101"}}"#),
        r#"{"resource":false}"#
    );
}

#[test]
fn undefined_collection_is_invalid_ref() {
    let e = engine();
    let r = run(&e, r#"{"paginate":{"documents":{"collection":"nope"}}}"#);
    assert_eq!(r.status, 400);
    assert_eq!(
        r.body,
        r#"{"errors":[{"position":["paginate","documents"],"code":"invalid ref","description":"Ref refers to undefined collection 'nope'"}]}"#
    );
}

#[test]
fn aborted_transactions_roll_back() {
    let e = engine();
    setup_foo(&e);
    let r = run(
        &e,
        r#"{"do":[{"create":{"ref":{"collection":"foo"},"id":"1"},"params":{"object":{}}},{"abort":"no"}]}"#,
    );
    assert_eq!(r.status, 400);
    assert_eq!(
        ok(&e, r#"{"exists":{"ref":{"collection":"foo"},"id":"1"}}"#),
        r#"{"resource":false}"#
    );
}
