//! Fault storms (issue 13): with fauna-dev failing 20 % of the requests (429, 503 and dropped
//! connections, seeded), `export`, several rounds of `sync` with writes in between, and
//! Airbyte `read` (full refresh, then incremental) end with exactly the output of the same run
//! against a fault-free server on the same data — byte for byte for files, record for record
//! for Airbyte — and say how many retries it took. A server that never answers makes the run
//! give up with the reason and a non-zero exit.

use std::path::Path;
use std::process::{Command, Output};

use fauna_dev::server::{serve, FaultConfig, RunningServer, ServerConfig};

use crate::support::{execute, files_below, Fixture};

const SCHEMA: &str = r#"{
  "collections": [{"name": "things", "history_days": null}],
  "indexes": [{"name": "things_ts", "source": "things", "values": [{"field": "ts"}, {"field": "ref"}]}],
  "keys": [{"secret": "fnTestServer", "role": "server"}]
}"#;

const CONFIG: &str =
    r#"{"collection": {"name": "things", "deletions": {"deletion_mode": "deleted_field"}}}"#;

/// The share of requests the faulty server fails.
const FAULT_RATE: f64 = 0.2;

fn docs(n: u64) -> String {
    (1..=n)
        .map(|i| {
            format!(
                "{{\"id\":\"{i}\",\"ts\":{},\"data\":{{\"n\":{i},\"s\":\"v{i}\"}}}}\n",
                1_658_188_683_000_000 + i as i64
            )
        })
        .collect()
}

/// fauna-dev with 300 documents, and a second server on the same engine failing
/// [`FAULT_RATE`] of the requests.
async fn storm(seed: u64) -> (Fixture, RunningServer) {
    let fx = Fixture::start(SCHEMA, &[("things", docs(300))]).await;
    let faults = FaultConfig::new(FAULT_RATE).unwrap().seed(seed);
    let faulty = serve(
        ServerConfig::new().port(0).faults(faults),
        fx.engine.clone(),
    )
    .await
    .unwrap();
    (fx, faulty)
}

fn fauna_sync(args: &[&str], url: &str, config: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_fauna-sync"))
        .args(args)
        .args(["--endpoint", url, "--config"])
        .arg(config)
        .env("FAUNA_SECRET", "fnTestServer")
        .env_remove("FAUNA_SYNC_TEST_CRASH_AT")
        .output()
        .unwrap()
}

async fn run(args: Vec<String>, url: String, config: std::path::PathBuf) -> Output {
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        fauna_sync(&args, &url, &config)
    })
    .await
    .unwrap()
}

/// The retries a run's summary reports ("…, N retries, …").
fn retries(o: &Output) -> u64 {
    let text = String::from_utf8_lossy(&o.stderr);
    let at = text
        .rfind(" retries")
        .unwrap_or_else(|| panic!("no summary: {text}"));
    let n = text[..at].rsplit(' ').next().unwrap();
    n.parse()
        .unwrap_or_else(|_| panic!("no retry count: {text}"))
}

