//! Least privilege (issue 13, `spec/errors.md` "Least privilege"): the seed's
//! `connect-readonly` role (read on `Collections()`, `Indexes()`, the collection and its
//! `[ts, ref]` index) is enough for Airbyte `check`, `discover` and `read` — full refresh and
//! incremental with deletions — and a key that cannot read the collection, or its index, fails
//! clearly in every mode that needs it. (`export` and `sync` with that role: `sync.rs`,
//! `integrity.rs`.)

use std::path::Path;
use std::process::{Command, Output, Stdio};

use crate::support::{execute, Fixture};

const SCHEMA: &str = r#"{
  "collections": [{"name": "things", "history_days": null}],
  "indexes": [{"name": "things_ts", "source": "things", "values": [{"field": "ts"}, {"field": "ref"}]}],
  "roles": [
    {"name": "connect-readonly", "privileges": [
      {"resource": {"collections": null}, "actions": {"read": true}},
      {"resource": {"indexes": null}, "actions": {"read": true}},
      {"resource": {"collection": "things"}, "actions": {"read": true}},
      {"resource": {"index": "things_ts"}, "actions": {"read": true}}]},
    {"name": "no-collection", "privileges": [
      {"resource": {"collections": null}, "actions": {"read": true}},
      {"resource": {"indexes": null}, "actions": {"read": true}},
      {"resource": {"index": "things_ts"}, "actions": {"read": true}}]},
    {"name": "no-indexes", "privileges": [
      {"resource": {"collections": null}, "actions": {"read": true}},
      {"resource": {"collection": "things"}, "actions": {"read": true}},
      {"resource": {"index": "things_ts"}, "actions": {"read": true}}]},
    {"name": "no-index", "privileges": [
      {"resource": {"collections": null}, "actions": {"read": true}},
      {"resource": {"indexes": null}, "actions": {"read": true}},
      {"resource": {"collection": "things"}, "actions": {"read": true}}]}
  ],
  "keys": [
    {"secret": "fnTestServer", "role": "server"},
    {"secret": "fnConnect", "role": {"role": "connect-readonly"}},
    {"secret": "fnNoCollection", "role": {"role": "no-collection"}},
    {"secret": "fnNoIndex", "role": {"role": "no-index"}},
    {"secret": "fnNoIndexes", "role": {"role": "no-indexes"}}
  ]
}"#;

fn docs() -> String {
    crate::support::numbered_docs(3)
}

fn config(dir: &Path, port: u16, secret: &str) -> std::path::PathBuf {
    let path = dir.join(format!("{secret}.json"));
    std::fs::write(
        &path,
        format!(
            r#"{{"domain": "127.0.0.1", "port": {port}, "scheme": "http", "secret": "{secret}", "max_retries": 0,
 "collection": {{"name": "things", "index": "things_ts", "page_size": 2,
                 "deletions": {{"deletion_mode": "deleted_field", "column": "deleted_at"}}}}}}"#
        ),
    )
    .unwrap();
    path
}

async fn run(args: &[&str], files: &[&Path]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_fauna-sync"));
    c.args(args)
        .args(files)
        .env_remove("FAUNA_SECRET")
        .env_remove("RUST_LOG")
        .env_remove("FAUNA_SYNC_TEST_CRASH_AT")
        .stdin(Stdio::null());
    tokio::task::spawn_blocking(move || c.output().unwrap())
        .await
        .unwrap()
}

/// `command --config cfg [--catalog …] [--state …]`, as a list of Airbyte messages.
async fn airbyte(
    command: &str,
    cfg: &Path,
    catalog: Option<&Path>,
    state: Option<&Path>,
) -> (Option<i32>, Vec<serde_json::Value>) {
    let mut args = vec![
        command.to_string(),
        "--config".into(),
        cfg.display().to_string(),
    ];
    if let Some(c) = catalog {
        args.extend(["--catalog".into(), c.display().to_string()]);
    }
    if let Some(s) = state {
        args.extend(["--state".into(), s.display().to_string()]);
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let o = run(&args, &[]).await;
    let messages = String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    (o.status.code(), messages)
}

fn of_type<'a>(messages: &'a [serde_json::Value], t: &str) -> Vec<&'a serde_json::Value> {
    messages.iter().filter(|m| m["type"] == t).collect()
}

/// The records' `(ref, deleted)` in order.
fn records(messages: &[serde_json::Value]) -> Vec<(String, bool)> {
    of_type(messages, "RECORD")
        .iter()
        .map(|m| {
            let data = &m["record"]["data"];
            (
                data["ref"].as_str().unwrap().to_string(),
                !data["deleted_at"].is_null(),
            )
        })
        .collect()
}

