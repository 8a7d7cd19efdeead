//! Interruptions from outside the process: SIGKILL at arbitrary moments of a slow export, and
//! the server going away and coming back mid-export. The outcome must equal a clean run.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fauna_dev::engine::EngineOptions;
use fauna_dev::server::{serve, ServerConfig};

use crate::support::{files_below, Fixture};

const SCHEMA: &str = r#"{
  "collections": [{"name": "things", "history_days": null}],
  "keys": [{"secret": "fnTestServer", "role": "server"}]
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

fn export(endpoint: &str, out: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_fauna-sync"));
    cmd.args(["export", "--endpoint", endpoint, "--collection", "things"])
        // Pinned: the kills below rely on a run of 40 pages (adaptive pages would be 6).
        .args([
            "--page-size",
            "5",
            "--fixed-page-size",
            "--batch-rows",
            "7",
            "--out",
        ])
        .arg(out)
        .env("FAUNA_SECRET", "fnTestServer")
        .env_remove("FAUNA_SYNC_TEST_CRASH_AT")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

async fn finish(child: Child) -> std::process::Output {
    tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap()
}

/// fauna-dev with 200 documents, each response delayed 20 ms (in pages of 5, an export takes
/// over 800 ms), and the output of one uninterrupted export for comparison.
async fn slow_fixture_with_a_clean_export() -> (Fixture, PathBuf) {
    let fx = Fixture::start_with(
        SCHEMA,
        &[("things", docs(200))],
        EngineOptions::default(),
        ServerConfig::new().latency(Duration::from_millis(20)),
    )
    .await;
    let clean = fx.out("clean");
    let r = finish(export(&fx.server.url(), &clean).spawn().unwrap()).await;
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    (fx, clean)
}

/// The committed batch files of `out`, byte for byte, must equal those of `clean`.
fn assert_same_files(out: &Path, clean: &Path) {
    let listing = files_below(out);
    assert_eq!(listing, files_below(clean));
    for f in listing.iter().filter(|f| f.starts_with("things/")) {
        assert_eq!(
            std::fs::read(out.join(f)).unwrap(),
            std::fs::read(clean.join(f)).unwrap(),
            "{f}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_at_any_moment_resumes_to_the_clean_result() {
    // A run takes over 800 ms, so every kill below lands mid-export (between or during pages,
    // commits or state writes).
    let (fx, clean) = slow_fixture_with_a_clean_export().await;
    let url = fx.server.url();

    let out = fx.out("killed");
    for ms in [150, 230, 310, 90] {
        let mut child = export(&url, &out).spawn().unwrap();
        tokio::time::sleep(Duration::from_millis(ms)).await;
        assert!(
            child.try_wait().unwrap().is_none(),
            "still running at {ms} ms"
        );
        child.kill().unwrap(); // SIGKILL
        let r = finish(child).await;
        assert!(!r.status.success());
    }
    let r = finish(export(&url, &out).spawn().unwrap()).await;
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    assert_same_files(&out, &clean);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_going_away_mid_export_is_retried_and_the_export_completes() {
    let (fx, clean) = slow_fixture_with_a_clean_export().await;
    let url = fx.server.url();

    let out = fx.out("restarted");
    let child = export(&url, &out).spawn().unwrap();
    tokio::time::sleep(Duration::from_millis(250)).await;
    // Stop the server (its port refuses connections), then serve the same engine on the same
    // port again, as a restarted fauna-dev with --state would.
    let addr = fx.server.addr();
    let Fixture {
        server,
        engine,
        dir,
        ..
    } = fx;
    server.shutdown().await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    let again = serve(
        ServerConfig::new()
            .bind(addr.ip())
            .port(addr.port())
            .latency(Duration::from_millis(20)),
        engine,
    )
    .await
    .unwrap();
    let r = finish(child).await;
    // The summary is human output: on stderr (stdout is kept for protocol messages).
    let stdout = String::from_utf8_lossy(&r.stderr);
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    assert!(stdout.contains("200 docs"), "{stdout}");
    assert!(
        !stdout.contains(" 0 retries"),
        "the outage was retried: {stdout}"
    );
    assert_same_files(&out, &clean);
    again.shutdown().await;
    drop(dir);
}
