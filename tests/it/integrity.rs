//! Output integrity (issue 9): one run per output, outputs that know their state, committed
//! files checked, no silent empty exports, record schemas pinned, SIGTERM — each as the real
//! binary against fauna-dev.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use fauna_dev::engine::EngineOptions;
use fauna_dev::server::ServerConfig;
use fauna_sync::sink::read_manifest;

use crate::support::{files_below, Fixture};

const SCHEMA: &str = r#"{
  "collections": [{"name": "things", "history_days": null}, {"name": "other", "history_days": null}],
  "roles": [
    {"name": "catalog_only", "privileges": [{"resource": {"collections": null}, "actions": {"read": true}}]},
    {"name": "readonly", "privileges": [
      {"resource": {"collections": null}, "actions": {"read": true}},
      {"resource": {"indexes": null}, "actions": {"read": true}},
      {"resource": {"collection": "things"}, "actions": {"read": true}},
      {"resource": {"collection": "other"}, "actions": {"read": true}}]}
  ],
  "keys": [
    {"secret": "fnTestServer", "role": "server"},
    {"secret": "fnCatalogOnly", "role": {"role": "catalog_only"}},
    {"secret": "fnReadOnly", "role": {"role": "readonly"}},
    {"secret": "fnClient", "role": "client"}
  ]
}"#;

