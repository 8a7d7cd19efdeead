//! What a run and `verify` check of a local output beside its batch files (issue 22): an
//! `--out` that holds no output, a state set back, id-set files deleted or cut, and files the
//! run may not write — each as the real binary against fauna-dev, with the exact message, the
//! exit code and the advice.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use fauna_dev::engine::EngineOptions;
use fauna_dev::server::ServerConfig;

use crate::support::{execute, files_below, Fixture};

const SCHEMA: &str = r#"{
  "collections": [{"name": "things", "history_days": null}, {"name": "events", "history_days": 0}],
  "indexes": [
    {"name": "things_ts", "source": "things", "values": [{"field": "ts"}, {"field": "ref"}]},
    {"name": "events_ts", "source": "events", "values": [{"field": "ts"}, {"field": "ref"}]}
  ],
  "keys": [{"secret": "fnTestServer", "role": "server"}]
}"#;

const SYNC_CONFIG: &str = r#"{"collection": {"name": "things", "deletions": {"deletion_mode": "deleted_field", "column": "deleted_at"}}, "output": {"format": "jsonl"}}"#;

const STATE_ADVICE: &str = "The output was left untouched.\n";

const PERMISSION_ADVICE: &str = "Grant the privilege or access named above (to the key's role, or to the user or credentials writing the output), or use another key; committed files stay valid.\n";

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

/// fauna-dev with `things` (history kept) and `events` (history kept 300 ms: an export of it
/// is a scan, a catch-up and a reconciliation, which leaves an id set with a base file).
async fn fixture() -> Fixture {
    Fixture::start_with(
        SCHEMA,
        &[("things", docs(12)), ("events", docs(6))],
        EngineOptions {
            mvt_offset: Duration::from_millis(300),
            ..EngineOptions::default()
        },
        ServerConfig::new(),
    )
    .await
}

fn cmd(args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_fauna-sync"));
    c.args(args)
        .env("FAUNA_SECRET", "fnTestServer")
        .env_remove("FAUNA_SYNC_TEST_CRASH_AT")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    c
}

async fn run(args: &[&str]) -> Output {
    let mut c = cmd(args);
    tokio::task::spawn_blocking(move || c.output().unwrap())
        .await
        .unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Every file below `dir` with its bytes (the lock file, which holds the last pid, aside).
fn snapshot(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    files_below(dir)
        .into_iter()
        .filter(|f| f != ".fauna-sync.lock")
        .map(|f| {
            let bytes = std::fs::read(dir.join(&f)).unwrap();
            (f, bytes)
        })
        .collect()
}

fn sync_args<'a>(fx_url: &'a str, config: &'a str, out: &'a str) -> Vec<&'a str> {
    vec![
        "sync",
        "--endpoint",
        fx_url,
        "--config",
        config,
        "--batch-rows",
        "5",
        "--out",
        out,
    ]
}

