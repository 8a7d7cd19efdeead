//! Crash torture (issue 13): `export`, `sync` and Airbyte `read` are killed at seeded random
//! points — between pages, mid-batch (a batch file half-way to its name), right after a batch
//! is in place, mid-state-write, mid-reconciliation — and restarted until they finish. After
//! every kill, every file the manifest lists is complete (size and SHA-256); at the end the
//! output equals a clean run: byte for byte for `export`, the source collection rebuilt
//! exactly for `sync`, and for Airbyte the records up to each last STATE plus the resumed
//! read equal one clean read.
//!
//! `FAUNA_SYNC_TORTURE_KILLS` (default 8) sets the kills per mode; `scripts/torture` runs 50.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Output};

use fauna_dev::engine::EngineOptions;
use fauna_dev::server::ServerConfig;
use fauna_sync::sink::read_manifest;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sha2::{Digest, Sha256};

use crate::support::{collection_now, execute, Fixture};

fn kills_wanted() -> usize {
    std::env::var("FAUNA_SYNC_TORTURE_KILLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(8)
}

const SCHEMA: &str = r#"{
  "collections": [{"name": "t", "history_days": 0}],
  "indexes": [{"name": "t_ts", "source": "t", "values": [{"field": "ts"}, {"field": "ref"}]}],
  "keys": [{"secret": "fnTestServer", "role": "server"}]
}"#;

const CONFIG: &str =
    r#"{"collection": {"name": "t", "deletions": {"deletion_mode": "deleted_field"}}}"#;

fn docs(n: u64) -> String {
    (1..=n)
        .map(|i| {
            format!(
                "{{\"id\":\"{i}\",\"ts\":{},\"data\":{{\"n\":{i},\"s\":\"{}\"}}}}\n",
                1_658_188_683_000_000 + i,
                "x".repeat((i % 7) as usize)
            )
        })
        .collect()
}

/// A fixture keeping history 1 s beyond history_days 0, so that syncs a little apart lie
/// over history gaps (and reconcile).
async fn fixture(n: u64) -> Fixture {
    Fixture::start_with(
        SCHEMA,
        &[("t", docs(n))],
        EngineOptions {
            mvt_offset: std::time::Duration::from_secs(1),
            ..EngineOptions::default()
        },
        ServerConfig::new(),
    )
    .await
}

/// A random crash point of the commit path.
fn crash_point(rng: &mut StdRng) -> String {
    let points = [
        "after-page",
        "mid-batch",
        "after-batch-rename",
        "state-write",
    ];
    format!(
        "{}:{}",
        points[rng.random_range(0..points.len())],
        rng.random_range(1..6)
    )
}

fn cmd(args: &[&str], url: &str, config: &Path, crash: Option<&str>) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_fauna-sync"));
    c.args(args)
        .args(["--endpoint", url, "--config"])
        .arg(config)
        .env("FAUNA_SECRET", "fnTestServer")
        .env_remove("FAUNA_SYNC_TEST_CRASH_AT");
    if let Some(c2) = crash {
        c.env("FAUNA_SYNC_TEST_CRASH_AT", c2);
    }
    c
}

async fn output(mut c: Command) -> Output {
    tokio::task::spawn_blocking(move || c.output().unwrap())
        .await
        .unwrap()
}

/// Every file the manifest lists (committed or not yet recorded in the state) is complete.
fn assert_no_partial_file_listed(out: &Path) {
    if !out.join("_manifest.jsonl").exists() {
        return;
    }
    for f in read_manifest(out).unwrap() {
        let bytes = std::fs::read(out.join(&f.path))
            .unwrap_or_else(|e| panic!("{} is listed but unreadable: {e}", f.path));
        assert_eq!(bytes.len() as u64, f.bytes, "{} size", f.path);
        assert_eq!(
            format!("{:x}", Sha256::digest(&bytes)),
            f.sha256,
            "{} content",
            f.path
        );
    }
}

