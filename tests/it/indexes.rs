//! Indexes whose values only start with `[ts, ref]` (`spec/sync.md`, "Requirements"): `sync`
//! reads through them, each changed document once — also when an array value gives a document
//! several entries that straddle pages, and across crashes — and the CreateIndex the advice
//! suggests never names an index that exists.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};

use fauna_sync::sink::read_manifest;
use fauna_sync::sync::{run, Mode, Quiet};

use crate::support::{execute, load_settings, Fixture};

const SCHEMA: &str = r#"{
  "collections": [{"name": "things", "history_days": null}, {"name": "bare", "history_days": null}],
  "indexes": [
    {"name": "things_by_ts", "source": "things", "terms": [{"field": ["data", "kind"]}], "values": [{"field": "ts"}, {"field": "ref"}]},
    {"name": "things_tags", "source": "things", "values": [{"field": "ts"}, {"field": "ref"}, {"field": ["data", "tags"]}]},
    {"name": "things_ts", "source": "things", "values": [{"field": "ts"}, {"field": "ref"}]},
    {"name": "bare_by_ts", "source": "things", "values": [{"field": "ts"}, {"field": "ref"}]}
  ],
  "keys": [{"secret": "fnTestServer", "role": "server"}]
}"#;

fn config(index: &str) -> String {
    format!(
        r#"{{"collection": {{"name": "things", "index": "{index}", "page_size": 2, "page_size_fixed": true}}, "output": {{"format": "jsonl"}}}}"#
    )
}

fn write(fx: &Fixture, query: &str) {
    let r = execute(&fx.engine, "fnTestServer", query);
    assert!(
        r.status == 200 || r.status == 201,
        "{query}: {} {}",
        r.status,
        r.body
    );
}

