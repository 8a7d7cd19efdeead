//! One collection's failure does not starve the others (issue 22, bug 3): `sync` and Airbyte
//! `read`, through the binary, report the failed collection, read every other one and commit
//! its state, and exit non-zero with the first failure's kind (`spec/errors.md`, "One
//! collection's failure"). Time passes by moving fauna-dev's clock, never by sleeping.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use fauna_sync::sink::read_manifest;
use fauna_sync::state::{Position, State};
use serde_json::{json, Value as Json};

use crate::support::{execute, Fixture};

/// `foo` keeps history for 15 minutes (`history_days` 0); `bar` forever; `bare` has no
/// `[ts, ref]` index.
const SCHEMA: &str = r#"{
  "collections": [{"name": "foo", "history_days": 0}, {"name": "bar", "history_days": null},
                  {"name": "bare", "history_days": null}],
  "indexes": [
    {"name": "foo_ts", "source": "foo", "values": [{"field": "ts"}, {"field": "ref"}]},
    {"name": "bar_ts", "source": "bar", "values": [{"field": "ts"}, {"field": "ref"}]}
  ],
  "keys": [{"secret": "fnTestServer", "role": "server"}]
}"#;

/// `foo` tracks deletions and stops at a history gap; `bar` comes after it.
const FOO_STOPS: &str = r#"{"name": "foo", "deletions": {"deletion_mode": "deleted_field", "column": "deleted_at", "history_gap": "stop"}}"#;

fn write(fx: &Fixture, query: &str) {
    let r = execute(&fx.engine, "fnTestServer", query);
    assert!(r.status == 200 || r.status == 201, "{query}: {}", r.body);
}

fn create_q(coll: &str, id: &str, n: i64) -> String {
    format!(
        r#"{{"create":{{"ref":{{"collection":"{coll}"}},"id":"{id}"}},"params":{{"object":{{"data":{{"object":{{"n":{n}}}}}}}}}}}"#
    )
}

fn update_q(coll: &str, id: &str, n: i64) -> String {
    format!(
        r#"{{"update":{{"ref":{{"collection":"{coll}"}},"id":"{id}"}},"params":{{"object":{{"data":{{"object":{{"n":{n}}}}}}}}}}}"#
    )
}

fn delete_q(coll: &str, id: &str) -> String {
    format!(r#"{{"delete":{{"ref":{{"collection":"{coll}"}},"id":"{id}"}}}}"#)
}

/// A config file for the fixture with `collections` (JSON objects).
fn config(fx: &Fixture, name: &str, collections: &[&str]) -> PathBuf {
    let path = fx.dir.path().join(name);
    let port = fx.server.addr().port();
    std::fs::write(
        &path,
        format!(
            r#"{{"domain": "127.0.0.1", "port": {port}, "scheme": "http", "secret": "fnTestServer", "max_retries": 0,
 "collections": [{}], "output": {{"format": "jsonl"}}}}"#,
            collections.join(", ")
        ),
    )
    .unwrap();
    path
}

async fn run(args: Vec<String>) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_fauna-sync"));
    c.args(args)
        .env_remove("FAUNA_SECRET")
        .env_remove("RUST_LOG")
        .env_remove("FAUNA_SYNC_TEST_CRASH_AT")
        .env_remove("GITHUB_STEP_SUMMARY")
        .stdin(Stdio::null());
    tokio::task::spawn_blocking(move || c.output().unwrap())
        .await
        .unwrap()
}

