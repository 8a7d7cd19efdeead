//! The command line as a person meets it: help texts, the demo, the run summary's lines.

use std::process::{Command, Output};

fn fauna_sync(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_fauna-sync"))
        .args(args)
        .env_remove("FAUNA_SECRET")
        .env_remove("FAUNA_SYNC_TEST_CRASH_AT")
        .output()
        .unwrap()
}

/// The help entry of `option` in `help`, its wrapped lines joined by single spaces.
fn help_entry(help: &str, option: &str) -> String {
    let mut lines = help
        .lines()
        .skip_while(|l| !l.trim_start().starts_with(option));
    let first = lines.next().unwrap_or_default().trim().to_string();
    let rest = lines.take_while(|l| !l.trim_start().starts_with('-') && !l.trim().is_empty());
    std::iter::once(first)
        .chain(rest.map(|l| l.trim().to_string()))
        .collect::<Vec<_>>()
        .join(" ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn export_and_sync_help_say_that_out_takes_object_store_urls() {
    for command in ["export", "sync"] {
        for flag in ["--help", "-h"] {
            let o = fauna_sync(&[command, flag]);
            assert_eq!(o.status.code(), Some(0));
            assert_eq!(
                help_entry(&String::from_utf8_lossy(&o.stdout), "--out"),
                "--out <DIR|URL> Output root: a directory, or an object store URL: \
                 s3://bucket/prefix (S3 and S3-compatible, AWS_ENDPOINT_URL), gs://bucket/prefix, \
                 az://container/prefix (or abfss://container@account.dfs.core.windows.net/prefix), \
                 file:///dir; credentials from each cloud's usual environment variables \
                 [default: fauna-export]",
                "{command} {flag}"
            );
        }
    }
    let o = fauna_sync(&["verify", "--help"]);
    assert_eq!(
        help_entry(&String::from_utf8_lossy(&o.stdout), "--out"),
        "--out <DIR|URL> The output root to check: a directory, or an s3://, gs://, az://, \
         abfss:// or file:// URL as `export --out` takes"
    );
}

/// The summary's second line of a run's stderr.
fn paging_line(stderr: &str) -> &str {
    stderr
        .lines()
        .find(|l| l.starts_with("paging: "))
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_paging_line_reports_the_pages_of_documents_not_the_reconciliations_id_pages() {
    // history_days 0: the export scans, catches up through the index and reconciles, reading
    // the live ids in pages of 10,000 besides the documents in pages of 5.
    let schema = r#"{
      "collections": [{"name": "things", "history_days": 0}],
      "indexes": [{"name": "things_ts", "source": "things", "values": [{"field": "ts"}, {"field": "ref"}]}],
      "keys": [{"secret": "fnTestServer", "role": "server"}]
    }"#;
    let docs: String = (1..=12)
        .map(|i| {
            format!(
                "{{\"id\":\"{i}\",\"ts\":{},\"data\":{{\"n\":{i}}}}}\n",
                1_700_000_000_000_000i64 + i
            )
        })
        .collect();
    let fx = crate::support::Fixture::start(schema, &[("things", docs)]).await;
    let out = fx.out("out");
    let url = fx.server.url();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_fauna-sync"));
    cmd.args(["sync", "--endpoint", &url, "--collection", "things"])
        .args([
            "--page-size",
            "5",
            "--fixed-page-size",
            "--concurrency",
            "1",
            "--out",
        ])
        .arg(&out)
        .env("FAUNA_SECRET", "fnTestServer")
        .env_remove("FAUNA_SYNC_TEST_CRASH_AT")
        .env_remove("RUST_LOG");
    let o = tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{stderr}");
    assert_eq!(
        paging_line(&stderr),
        "paging: 5 documents per page at the end (grew 0 times, shrank 0, 0 too large); \
         queries in flight: 3 of 3 allowed (halved 0 times); 14 queries, 6 of them before the \
         first page",
        "{stderr}"
    );
}

#[test]
fn a_copied_binary_runs_the_demo_from_any_directory() {
    // The binary alone, away from the build tree, run from an empty directory.
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("bin/fauna-sync");
    std::fs::create_dir_all(bin.parent().unwrap()).unwrap();
    std::fs::copy(env!("CARGO_BIN_EXE_fauna-sync"), &bin).unwrap();
    let cwd = dir.path().join("elsewhere");
    std::fs::create_dir(&cwd).unwrap();
    let o = Command::new(&bin)
        .args(["demo", "--out", "demo-out"])
        .current_dir(&cwd)
        .env_remove("FAUNA_SECRET")
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{stderr}");
    let serving = stderr
        .lines()
        .find(|l| l.starts_with("fauna-dev is serving"))
        .unwrap_or_default();
    assert_eq!(
        serving.rsplit_once(" at http://127.0.0.1:").map(|s| s.0),
        Some("fauna-dev is serving the built-in demo dataset"),
        "{stderr}"
    );
    // The summaries of the export and of the sync after the changes.
    assert!(
        stderr.contains("\nexported 4 collection(s): 9358 docs in 7 file(s), "),
        "{stderr}"
    );
    assert!(
        stderr.contains("\nsynced 3 collection(s): 7 record(s) in 2 file(s), "),
        "{stderr}"
    );
    assert!(cwd.join("demo-out/parquet/_manifest.jsonl").is_file());
    assert!(cwd.join("demo-out/sync/_manifest.jsonl").is_file());
}

#[test]
fn a_demo_dataset_that_does_not_exist_is_refused_naming_its_cause_once() {
    let dir = tempfile::tempdir().unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_fauna-sync"))
        .args(["demo", "--dataset", "nope"])
        .current_dir(dir.path())
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    assert_eq!(
        (o.status.code(), String::from_utf8_lossy(&o.stderr).as_ref()),
        (
            Some(2),
            "error: cannot load the dataset nope: nope/schema.json: No such file or directory \
             (os error 2)\n"
        )
    );
    assert!(o.stdout.is_empty());
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "nothing written"
    );
}
