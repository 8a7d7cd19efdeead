//! Database trees (issue 25) through the real binary against fauna-dev: a root with three
//! tenants, each with one sub-tenant, the same collection `orders` (and its `[ts, ref]` index)
//! in every database; an export-then-syncs with writes, deletions and a new tenant database in
//! between, the warehouse table rebuilt from the output compared with every database's
//! documents, keyed by the `database` column; a key of one tenant exports exactly its subtree.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use serde_json::Value as Json;

use crate::support::{execute, query, Fixture};

const ROOT: &str = "secret";

const SCHEMA: &str = r#"{
  "collections": [{"name": "orders", "history_days": null}],
  "indexes": [{"name": "orders_ts", "source": "orders", "values": [{"field": "ts"}, {"field": "ref"}]}]
}"#;

/// `ROOT` scoped to the database at `path` with the admin role.
fn admin(path: &str) -> String {
    match path {
        "" => ROOT.to_string(),
        p => format!("{ROOT}:{p}:admin"),
    }
}

fn run_query(fx: &Fixture, secret: &str, q: &str) -> Json {
    let r = execute(&fx.engine, secret, q);
    assert!(
        r.status == 200 || r.status == 201,
        "{q}: {} {}",
        r.status,
        r.body
    );
    serde_json::from_str(&r.body).unwrap()
}