async fn sync(config: &Path, out: &Path) -> Output {
    run(vec![
        "sync".into(),
        "--config".into(),
        config.display().to_string(),
        "--out".into(),
        out.display().to_string(),
    ])
    .await
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The records `(ref, n, deleted)` of `stream`'s files from manifest entry `from` on.
fn records(out: &Path, stream: &str, from: usize) -> Vec<(String, Option<i64>, bool)> {
    let mut v = Vec::new();
    for f in read_manifest(out).unwrap().into_iter().skip(from) {
        if f.stream != stream {
            continue;
        }
        for line in std::fs::read_to_string(out.join(&f.path)).unwrap().lines() {
            let r: Json = serde_json::from_str(line).unwrap();
            v.push((
                r["ref"].as_str().unwrap().to_string(),
                r["data"]["n"].as_i64(),
                !r["deleted_at"].is_null(),
            ));
        }
    }
    v
}

fn synced_to(state: &State, stream: &str) -> i64 {
    match state.streams[stream].position {
        Position::Synced { to } => to,
        ref other => panic!("{stream}: {other:?}"),
    }
}

/// The history gap's message for a collection last synced `minutes` ago.
fn gap_message(collection: &str, minutes: i64) -> String {
    format!(
        "collection '{collection}' was last synced {minutes} minutes ago, longer than Fauna keeps its history (history_days plus 15 minutes), so deletions in between may be lost; nothing was read. Set \"history_gap\": \"reconcile\" in the collection's \"deletions\" to detect them by comparing ids (or \"resync\" to read the collection again in full), run sync more often (or raise the collection's history_days), or delete this collection's output and state to export it again"
    )
}

/// Before the fix, `foo`'s gap stopped the run before `bar` was read, on every run.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_goes_on_past_a_collection_over_its_history_gap_and_commits_the_others() {
    let fx = Fixture::start(SCHEMA, &[]).await;
    let cfg = config(&fx, "gap.json", &[FOO_STOPS, r#"{"name": "bar"}"#]);
    let out = fx.out("gap");
    write(&fx, &create_q("foo", "1", 1));
    write(&fx, &create_q("bar", "1", 1));
    let first = sync(&cfg, &out).await;
    assert_eq!(first.status.code(), Some(0), "{}", stderr(&first));
    let before = State::load(&out.join("_state.json")).unwrap();
    let files = read_manifest(&out).unwrap().len();

    // An hour later foo's last sync is older than its history; bar changed meanwhile.
    write(&fx, &delete_q("foo", "1"));
    write(&fx, &create_q("bar", "2", 2));
    write(&fx, &update_q("bar", "1", 10));
    fx.engine.advance_clock(Duration::from_secs(3600));
    let second = sync(&cfg, &out).await;
    let err = stderr(&second);
    assert_eq!(second.status.code(), Some(1), "{err}");
    let lines: Vec<&str> = err.lines().collect();
    let failed = format!("foo: failed: {}", gap_message("foo", 60));
    assert!(lines.contains(&failed.as_str()), "{err}");
    assert!(
        lines.contains(&"error: 1 of 2 collection(s) failed: foo (reasons above); what the others read is committed"),
        "{err}"
    );
    // bar: exactly its two changes, in ts order; foo: nothing.
    assert_eq!(
        records(&out, "bar", files),
        [("2".into(), Some(2), false), ("1".into(), Some(10), false)]
    );
    assert_eq!(records(&out, "foo", files), []);
    // bar's window is committed; foo's state is as the first run left it.
    let after = State::load(&out.join("_state.json")).unwrap();
    assert!(synced_to(&after, "bar") > synced_to(&before, "bar") + 3_600_000_000);
    assert_eq!(after.streams["foo"], before.streams["foo"]);
    // The next run fails the same way and reads nothing new for bar.
    let files = read_manifest(&out).unwrap().len();
    let third = sync(&cfg, &out).await;
    assert_eq!(third.status.code(), Some(1), "{}", stderr(&third));
    assert_eq!(read_manifest(&out).unwrap().len(), files);
}

/// A collection whose index is missing is named, with the FQL that creates one; the others
/// are synced and recorded, the failed one is not (a later run exports it in full). Exit 2,
/// the index failure's kind.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_collection_without_an_index_is_reported_while_the_others_are_synced() {
    let fx = Fixture::start(SCHEMA, &[]).await;
    let cfg = config(
        &fx,
        "noindex.json",
        &[r#"{"name": "bare"}"#, r#"{"name": "bar"}"#],
    );
    let out = fx.out("noindex");
    write(&fx, &create_q("bar", "1", 1));
    write(&fx, &create_q("bare", "1", 1));
    let o = sync(&cfg, &out).await;
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    let lines: Vec<&str> = err.lines().collect();
    assert!(
        lines.contains(&r#"bare: failed: collection 'bare' cannot be synced incrementally: no index the key can read has source the collection, no terms and values [ts, ref]. Create the index with CreateIndex({name: "bare_by_ts", source: Collection("bare"), terms: [], values: [{field: ["ts"]}, {field: ["ref"]}]}) (or name a fitting one in "index")"#),
        "{err}"
    );
    assert!(
        lines.contains(&"error: 1 of 2 collection(s) failed: bare (reasons above); what the others read is committed"),
        "{err}"
    );
    assert_eq!(records(&out, "bar", 0), [("1".into(), Some(1), false)]);
    let state = State::load(&out.join("_state.json")).unwrap();
    assert_eq!(state.streams.keys().collect::<Vec<_>>(), ["bar"]);
    synced_to(&state, "bar");
}

/// A document of `foo` that cannot be exported (a required column missing) fails `foo` after
/// one of its batches was committed: the batch being written is dropped, `bar` is exported,
/// and once the document is fixed the next run resumes `foo` where it stood — every document
/// exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_data_error_fails_its_collection_mid_read_and_the_next_run_resumes_it_exactly_once() {
    let fx = Fixture::start(SCHEMA, &[]).await;
    for i in 1..=5 {
        write(&fx, &create_q("bar", &i.to_string(), i));
    }
    for i in 1..=5 {
        let q = if i == 4 {
            r#"{"create":{"ref":{"collection":"foo"},"id":"4"},"params":{"object":{"data":{"object":{}}}}}"#.to_string()
        } else {
            create_q("foo", &i.to_string(), i)
        };
        write(&fx, &q);
    }
    let foo = r#"{"name": "foo", "page_size": 2, "additional_columns": [{"name": "m", "path": ["data", "n"], "type": "integer", "required": true}]}"#;
    let cfg = config(
        &fx,
        "data.json",
        &[foo, r#"{"name": "bar", "page_size": 2}"#],
    );
    let out = fx.out("data");
    let export = |cfg: PathBuf, out: PathBuf| {
        run(vec![
            "export".into(),
            "--config".into(),
            cfg.display().to_string(),
            "--out".into(),
            out.display().to_string(),
            "--batch-rows".into(),
            "2".into(),
            "--concurrency".into(),
            "1".into(),
        ])
    };
    let o = export(cfg.clone(), out.clone()).await;
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.lines().any(|l| l == r#"foo: failed: the path ["data", "n"] does not exist in document 4 of collection 'foo' (column 'm' is required; mark it "required": false to export null instead)"#),
        "{err}"
    );
    let ids = |out: &Path, stream: &str| -> Vec<String> {
        records(out, stream, 0).into_iter().map(|r| r.0).collect()
    };
    assert_eq!(ids(&out, "foo"), ["1", "2"]);
    assert_eq!(ids(&out, "bar"), ["1", "2", "3", "4", "5"]);
    // Only committed files are left: the dropped batch's file is gone.
    let foo_files: Vec<String> = crate::support::files_below(&out.join("foo"));
    assert_eq!(foo_files.len(), 1, "{foo_files:?}");

    write(&fx, &update_q("foo", "4", 4));
    let o = export(cfg, out.clone()).await;
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    // foo keeps history briefly, so it is exported by a scan and a catch-up through its index:
    // the document changed after the scan began comes with the catch-up, once.
    assert_eq!(ids(&out, "foo"), ["1", "2", "3", "5", "4"]);
    assert_eq!(ids(&out, "bar"), ["1", "2", "3", "4", "5"]);
}

/// A key that cannot read `foo`'s documents: `foo` is named with the privilege to grant and
/// nothing is recorded for it; `bar` is synced. Exit 1 (permission).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_collection_the_key_cannot_read_is_reported_while_the_others_are_synced() {
    let schema = SCHEMA.replace(
        r#""keys": [{"secret": "fnTestServer", "role": "server"}]"#,
        r#""roles": [{"name": "bar-only", "privileges": [
            {"resource": {"collections": null}, "actions": {"read": true}},
            {"resource": {"indexes": null}, "actions": {"read": true}},
            {"resource": {"collection": "bar"}, "actions": {"read": true}},
            {"resource": {"index": "bar_ts"}, "actions": {"read": true}},
            {"resource": {"index": "foo_ts"}, "actions": {"read": true}}]}],
  "keys": [{"secret": "fnTestServer", "role": "server"}, {"secret": "fnBarOnly", "role": {"role": "bar-only"}}]"#,
    );
    let fx = Fixture::start(&schema, &[]).await;
    write(&fx, &create_q("bar", "1", 1));
    let cfg = config(
        &fx,
        "perm.json",
        &[r#"{"name": "foo"}"#, r#"{"name": "bar"}"#],
    );
    let text = std::fs::read_to_string(&cfg)
        .unwrap()
        .replace("fnTestServer", "fnBarOnly");
    std::fs::write(&cfg, text).unwrap();
    let out = fx.out("perm");
    let o = sync(&cfg, &out).await;
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.lines().any(|l| l.starts_with("foo: failed: the key cannot read the documents of collection 'foo' (Fauna: Fauna answered HTTP 403: permission denied")),
        "{err}"
    );
    assert!(
        err.lines().any(|l| l == "error: 1 of 2 collection(s) failed: foo (reasons above); what the others read is committed"),
        "{err}"
    );
    assert_eq!(records(&out, "bar", 0), [("1".into(), Some(1), false)]);
    let state = State::load(&out.join("_state.json")).unwrap();
    assert_eq!(state.streams.keys().collect::<Vec<_>>(), ["bar"]);
}

