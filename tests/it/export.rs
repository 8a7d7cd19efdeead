//! Full exports against an in-process fauna-dev: exact records, and exactly-once resume after
//! crashes of the real binary at its commit points.

use std::collections::BTreeMap;
use std::path::Path;

use fauna_sync::config::Settings;
use fauna_sync::run::run_export;
use fauna_sync::sink::read_manifest;
use fauna_sync::sync::Quiet;

use crate::support::{files_below, load_settings, wire_ref, Fixture};

const SCHEMA: &str = r#"{
  "collections": [{"name": "things", "history_days": null}, {"name": "other", "history_days": null}],
  "indexes": [{"name": "things_by_ts", "source": "things", "values": [{"field": "ts"}, {"field": "ref"}]}],
  "keys": [{"secret": "fnTestServer", "role": "server"}]
}"#;

fn things() -> String {
    let other = wire_ref("other", "123");
    let lines = [
        format!(r#"{{"id":"101","ts":1658188683585000,"data":{{"s":"héllo","i":12,"d":3.5,"big":1.0E10,"b":true,"arr":[1,"x",{{"@date":"2012-02-01"}}],"nested":{{"value":15,"@odd":{{"@obj":{{"@name":"John"}}}}}},"owner":{other},"blob":{{"@bytes":"aGVsbG8gd29ybGQ="}},"seen":{{"@ts":"2022-07-18T23:58:03.585Z"}},"born":{{"@date":"2012-02-01"}},"fn":{{"@query":{{"api_version":"4","lambda":"x","expr":{{"var":"x"}}}}}},"all":{{"@ref":{{"id":"collections"}}}},"idx":{{"@ref":{{"id":"things_by_ts","collection":{{"@ref":{{"id":"indexes"}}}}}}}},"coll":{{"@ref":{{"id":"other","collection":{{"@ref":{{"id":"collections"}}}}}}}}}}}}"#),
        r#"{"id":"102","ts":1658188683586000,"data":{"s":"second","nested":{"value":20}}}"#.to_string(),
        r#"{"id":"103","ts":1658188683587000,"data":{"s":"third"}}"#.to_string(),
        r#"{"id":"102","ts":1658271973660000,"data":{"s":"second, updated","nested":{"value":21}}}"#.to_string(),
        r#"{"id":"103","ts":1658271973661000,"action":"delete"}"#.to_string(),
    ];
    lines.join("\n") + "\n"
}

fn settings(endpoint: &str, out: &Path, config: &str) -> Settings {
    let dir = out.parent().unwrap().join(format!(
        "{}.config.json",
        out.file_name().unwrap().to_string_lossy()
    ));
    std::fs::write(&dir, config).unwrap();
    load_settings(&dir, endpoint, out)
}

const COLUMNS: &str = r#"{"collection": {"name": "things", "additional_columns": [
    {"name": "nested_value", "path": ["data", "nested", "value"], "type": "integer", "required": true},
    {"name": "owner_id", "path": ["data", "owner", "id"], "type": "string", "required": false},
    {"name": "owner_collection", "path": ["data", "owner", "collection", "id"], "type": "string", "required": false}]}}"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exports_every_value_type_as_the_export_format_says() {
    let fx = Fixture::start(SCHEMA, &[("things", things())]).await;
    let out = fx.out("jsonl");
    let summary = run_export(&settings(&fx.server.url(), &out, COLUMNS), &Quiet)
        .await
        .unwrap();
    assert_eq!(
        (summary.collections, summary.docs, summary.files),
        (1, 2, 1)
    );
    let text = std::fs::read_to_string(out.join("things/part-00000001.jsonl")).unwrap();
    let want = [
        concat!(
            r#"{"ref":"101","ts":1658188683585000,"data":{"s":"héllo","i":12,"d":3.5,"big":10000000000.0,"b":true,"#,
            r#""arr":[1,"x","2012-02-01"],"nested":{"value":15,"@odd":{"@name":"John"}},"#,
            r#""owner":{"id":"123","collection":"other","type":"document"},"blob":"aGVsbG8gd29ybGQ=","#,
            r#""seen":"2022-07-18T23:58:03.585Z","born":"2012-02-01","#,
            r#""fn":"{\"@query\":{\"api_version\":\"4\",\"lambda\":\"x\",\"expr\":{\"var\":\"x\"}}}","#,
            r#""all":{"id":"collections","type":"unknown"},"idx":{"id":"things_by_ts","type":"index"},"#,
            r#""coll":{"id":"other","type":"collection"}},"nested_value":15,"owner_id":"123","owner_collection":"other"}"#
        ),
        // The updated version, at the snapshot; document 103 was deleted before it.
        r#"{"ref":"102","ts":1658271973660000,"data":{"s":"second, updated","nested":{"value":21}},"nested_value":21,"owner_id":null,"owner_collection":null}"#,
    ];
    assert_eq!(text.lines().collect::<Vec<_>>(), want);
    // The manifest lists exactly the committed file; the state says done.
    let manifest = read_manifest(&out).unwrap();
    assert_eq!(manifest.len(), 1);
    assert_eq!(
        (manifest[0].path.as_str(), manifest[0].rows),
        ("things/part-00000001.jsonl", 2)
    );
    assert_eq!(
        (manifest[0].min_ts, manifest[0].max_ts),
        (1658188683585000, 1658271973660000)
    );
    assert_eq!(
        files_below(&out),
        [
            ".fauna-sync.lock",
            "_manifest.jsonl",
            "_output.json",
            "_state.json",
            "things/part-00000001.jsonl"
        ]
    );
    // Running the same command again has nothing left to do.
    let again = run_export(&settings(&fx.server.url(), &out, COLUMNS), &Quiet)
        .await
        .unwrap();
    assert_eq!((again.docs, again.files), (0, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_required_path_stops_the_export_naming_path_document_and_collection() {
    let docs =
        things() + "{\"id\":\"104\",\"ts\":1658271973662000,\"data\":{\"s\":\"no nested\"}}\n";
    let fx = Fixture::start(SCHEMA, &[("things", docs)]).await;
    let out = fx.out("jsonl");
    let err = run_export(&settings(&fx.server.url(), &out, COLUMNS), &Quiet)
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        r#"the path ["data", "nested", "value"] does not exist in document 104 of collection 'things' (column 'nested_value' is required; mark it "required": false to export null instead)"#
    );
    // Nothing was committed for the failed batch.
    assert!(read_manifest(&out).unwrap().is_empty());
}

fn many(n: u64) -> String {
    (1..=n)
        .map(|i| {
            format!(
                r#"{{"id":"{}","ts":{},"data":{{"n":{i},"text":"document number {i}"}}}}"#,
                1000 + i,
                1_658_188_683_000_000 + i
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}

/// Runs the real binary; returns whether it exited successfully.
async fn run_binary(
    endpoint: &str,
    out: &Path,
    format: &str,
    crash_at: Option<&str>,
) -> std::process::Output {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_fauna-sync"));
    cmd.args([
        "export",
        "--endpoint",
        endpoint,
        "--collection",
        "things",
        "--format",
        format,
    ])
    .args(["--page-size", "5", "--batch-rows", "7", "--out"])
    .arg(out)
    .env("FAUNA_SECRET", "fnTestServer")
    .env_remove("FAUNA_SYNC_TEST_CRASH_AT");
    if let Some(c) = crash_at {
        cmd.env("FAUNA_SYNC_TEST_CRASH_AT", c);
    }
    tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap()
}

/// Every document id in the committed files (JSONL), with how often it occurs.
fn committed_ids(out: &Path) -> BTreeMap<String, u32> {
    let mut ids = BTreeMap::new();
    for f in read_manifest(out).unwrap() {
        let text = std::fs::read_to_string(out.join(&f.path)).unwrap();
        for line in text.lines() {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            *ids.entry(v["ref"].as_str().unwrap().to_string())
                .or_insert(0) += 1;
        }
    }
    ids
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crashes_at_every_commit_point_resume_to_exactly_once() {
    let fx = Fixture::start(SCHEMA, &[("things", many(50))]).await;
    let url = fx.server.url();

    // A clean run, for comparison.
    let clean = fx.out("clean");
    let ok = run_binary(&url, &clean, "jsonl", None).await;
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );

    // The same export, killed between pages (records of a page buffered, not committed), after
    // a batch file's rename (before its state write), in the middle of a state write, between
    // pages again, after another rename, then resumed to the end.
    let out = fx.out("crashy");
    for crash in [
        "after-page:3",
        "after-batch-rename:2",
        "state-write:2",
        "after-page:2",
        "after-batch-rename:1",
    ] {
        let r = run_binary(&url, &out, "jsonl", Some(crash)).await;
        assert!(!r.status.success(), "{crash}: expected a crash");
    }
    // The last crash left a renamed batch the state does not know: an orphan under a final name.
    let state: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("_state.json")).unwrap()).unwrap();
    let committed = state["streams"]["things"]["next_seq"].as_u64().unwrap() as usize - 1;
    assert!(out
        .join(format!("things/part-{:08}.jsonl", committed + 1))
        .exists());
    let r = run_binary(&url, &out, "jsonl", None).await;
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));

    let ids = committed_ids(&out);
    assert_eq!(ids.len(), 50);
    assert!(ids.values().all(|&n| n == 1), "duplicates: {ids:?}");
    assert_eq!(committed_ids(&clean), ids);
    // Byte-identical files, and nothing but the committed files, manifest and state.
    let listing = files_below(&out);
    assert_eq!(listing, files_below(&clean));
    for f in listing.iter().filter(|f| f.starts_with("things/")) {
        assert_eq!(
            std::fs::read(out.join(f)).unwrap(),
            std::fs::read(clean.join(f)).unwrap(),
            "{f}"
        );
    }
    // The lock, manifest, owner record and state, then the batch files.
    assert_eq!(listing.len(), 4 + 8, "50 rows in batches of 7: {listing:?}");
}

