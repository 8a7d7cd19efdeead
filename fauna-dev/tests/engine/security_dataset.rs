//! Keys, roles, datasets, snapshots, MVT and legacy rendering.

use std::time::Duration;

use crate::support::*;

fn dataset_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("fauna-dev-engine-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("documents")).unwrap();
    std::fs::write(
        dir.join("schema.json"),
        r#"{"collections":[{"name":"c","history_days":null},{"name":"secret_stuff"}],
            "indexes":[{"name":"c_by_ts","source":"c","values":[{"field":"ts"},{"field":"ref"}]},
                       {"name":"s_all","source":"secret_stuff"}],
            "roles":[{"name":"connect-readonly","privileges":[
                {"resource":{"collections":null},"actions":{"read":true}},
                {"resource":{"indexes":null},"actions":{"read":true}},
                {"resource":{"collection":"c"},"actions":{"read":true}},
                {"resource":{"index":"c_by_ts"},"actions":{"read":true}}]}],
            "keys":[{"secret":"fnServer","role":"server"},{"secret":"fnRO","role":"server-readonly"},
                    {"secret":"fnClient","role":"client"},{"secret":"fnConnect","role":{"role":"connect-readonly"}}]}"#,
    )
    .unwrap();
    std::fs::write(
        dir.join("documents/c.jsonl"),
        "{\"id\":\"1\",\"ts\":1000000,\"data\":{\"a\":1}}\n{\"id\":\"2\",\"ts\":2000000,\"data\":{\"a\":2}}\n{\"id\":\"1\",\"ts\":3000000,\"data\":{\"a\":3}}\n{\"id\":\"2\",\"ts\":4000000,\"action\":\"delete\"}\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("documents/secret_stuff.jsonl"),
        "{\"id\":\"9\",\"ts\":1000000,\"data\":{}}\n",
    )
    .unwrap();
    dir
}

fn cref(id: &str) -> String {
    format!(
        r#"{{"@ref":{{"id":"{id}","collection":{{"@ref":{{"id":"c","collection":{{"@ref":{{"id":"collections"}}}}}}}}}}}}"#
    )
}