/// `fauna-sync read` with `[foo, bar]`: the messages, each with its `emitted_at` removed.
async fn airbyte_read(fx: &Fixture, state: Option<&Json>) -> (Option<i32>, Vec<Json>) {
    let dir = fx.dir.path();
    let port = fx.server.addr().port();
    let cfg = dir.join("airbyte.json");
    std::fs::write(
        &cfg,
        format!(
            r#"{{"domain": "127.0.0.1", "port": {port}, "scheme": "http", "secret": "fnTestServer", "max_retries": 0,
 "collections": [{FOO_STOPS}, {{"name": "bar"}}]}}"#
        ),
    )
    .unwrap();
    let catalog = dir.join("catalog.json");
    let stream = |name: &str| {
        json!({"stream": {"name": name, "json_schema": {"type": "object"},
               "supported_sync_modes": ["full_refresh", "incremental"]},
               "sync_mode": "incremental", "destination_sync_mode": "append"})
    };
    std::fs::write(
        &catalog,
        json!({"streams": [stream("foo"), stream("bar")]}).to_string(),
    )
    .unwrap();
    let mut args = vec![
        "read".to_string(),
        "--config".into(),
        cfg.display().to_string(),
        "--catalog".into(),
        catalog.display().to_string(),
    ];
    if let Some(s) = state {
        let path = dir.join("state.json");
        std::fs::write(&path, s.to_string()).unwrap();
        args.extend(["--state".into(), path.display().to_string()]);
    }
    let o = run(args).await;
    let messages = String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(|l| {
            let mut m: Json = serde_json::from_str(l).unwrap();
            for payload in ["record", "trace"] {
                if let Some(p) = m.get_mut(payload).and_then(Json::as_object_mut) {
                    p.remove("emitted_at");
                }
            }
            m
        })
        .collect();
    (o.status.code(), messages)
}

