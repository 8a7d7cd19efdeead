//! Child databases through `Engine::execute`: a dataset tree, keys and scoped secrets,
//! isolation, and a snapshot that keeps the tree.

use std::path::PathBuf;

use fauna_dev::engine::Engine;

use crate::support::{engine, ok, run, run_as, ROOT};

fn tree() -> Engine {
    let e = engine();
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fixtures/fauna-dev-tree");
    e.load_dataset(&dir).unwrap();
    e
}

const GET_1: &str =
    r#"{"select":["data","name"],"from":{"get":{"ref":{"collection":"users"},"id":"1"}}}"#;

/// Every way in reads its own database's `users/1`.
fn names(e: &Engine) -> Vec<String> {
    [
        ROOT,
        "tree-tenant1-server",
        "tree-tenant1-admin",
        "tree-tenant2-server",
        "tree-tenant1-sub-server",
        "secret:tenant1/sub:server-readonly",
        "tree-tenant1-admin:sub:admin",
    ]
    .iter()
    .map(|s| {
        let r = run_as(e, s, GET_1);
        assert_eq!(r.status, 200, "{s}: {}", r.body);
        r.body
    })
    .collect()
}

#[test]
fn a_dataset_tree_is_isolated_per_database() {
    let e = tree();
    let expected: Vec<String> = [
        "root-1",
        "tenant1-1",
        "tenant1-1",
        "tenant2-1",
        "tenant1/sub-1",
        "tenant1/sub-1",
        "tenant1/sub-1",
    ]
    .iter()
    .map(|n| format!(r#"{{"resource":"{n}"}}"#))
    .collect();
    assert_eq!(names(&e), expected);
    // tenant2's document 7 does not exist for tenant1.
    let r = run_as(
        &e,
        "tree-tenant1-server",
        r#"{"get":{"ref":{"collection":"users"},"id":"7"}}"#,
    );
    assert_eq!(r.status, 404, "{}", r.body);
    // History and index entries came with the tree.
    let r = run_as(
        &e,
        "tree-tenant1-server",
        r#"{"paginate":{"match":{"index":"users_by_team"},"terms":1}}"#,
    );
    assert_eq!(r.body, r#"{"resource":{"data":[5,32]}}"#);
    let db = ok(&e, r#"{"get":{"database":"tenant1"}}"#);
    assert!(
        db.contains(r#""name":"tenant1","data":{"plan":"gold"},"global_id":""#),
        "{db}"
    );
    // Non-admin keys take no scope.
    assert_eq!(
        run_as(&e, "tree-tenant1-server:sub:server", GET_1).status,
        401
    );
}

#[test]
fn snapshots_keep_the_tree() {
    let e = tree();
    ok(
        &e,
        r#"{"create_database":{"object":{"name":"tenant3","data":{"object":{"x":1}}}}}"#,
    );
    let sub = run_as(
        &e,
        "tree-tenant1-sub-server",
        r#"{"create":{"ref":{"collection":"users"},"id":"9"},"params":{"object":{"data":{"object":{"v":9}}}}}"#,
    );
    assert_eq!(sub.status, 201, "{}", sub.body);
    let before = names(&e);
    let dbs = ok(&e, r#"{"paginate":{"databases":null}}"#);
    let db = ok(&e, r#"{"get":{"database":"tenant3"}}"#);
    let dir = std::env::temp_dir().join(format!("fauna-dev-tree-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("state.jsonl");
    e.save_snapshot(&path).unwrap();
    let loaded = engine();
    loaded.load_snapshot(&path).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(names(&loaded), before);
    assert_eq!(ok(&loaded, r#"{"paginate":{"databases":null}}"#), dbs);
    assert_eq!(ok(&loaded, r#"{"get":{"database":"tenant3"}}"#), db);
    let r = run_as(
        &loaded,
        "tree-tenant1-sub-server",
        r#"{"select":["data"],"from":{"get":{"ref":{"collection":"users"},"id":"9"}}}"#,
    );
    assert_eq!(r.body, r#"{"resource":{"v":9}}"#);
    // The deleted version of tenant1's document 2 is still history.
    let r = run_as(
        &loaded,
        "tree-tenant1-server",
        r#"{"paginate":{"ref":{"collection":"users"},"id":"2"},"events":true}"#,
    );
    assert!(r.body.contains(r#""action":"delete""#), "{}", r.body);
}

#[test]
fn a_failed_transaction_leaves_the_tree_as_it_was() {
    let e = tree();
    let before = ok(&e, r#"{"paginate":{"databases":null}}"#);
    let r = run(
        &e,
        r#"[{"create_database":{"object":{"name":"x"}}},{"delete":{"database":"tenant2"}},{"abort":"no"}]"#,
    );
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(ok(&e, r#"{"paginate":{"databases":null}}"#), before);
    assert_eq!(run_as(&e, "tree-tenant2-server", GET_1).status, 200);
}
