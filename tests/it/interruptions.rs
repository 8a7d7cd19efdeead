//! Interruptions from outside the process: SIGKILL at many moments of an export, and the
//! server going away and coming back mid-export. The outcome must equal a clean run.
//!
//! Every moment is a named point the export reaches (`FAUNA_SYNC_TEST_PAUSE_AT`, src/crash.rs):
//! the process holds that thread there and says so, and the test acts only then, so nothing
//! depends on how fast the machine runs the export.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use fauna_dev::server::{serve, ServerConfig};
use tokio::sync::mpsc;

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
        // Pinned: 40 pages and 29 batches, so every point below is reached many times.
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
        .env_remove("FAUNA_SYNC_TEST_PAUSE_AT")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

async fn finish(child: Child) -> std::process::Output {
    tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap()
}

/// A running fauna-sync held at a test hook's point (`FAUNA_SYNC_TEST_PAUSE_AT`), its stderr
/// read line by line.
struct Paused {
    child: Child,
    /// The file whose creation lets the held thread go on (`FAUNA_SYNC_TEST_PAUSE_FILE`).
    go_on: PathBuf,
    stderr: mpsc::UnboundedReceiver<String>,
    /// The stderr lines read so far.
    lines: Vec<String>,
}

impl Paused {
    /// Starts `cmd` held at `point` (`<name>:<n>`), and waits until it is held there (it
    /// creates `<go_on>.paused`); fails if it ends first.
    async fn start(mut cmd: Command, point: &str, go_on: PathBuf) -> Paused {
        let mut child = cmd
            .env("FAUNA_SYNC_TEST_PAUSE_AT", point)
            .env("FAUNA_SYNC_TEST_PAUSE_FILE", &go_on)
            .spawn()
            .unwrap();
        let (tx, stderr) = mpsc::unbounded_channel();
        let pipe = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines() {
                let Ok(line) = line else { return };
                if tx.send(line).is_err() {
                    return;
                }
            }
        });
        let mut held = go_on.clone().into_os_string();
        held.push(".paused");
        let held = PathBuf::from(held);
        // Polled, not timed: the loop ends when the run is held or has ended.
        while !held.exists() {
            if let Some(status) = child.try_wait().unwrap() {
                panic!("the run ended ({status}) before reaching {point}");
            }
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        Paused {
            child,
            go_on,
            stderr,
            lines: Vec::new(),
        }
    }

    /// Reads stderr up to a line that `matches`; fails naming `what` if stderr ends first.
    async fn wait_until(&mut self, matches: impl Fn(&str) -> bool, what: &str) {
        while let Some(line) = self.stderr.recv().await {
            let found = matches(&line);
            self.lines.push(line);
            if found {
                return;
            }
        }
        panic!("the run ended before {what}:\n{}", self.lines.join("\n"));
    }

    /// Lets the held thread go on.
    fn resume(&self) {
        std::fs::write(&self.go_on, b"").unwrap();
    }

    /// SIGKILL; returns the exit status.
    async fn kill(mut self) -> std::process::ExitStatus {
        self.child.kill().unwrap();
        tokio::task::spawn_blocking(move || self.child.wait().unwrap())
            .await
            .unwrap()
    }

    /// Waits for the end; returns the exit status and every stderr line.
    async fn finish(mut self) -> (std::process::ExitStatus, Vec<String>) {
        while let Some(line) = self.stderr.recv().await {
            self.lines.push(line);
        }
        let status = tokio::task::spawn_blocking(move || self.child.wait().unwrap())
            .await
            .unwrap();
        (status, self.lines)
    }
}

/// fauna-dev with 200 documents, and the output of one uninterrupted export for comparison.
async fn fixture_with_a_clean_export() -> (Fixture, PathBuf) {
    let fx = Fixture::start(SCHEMA, &[("things", docs(200))]).await;
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
    let (fx, clean) = fixture_with_a_clean_export().await;
    let url = fx.server.url();

    let out = fx.out("killed");
    // Each run resumes the one before and is killed (SIGKILL) where one thread holds at the
    // point while its other threads go on (reading pages ahead, writing a batch): after a
    // page, in the middle of a batch file, between a batch's rename and its state write,
    // early and later in a run.
    let points = [
        "after-page:1",
        "mid-batch:2",
        "after-batch-rename:1",
        "after-page:6",
        "mid-batch:5",
        "after-batch-rename:3",
        "mid-batch:1",
        "after-page:3",
    ];
    for (i, point) in points.into_iter().enumerate() {
        let go_on = fx.out(&format!("go-on-{i}"));
        let paused = Paused::start(export(&url, &out), point, go_on).await;
        let status = paused.kill().await;
        assert_eq!(
            std::os::unix::process::ExitStatusExt::signal(&status),
            Some(9),
            "{point}"
        );
    }
    let r = finish(export(&url, &out).spawn().unwrap()).await;
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    assert_same_files(&out, &clean);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_going_away_mid_export_is_retried_and_the_export_completes() {
    let (fx, clean) = fixture_with_a_clean_export().await;
    let url = fx.server.url();

    let out = fx.out("restarted");
    // One range (at most 2 pages read ahead), held after its 3rd page: most pages are still
    // to be asked for when the server goes away.
    let mut cmd = export(&url, &out);
    cmd.args(["--concurrency", "1"]);
    let mut run = Paused::start(cmd, "after-page:3", fx.out("go-on")).await;
    // Stop the server (its port refuses connections), let the export go on until it retries,
    // then serve the same engine on the same port again, as a restarted fauna-dev with
    // --state would.
    let addr = fx.server.addr();
    let Fixture {
        server,
        engine,
        dir,
        ..
    } = fx;
    server.shutdown().await;
    run.resume();
    run.wait_until(|l| l.contains("; retrying in "), "a retry")
        .await;
    let again = serve(
        ServerConfig::new().bind(addr.ip()).port(addr.port()),
        engine,
    )
    .await
    .unwrap();
    let (status, lines) = run.finish().await;
    let stderr = lines.join("\n");
    assert!(status.success(), "{stderr}");
    // The summary is human output: on stderr (stdout is kept for protocol messages).
    assert!(stderr.contains("200 docs"), "{stderr}");
    assert!(
        !stderr.contains(" 0 retries"),
        "the outage was retried: {stderr}"
    );
    assert_same_files(&out, &clean);
    again.shutdown().await;
    drop(dir);
}