fn status(stream: &str, status: &str) -> Json {
    json!({"type": "TRACE", "trace": {"type": "STREAM_STATUS",
           "stream_status": {"stream_descriptor": {"name": stream}, "status": status}}})
}

/// Before the fix, `foo`'s gap ended the read with `foo` INCOMPLETE and `bar` never
/// started, on every scheduled run until someone reset `foo`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn airbyte_read_goes_on_past_a_stream_over_its_history_gap() {
    let fx = Fixture::start(SCHEMA, &[]).await;
    write(&fx, &create_q("foo", "1", 1));
    write(&fx, &create_q("bar", "1", 1));
    let (code, first) = airbyte_read(&fx, None).await;
    assert_eq!(code, Some(0), "{first:?}");
    let last_state = |messages: &[Json], stream: &str| -> Json {
        messages
            .iter()
            .rev()
            .find(|m| {
                m["type"] == "STATE" && m["state"]["stream"]["stream_descriptor"]["name"] == stream
            })
            .map(|m| m["state"].clone())
            .unwrap()
    };
    let states = json!([last_state(&first, "foo"), last_state(&first, "bar")]);

    write(&fx, &delete_q("foo", "1"));
    write(&fx, &create_q("bar", "2", 2));
    write(&fx, &update_q("bar", "1", 10));
    fx.engine.advance_clock(Duration::from_secs(3600));
    let (code, m) = airbyte_read(&fx, Some(&states)).await;
    assert_eq!(code, Some(1), "{m:#?}");

    // bar's records and its STATEs: the window opened (0 records), then closed with both.
    let records: Vec<&Json> = m.iter().filter(|m| m["type"] == "RECORD").collect();
    let bar_records: Vec<(Json, Json)> = records
        .iter()
        .map(|r| {
            (
                r["record"]["data"]["ref"].clone(),
                r["record"]["data"]["data"].clone(),
            )
        })
        .collect();
    assert_eq!(
        bar_records,
        [
            (json!("2"), json!({"n": 2})),
            (json!("1"), json!({"n": 10}))
        ]
    );
    assert!(records.iter().all(|r| r["record"]["stream"] == "bar"));
    let bar_states: Vec<&Json> = m.iter().filter(|m| m["type"] == "STATE").collect();
    assert!(bar_states
        .iter()
        .all(|s| s["state"]["stream"]["stream_descriptor"] == json!({"name": "bar"})));
    let counts: Vec<f64> = bar_states
        .iter()
        .map(|s| s["state"]["sourceStats"]["recordCount"].as_f64().unwrap())
        .collect();
    assert_eq!(counts, [0.0, 2.0]);
    let end = &bar_states[1]["state"]["stream"]["stream_state"];
    let was = &states[1]["stream"]["stream_state"]["position"]["to"];
    assert_eq!(end["position"]["at"], "synced");
    assert!(end["position"]["to"].as_i64().unwrap() > was.as_i64().unwrap() + 3_600_000_000);

    // The whole conversation: foo fails at once, bar is read, the failure is reported last.
    let shape: Vec<Json> = m
        .iter()
        .map(|msg| match msg["type"].as_str() {
            Some("RECORD") => json!("RECORD bar"),
            Some("STATE") => json!("STATE bar"),
            Some("LOG") => json!(format!("LOG {}", msg["log"]["level"].as_str().unwrap())),
            _ => msg.clone(),
        })
        .collect();
    let error = json!({"type": "TRACE", "trace": {"type": "ERROR", "error": {
        "message": gap_message("foo", 60), "failure_type": "system_error",
        "stream_descriptor": {"name": "foo"}}}});
    assert_eq!(
        shape,
        [
            status("foo", "STARTED"),
            status("foo", "RUNNING"),
            status("foo", "INCOMPLETE"),
            status("bar", "STARTED"),
            status("bar", "RUNNING"),
            json!("STATE bar"),
            json!("RECORD bar"),
            json!("RECORD bar"),
            json!("STATE bar"),
            status("bar", "COMPLETE"),
            json!("LOG INFO"),
            error,
        ]
    );
    let summary = m[10]["log"]["message"].as_str().unwrap();
    assert!(
        summary.starts_with("Read 2 stream(s), 1 failed ('foo'): "),
        "{summary}"
    );
}