#[test]
fn dataset_loads_history_and_keys() {
    let e = engine_with(
        Duration::from_secs(1_000_000_000),
        Duration::from_secs(86_400),
    );
    e.load_dataset(&dataset_dir("load")).unwrap();
    assert_eq!(
        ok(&e, r#"{"get":{"ref":{"collection":"c"},"id":"1"}}"#),
        format!(
            r#"{{"resource":{{"ref":{},"ts":3000000,"data":{{"a":3}}}}}}"#,
            cref("1")
        )
    );
    assert_eq!(
        ok(
            &e,
            r#"{"at":2500000,"expr":{"paginate":{"documents":{"collection":"c"}}}}"#
        ),
        format!(r#"{{"resource":{{"data":[{},{}]}}}}"#, cref("1"), cref("2"))
    );
    assert_eq!(
        ok(
            &e,
            r#"{"get":{"ref":{"collection":"c"},"id":"1"},"ts":1500000}"#
        ),
        format!(
            r#"{{"resource":{{"ref":{},"ts":1000000,"data":{{"a":1}}}}}}"#,
            cref("1")
        )
    );
    assert_eq!(
        ok(&e, r#"{"paginate":{"match":{"index":"c_by_ts"}}}"#),
        format!(r#"{{"resource":{{"data":[[3000000,{}]]}}}}"#, cref("1"))
    );
    let r = run_as(
        &e,
        "fnServer",
        r#"{"paginate":{"documents":{"collection":"c"}}}"#,
    );
    assert_eq!(
        r.body,
        format!(r#"{{"resource":{{"data":[{}]}}}}"#, cref("1"))
    );
}

#[test]
fn builtin_and_custom_roles() {
    let e = engine();
    e.load_dataset(&dataset_dir("roles")).unwrap();
    let create = r#"{"create":{"collection":"c"},"params":{"object":{}}}"#;
    assert_eq!(run_as(&e, "fnServer", create).status, 201);
    let r = run_as(&e, "fnRO", create);
    assert_eq!(r.status, 403);
    assert_eq!(
        r.body,
        r#"{"errors":[{"position":["create"],"code":"permission denied","description":"Insufficient privileges to perform the action."}]}"#
    );
    // Server keys create collections (`CreateInstance` on Collections()), not databases,
    // keys or roles (`AbstractServerPermissions.RootClassIDs`).
    assert_eq!(
        run_as(
            &e,
            "fnServer",
            r#"{"create_collection":{"object":{"name":"z"}}}"#
        )
        .status,
        201
    );
    for denied in [
        r#"{"create_database":{"object":{"name":"z"}}}"#,
        r#"{"create_key":{"object":{"role":"server"}}}"#,
        r#"{"create_role":{"object":{"name":"z","privileges":[]}}}"#,
    ] {
        assert_eq!(run_as(&e, "fnServer", denied).status, 403, "{denied}");
    }
    assert_eq!(
        run_as(
            &e,
            "fnRO",
            r#"{"create_collection":{"object":{"name":"y"}}}"#
        )
        .status,
        403
    );
    assert_eq!(
        run_as(
            &e,
            "fnClient",
            r#"{"paginate":{"documents":{"collection":"c"}}}"#
        )
        .body,
        r#"{"resource":{"data":[]}}"#
    );
    // connect-readonly: filtered pages, 403 on Get / Match elsewhere.
    let r = run_as(
        &e,
        "fnConnect",
        r#"{"paginate":{"documents":{"collection":"secret_stuff"}}}"#,
    );
    assert_eq!(r.body, r#"{"resource":{"data":[]}}"#);
    let r = run_as(
        &e,
        "fnConnect",
        r#"{"get":{"ref":{"collection":"secret_stuff"},"id":"9"}}"#,
    );
    assert_eq!(r.status, 403);
    let r = run_as(
        &e,
        "fnConnect",
        r#"{"paginate":{"match":{"index":"s_all"}}}"#,
    );
    assert_eq!(
        r.body,
        r#"{"errors":[{"position":["paginate"],"code":"permission denied","description":"Insufficient privileges to perform the action."}]}"#
    );
    assert_eq!(
        run_as(&e, "fnConnect", r#"{"get":{"index":"c_by_ts"}}"#).status,
        200
    );
    assert_eq!(
        run_as(
            &e,
            "fnConnect",
            r#"{"get":{"ref":{"collection":"c"},"id":"1"}}"#
        )
        .status,
        200
    );
    let r = run_as(&e, "fnConnect", r#"{"paginate":{"collections":null}}"#);
    assert!(r.body.contains(r#""id":"secret_stuff""#));
    // Keys created through the API authenticate.
    let k = ok(&e, r#"{"create_key":{"object":{"role":"server"}}}"#);
    let start = k.find(r#""secret":""#).unwrap() + 10;
    let secret = &k[start..start + k[start..].find('"').unwrap()];
    assert!(secret.starts_with("fn"), "{k}");
    assert!(k.contains(r#""hashed_secret":"#));
    assert_eq!(
        run_as(
            &e,
            secret,
            r#"{"paginate":{"documents":{"collection":"c"}},"size":1}"#
        )
        .status,
        200
    );
}

#[test]
fn reads_below_mvt_fail_and_history_is_truncated() {
    let e = engine_with(Duration::from_secs(0), Duration::from_secs(1));
    setup_foo(&e);
    create_doc(&e, "foo", "1", r#"{"a":1}"#);
    let r = run(
        &e,
        r#"{"at":1000000,"expr":{"paginate":{"documents":{"collection":"foo"}}}}"#,
    );
    assert_eq!(r.status, 400);
    assert!(r.body.starts_with(
        r#"{"errors":[{"code":"bad request","description":"Requested timestamp 1970-01-01T00:00:01Z less than minimum allowed timestamp "#
    ), "{}", r.body);
    std::thread::sleep(Duration::from_millis(5));
    assert_eq!(
        ok(
            &e,
            r#"{"paginate":{"documents":{"collection":"foo"}},"events":true}"#
        ),
        r#"{"resource":{"data":[]}}"#
    );
}

#[test]
fn snapshot_round_trip() {
    let e = engine();
    e.load_dataset(&dataset_dir("snap")).unwrap();
    ok(
        &e,
        r#"{"create":{"ref":{"collection":"c"},"id":"77"},"params":{"object":{"data":{"object":{"x":1}}}}}"#,
    );
    let path = std::env::temp_dir().join(format!("fauna-dev-snap-{}.jsonl", std::process::id()));
    e.save_snapshot(&path).unwrap();
    let f = engine();
    f.load_snapshot(&path).unwrap();
    let q = r#"{"paginate":{"events":{"ref":{"collection":"c"},"id":"2"}}}"#;
    assert_eq!(ok(&e, q), ok(&f, q));
    let q = r#"{"paginate":{"match":{"index":"c_by_ts"}}}"#;
    assert_eq!(ok(&e, q), ok(&f, q));
    assert_eq!(
        run_as(
            &f,
            "fnRO",
            r#"{"get":{"ref":{"collection":"c"},"id":"77"}}"#
        )
        .status,
        200
    );
}

#[test]
fn legacy_api_renders_class() {
    let e = engine();
    setup_foo(&e);
    let r = e.execute(&fauna_dev::engine::Request {
        secret: Some(ROOT),
        body: br#"{"collection":"foo"}"#,
        last_seen_txn: None,
        api_version: "2.1",
        read_only: false,
        deadline: None,
    });
    assert_eq!(
        r.body,
        r#"{"resource":{"@ref":{"id":"foo","class":{"@ref":{"id":"classes"}}}}}"#
    );
}
