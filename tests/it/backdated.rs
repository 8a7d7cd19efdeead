//! A write stamped before the last synced time (`Insert` at an old ts, `Remove` of the latest
//! event) is never read by a sync window: the [ts, ref] cursor has passed it (spec/sync.md,
//! "Writes stamped in the past"). A full export into a new output reads it.

use std::path::Path;

use fauna_sync::sink::read_manifest;
use fauna_sync::sync::{run, Mode, Quiet};

use crate::support::{execute, load_settings, Fixture};

const SCHEMA: &str = r#"{
  "collections": [{"name": "foo", "history_days": null}],
  "indexes": [{"name": "foo_ts", "source": "foo", "values": [{"field": "ts"}, {"field": "ref"}]}],
  "keys": [{"secret": "fnTestServer", "role": "server"}]
}"#;

/// Runs `query`; returns its resource's `ts`, if any.
fn write(fx: &Fixture, query: &str) -> Option<i64> {
    let r = execute(&fx.engine, "fnTestServer", query);
    assert!(r.status == 200 || r.status == 201, "{query}: {}", r.body);
    let body: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    body["resource"]["ts"].as_i64()
}

fn create(id: &str) -> String {
    format!(
        r#"{{"create":{{"ref":{{"collection":"foo"}},"id":"{id}"}},"params":{{"object":{{"data":{{"object":{{"n":{id}}}}}}}}}}}"#
    )
}

/// (ref, n) of every record in `out`'s committed files, in manifest order.
fn records(out: &Path) -> Vec<(String, i64)> {
    let mut records = Vec::new();
    for f in read_manifest(out).unwrap() {
        for line in std::fs::read_to_string(out.join(&f.path)).unwrap().lines() {
            let record: serde_json::Value = serde_json::from_str(line).unwrap();
            let id = record["ref"].as_str().unwrap().to_string();
            records.push((id, record["data"]["n"].as_i64().unwrap()));
        }
    }
    records
}

fn rec(id: &str, n: i64) -> (String, i64) {
    (id.to_string(), n)
}

async fn sync(fx: &Fixture, out: &Path) {
    let config = fx.dir.path().join("config.json");
    std::fs::write(
        &config,
        r#"{"collection": {"name": "foo"}, "output": {"format": "jsonl"}}"#,
    )
    .unwrap();
    let settings = load_settings(&config, &fx.server.url(), out);
    run(&settings, &Quiet, Mode::Sync { max_duration: None })
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_stamped_before_the_synced_time_are_missed_until_a_full_export() {
    let fx = Fixture::start(SCHEMA, &[]).await;
    let out = fx.out("synced");
    write(&fx, &create("1"));
    let updated = write(
        &fx,
        r#"{"update":{"ref":{"collection":"foo"},"id":"1"},"params":{"object":{"data":{"object":{"n":10}}}}}"#,
    )
    .unwrap();
    sync(&fx, &out).await;
    assert_eq!(records(&out), [rec("1", 10)]);
    // After the sync: a document created in the past (2020), the update of 1 removed from its
    // history (its creation is current again, at its old ts), and a document created now.
    write(
        &fx,
        r#"{"insert":{"ref":{"collection":"foo"},"id":"9"},"ts":1577836800000000,"action":"create",
            "params":{"object":{"data":{"object":{"n":9}}}}}"#,
    );
    write(
        &fx,
        &format!(
            r#"{{"remove":{{"ref":{{"collection":"foo"}},"id":"1"}},"ts":{updated},"action":"update"}}"#
        ),
    );
    write(&fx, &create("2"));
    sync(&fx, &out).await;
    sync(&fx, &out).await;
    // Only the document created now was read: 9 is missing, 1 is stale.
    assert_eq!(records(&out), [rec("1", 10), rec("2", 2)]);
    // The remedy: the collection exported in full into a new output.
    let fresh = fx.out("fresh");
    sync(&fx, &fresh).await;
    let mut all = records(&fresh);
    all.sort();
    assert_eq!(all, [rec("1", 1), rec("2", 2), rec("9", 9)]);
}