/// Creates database `name` in the database at `parent`, with `orders` and its index.
fn create_database(fx: &Fixture, parent: &str, name: &str) {
    run_query(
        fx,
        &admin(parent),
        &format!(r#"{{"create_database":{{"object":{{"name":"{name}"}}}}}}"#),
    );
    let path = match parent {
        "" => name.to_string(),
        p => format!("{p}/{name}"),
    };
    let secret = admin(&path);
    run_query(
        fx,
        &secret,
        r#"{"create_collection":{"object":{"name":"orders"}}}"#,
    );
    run_query(
        fx,
        &secret,
        r#"{"create_index":{"object":{"name":"orders_ts","source":{"collection":"orders"},"values":[{"object":{"field":"ts"}},{"object":{"field":"ref"}}]}}}"#,
    );
}

fn upsert(fx: &Fixture, path: &str, id: u32, v: &str) {
    let doc = format!(r#"{{"ref":{{"collection":"orders"}},"id":"{id}"}}"#);
    let data = format!(r#"{{"object":{{"data":{{"object":{{"v":"{v}"}}}}}}}}"#);
    run_query(
        fx,
        &admin(path),
        &format!(
            r#"{{"if":{{"exists":{doc}}},"then":{{"update":{doc},"params":{data}}},"else":{{"create":{doc},"params":{data}}}}}"#
        ),
    );
}

fn delete(fx: &Fixture, path: &str, id: u32) {
    run_query(
        fx,
        &admin(path),
        &format!(r#"{{"delete":{{"ref":{{"collection":"orders"}},"id":"{id}"}}}}"#),
    );
}

/// The tree: the root, t1..t3, each with a sub-tenant `s`; three orders in each database.
async fn tree() -> Fixture {
    let fx = Fixture::start(SCHEMA, &[]).await;
    for t in ["t1", "t2", "t3"] {
        create_database(&fx, "", t);
        create_database(&fx, t, "s");
    }
    for path in DATABASES {
        for id in 1..=3 {
            upsert(&fx, path, id, &format!("{path}#{id}.0"));
        }
    }
    fx
}

const DATABASES: [&str; 7] = ["", "t1", "t1/s", "t2", "t2/s", "t3", "t3/s"];

/// Every database's `orders` now: (database, id) → data.
fn warehouse_now(fx: &Fixture, databases: &[&str]) -> BTreeMap<(String, String), Json> {
    let mut out = BTreeMap::new();
    for path in databases {
        let (status, body) = query(
            &fx.engine,
            &admin(path),
            r#"{"map":{"lambda":"x","expr":{"get":{"var":"x"}}},"collection":{"paginate":{"documents":{"collection":"orders"}},"size":1000}}"#,
        );
        assert_eq!(status, 200, "{path}: {body}");
        for d in body["resource"]["data"].as_array().unwrap() {
            let id = d["ref"]["@ref"]["id"].as_str().unwrap().to_string();
            out.insert((path.to_string(), id), d["data"].clone());
        }
    }
    out
}

/// The table rebuilt from every JSONL file of the output: each (database, ref)'s latest
/// record, deleted rows left out.
fn warehouse_from(out: &Path) -> BTreeMap<(String, String), Json> {
    let mut records: Vec<Json> = Vec::new();
    for file in crate::support::files_below(out) {
        if file.ends_with(".jsonl") && file.contains("/part-") {
            let text = std::fs::read_to_string(out.join(&file)).unwrap();
            records.extend(
                text.lines()
                    .map(|l| serde_json::from_str::<Json>(l).unwrap()),
            );
        }
    }
    records.sort_by_key(|r| r["ts"].as_i64().unwrap());
    let mut table = BTreeMap::new();
    for r in records {
        let key = (
            r["database"].as_str().unwrap().to_string(),
            r["ref"].as_str().unwrap().to_string(),
        );
        if r["deleted_at"].is_null() {
            table.insert(key, r["data"].clone());
        } else {
            table.remove(&key);
        }
    }
    table
}

fn sync(fx: &Fixture, out: &Path, secret: &str, extra: &[&str]) -> Output {
    let o = sync_cmd(fx, out, secret, extra).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    o
}

fn sync_cmd(fx: &Fixture, out: &Path, secret: &str, extra: &[&str]) -> Command {
    let config = out.with_extension("config.json");
    std::fs::write(
        &config,
        r#"{"defaults": {"deletions": {"deletion_mode": "deleted_field", "column": "deleted_at"}}, "output": {"format": "jsonl"}}"#,
    )
    .unwrap();
    let mut c = Command::new(env!("CARGO_BIN_EXE_fauna-sync"));
    c.arg("sync")
        .arg("--config")
        .arg(&config)
        .args(["--endpoint", &fx.server.url()])
        .arg("--out")
        .arg(out)
        .args(extra)
        .env("FAUNA_SECRET", secret)
        .env_remove("RUST_LOG")
        .env_remove("FAUNA_SYNC_TEST_CRASH_AT")
        .env_remove("FAUNA_SYNC_TEST_PAUSE_AT")
        .stdin(Stdio::null());
    c
}

/// Every record of the output's JSONL files: (database, ref, ts, data), sorted.
fn all_records(out: &Path) -> Vec<(String, String, i64, Json)> {
    let mut records = Vec::new();
    for file in crate::support::files_below(out) {
        if file.ends_with(".jsonl") && file.contains("/part-") {
            for l in std::fs::read_to_string(out.join(&file)).unwrap().lines() {
                let r: Json = serde_json::from_str(l).unwrap();
                records.push((
                    r["database"].as_str().unwrap().to_string(),
                    r["ref"].as_str().unwrap().to_string(),
                    r["ts"].as_i64().unwrap(),
                    r["data"].clone(),
                ));
            }
        }
    }
    records.sort_by(|a, b| (&a.0, &a.1, a.2).cmp(&(&b.0, &b.1, b.2)));
    records
}

fn stream_dirs(out: &Path) -> Vec<String> {
    let mut dirs: Vec<String> = std::fs::read_dir(out)
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.path().is_dir() && !e.file_name().to_string_lossy().starts_with('_'))
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with('.'))
        .collect();
    dirs.sort();
    dirs
}

#[tokio::test(flavor = "multi_thread")]
async fn a_tree_synced_five_times_rebuilds_every_databases_orders() {
    let fx = tree().await;
    let out = fx.out("tree");
    let recursive = ["--databases", "recursive"];

    // 1. The first sync: every database's full export.
    sync(&fx, &out, ROOT, &recursive);
    assert_eq!(
        stream_dirs(&out),
        [
            "orders",
            "t1%2Forders",
            "t1%2Fs%2Forders",
            "t2%2Forders",
            "t2%2Fs%2Forders",
            "t3%2Forders",
            "t3%2Fs%2Forders"
        ]
    );
    let state: Json =
        serde_json::from_str(&std::fs::read_to_string(out.join("_state.json")).unwrap()).unwrap();
    let streams: Vec<&String> = state["streams"].as_object().unwrap().keys().collect();
    assert_eq!(
        streams,
        [
            "orders",
            "t1/orders",
            "t1/s/orders",
            "t2/orders",
            "t2/s/orders",
            "t3/orders",
            "t3/s/orders"
        ]
    );
    assert_eq!(warehouse_from(&out), warehouse_now(&fx, &DATABASES));
    assert_eq!(warehouse_from(&out).len(), 21);

    // 2. Writes and deletions in several databases, the same ids in each.
    upsert(&fx, "", 1, "root#1.1");
    upsert(&fx, "t1/s", 2, "t1/s#2.1");
    upsert(&fx, "t2", 4, "t2#4.0");
    delete(&fx, "t3", 3);
    delete(&fx, "t1", 1);
    sync(&fx, &out, ROOT, &recursive);
    let now = warehouse_now(&fx, &DATABASES);
    assert_eq!(warehouse_from(&out), now);
    assert_eq!(
        now[&("t2".into(), "4".into())],
        serde_json::json!({"v": "t2#4.0"})
    );
    assert!(!now.contains_key(&("t1".into(), "1".into())));
    assert!(now.contains_key(&("t1/s".into(), "1".into())));

    // 3. A new tenant with a sub-tenant: its first sync is a full export.
    create_database(&fx, "", "t4");
    create_database(&fx, "t4", "s");
    for id in 1..=2 {
        upsert(&fx, "t4", id, &format!("t4#{id}.0"));
        upsert(&fx, "t4/s", id, &format!("t4/s#{id}.0"));
    }
    upsert(&fx, "t2/s", 1, "t2/s#1.1");
    sync(&fx, &out, ROOT, &recursive);
    let all: Vec<&str> = DATABASES.iter().copied().chain(["t4", "t4/s"]).collect();
    assert_eq!(warehouse_from(&out), warehouse_now(&fx, &all));
    assert!(stream_dirs(&out).contains(&"t4%2Fs%2Forders".to_string()));

    // 4. t3 (with its sub-tenant) is deleted: its documents become deletion records.
    run_query(&fx, ROOT, r#"{"delete":{"database":"t3"}}"#);
    upsert(&fx, "t4/s", 3, "t4/s#3.0");
    let o = sync(&fx, &out, ROOT, &recursive);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        stderr.contains("database 't3' is gone: stream 't3/orders' gets a deletion record for each of its 2 document(s)"),
        "{stderr}"
    );
    assert!(
        stderr.contains("database 't3/s' is gone: stream 't3/s/orders' gets a deletion record for each of its 3 document(s)"),
        "{stderr}"
    );
    let all: Vec<&str> = all.into_iter().filter(|d| !d.starts_with("t3")).collect();
    assert_eq!(warehouse_from(&out), warehouse_now(&fx, &all));

    // 5. Nothing changed: no records, and the gone databases get none again.
    let before = crate::support::files_below(&out);
    let o = sync(&fx, &out, ROOT, &recursive);
    assert_eq!(warehouse_from(&out), warehouse_now(&fx, &all));
    let parts = |files: &[String]| files.iter().filter(|f| f.contains("/part-")).count();
    assert_eq!(parts(&crate::support::files_below(&out)), parts(&before));
    assert!(o.status.success());
    // verify finds every file and id set of the tree's streams where the state says.
    let v = Command::new(env!("CARGO_BIN_EXE_fauna-sync"))
        .args(["verify", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(v.status.success(), "{}", String::from_utf8_lossy(&v.stderr));
    let ids: Vec<String> = crate::support::files_below(&out.join("_state.json.ids"));
    assert!(ids.iter().any(|f| f.starts_with("t1=s=orders.")), "{ids:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_keys_own_database_alone_is_read_as_before() {
    let fx = tree().await;
    let out = fx.out("own");
    sync(&fx, &out, ROOT, &[]);
    assert_eq!(stream_dirs(&out), ["orders"]);
    let part = crate::support::files_below(&out)
        .into_iter()
        .find(|f| f.starts_with("orders/part-"))
        .unwrap();
    let text = std::fs::read_to_string(out.join(part)).unwrap();
    let first: Json = serde_json::from_str(text.lines().next().unwrap()).unwrap();
    assert_eq!(first.get("database"), None, "{first}");

    // The same output read as a tree would mix rows with and without the column: refused.
    let config = out.with_extension("config.json");
    let o = Command::new(env!("CARGO_BIN_EXE_fauna-sync"))
        .arg("sync")
        .arg("--config")
        .arg(&config)
        .args(["--endpoint", &fx.server.url(), "--databases", "recursive"])
        .arg("--out")
        .arg(&out)
        .env("FAUNA_SECRET", ROOT)
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(!o.status.success());
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(stderr.contains("record schema"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_key_of_one_tenant_exports_exactly_its_subtree() {
    let fx = tree().await;
    // An admin key of t1, made in the root: its own database is t1.
    let key = run_query(
        &fx,
        ROOT,
        r#"{"create_key":{"object":{"database":{"database":"t1"},"role":"admin"}}}"#,
    );
    let secret = key["resource"]["secret"].as_str().unwrap().to_string();
    let out = fx.out("t1");
    sync(&fx, &out, &secret, &["--databases", "recursive"]);
    assert_eq!(stream_dirs(&out), ["orders", "s%2Forders"]);
    // Paths are relative to the key's database: t1's own orders have the empty path.
    let got = warehouse_from(&out);
    let want: BTreeMap<(String, String), Json> = warehouse_now(&fx, &["t1", "t1/s"])
        .into_iter()
        .map(|((db, id), d)| {
            (
                (
                    db.trim_start_matches("t1")
                        .trim_start_matches('/')
                        .to_string(),
                    id,
                ),
                d,
            )
        })
        .collect();
    assert_eq!(got, want);

    // A key of t1 reading t2 through a named path gets Fauna's refusal, and the run fails.
    let o = Command::new(env!("CARGO_BIN_EXE_fauna-sync"))
        .args([
            "export",
            "--endpoint",
            &fx.server.url(),
            "--databases",
            "t2",
        ])
        .arg("--out")
        .arg(fx.out("t2"))
        .env("FAUNA_SECRET", &secret)
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(!o.status.success());
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        stderr.contains("database 't2' cannot be read with the key"),
        "{stderr}"
    );
    assert!(!stderr.contains(&secret), "{stderr}");
}

/// Runs an Airbyte command with the tree config; stdout's messages (it must succeed).
fn airbyte(fx: &Fixture, dir: &Path, args: &[&str], state: Option<&Json>) -> Vec<Json> {
    let (ok, messages) = airbyte_run(fx, dir, args, state);
    assert!(ok, "{messages:?}");
    messages
}

/// Runs an Airbyte command with the tree config: whether it succeeded, and stdout's messages.
fn airbyte_run(fx: &Fixture, dir: &Path, args: &[&str], state: Option<&Json>) -> (bool, Vec<Json>) {
    let config = dir.join("airbyte.config.json");
    std::fs::write(
        &config,
        serde_json::json!({"domain": "127.0.0.1", "port": fx.server.addr().port(), "scheme": "http",
               "secret": ROOT, "databases": {"select": "recursive"},
               "defaults": {"deletions": {"deletion_mode": "deleted_field", "column": "deleted_at"}}})
        .to_string(),
    )
    .unwrap();
    let mut c = Command::new(env!("CARGO_BIN_EXE_fauna-sync"));
    c.args(args)
        .arg("--config")
        .arg(&config)
        .env_remove("FAUNA_SECRET")
        .env_remove("RUST_LOG")
        .stdin(Stdio::null());
    if let Some(s) = state {
        let path = dir.join("state.json");
        std::fs::write(&path, s.to_string()).unwrap();
        c.arg("--state").arg(path);
    }
    let o = c.output().unwrap();
    let messages = String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    (o.status.success(), messages)
}

/// Applies a read's RECORDs to `table`, keyed by (namespace, ref); each record's database
/// column must be its namespace (empty for the key's own database).
fn apply(table: &mut BTreeMap<(String, String), Json>, messages: &[Json]) {
    for m in messages.iter().filter(|m| m["type"] == "RECORD") {
        let r = &m["record"];
        let ns = r["namespace"].as_str().unwrap_or_default().to_string();
        assert_eq!(r["data"]["database"], Json::String(ns.clone()), "{m}");
        assert_eq!(r["stream"], "orders");
        let key = (ns, r["data"]["ref"].as_str().unwrap().to_string());
        if r["data"]["deleted_at"].is_null() {
            table.insert(key, r["data"]["data"].clone());
        } else {
            table.remove(&key);
        }
    }
}

/// The last STATE of each stream, as the next read's input state.
fn last_states(messages: &[Json]) -> Json {
    let mut last: BTreeMap<String, Json> = BTreeMap::new();
    for m in messages.iter().filter(|m| m["type"] == "STATE") {
        let d = &m["state"]["stream"]["stream_descriptor"];
        last.insert(d.to_string(), m["state"].clone());
    }
    Json::Array(last.into_values().collect())
}

#[tokio::test(flavor = "multi_thread")]
async fn airbyte_reads_a_tree_with_namespaces() {
    let fx = tree().await;
    let dir = fx.out("airbyte");
    std::fs::create_dir_all(&dir).unwrap();
    let catalog = airbyte(&fx, &dir, &["discover"], None);
    let streams = catalog[0]["catalog"]["streams"].as_array().unwrap();
    let described: Vec<(Json, Json, Json)> = streams
        .iter()
        .map(|s| {
            (
                s["namespace"].clone(),
                s["name"].clone(),
                s["source_defined_primary_key"].clone(),
            )
        })
        .collect();
    let key = serde_json::json!([["database"], ["ref"]]);
    let want: Vec<(Json, Json, Json)> = [
        None,
        Some("t1"),
        Some("t1/s"),
        Some("t2"),
        Some("t2/s"),
        Some("t3"),
        Some("t3/s"),
    ]
    .into_iter()
    .map(|ns| {
        (
            ns.map_or(Json::Null, |n| Json::String(n.into())),
            "orders".into(),
            key.clone(),
        )
    })
    .collect();
    assert_eq!(described, want);
    assert_eq!(
        streams[1]["json_schema"]["properties"]["database"],
        serde_json::json!({"type": "string"})
    );
    let configured = serde_json::json!({"streams": streams.iter().map(|s| serde_json::json!({
        "stream": s, "sync_mode": "incremental", "destination_sync_mode": "append_dedup"})).collect::<Vec<_>>()});
    let catalog_path = dir.join("configured.json");
    std::fs::write(&catalog_path, configured.to_string()).unwrap();
    let catalog_arg = catalog_path.to_str().unwrap();

    let mut table = BTreeMap::new();
    let first = airbyte(&fx, &dir, &["read", "--catalog", catalog_arg], None);
    apply(&mut table, &first);
    assert_eq!(table, warehouse_now(&fx, &DATABASES));
    // One STATE stream per (namespace, name), each naming its namespace.
    let states = last_states(&first);
    assert_eq!(states.as_array().unwrap().len(), 7);

    upsert(&fx, "t2/s", 2, "t2/s#2.1");
    delete(&fx, "t1", 3);
    upsert(&fx, "", 9, "root#9.0");
    let second = airbyte(
        &fx,
        &dir,
        &["read", "--catalog", catalog_arg],
        Some(&states),
    );
    let records: Vec<(String, String)> = second
        .iter()
        .filter(|m| m["type"] == "RECORD")
        .map(|m| {
            (
                m["record"]["namespace"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
                m["record"]["data"]["ref"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        records,
        [
            ("".to_string(), "9".to_string()),
            ("t1".into(), "3".into()),
            ("t2/s".into(), "2".into())
        ]
    );
    apply(&mut table, &second);
    assert_eq!(table, warehouse_now(&fx, &DATABASES));

    // t3 is deleted; the catalog still names its streams: they fail, the others are read.
    run_query(&fx, ROOT, r#"{"delete":{"database":"t3"}}"#);
    upsert(&fx, "t1/s", 1, "t1/s#1.1");
    let states = last_states(&second);
    let (ok, third) = airbyte_run(
        &fx,
        &dir,
        &["read", "--catalog", catalog_arg],
        Some(&states),
    );
    assert!(!ok);
    let errors: Vec<(String, String)> = third
        .iter()
        .filter(|m| m["type"] == "TRACE" && m["trace"]["type"] == "ERROR")
        .map(|m| {
            let e = &m["trace"]["error"];
            (
                e["stream_descriptor"]["namespace"]
                    .as_str()
                    .unwrap()
                    .to_string(),
                e["message"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let gone = |ns: &str| {
        format!("database '{ns}' cannot be read with the key (Fauna: Fauna answered HTTP 401: unauthorized: Unauthorized): it was deleted, or the key no longer reaches it; discover the streams again")
    };
    assert_eq!(
        errors,
        [
            ("t3".to_string(), gone("t3")),
            ("t3/s".to_string(), gone("t3/s"))
        ]
    );
    apply(&mut table, &third);
    table.retain(|(db, _), _| !db.starts_with("t3"));
    let live: Vec<&str> = DATABASES
        .iter()
        .copied()
        .filter(|d| !d.starts_with("t3"))
        .collect();
    assert_eq!(table, warehouse_now(&fx, &live));
}

/// A sync of the tree killed (as by SIGKILL) at several points across its databases — a
/// batch listed in the manifest before the state names it, a state being written — and run
/// again writes exactly the records of a sync never interrupted: none lost, none twice.
#[tokio::test(flavor = "multi_thread")]
async fn a_tree_sync_killed_mid_tree_resumes_exactly() {
    let fx = tree().await;
    let args = ["--databases", "recursive", "--batch-rows", "2"];
    let clean = fx.out("clean");
    sync(&fx, &clean, ROOT, &args);
    let want = all_records(&clean);
    assert_eq!(want.len(), 21);
    // 7 streams of 3 documents in batches of 2, in path order: 14 batches, the 5th t1/s's
    // first, the 8th t2's last; the 13th state write lies mid-tree too. After each crash the
    // output holds part of the tree only.
    for point in [
        "after-batch-rename:5",
        "after-batch-rename:8",
        "state-write:13",
    ] {
        let out = fx.out(&point.replace(':', "-"));
        let o = sync_cmd(&fx, &out, ROOT, &args)
            .env("FAUNA_SYNC_TEST_CRASH_AT", point)
            .output()
            .unwrap();
        assert!(!o.status.success(), "{point}: the run was not interrupted");
        let partial = all_records(&out).len();
        assert!(partial > 0 && partial < want.len(), "{point}: {partial}");
        sync(&fx, &out, ROOT, &args);
        assert_eq!(all_records(&out), want, "{point}");
        // Nothing new: the next sync adds nothing.
        sync(&fx, &out, ROOT, &args);
        assert_eq!(all_records(&out), want, "{point}");
    }
}

/// The table rebuilt from an object store's JSONL objects (`objects` of the output prefix).
fn warehouse_from_objects(objects: &BTreeMap<String, Vec<u8>>) -> BTreeMap<(String, String), Json> {
    let dir = tempfile::tempdir().unwrap();
    for (key, bytes) in objects {
        if key.ends_with(".jsonl") && key.contains("/part-") {
            let path = dir.path().join(key);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, bytes).unwrap();
        }
    }
    warehouse_from(dir.path())
}

/// The tree synced to an object store (moto's S3): a first sync, writes and a deleted tenant,
/// a second sync; the objects rebuild every live database's orders.
#[tokio::test(flavor = "multi_thread")]
async fn a_tree_synced_to_an_object_store() {
    let Some(moto) = crate::object_store::Moto::start() else {
        return;
    };
    moto.bucket("tree");
    let fx = tree().await;
    let config = fx.out("s3.config.json");
    std::fs::write(
        &config,
        r#"{"defaults": {"deletions": {"deletion_mode": "deleted_field", "column": "deleted_at"}}, "output": {"format": "jsonl"}}"#,
    )
    .unwrap();
    let url = fx.server.url();
    let run = || {
        let mut c = moto.command(&[
            "sync",
            "--endpoint",
            &url,
            "--out",
            "s3://tree/out",
            "--databases",
            "recursive",
            "--config",
            config.to_str().unwrap(),
        ]);
        c.env("FAUNA_SECRET", ROOT);
        let o = c.output().unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    };
    let store = moto.store("tree");
    run();
    let objects = crate::object_store::objects(store.as_ref(), "out").await;
    assert_eq!(
        warehouse_from_objects(&objects),
        warehouse_now(&fx, &DATABASES)
    );

    upsert(&fx, "t2/s", 3, "t2/s#3.1");
    delete(&fx, "t1", 2);
    run_query(&fx, ROOT, r#"{"delete":{"database":"t3"}}"#);
    run();
    let objects = crate::object_store::objects(store.as_ref(), "out").await;
    let live = ["", "t1", "t1/s", "t2", "t2/s"];
    assert_eq!(warehouse_from_objects(&objects), warehouse_now(&fx, &live));
}

/// `--merge-databases`: every database's `orders` in one stream `orders` (one directory, one
/// sequence of files), each database's position its own entry in the state; a sync killed
/// mid-tree and run again writes exactly the records of one never interrupted, and writes,
/// deletions, a new and a deleted tenant keep the rebuilt table equal to the databases.
#[tokio::test(flavor = "multi_thread")]
async fn merged_databases_share_one_stream_and_keep_their_own_positions() {
    let fx = tree().await;
    let args = [
        "--databases",
        "recursive",
        "--merge-databases",
        "--batch-rows",
        "2",
    ];
    let clean = fx.out("merged-clean");
    sync(&fx, &clean, ROOT, &args);
    assert_eq!(stream_dirs(&clean), ["orders"]);
    let state: Json =
        serde_json::from_str(&std::fs::read_to_string(clean.join("_state.json")).unwrap()).unwrap();
    let streams: Vec<&String> = state["streams"].as_object().unwrap().keys().collect();
    assert_eq!(
        streams,
        [
            "/orders",
            "orders",
            "t1/orders",
            "t1/s/orders",
            "t2/orders",
            "t2/s/orders",
            "t3/orders",
            "t3/s/orders"
        ]
    );
    // 7 databases of 3 documents in batches of 2: files 1..=14 of the one stream.
    assert_eq!(state["streams"]["orders"]["next_seq"], 15);
    let seqs: Vec<u64> = std::fs::read_to_string(clean.join("_manifest.jsonl"))
        .unwrap()
        .lines()
        .map(|l| {
            serde_json::from_str::<Json>(l).unwrap()["seq"]
                .as_u64()
                .unwrap()
        })
        .collect();
    assert_eq!(seqs, (1..=14).collect::<Vec<_>>());
    assert_eq!(warehouse_from(&clean), warehouse_now(&fx, &DATABASES));

    let out = fx.out("merged-crash");
    let o = sync_cmd(&fx, &out, ROOT, &args)
        .env("FAUNA_SYNC_TEST_CRASH_AT", "after-batch-rename:5")
        .output()
        .unwrap();
    assert!(!o.status.success());
    sync(&fx, &out, ROOT, &args);
    assert_eq!(all_records(&out), all_records(&clean));

    upsert(&fx, "t1/s", 1, "t1/s#1.1");
    delete(&fx, "t2", 2);
    create_database(&fx, "", "t4");
    upsert(&fx, "t4", 5, "t4#5.0");
    run_query(&fx, ROOT, r#"{"delete":{"database":"t3"}}"#);
    sync(&fx, &out, ROOT, &args);
    assert_eq!(stream_dirs(&out), ["orders"]);
    let live = ["", "t1", "t1/s", "t2", "t2/s", "t4"];
    assert_eq!(warehouse_from(&out), warehouse_now(&fx, &live));
}

/// A server key cannot list databases: a recursive run reads its own database and says which
/// subtree it left out, instead of passing over it in silence.
#[tokio::test(flavor = "multi_thread")]
async fn a_key_that_cannot_list_databases_is_told_what_was_left_out() {
    let fx = tree().await;
    let key = run_query(&fx, ROOT, r#"{"create_key":{"object":{"role":"server"}}}"#);
    let secret = key["resource"]["secret"].as_str().unwrap().to_string();
    let out = fx.out("server-key");
    let o = sync(&fx, &out, &secret, &["--databases", "recursive"]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        stderr.contains("The key cannot list the child databases of the key's own database (Fauna: Fauna answered HTTP 403: permission denied"),
        "{stderr}"
    );
    assert!(
        stderr.contains("its subtree is left out (listing databases needs an admin key)"),
        "{stderr}"
    );
    assert!(!stderr.contains(&secret));
    assert_eq!(stream_dirs(&out), ["orders"]);
    assert_eq!(warehouse_from(&out), warehouse_now(&fx, &[""]),);
}

/// `fauna-sync load` of a tree's output: one table per stream, each row with its `database`;
/// a merged output is refused (load keys rows by ref alone).
#[tokio::test(flavor = "multi_thread")]
async fn a_trees_output_loads_into_postgres_with_its_database_column() {
    let Some(pg) = crate::load_pg::Pg::start() else {
        return;
    };
    let fx = tree().await;
    let out = fx.out("load");
    sync(&fx, &out, ROOT, &["--databases", "recursive"]);
    let url = pg.database("trees").await;
    let load = |out: &Path| {
        Command::new(env!("CARGO_BIN_EXE_fauna-sync"))
            .args(["load", "--out", out.to_str().unwrap(), "--into", &url])
            .env_remove("FAUNA_SYNC_TEST_CRASH_AT")
            .output()
            .unwrap()
    };
    let o = load(&out);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let c = crate::load_pg::connect(&url).await;
    for path in DATABASES {
        let table = match path {
            "" => "orders".to_string(),
            p => format!("{p}/orders"),
        };
        let rows: Vec<(String, String)> = c
            .query(
                &format!(r#"SELECT id, database FROM public."{table}" ORDER BY id"#),
                &[],
            )
            .await
            .unwrap()
            .into_iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect();
        let want: Vec<(String, String)> =
            (1..=3).map(|i| (i.to_string(), path.to_string())).collect();
        assert_eq!(rows, want, "{table}");
    }

    let merged = fx.out("load-merged");
    sync(
        &fx,
        &merged,
        ROOT,
        &["--databases", "recursive", "--merge-databases"],
    );
    let o = load(&merged);
    assert!(!o.status.success());
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        stderr.contains("stream 'orders' merges the databases of a tree (merge_databases)"),
        "{stderr}"
    );
}