/// The TRACE error's failure_type and message.
fn trace_error(messages: &[serde_json::Value]) -> (String, String) {
    let e = &of_type(messages, "TRACE")
        .into_iter()
        .rfind(|m| m["trace"]["type"] == "ERROR")
        .unwrap_or_else(|| panic!("no TRACE error in {messages:?}"))["trace"]["error"];
    (
        e["failure_type"].as_str().unwrap().to_string(),
        e["message"].as_str().unwrap().to_string(),
    )
}

fn catalog(dir: &Path, mode: &str) -> std::path::PathBuf {
    let path = dir.join(format!("catalog-{mode}.json"));
    std::fs::write(
        &path,
        format!(r#"{{"streams": [{{"stream": {{"name": "things"}}, "sync_mode": "{mode}"}}]}}"#),
    )
    .unwrap();
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_connect_readonly_role_is_enough_for_every_airbyte_command() {
    let fx = Fixture::start(SCHEMA, &[("things", docs())]).await;
    let dir = fx.dir.path();
    let cfg = config(dir, fx.server.addr().port(), "fnConnect");

    let (code, m) = airbyte("check", &cfg, None, None).await;
    assert_eq!(
        (code, &m[0]["connectionStatus"]["status"]),
        (Some(0), &"SUCCEEDED".into())
    );
    let (code, m) = airbyte("discover", &cfg, None, None).await;
    assert_eq!(code, Some(0));
    let stream = &of_type(&m, "CATALOG")[0]["catalog"]["streams"][0];
    assert_eq!(stream["name"], "things");
    assert_eq!(
        stream["supported_sync_modes"],
        serde_json::json!(["full_refresh", "incremental"])
    );

    let want: Vec<(String, bool)> = ["1", "2", "3"]
        .iter()
        .map(|i| (i.to_string(), false))
        .collect();
    let (code, m) = airbyte("read", &cfg, Some(&catalog(dir, "full_refresh")), None).await;
    assert_eq!((code, records(&m)), (Some(0), want.clone()));

    let incremental = catalog(dir, "incremental");
    let (code, m) = airbyte("read", &cfg, Some(&incremental), None).await;
    assert_eq!((code, records(&m)), (Some(0), want));
    let state = dir.join("state.json");
    let save_state = |m: &[serde_json::Value]| {
        let last = (*of_type(m, "STATE").last().unwrap()).clone();
        std::fs::write(&state, format!("[{}]", last["state"])).unwrap();
    };
    save_state(&m);

    // A change and a deletion, read incrementally with the same key: deletion tracking needs
    // nothing beyond the role.
    let update = r#"{"update":{"ref":{"collection":"things"},"id":"2"},"params":{"object":{"data":{"object":{"n":20}}}}}"#;
    let delete = r#"{"delete":{"ref":{"collection":"things"},"id":"3"}}"#;
    for q in [update, delete] {
        assert_eq!(execute(&fx.engine, "fnTestServer", q).status, 200, "{q}");
    }
    let (code, m) = airbyte("read", &cfg, Some(&incremental), Some(&state)).await;
    assert_eq!(
        (code, records(&m)),
        (
            Some(0),
            vec![("2".to_string(), false), ("3".to_string(), true)]
        )
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_that_cannot_read_the_collection_fails_clearly_in_every_mode() {
    let fx = Fixture::start(SCHEMA, &[("things", docs())]).await;
    let dir = fx.dir.path();
    let cfg = config(dir, fx.server.addr().port(), "fnNoCollection");
    let denied = "Fauna answered HTTP 403: permission denied: Insufficient privileges to perform the action.";

    for command in ["export", "sync"] {
        let out = dir.join(format!("out-{command}"));
        let o = run(&[command, "--out"], &[&out, Path::new("--config"), &cfg]).await;
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "{command}: {stderr}");
        assert_eq!(
            stderr,
            format!(
                "error: the key cannot read the documents of collection 'things' (Fauna: {denied}); give its role read on Collection(\"things\") — the connect-readonly role of spec/errors.md has read on Collections(), Indexes(), the collection and its index — or use another key\n\
                 Grant the privilege or access named above (to the key's role, or to the user or credentials writing the output), or use another key; committed files stay valid.\n"
            ),
            "{command}"
        );
        // Nothing was recorded: a later run with the right key exports everything.
        assert!(!out.join("_state.json").exists(), "{command}");
    }

    let airbyte_message = format!(
        "The key lacks a privilege needed for reading the documents of collection 'things' ({denied}). Grant it read access or use another key."
    );
    let (code, m) = airbyte("check", &cfg, None, None).await;
    assert_eq!(code, Some(0));
    assert_eq!(
        m[0]["connectionStatus"],
        serde_json::json!({"status": "FAILED", "message": airbyte_message})
    );
    let (code, m) = airbyte("discover", &cfg, None, None).await;
    assert_eq!(
        (code, trace_error(&m)),
        (Some(1), ("config_error".to_string(), airbyte_message))
    );
    for mode in ["full_refresh", "incremental"] {
        let (code, m) = airbyte("read", &cfg, Some(&catalog(dir, mode)), None).await;
        let (failure_type, message) = trace_error(&m);
        assert_eq!(
            (code, failure_type.as_str()),
            (Some(1), "config_error"),
            "{mode}"
        );
        assert!(
            message.starts_with("the key cannot read the documents of collection 'things'"),
            "{mode}: {message}"
        );
        assert!(
            records(&m).is_empty() && of_type(&m, "STATE").is_empty(),
            "{mode}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_that_cannot_read_the_index_fails_clearly_where_the_index_is_needed() {
    let fx = Fixture::start(SCHEMA, &[("things", docs())]).await;
    let dir = fx.dir.path();
    let cfg = config(dir, fx.server.addr().port(), "fnNoIndex");
    let denied = "Fauna answered HTTP 403: permission denied: Insufficient privileges to perform the action.";

    // sync reads changes through the index: refused before the first export, although the key
    // may read the index document (read on Indexes()).
    let out = dir.join("out-sync");
    let o = run(&["sync", "--out"], &[&out, Path::new("--config"), &cfg]).await;
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("the key cannot read the entries of its index 'things_ts' (grant read on Index(\"things_ts\"))"),
        "{stderr}"
    );
    assert!(!out.join("_state.json").exists());

    // check and discover check the configured index.
    let index_message = format!(
        "The key lacks a privilege needed for reading the entries of index 'things_ts' ({denied} (at paginate)). Grant it read access or use another key."
    );
    let (code, m) = airbyte("check", &cfg, None, None).await;
    assert_eq!(code, Some(0));
    assert_eq!(
        m[0]["connectionStatus"],
        serde_json::json!({"status": "FAILED", "message": index_message})
    );
    let (code, m) = airbyte("discover", &cfg, None, None).await;
    assert_eq!(
        (code, trace_error(&m)),
        (Some(1), ("config_error".to_string(), index_message))
    );

    // A full export and a full refresh do not need the index (the collection keeps history).
    let o = run(
        &["export", "--out"],
        &[&dir.join("out-export"), Path::new("--config"), &cfg],
    )
    .await;
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let (code, m) = airbyte("read", &cfg, Some(&catalog(dir, "full_refresh")), None).await;
    assert_eq!((code, records(&m).len()), (Some(0), 3));
    // An incremental read without a readable index is read in full, saying why.
    let (code, m) = airbyte("read", &cfg, Some(&catalog(dir, "incremental")), None).await;
    assert_eq!((code, records(&m).len()), (Some(0), 3));
    let warnings: Vec<&str> = of_type(&m, "LOG")
        .iter()
        .filter(|l| l["log"]["level"] == "WARN")
        .map(|l| l["log"]["message"].as_str().unwrap())
        .collect();
    assert_eq!(
        warnings,
        ["stream 'things' is read in full refresh: incremental needs a [ts, ref] index (the key cannot read the entries of its index 'things_ts' (grant read on Index(\"things_ts\")))"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_that_cannot_read_indexes_cannot_check_a_configured_index() {
    // Get(Index(i)) is checked against read on Indexes(), not on the index.
    let fx = Fixture::start(SCHEMA, &[("things", docs())]).await;
    let dir = fx.dir.path();
    let cfg = config(dir, fx.server.addr().port(), "fnNoIndexes");
    let out = dir.join("out-sync");
    let o = run(&["sync", "--out"], &[&out, Path::new("--config"), &cfg]).await;
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("the key cannot read its configured index 'things_ts' (grant read on Indexes() and Index(\"things_ts\"))"),
        "{stderr}"
    );
    let (code, m) = airbyte("check", &cfg, None, None).await;
    assert_eq!(code, Some(0));
    assert_eq!(
        m[0]["connectionStatus"],
        serde_json::json!({"status": "FAILED", "message": "The key lacks a privilege needed for reading index 'things_ts' (Fauna answered HTTP 403: permission denied: Insufficient privileges to perform the action.). Grant it read access or use another key."})
    );
}