/// Runs the real binary with batches of 20 records read in pages of 3, one at a time (pages
/// that adapt to response times, or ranges read at once, would move the crash points with the
/// machine's speed).
async fn run_paged(endpoint: &str, out: &Path, format: &str, crash_at: Option<&str>) -> bool {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_fauna-sync"));
    cmd.args(["export", "--endpoint", endpoint, "--collection", "things"])
        .args([
            "--format",
            format,
            "--fixed-page-size",
            "--concurrency",
            "1",
            "--page-size",
            "3",
            "--batch-rows",
            "20",
            "--out",
        ])
        .arg(out)
        .env("FAUNA_SECRET", "fnTestServer")
        .env_remove("FAUNA_SYNC_TEST_CRASH_AT");
    if let Some(c) = crash_at {
        cmd.env("FAUNA_SYNC_TEST_CRASH_AT", c);
    }
    tokio::task::spawn_blocking(move || cmd.output().unwrap().status.success())
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_while_a_batch_streams_to_its_file_leaves_nothing_visible_and_resumes_exactly() {
    let fx = Fixture::start(SCHEMA, &[("things", many(50))]).await;
    let url = fx.server.url();
    for format in ["jsonl", "parquet"] {
        let clean = fx.out(&format!("clean-{format}"));
        assert!(run_paged(&url, &clean, format, None).await);
        // `mid-batch` is hit after each page written to the open batch file (and before its
        // fsync): the 4th hit is batch 1 with 12 of its 20 records written; the 12th is batch 2
        // with 10 of its 20 (batch 1 took 7 writes and its finish, page 7 straddles the two).
        let out = fx.out(&format!("crashy-{format}"));
        for (crash, part) in [("mid-batch:4", 1), ("mid-batch:12", 2)] {
            assert!(!run_paged(&url, &out, format, Some(crash)).await, "{crash}");
            let temp = format!("things/.part-{part:08}.{format}.tmp");
            let listing = files_below(&out);
            assert!(listing.contains(&temp), "{crash}: {listing:?}");
            // The open batch never reached its final name or the manifest.
            let visible: Vec<&String> = listing
                .iter()
                .filter(|f| f.starts_with("things/part-"))
                .collect();
            assert_eq!(visible.len(), part - 1, "{crash}: {listing:?}");
            assert_eq!(read_manifest(&out).unwrap().len(), part - 1, "{crash}");
        }
        assert!(run_paged(&url, &out, format, None).await);
        let listing = files_below(&out);
        assert_eq!(listing, files_below(&clean), "{format}");
        for f in listing.iter().filter(|f| f.starts_with("things/")) {
            assert_eq!(
                std::fs::read(out.join(f)).unwrap(),
                std::fs::read(clean.join(f)).unwrap(),
                "{f}"
            );
        }
        assert_eq!(read_manifest(&out).unwrap(), read_manifest(&clean).unwrap());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parquet_exports_resume_exactly_once_too() {
    let fx = Fixture::start(SCHEMA, &[("things", many(20))]).await;
    let url = fx.server.url();
    let out = fx.out("pq");
    let r = run_binary(&url, &out, "parquet", Some("after-batch-rename:2")).await;
    assert!(!r.status.success());
    let r = run_binary(&url, &out, "parquet", None).await;
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    let manifest = read_manifest(&out).unwrap();
    assert_eq!(manifest.iter().map(|f| f.rows).sum::<u64>(), 20);
    assert_eq!(manifest.len(), 3);
    // A format change against the same state is refused.
    let r = run_binary(&url, &out, "jsonl", None).await;
    assert_eq!(r.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&r.stderr).contains("was exported as parquet by an earlier run")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bytes_limit_closes_a_batch_at_the_first_record_that_reaches_it() {
    let fx = Fixture::start(SCHEMA, &[("things", many(30))]).await;
    let out = fx.out("bytes");
    let config = r#"{"collection": {"name": "things", "page_size": 4},
                     "output": {"batch_rows": 1000, "batch_bytes": 300}}"#;
    let summary = run_export(&settings(&fx.server.url(), &out, config), &Quiet)
        .await
        .unwrap();
    let files = read_manifest(&out).unwrap();
    assert_eq!(summary.docs, 30);
    assert_eq!(summary.files, files.len() as u64);
    let mut ids = Vec::new();
    for (i, f) in files.iter().enumerate() {
        let text = std::fs::read_to_string(out.join(&f.path)).unwrap();
        let last_line = text.lines().last().unwrap().len() as u64 + 1;
        let size = text.len() as u64;
        if i + 1 < files.len() {
            // Full: the last record reached the limit, the ones before did not.
            assert!(
                size >= 300 && size - last_line < 300,
                "{}: {size} bytes",
                f.path
            );
        } else {
            assert!(size - last_line < 300, "{}: {size} bytes", f.path);
        }
        ids.extend(text.lines().map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            v["ref"].as_str().unwrap().to_string()
        }));
    }
    // Lines are 79–81 bytes: four reach 300, so 7 files of 4 and one of 2.
    assert_eq!(files.len(), 8);
    assert_eq!(
        ids,
        (1001..=1030).map(|i| i.to_string()).collect::<Vec<_>>()
    );
}

/// Records the totals a run announces.
#[derive(Default)]
struct Totals(std::sync::Mutex<Vec<(String, u64, u64)>>);

impl fauna_sync::sync::Observer for Totals {
    fn wants_total(&self) -> bool {
        true
    }
    fn total_known(&self, collection: &str, total: u64, done: u64) {
        self.0
            .lock()
            .unwrap()
            .push((collection.into(), total, done));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cheap_count_announces_the_snapshot_total_and_what_an_earlier_run_committed() {
    // A slow server, so the export outlasts the count and the total is announced.
    let fx = Fixture::start_with(
        SCHEMA,
        &[("things", many(40))],
        fauna_dev::engine::EngineOptions::default(),
        fauna_dev::server::ServerConfig::new().latency(std::time::Duration::from_millis(20)),
    )
    .await;
    let url = fx.server.url();
    let out = fx.out("counted");
    let r = run_binary(&url, &out, "jsonl", Some("after-batch-rename:3")).await;
    assert!(!r.status.success());
    // Two batches of 7 were committed before the crash; 40 documents at the snapshot (a later
    // document does not count).
    crate::support::query(
        &fx.engine,
        "secret",
        r#"{"create": {"collection": "things"}, "params": {"object": {"data": {"object": {"late": true}}}}}"#,
    );
    let totals = Totals::default();
    let settings = settings(
        &url,
        &out,
        r#"{"collection": {"name": "things", "page_size": 5}, "output": {"batch_rows": 7}}"#,
    );
    let summary = run_export(&settings, &totals).await.unwrap();
    assert_eq!(summary.docs, 40 - 14);
    assert_eq!(
        *totals.0.lock().unwrap(),
        vec![("things".to_string(), 40, 14)]
    );
}