/// Sets `streams.<stream>.<field>` of the state file to `value`.
fn edit_state(path: &Path, stream: &str, field: &str, value: serde_json::Value) {
    let mut state: serde_json::Value =
        serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    state["streams"][stream][field] = value;
    std::fs::write(path, serde_json::to_vec_pretty(&state).unwrap()).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_of_a_directory_without_fauna_sync_output_fails_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let missing = dir.path().join("typo");
    for out in [&empty, &missing] {
        let o = run(&["verify", "--out", out.to_str().unwrap()]).await;
        assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
        assert_eq!(
            stderr(&o),
            format!(
                "error: {} holds no fauna-sync output (neither _manifest.jsonl nor _output.json); check --out (the path, or the bucket and prefix), or run export or sync with this --out first\n",
                out.display()
            )
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_state_set_back_is_refused_instead_of_overwriting_a_committed_file() {
    let fx = fixture().await;
    let url = fx.server.url();
    let config = fx.dir.path().join("sync.json");
    std::fs::write(&config, SYNC_CONFIG).unwrap();
    let config = config.to_str().unwrap();
    let out = fx.out("out");
    let out_s = out.to_str().unwrap();
    let first = run(&sync_args(&url, config, out_s)).await;
    assert!(first.status.success(), "{}", stderr(&first));
    // 12 documents in batches of 5: files 1, 2 and 3; the next batch would be 4.
    let state = out.join("_state.json");
    edit_state(&state, "things", "next_seq", 2.into());
    let r = execute(
        &fx.engine,
        "fnTestServer",
        r#"{"update":{"ref":{"collection":"things"},"id":"1001"},"params":{"object":{"data":{"object":{"n":-1}}}}}"#,
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let before = snapshot(&out);

    let o = run(&sync_args(&url, config, out_s)).await;
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert_eq!(
        stderr(&o),
        format!(
            "error: the state {} does not match the output {out_s}: things/part-00000002.jsonl (batch 2 of stream 'things') is committed, but the state's next batch of 'things' is 2: the state was set back; this run would overwrite that file — use the state that made this output (or restore its latest copy), or delete the output and its state to export again\n{STATE_ADVICE}",
            state.display()
        )
    );
    assert_eq!(snapshot(&out), before, "nothing was changed");
    let v = run(&["verify", "--out", out_s]).await;
    assert_eq!(v.status.code(), Some(1), "{}", stderr(&v));
    assert_eq!(
        stderr(&v),
        format!(
            "1 problem(s) in {out_s} (3 file(s) listed):\n  things/part-00000002.jsonl (batch 2 of stream 'things') is committed, but the state's next batch of 'things' is 2: the state was set back\n"
        )
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_or_cut_id_set_file_fails_the_run_and_verify_with_a_remedy() {
    let fx = fixture().await;
    let url = fx.server.url();
    // `events` keeps history 300 ms: its export keeps an id set, `events.delta.0`, merged into
    // a base file, `events.set.1`, when the export ends with a reconciliation (it is skipped
    // when the export took less than those 300 ms and nothing was deleted meanwhile).
    let out = fx.out("events");
    let out_s = out.to_str().unwrap();
    let export = [
        "export",
        "--endpoint",
        &url,
        "--collection",
        "events",
        "--out",
        out_s,
    ];
    let first = run(&export).await;
    assert!(first.status.success(), "{}", stderr(&first));
    let ids = PathBuf::from(format!("{out_s}/_state.json.ids"));
    let named = [ids.join("events.set.1"), ids.join("events.delta.0")]
        .into_iter()
        .find(|f| f.exists());
    let named = named.unwrap_or_else(|| panic!("no id set file: {:?}", files_below(&out)));
    let ok = run(&["verify", "--out", out_s]).await;
    assert_eq!(ok.status.code(), Some(0), "{}", stderr(&ok));
    std::fs::remove_file(&named).unwrap();
    let problem = format!(
        "{} is missing (the id set of stream 'events' that the state names: the ids its output holds, which deletion reconciliation reads)",
        named.display()
    );
    let v = run(&["verify", "--out", out_s]).await;
    assert_eq!(v.status.code(), Some(1), "{}", stderr(&v));
    assert_eq!(
        stderr(&v),
        format!("1 problem(s) in {out_s} (1 file(s) listed):\n  {problem}\n")
    );
    let damaged = |problem: &str| {
        format!(
            "error: the output {out_s} is damaged: {problem}; restore the files, or delete the output and its state to export again (`fauna-sync verify --out {out_s}` lists every problem)\n{STATE_ADVICE}"
        )
    };
    let again = run(&export).await;
    assert_eq!(again.status.code(), Some(1), "{}", stderr(&again));
    assert_eq!(stderr(&again), damaged(&problem));

    // A delta cut short (a sync's id set of generation 0, `things.delta.0`).
    let config = fx.dir.path().join("sync.json");
    std::fs::write(&config, SYNC_CONFIG).unwrap();
    let out = fx.out("things");
    let out_s = out.to_str().unwrap();
    let args = sync_args(&url, config.to_str().unwrap(), out_s);
    let first = run(&args).await;
    assert!(first.status.success(), "{}", stderr(&first));
    let delta = out.join("_state.json.ids/things.delta.0");
    let len = std::fs::metadata(&delta).unwrap().len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&delta)
        .unwrap()
        .set_len(len - 5)
        .unwrap();
    let problem = format!(
        "{} has {} bytes, the state committed {len} (the id set was truncated or replaced)",
        delta.display(),
        len - 5
    );
    let v = run(&["verify", "--out", out_s]).await;
    assert_eq!(v.status.code(), Some(1), "{}", stderr(&v));
    assert_eq!(
        stderr(&v),
        format!("1 problem(s) in {out_s} (3 file(s) listed):\n  {problem}\n")
    );
    let damaged = |problem: &str| {
        format!(
            "error: the output {out_s} is damaged: {problem}; restore the files, or delete the output and its state to export again (`fauna-sync verify --out {out_s}` lists every problem)\n{STATE_ADVICE}"
        )
    };
    let again = run(&args).await;
    assert_eq!(again.status.code(), Some(1), "{}", stderr(&again));
    assert_eq!(stderr(&again), damaged(&problem));
}

/// Makes a file unwritable for the test's user: immutable (`chattr +i`, which binds root too)
/// when that works, else read-only; undone on drop so the directory can be removed.
struct Unwritable {
    path: PathBuf,
    immutable: bool,
}

impl Unwritable {
    fn new(path: &Path) -> Unwritable {
        let immutable = Command::new("chattr")
            .arg("+i")
            .arg(path)
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !immutable {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o444)).unwrap();
        }
        Unwritable {
            path: path.to_path_buf(),
            immutable,
        }
    }

    /// The error text of a write to it.
    fn refusal(&self) -> &'static str {
        if self.immutable {
            "Operation not permitted (os error 1)"
        } else {
            "Permission denied (os error 13)"
        }
    }
}

impl Drop for Unwritable {
    fn drop(&mut self) {
        if self.immutable {
            let _ = Command::new("chattr").arg("-i").arg(&self.path).status();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_output_file_the_run_may_not_write_is_a_permission_failure_with_permission_advice() {
    let fx = fixture().await;
    let url = fx.server.url();
    let out = fx.out("out");
    let out_s = out.to_str().unwrap();
    let export = [
        "export",
        "--endpoint",
        &url,
        "--collection",
        "things",
        "--batch-rows",
        "5",
        "--out",
        out_s,
    ];
    let first = run(&export).await;
    assert!(first.status.success(), "{}", stderr(&first));
    // As root, a read-only mode does not stop writes: only an immutable file does.
    let manifest = out.join("_manifest.jsonl");
    let locked = Unwritable::new(&manifest);
    if !locked.immutable
        && std::fs::OpenOptions::new()
            .append(true)
            .open(&manifest)
            .is_ok()
    {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "neither chattr +i nor a read-only mode stops this user's writes (CI=true)"
        );
        eprintln!("SKIPPED: neither chattr +i nor a read-only mode stops this user's writes");
        return;
    }
    let before = snapshot(&out);
    let o = run(&export).await;
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert_eq!(
        stderr(&o),
        format!(
            "error: cannot open {}: {}; give the user running fauna-sync access to it (check the permissions of the file and its directory, `lsattr` for an immutable file, and that the file system is writable)\n{PERMISSION_ADVICE}",
            manifest.display(),
            locked.refusal()
        )
    );
    drop(locked);
    assert_eq!(snapshot(&out), before, "nothing was changed");
}
