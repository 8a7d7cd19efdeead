//! Custom role privileges whose action is a `Query(Lambda(…))` predicate: evaluated with the
//! action's documented arguments (`RoleEvalAction.lambdaArgs`); `true` grants, anything else
//! (including an error) denies.

use fauna_dev::engine::Engine;

use crate::support::*;

const DENIED: &str = r#""code":"permission denied""#;

/// A key secret for a new role with these privileges (JSON array of privilege objects).
fn key_for(e: &Engine, name: &str, privileges: &str) -> String {
    ok(
        e,
        &format!(r#"{{"create_role":{{"object":{{"name":"{name}","privileges":{privileges}}}}}}}"#),
    );
    let k = ok(
        e,
        &format!(r#"{{"create_key":{{"object":{{"role":{{"role":"{name}"}}}}}}}}"#),
    );
    let start = k.find(r#""secret":""#).map(|i| i + 10).unwrap_or(0);
    let end = k[start..].find('"').map_or(start, |i| start + i);
    k[start..end].to_string()
}

fn seeded() -> Engine {
    let e = engine();
    setup_foo(&e);
    create_doc(&e, "foo", "1", r#"{"public":true,"owner":"ann"}"#);
    create_doc(&e, "foo", "2", r#"{"public":false,"owner":"bob"}"#);
    create_doc(&e, "foo", "3", r#"{"public":true,"owner":"bob"}"#);
    ok(
        &e,
        r#"{"create_index":{"object":{"name":"by_owner","source":{"collection":"foo"},"terms":[{"object":{"field":["data","owner"]}}]}}}"#,
    );
    e
}

const PUBLIC_ONLY: &str = r#"{"query":{"lambda":"ref","expr":{"select":["data","public"],"from":{"get":{"var":"ref"}}}}}"#;

#[test]
fn read_predicates_receive_the_ref_and_filter_pages() {
    let e = seeded();
    let privileges = format!(
        r#"[{{"object":{{"resource":{{"collection":"foo"}},"actions":{{"object":{{"read":{PUBLIC_ONLY}}}}}}}}},{{"object":{{"resource":{{"index":"by_owner"}},"actions":{{"object":{{"read":{{"query":{{"lambda":"terms","expr":{{"equals":[{{"var":"terms"}},["bob"]]}}}}}}}}}}}}}}]"#
    );
    let secret = key_for(&e, "public_reader", &privileges);
    let page = run_as(
        &e,
        &secret,
        r#"{"paginate":{"documents":{"collection":"foo"}}}"#,
    );
    assert_eq!(
        page.body,
        format!(
            r#"{{"resource":{{"data":[{},{}]}}}}"#,
            fooref("1"),
            fooref("3")
        )
    );
    let get = |id: &str| {
        run_as(
            &e,
            &secret,
            &format!(
                r#"{{"select":["data","owner"],"from":{{"get":{{"ref":{{"collection":"foo"}},"id":"{id}"}}}}}}"#
            ),
        )
    };
    assert_eq!(get("1").body, r#"{"resource":"ann"}"#);
    let denied = get("2");
    assert_eq!(denied.status, 403);
    assert_eq!(
        denied.body,
        r#"{"errors":[{"position":["from"],"code":"permission denied","description":"Insufficient privileges to perform the action."}]}"#
    );
    // The index predicate receives the terms; each entry's document must still be readable.
    let bob = run_as(
        &e,
        &secret,
        r#"{"paginate":{"match":{"index":"by_owner"},"terms":"bob"}}"#,
    );
    assert_eq!(
        bob.body,
        format!(r#"{{"resource":{{"data":[{}]}}}}"#, fooref("3"))
    );
    let ann = run_as(
        &e,
        &secret,
        r#"{"paginate":{"match":{"index":"by_owner"},"terms":"ann"}}"#,
    );
    assert_eq!(ann.status, 403);
}

#[test]
fn write_create_and_delete_predicates_receive_their_documented_arguments() {
    let e = seeded();
    // write: [old, new] (or [old, new, ref]); create: the new fields; delete: the ref.
    let privileges = r#"[{"object":{"resource":{"collection":"foo"},"actions":{"object":{
        "read":true,
        "write":{"query":{"lambda":["old","new","ref"],"expr":{"and":[
            {"equals":[{"select":["data","owner"],"from":{"var":"old"}},"ann"]},
            {"equals":[{"select":["data","owner"],"from":{"var":"new"}},"ann"]},
            {"equals":[{"select":"id","from":{"var":"ref"}},"1"]}]}}},
        "create":{"query":{"lambda":"new","expr":{"equals":[{"select":["data","owner"],"from":{"var":"new"}},"ann"]}}},
        "delete":{"query":{"lambda":"ref","expr":{"equals":[{"select":"id","from":{"var":"ref"}},"3"]}}}
    }}}}]"#;
    let secret = key_for(&e, "ann_writer", privileges);
    let update = |id: &str, owner: &str| {
        run_as(
            &e,
            &secret,
            &format!(
                r#"{{"update":{{"ref":{{"collection":"foo"}},"id":"{id}"}},"params":{{"object":{{"data":{{"object":{{"owner":"{owner}"}}}}}}}}}}"#
            ),
        )
    };
    assert_eq!(update("1", "ann").status, 200);
    assert!(update("1", "bob").body.contains(DENIED));
    assert!(update("2", "ann").body.contains(DENIED));
    let create = |owner: &str| {
        run_as(
            &e,
            &secret,
            &format!(
                r#"{{"create":{{"collection":"foo"}},"params":{{"object":{{"data":{{"object":{{"owner":"{owner}"}}}}}}}}}}"#
            ),
        )
    };
    assert_eq!(create("ann").status, 201);
    let r = create("bob");
    assert_eq!(r.status, 403);
    assert_eq!(
        r.body,
        r#"{"errors":[{"position":["create"],"code":"permission denied","description":"Insufficient privileges to perform the action."}]}"#
    );
    let delete = |id: &str| {
        run_as(
            &e,
            &secret,
            &format!(r#"{{"delete":{{"ref":{{"collection":"foo"}},"id":"{id}"}}}}"#),
        )
    };
    assert!(delete("1").body.contains(DENIED));
    assert_eq!(delete("3").status, 200);
}

#[test]
fn predicates_that_fail_or_return_non_true_deny() {
    let e = seeded();
    let privileges = r#"[{"object":{"resource":{"collection":"foo"},"actions":{"object":{
        "read":{"query":{"lambda":"ref","expr":{"abort":"no"}}},
        "history_read":{"query":{"lambda":"ref","expr":"yes"}}
    }}}}]"#;
    let secret = key_for(&e, "broken", privileges);
    let page = run_as(
        &e,
        &secret,
        r#"{"paginate":{"documents":{"collection":"foo"}}}"#,
    );
    assert_eq!(page.body, r#"{"resource":{"data":[]}}"#);
    let events = run_as(
        &e,
        &secret,
        r#"{"paginate":{"ref":{"collection":"foo"},"id":"1"},"events":true}"#,
    );
    assert_eq!(events.status, 403);
}