fn ok(o: &Output) {
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

/// The batch files of two outputs are the same files with the same bytes.
fn assert_same_batches(a: &Path, b: &Path) {
    let batches = |d: &Path| -> Vec<String> {
        files_below(d)
            .into_iter()
            .filter(|f| f.starts_with("things/"))
            .collect()
    };
    assert_eq!(batches(a), batches(b));
    for f in batches(a) {
        assert_eq!(
            std::fs::read(a.join(&f)).unwrap(),
            std::fs::read(b.join(&f)).unwrap(),
            "{f}"
        );
    }
    assert!(!batches(a).is_empty());
}

fn write(fx: &Fixture, query: &str) {
    let r = execute(&fx.engine, "fnTestServer", query);
    assert!(r.status == 200 || r.status == 201, "{query}: {}", r.body);
}

/// One transaction: updates `up`, deletes `del`, creates `new` (ids).
fn changes(fx: &Fixture, up: &[u64], del: &[u64], new: &[u64]) {
    let mut ops = Vec::new();
    for i in up {
        ops.push(format!(
            r#"{{"update":{{"ref":{{"collection":"things"}},"id":"{i}"}},"params":{{"object":{{"data":{{"object":{{"n":{}}}}}}}}}}}"#,
            i * 100
        ));
    }
    for i in del {
        ops.push(format!(
            r#"{{"delete":{{"ref":{{"collection":"things"}},"id":"{i}"}}}}"#
        ));
    }
    for i in new {
        ops.push(format!(
            r#"{{"create":{{"ref":{{"collection":"things"}},"id":"{i}"}},"params":{{"object":{{"data":{{"object":{{"n":{i}}}}}}}}}}}"#
        ));
    }
    write(fx, &format!(r#"{{"do":[{}]}}"#, ops.join(",")));
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_and_sync_rounds_under_a_fault_storm_equal_the_fault_free_runs() {
    let (fx, faulty) = storm(3).await;
    let config = fx.dir.path().join("config.json");
    std::fs::write(&config, CONFIG).unwrap();
    let (clean_url, faulty_url) = (fx.server.url(), faulty.url());

    // A one-off export.
    let (clean, stormy) = (fx.out("export-clean"), fx.out("export-storm"));
    let args = |out: &Path| {
        strings(&[
            "export",
            "--format",
            "parquet",
            "--page-size",
            "20",
            "--batch-rows",
            "50",
            "--out",
            out.to_str().unwrap(),
        ])
    };
    ok(&run(args(&clean), clean_url.clone(), config.clone()).await);
    let o = run(args(&stormy), faulty_url.clone(), config.clone()).await;
    ok(&o);
    assert_same_batches(&stormy, &clean);
    let export_retries = retries(&o);
    assert!(export_retries > 0, "faults were retried");

    // Five rounds of changes, each synced by both.
    let (clean, stormy) = (fx.out("sync-clean"), fx.out("sync-storm"));
    let args = |out: &Path| {
        strings(&[
            "sync",
            "--format",
            "jsonl",
            "--page-size",
            "20",
            "--batch-rows",
            "50",
            "--out",
            out.to_str().unwrap(),
        ])
    };
    let mut sync_retries = 0;
    for round in 0..5u64 {
        if round > 0 {
            let base = round * 10;
            changes(
                &fx,
                &[base + 1, base + 2, base + 3],
                &[base + 4, base + 5],
                &[1000 + base, 1001 + base],
            );
        }
        ok(&run(args(&clean), clean_url.clone(), config.clone()).await);
        let o = run(args(&stormy), faulty_url.clone(), config.clone()).await;
        ok(&o);
        sync_retries += retries(&o);
        assert_same_batches(&stormy, &clean);
    }
    assert!(sync_retries > 0, "faults were retried");
    // Every injected fault cost exactly one retry: none was silently swallowed or repeated.
    assert_eq!(faulty.faults_injected(), export_retries + sync_retries);
    eprintln!(
        "fault storm ({FAULT_RATE}): {} faults injected; export retried {export_retries}, five syncs retried {sync_retries}",
        faulty.faults_injected()
    );
}

/// `fauna-sync read` messages: RECORD data in order, and the LOG lines.
fn airbyte_read(
    url: &str,
    dir: &Path,
    mode: &str,
    state: Option<&serde_json::Value>,
) -> (
    Vec<serde_json::Value>,
    Vec<String>,
    Option<serde_json::Value>,
) {
    let config = dir.join("ab-config.json");
    let url = url.strip_prefix("http://").unwrap();
    let (host, port) = url.split_once(':').unwrap();
    std::fs::write(
        &config,
        serde_json::json!({
            "domain": host, "port": port.parse::<u16>().unwrap(), "scheme": "http",
            "secret": "fnTestServer",
            "collection": {"name": "things", "page_size": 20,
                "deletions": {"deletion_mode": "deleted_field", "column": "deleted_at"}},
        })
        .to_string(),
    )
    .unwrap();
    let catalog = dir.join(format!("catalog-{mode}.json"));
    std::fs::write(
        &catalog,
        serde_json::json!({"streams": [{"stream": {"name": "things", "json_schema": {"type": "object"},
            "supported_sync_modes": ["full_refresh", "incremental"]},
            "sync_mode": mode, "destination_sync_mode": "append"}]})
        .to_string(),
    )
    .unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_fauna-sync"));
    cmd.arg("read")
        .arg("--config")
        .arg(&config)
        .arg("--catalog")
        .arg(&catalog);
    if let Some(s) = state {
        let path = dir.join("ab-state.json");
        std::fs::write(&path, serde_json::json!([s]).to_string()).unwrap();
        cmd.arg("--state").arg(path);
    }
    let o = cmd.output().unwrap();
    ok(&o);
    let mut records = Vec::new();
    let mut logs = Vec::new();
    let mut last_state = None;
    for line in String::from_utf8_lossy(&o.stdout).lines() {
        let m: serde_json::Value = serde_json::from_str(line).unwrap();
        match m["type"].as_str().unwrap() {
            "RECORD" => records.push(m["record"]["data"].clone()),
            "LOG" => logs.push(m["log"]["message"].as_str().unwrap().to_string()),
            "STATE" => last_state = Some(m["state"].clone()),
            _ => {}
        }
    }
    (records, logs, last_state)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn airbyte_reads_under_a_fault_storm_equal_the_fault_free_reads() {
    let (fx, faulty) = storm(5).await;
    let (clean_url, faulty_url) = (fx.server.url(), faulty.url());
    let dir = fx.dir.path().to_path_buf();
    let read = |url: String, mode: &'static str, state: Option<serde_json::Value>| {
        let dir = dir.clone();
        tokio::task::spawn_blocking(move || airbyte_read(&url, &dir, mode, state.as_ref()))
    };
    let (clean, _, _) = read(clean_url.clone(), "full_refresh", None).await.unwrap();
    let (stormy, mut logs, _) = read(faulty_url.clone(), "full_refresh", None)
        .await
        .unwrap();
    assert_eq!(clean.len(), 300);
    assert_eq!(stormy, clean);
    // Incremental: a first read, changes, then a read from each run's own state.
    let (_, _, clean_state) = read(clean_url.clone(), "incremental", None).await.unwrap();
    let (_, more, storm_state) = read(faulty_url.clone(), "incremental", None).await.unwrap();
    logs.extend(more);
    changes(&fx, &[1, 2], &[3], &[500]);
    let (clean, _, _) = read(clean_url, "incremental", clean_state).await.unwrap();
    let (stormy, more, _) = read(faulty_url, "incremental", storm_state).await.unwrap();
    logs.extend(more);
    assert_eq!(clean.len(), 4, "{clean:?}");
    assert_eq!(stormy, clean);
    // Each read's last LOG line counts its retries; faults on the optional row count (one
    // attempt, no retry: the ESTIMATE is skipped) are the only ones not retried.
    let reported: u64 = logs
        .iter()
        .filter_map(|l| l.strip_suffix(" retries."))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
        .sum();
    assert_eq!(logs.iter().filter(|l| l.ends_with(" retries.")).count(), 3);
    assert!(
        reported > 0 && reported <= faulty.faults_injected(),
        "{logs:?}"
    );
    eprintln!(
        "fault storm ({FAULT_RATE}), Airbyte: {} faults injected, {reported} retried by the reads",
        faulty.faults_injected()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_always_fails_makes_the_run_give_up_with_the_reason() {
    let fx = Fixture::start(SCHEMA, &[("things", docs(3))]).await;
    let faults = FaultConfig::new(1.0)
        .unwrap()
        .kinds(&[fauna_dev::server::Fault::RateLimited]);
    let faulty = serve(
        ServerConfig::new().port(0).faults(faults),
        fx.engine.clone(),
    )
    .await
    .unwrap();
    let config = fx.dir.path().join("config.json");
    std::fs::write(
        &config,
        r#"{"collection": {"name": "things"}, "max_retries": 2}"#,
    )
    .unwrap();
    let out = fx.out("gave-up");
    let o = fauna_sync(
        &["export", "--out", out.to_str().unwrap()],
        &faulty.url(),
        &config,
    );
    assert_eq!(o.status.code(), Some(1));
    let text = String::from_utf8_lossy(&o.stderr);
    assert!(text.contains("(2/2)"), "each retry is logged: {text}");
    assert!(text.contains("429"), "the reason: {text}");
    assert!(!out.join("things").exists(), "nothing half-written");
}