fn docs(n: u64) -> String {
    (1..=n)
        .map(|i| {
            format!(
                r#"{{"id":"{}","ts":{},"data":{{"n":{i}}}}}"#,
                1000 + i,
                1_658_188_683_000_000 + i
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}

async fn fixture(n: u64) -> Fixture {
    Fixture::start(SCHEMA, &[("things", docs(n)), ("other", docs(3))]).await
}

/// The binary with `args`, the secret and the test hooks cleared.
fn cmd(secret: &str, args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_fauna-sync"));
    c.args(args)
        .env("FAUNA_SECRET", secret)
        .env_remove("FAUNA_SYNC_TEST_CRASH_AT")
        .stdin(Stdio::null());
    c
}

async fn run(mut c: Command) -> Output {
    tokio::task::spawn_blocking(move || c.output().unwrap())
        .await
        .unwrap()
}

fn export_args<'a>(url: &'a str, out: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut a = vec![
        "export",
        "--endpoint",
        url,
        "--out",
        out,
        "--format",
        "jsonl",
    ];
    a.extend_from_slice(extra);
    a
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn rows_per_stream(out: &Path) -> Vec<(String, u64)> {
    let mut v: Vec<(String, u64)> = Vec::new();
    for f in read_manifest(out).unwrap() {
        match v.iter_mut().find(|(s, _)| *s == f.stream) {
            Some((_, n)) => *n += f.rows,
            None => v.push((f.stream.clone(), f.rows)),
        }
    }
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_run_on_a_locked_output_fails_fast_with_its_own_exit_code() {
    // A slow server keeps the first run inside its export while the second starts.
    let fx = Fixture::start_with(
        SCHEMA,
        &[("things", docs(60)), ("other", docs(3))],
        EngineOptions::default(),
        ServerConfig::new().latency(Duration::from_millis(40)),
    )
    .await;
    let url = fx.server.url();
    let out = fx.out("shared");
    let out_s = out.to_str().unwrap();
    let mut first = cmd(
        "fnTestServer",
        &export_args(&url, out_s, &["--collection", "things", "--page-size", "2"]),
    );
    first.stdout(Stdio::null()).stderr(Stdio::piped());
    let first = first.spawn().unwrap();
    // Wait until the first run holds the lock (its owner record exists).
    for _ in 0..200 {
        if out.join("_output.json").exists() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let second = run(cmd(
        "fnTestServer",
        &export_args(&url, out_s, &["--collection", "other"]),
    ))
    .await;
    assert_eq!(second.status.code(), Some(75), "{}", stderr(&second));
    let msg = stderr(&second);
    assert!(msg.contains("another fauna-sync run holds"), "{msg}");
    assert!(msg.contains(&format!("pid {}", first.id())), "{msg}");
    let first = tokio::task::spawn_blocking(move || first.wait_with_output().unwrap())
        .await
        .unwrap();
    assert!(first.status.success(), "{}", stderr(&first));
    // The first run's output is whole; the second wrote nothing.
    assert_eq!(rows_per_stream(&out), [("things".to_string(), 60)]);
    // Once the lock is free, the other collection is added to the same output.
    let third = run(cmd(
        "fnTestServer",
        &export_args(
            &url,
            out_s,
            &["--collection", "things", "--collection", "other"],
        ),
    ))
    .await;
    assert!(third.status.success(), "{}", stderr(&third));
    assert_eq!(
        rows_per_stream(&out),
        [("things".to_string(), 60), ("other".to_string(), 3)]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_that_cannot_read_documents_fails_instead_of_exporting_nothing() {
    let fx = fixture(5).await;
    let url = fx.server.url();
    for secret in ["fnCatalogOnly", "fnClient"] {
        let out = fx.out(secret);
        let r = run(cmd(
            secret,
            &export_args(&url, out.to_str().unwrap(), &["--collection", "things"]),
        ))
        .await;
        let msg = stderr(&r);
        assert_eq!(r.status.code(), Some(1), "{secret}: {msg}");
        assert!(
            msg.contains("the key cannot read the documents of collection 'things'"),
            "{secret}: {msg}"
        );
        assert!(msg.contains("read on Collection(\"things\")"), "{msg}");
        // Nothing sticky: no stream was recorded, so the right key exports everything later.
        assert!(!out.join("_state.json").exists(), "{secret}");
        let ok = run(cmd(
            "fnReadOnly",
            &export_args(&url, out.to_str().unwrap(), &["--collection", "things"]),
        ))
        .await;
        assert!(ok.status.success(), "{}", stderr(&ok));
        assert_eq!(rows_per_stream(&out), [("things".to_string(), 5)]);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_output_owned_by_another_state_is_refused_and_left_untouched() {
    let fx = fixture(5).await;
    let url = fx.server.url();
    let out = fx.out("owned");
    let out_s = out.to_str().unwrap();
    let first = run(cmd("fnTestServer", &export_args(&url, out_s, &[]))).await;
    assert!(first.status.success(), "{}", stderr(&first));
    let before = files_below(&out);
    let other_state = fx.out("other-state.json");
    let r = run(cmd(
        "fnTestServer",
        &export_args(
            &url,
            out_s,
            &[
                "--collection",
                "things",
                "--state",
                other_state.to_str().unwrap(),
            ],
        ),
    ))
    .await;
    assert_eq!(r.status.code(), Some(1), "{}", stderr(&r));
    assert!(
        stderr(&r).contains("already holds 2 committed file(s) but the state"),
        "{}",
        stderr(&r)
    );
    assert_eq!(files_below(&out), before);
    // A state copied from another output is refused too (its id names another output).
    let elsewhere = fx.out("elsewhere");
    let r = run(cmd(
        "fnTestServer",
        &export_args(&url, elsewhere.to_str().unwrap(), &[]),
    ))
    .await;
    assert!(r.status.success());
    std::fs::copy(elsewhere.join("_state.json"), out.join("_state.json")).unwrap();
    let r = run(cmd("fnTestServer", &export_args(&url, out_s, &[]))).await;
    assert_eq!(r.status.code(), Some(1));
    assert!(
        stderr(&r).contains("belongs to another state"),
        "{}",
        stderr(&r)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn damaged_committed_files_fail_the_next_run_and_verify_lists_them() {
    let fx = fixture(12).await;
    let url = fx.server.url();
    let out = fx.out("damaged");
    let out_s = out.to_str().unwrap();
    let args = export_args(
        &url,
        out_s,
        &["--collection", "things", "--batch-rows", "5"],
    );
    let first = run(cmd("fnTestServer", &args)).await;
    assert!(first.status.success(), "{}", stderr(&first));
    let verify = |extra: &[&str]| {
        let mut a = vec!["verify", "--out", out_s];
        a.extend_from_slice(extra);
        cmd("fnTestServer", &a)
    };
    let ok = run(verify(&[])).await;
    assert_eq!(ok.status.code(), Some(0), "{}", stderr(&ok));
    assert!(stderr(&ok).contains("3 file(s)"), "{}", stderr(&ok));

    // Edited in place (same size): only the hash check sees it.
    let p1 = out.join("things/part-00000001.jsonl");
    let mut bytes = std::fs::read(&p1).unwrap();
    bytes[10] ^= 1;
    std::fs::write(&p1, &bytes).unwrap();
    // Truncated, deleted, and an unlisted part file dropped in.
    let p2 = out.join("things/part-00000002.jsonl");
    let len = std::fs::metadata(&p2).unwrap().len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&p2)
        .unwrap()
        .set_len(len - 3)
        .unwrap();
    std::fs::remove_file(out.join("things/part-00000003.jsonl")).unwrap();
    std::fs::write(out.join("things/part-00000009.jsonl"), b"{}\n").unwrap();

    let bad = run(verify(&[])).await;
    assert_eq!(bad.status.code(), Some(1));
    let report = stderr(&bad);
    for want in [
        "4 problem(s)",
        "things/part-00000001.jsonl does not match its SHA-256 (changed)",
        &format!(
            "things/part-00000002.jsonl has {} bytes, the manifest says {len}",
            len - 3
        ),
        "things/part-00000003.jsonl is missing",
        "things/part-00000009.jsonl is not listed in the manifest",
    ] {
        assert!(report.contains(want), "{want}: {report}");
    }

    // The next export refuses to build on a damaged output (size check, no hashing needed)…
    let r = run(cmd("fnTestServer", &args)).await;
    assert_eq!(r.status.code(), Some(1));
    let msg = stderr(&r);
    assert!(msg.contains("is damaged"), "{msg}");
    assert!(
        msg.contains("things/part-00000003.jsonl is missing"),
        "{msg}"
    );
    assert!(!msg.contains("run the same command again"), "{msg}");
    // …and with --verify it also catches the same-size edit.
    std::fs::remove_file(out.join("things/part-00000009.jsonl")).unwrap();
    let mut whole = std::fs::read(&p2).unwrap();
    whole.extend_from_slice(b"xyz");
    std::fs::write(&p2, &whole).unwrap();
    let r = run(cmd("fnTestServer", &args)).await;
    assert!(stderr(&r).contains("part-00000003.jsonl is missing"));
    let mut a = args.clone();
    a.push("--verify");
    let r = run(cmd("fnTestServer", &a)).await;
    assert!(
        stderr(&r).contains("part-00000001.jsonl does not match its SHA-256"),
        "{}",
        stderr(&r)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_record_schema_change_on_resume_is_refused() {
    let fx = fixture(5).await;
    let url = fx.server.url();
    let out = fx.out("schema");
    let config = fx.out("cfg.json");
    let write_cfg = |cols: &str| {
        std::fs::write(
            &config,
            format!(r#"{{"collection": {{"name": "things", {cols}}}}}"#),
        )
        .unwrap()
    };
    write_cfg(r#""data_column": true"#);
    let args = |cfg: &str| {
        let mut a = export_args(&url, out.to_str().unwrap(), &[]);
        a.extend(["--config", cfg]);
        a.into_iter().map(String::from).collect::<Vec<_>>()
    };
    let cfg = config.to_str().unwrap().to_string();
    let a = args(&cfg);
    let a: Vec<&str> = a.iter().map(String::as_str).collect();
    assert!(run(cmd("fnTestServer", &a)).await.status.success());
    for change in [
        r#""data_column": false"#,
        r#""additional_columns": [{"name": "n", "path": ["data", "n"], "type": "integer"}]"#,
        r#""deletions": {"deletion_mode": "deleted_field", "column": "deleted_at"}"#,
    ] {
        write_cfg(change);
        let r = run(cmd("fnTestServer", &a)).await;
        assert_eq!(r.status.code(), Some(1), "{change}");
        let msg = stderr(&r);
        assert!(
            msg.contains("collection 'things' was exported as record schema"),
            "{change}: {msg}"
        );
        assert!(msg.contains("(record schema changed)"), "{msg}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_stops_like_sigint_and_the_run_resumes() {
    let fx = Fixture::start_with(
        SCHEMA,
        &[("things", docs(40))],
        EngineOptions::default(),
        ServerConfig::new().latency(Duration::from_millis(50)),
    )
    .await;
    let url = fx.server.url();
    let out = fx.out("term");
    let out_s = out.to_str().unwrap();
    let args = export_args(
        &url,
        out_s,
        &[
            "--collection",
            "things",
            "--page-size",
            "2",
            "--batch-rows",
            "4",
        ],
    );
    let mut c = cmd("fnTestServer", &args);
    c.stdout(Stdio::null()).stderr(Stdio::piped());
    let child = c.spawn().unwrap();
    // Wait for the first committed batch, then SIGTERM.
    for _ in 0..400 {
        if read_manifest(&out).map(|m| !m.is_empty()).unwrap_or(false) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let kill = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let r = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap();
    assert_eq!(r.status.code(), Some(130), "{}", stderr(&r));
    assert!(stderr(&r).contains("interrupted: committed files stay valid"));
    let again = run(cmd("fnTestServer", &args)).await;
    assert!(again.status.success(), "{}", stderr(&again));
    assert_eq!(rows_per_stream(&out), [("things".to_string(), 40)]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_collection_fails_before_any_is_exported_and_out_must_be_a_directory() {
    let fx = fixture(3).await;
    let url = fx.server.url();
    let out = fx.out("unknown");
    let r = run(cmd(
        "fnTestServer",
        &export_args(
            &url,
            out.to_str().unwrap(),
            &["--collection", "things", "--collection", "nope"],
        ),
    ))
    .await;
    assert_eq!(r.status.code(), Some(2), "{}", stderr(&r));
    let msg = stderr(&r);
    assert!(msg.contains("collection 'nope' does not exist"), "{msg}");
    assert!(!msg.contains("CreateIndex"), "{msg}");
    assert!(!msg.contains("run the same command again"), "{msg}");
    assert!(read_manifest(&out).unwrap().is_empty());

    let file = fx.out("a-file");
    std::fs::write(&file, b"x").unwrap();
    let r = run(cmd(
        "fnTestServer",
        &export_args(&url, file.to_str().unwrap(), &[]),
    ))
    .await;
    assert_eq!(r.status.code(), Some(2));
    assert!(stderr(&r).contains("is not a directory"), "{}", stderr(&r));
}