/// Runs `args` with random crashes until it succeeds; returns the kills.
async fn until_done(
    args: &[&str],
    url: &str,
    config: &Path,
    out: &Path,
    rng: &mut StdRng,
    budget: usize,
) -> usize {
    let mut kills = 0;
    loop {
        let crash = (kills < budget && rng.random_range(0..4) != 0).then(|| crash_point(rng));
        let o = output(cmd(args, url, config, crash.as_deref())).await;
        if o.status.success() {
            return kills;
        }
        assert!(
            crash.is_some(),
            "a run without a crash failed: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        assert_ne!(o.status.code(), Some(1), "a crash, not an error: {crash:?}");
        kills += 1;
        assert_no_partial_file_listed(out);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_killed_at_random_points_resumes_to_the_clean_files() {
    let fx = fixture(120).await;
    let url = fx.server.url();
    let config = fx.dir.path().join("config.json");
    std::fs::write(&config, CONFIG).unwrap();
    let args = |out: &Path| -> Vec<String> {
        [
            "export",
            "--format",
            "parquet",
            "--page-size",
            "7",
            "--batch-rows",
            "9",
            "--out",
            out.to_str().unwrap(),
        ]
        .map(String::from)
        .to_vec()
    };
    let clean = fx.out("clean");
    let a = args(&clean);
    let a: Vec<&str> = a.iter().map(String::as_str).collect();
    assert!(output(cmd(&a, &url, &config, None)).await.status.success());
    let mut rng = StdRng::seed_from_u64(21);
    let (mut kills, mut run) = (0, 0);
    while kills < kills_wanted() {
        run += 1;
        let out = fx.out(&format!("killed-{run}"));
        let a = args(&out);
        let a: Vec<&str> = a.iter().map(String::as_str).collect();
        kills += until_done(&a, &url, &config, &out, &mut rng, kills_wanted() - kills).await;
        for f in read_manifest(&clean).unwrap() {
            assert_eq!(
                std::fs::read(out.join(&f.path)).unwrap(),
                std::fs::read(clean.join(&f.path)).unwrap(),
                "{}",
                f.path
            );
        }
        assert_eq!(read_manifest(&out).unwrap(), read_manifest(&clean).unwrap());
    }
    eprintln!("export: {kills} kills survived over {run} outputs");
}

/// The collection now: id → (ts, data).
fn source(fx: &Fixture) -> BTreeMap<String, (i64, serde_json::Value)> {
    collection_now(fx, "t")
}

/// Applies every JSONL record of the output in manifest order.
fn rebuilt(out: &Path) -> BTreeMap<String, (i64, serde_json::Value)> {
    let mut copy = BTreeMap::new();
    for f in read_manifest(out).unwrap() {
        for line in std::fs::read_to_string(out.join(&f.path)).unwrap().lines() {
            let r: serde_json::Value = serde_json::from_str(line).unwrap();
            let id = r["ref"].as_str().unwrap().to_string();
            if r["deleted_at"].is_null() {
                copy.insert(id, (r["ts"].as_i64().unwrap(), r["data"].clone()));
            } else {
                copy.remove(&id);
            }
        }
    }
    copy
}

fn writes(fx: &Fixture, rng: &mut StdRng, next: &mut u64) {
    let live: Vec<String> = source(fx).into_keys().collect();
    let mut ops = Vec::new();
    let mut touched = std::collections::HashSet::new();
    for _ in 0..rng.random_range(3..9) {
        if rng.random_range(0..3) == 0 || live.is_empty() {
            *next += 1;
            ops.push(format!(
                r#"{{"create":{{"ref":{{"collection":"t"}},"id":"{next}"}},"params":{{"object":{{"data":{{"object":{{"n":{next}}}}}}}}}}}"#
            ));
        } else {
            let id = &live[rng.random_range(0..live.len())];
            if !touched.insert(id.clone()) {
                continue;
            }
            ops.push(if rng.random_range(0..2) == 0 {
                format!(r#"{{"delete":{{"ref":{{"collection":"t"}},"id":"{id}"}}}}"#)
            } else {
                format!(
                    r#"{{"update":{{"ref":{{"collection":"t"}},"id":"{id}"}},"params":{{"object":{{"data":{{"object":{{"n":{}}}}}}}}}}}"#,
                    rng.random_range(0..1000)
                )
            });
        }
    }
    let r = execute(
        &fx.engine,
        "fnTestServer",
        &format!(r#"{{"do":[{}]}}"#, ops.join(",")),
    );
    assert!(r.status == 200 || r.status == 201, "{}", r.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_killed_at_random_points_rebuilds_the_collection() {
    let fx = fixture(60).await;
    let url = fx.server.url();
    let config = fx.dir.path().join("config.json");
    std::fs::write(&config, CONFIG).unwrap();
    let out = fx.out("sync");
    let args = [
        "sync",
        "--format",
        "jsonl",
        "--page-size",
        "5",
        "--batch-rows",
        "4",
        "--out",
        out.to_str().unwrap(),
    ];
    let mut rng = StdRng::seed_from_u64(22);
    let (mut kills, mut rounds, mut next) = (0, 0, 10_000u64);
    while kills < kills_wanted() {
        rounds += 1;
        writes(&fx, &mut rng, &mut next);
        if rng.random_range(0..3) == 0 {
            // Past the history window: this sync reconciles (and may be killed doing so).
            tokio::time::sleep(std::time::Duration::from_millis(1300)).await;
        }
        kills += until_done(&args, &url, &config, &out, &mut rng, kills_wanted() - kills).await;
        assert_eq!(rebuilt(&out), source(&fx), "after round {rounds}");
    }
    let mut verify = Command::new(env!("CARGO_BIN_EXE_fauna-sync"));
    verify.args(["verify", "--out", out.to_str().unwrap()]);
    let v = output(verify).await;
    assert!(v.status.success(), "{}", String::from_utf8_lossy(&v.stderr));
    eprintln!("sync: {kills} kills survived over {rounds} rounds");
}

/// Airbyte `read` of stream `t`: (RECORD data up to the last STATE, all RECORD data, the last
/// STATE's `state`).
fn parse_read(
    stdout: &[u8],
) -> (
    Vec<serde_json::Value>,
    Vec<serde_json::Value>,
    Option<serde_json::Value>,
) {
    let (mut all, mut upto, mut state) = (Vec::new(), 0, None);
    for line in String::from_utf8_lossy(stdout).lines() {
        let Ok(m) = serde_json::from_str::<serde_json::Value>(line) else {
            continue; // a line cut by the crash
        };
        match m["type"].as_str() {
            Some("RECORD") => all.push(m["record"]["data"].clone()),
            Some("STATE") => {
                upto = all.len();
                state = Some(m["state"].clone());
            }
            _ => {}
        }
    }
    (all[..upto].to_vec(), all, state)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn airbyte_reads_killed_at_random_points_resume_from_their_last_state() {
    let fx = fixture(90).await;
    let url = fx.server.url();
    let dir = fx.dir.path();
    let (host, port) = url
        .strip_prefix("http://")
        .unwrap()
        .split_once(':')
        .unwrap();
    let config = dir.join("ab.json");
    std::fs::write(
        &config,
        serde_json::json!({"domain": host, "port": port.parse::<u16>().unwrap(), "scheme": "http",
            "secret": "fnTestServer", "collection": {"name": "t", "page_size": 7},
            "output": {"batch_rows": 10}})
        .to_string(),
    )
    .unwrap();
    let catalog = dir.join("catalog.json");
    std::fs::write(
        &catalog,
        serde_json::json!({"streams": [{"stream": {"name": "t", "json_schema": {"type": "object"},
            "supported_sync_modes": ["full_refresh"]},
            "sync_mode": "full_refresh", "destination_sync_mode": "overwrite"}]})
        .to_string(),
    )
    .unwrap();
    let read = |state: Option<&serde_json::Value>, crash: Option<&str>| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_fauna-sync"));
        c.arg("read")
            .arg("--config")
            .arg(&config)
            .arg("--catalog")
            .arg(&catalog)
            .env_remove("FAUNA_SYNC_TEST_CRASH_AT");
        if let Some(s) = state {
            let path = dir.join("state.json");
            std::fs::write(&path, serde_json::json!([s]).to_string()).unwrap();
            c.arg("--state").arg(path);
        }
        if let Some(p) = crash {
            c.env("FAUNA_SYNC_TEST_CRASH_AT", p);
        }
        c
    };
    let clean = output(read(None, None)).await;
    assert!(clean.status.success());
    let (_, clean_records, _) = parse_read(&clean.stdout);
    assert_eq!(clean_records.len(), 90);
    let mut rng = StdRng::seed_from_u64(23);
    let (mut kills, mut reads) = (0, 0);
    while kills < kills_wanted() {
        reads += 1;
        let (mut got, mut state) = (Vec::new(), None);
        loop {
            let points = ["after-page", "mid-batch", "after-batch-rename"];
            let crash = (rng.random_range(0..3) != 0).then(|| {
                format!(
                    "{}:{}",
                    points[rng.random_range(0..points.len())],
                    rng.random_range(1..4)
                )
            });
            let o = output(read(state.as_ref(), crash.as_deref())).await;
            let (upto, all, last) = parse_read(&o.stdout);
            if o.status.success() {
                got.extend(all);
                break;
            }
            assert!(crash.is_some(), "{}", String::from_utf8_lossy(&o.stderr));
            kills += 1;
            got.extend(upto);
            if last.is_some() {
                state = last;
            }
        }
        assert_eq!(got, clean_records, "read {reads}");
    }
    eprintln!("airbyte read: {kills} kills survived over {reads} reads");
}