/// `n` tags, `t0`…: an index on them has `n` entries of the document (one, null, for none).
fn tags(n: usize) -> String {
    let tags: Vec<String> = (0..n).map(|i| format!(r#""t{i}""#)).collect();
    format!("[{}]", tags.join(","))
}

fn docs() -> String {
    (1..=10)
        .map(|i| {
            format!(
                r#"{{"id":"{i}","ts":{},"data":{{"n":{i},"tags":{}}}}}"#,
                1_658_188_683_000_000 + i,
                tags(i % 4)
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}

/// Updates every document (tags of 0 to 4 elements) and creates five with three tags each.
fn change_everything(fx: &Fixture) {
    for i in 1..=10 {
        write(
            fx,
            &format!(
                r#"{{"update":{{"ref":{{"collection":"things"}},"id":"{i}"}},"params":{{"object":{{"data":{{"object":{{"n":{},"tags":{}}}}}}}}}}}"#,
                -(i as i64),
                tags(i % 5)
            ),
        );
    }
    for i in 11..=15 {
        write(
            fx,
            &format!(
                r#"{{"create":{{"ref":{{"collection":"things"}},"id":"{i}"}},"params":{{"object":{{"data":{{"object":{{"n":{i},"tags":{}}}}}}}}}}}"#,
                tags(3)
            ),
        );
    }
}

/// The committed files of `out` by path (the state and the lock aside).
fn committed(out: &Path) -> BTreeMap<String, String> {
    let mut files: BTreeMap<String, String> = read_manifest(out)
        .unwrap()
        .into_iter()
        .map(|f| {
            let text = std::fs::read_to_string(out.join(&f.path)).unwrap();
            (f.path, text)
        })
        .collect();
    files.insert(
        "_manifest.jsonl".into(),
        std::fs::read_to_string(out.join("_manifest.jsonl")).unwrap(),
    );
    files
}

/// Each document id in the files after the first `skip` of the manifest, with its count.
fn ids_after(out: &Path, skip: usize) -> BTreeMap<String, u32> {
    let mut ids = BTreeMap::new();
    for f in read_manifest(out).unwrap().into_iter().skip(skip) {
        for line in std::fs::read_to_string(out.join(&f.path)).unwrap().lines() {
            let r: serde_json::Value = serde_json::from_str(line).unwrap();
            *ids.entry(r["ref"].as_str().unwrap().to_string())
                .or_insert(0) += 1;
        }
    }
    ids
}

fn sync_command(fx: &Fixture, config: &Path, out: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_fauna-sync"));
    cmd.args(["sync", "--endpoint", &fx.server.url(), "--config"])
        .arg(config)
        .args(["--batch-rows", "3", "--out"])
        .arg(out)
        .env("FAUNA_SECRET", "fnTestServer")
        .env_remove("FAUNA_SYNC_TEST_CRASH_AT")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    cmd
}

async fn output(mut cmd: Command) -> std::process::Output {
    tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sync_through_an_index_with_more_values_reads_each_document_once_across_crashes() {
    let fx = Fixture::start(SCHEMA, &[("things", docs())]).await;
    let dir = fx.dir.path();
    let (tags_cfg, ts_cfg) = (dir.join("tags.json"), dir.join("ts.json"));
    std::fs::write(&tags_cfg, config("things_tags")).unwrap();
    std::fs::write(&ts_cfg, config("things_ts")).unwrap();
    // Through the plain [ts, ref] index (the reference), through [ts, ref, data.tags] in one
    // run, and through it crashed after each of several pages, then resumed.
    let reference = fx.out("reference");
    let clean = fx.out("clean");
    let points = [
        "after-page:1",
        "after-page:2",
        "after-page:3",
        "after-page:5",
        "after-page:8",
    ];
    let crashed: Vec<_> = (0..points.len())
        .map(|i| fx.out(&format!("crash{i}")))
        .collect();
    let first = |out: &Path| {
        let cfg = if out == reference { &ts_cfg } else { &tags_cfg };
        sync_command(&fx, cfg, out)
    };
    for out in [&reference, &clean].into_iter().chain(&crashed) {
        let r = output(first(out)).await;
        assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    }
    let exported = read_manifest(&clean).unwrap().len();
    change_everything(&fx);
    for out in [&reference, &clean] {
        let r = output(first(out)).await;
        assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    }
    let want: BTreeMap<String, u32> = (1..=15).map(|i| (i.to_string(), 1)).collect();
    assert_eq!(ids_after(&reference, exported), want);
    assert_eq!(ids_after(&clean, exported), want);
    assert_eq!(committed(&clean), committed(&reference));
    for (out, point) in crashed.iter().zip(points) {
        let mut cmd = sync_command(&fx, &tags_cfg, out);
        cmd.env("FAUNA_SYNC_TEST_CRASH_AT", point);
        let r = output(cmd).await;
        assert!(!r.status.success(), "{point}: the crash point was reached");
        let r = output(sync_command(&fx, &tags_cfg, out)).await;
        assert!(
            r.status.success(),
            "{point}: {}",
            String::from_utf8_lossy(&r.stderr)
        );
        assert_eq!(committed(out), committed(&reference), "{point}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_suggested_create_index_names_an_index_that_does_not_exist() {
    let fx = Fixture::start(SCHEMA, &[]).await;
    let out = fx.out("out");
    let path = fx.dir.path().join("config.json");
    // A configured index that does not fit, named as the suggestion would be; and a collection
    // with no fitting index while `bare_by_ts` (an index of another collection) exists.
    for (cfg, want) in [
        (
            r#"{"collection": {"name": "things", "index": "things_by_ts"}}"#,
            r#"collection 'things' cannot be synced incrementally: Index 'things_by_ts' should have no terms, but it has terms [data.kind]. Create the index with CreateIndex({name: "things_by_ts_2", source: Collection("things"), terms: [], values: [{field: ["ts"]}, {field: ["ref"]}]}) (or name a fitting one in "index")"#,
        ),
        (
            r#"{"collection": {"name": "bare"}}"#,
            r#"collection 'bare' cannot be synced incrementally: no index the key can read has source the collection, no terms and values [ts, ref]. Create the index with CreateIndex({name: "bare_by_ts_2", source: Collection("bare"), terms: [], values: [{field: ["ts"]}, {field: ["ref"]}]}) (or name a fitting one in "index")"#,
        ),
    ] {
        std::fs::write(&path, cfg).unwrap();
        let s = load_settings(&path, &fx.server.url(), &out);
        let e = run(&s, &Quiet, Mode::Sync { max_duration: None })
            .await
            .unwrap_err();
        assert_eq!(e.kind(), fauna_sync::error::ErrorKind::Config);
        assert_eq!(e.to_string(), want);
    }
}
