//! Secret hygiene (issue 13): every command — export, sync, verify, spec, check, discover,
//! read — on its success and failure paths (wrong secret, unknown collection, server down),
//! with `-vv` where it takes it and the secret from each source it reads (flag, environment,
//! config file), never shows the secret: not on stdout or stderr (logs, Airbyte messages,
//! errors, help), not in any file under the output directory (state, manifest, data files, id
//! logs, lock file), not in the Airbyte state it hands back.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use base64::Engine as _;

use crate::support::{files_below, Fixture};

/// The key fauna-dev accepts, and a wrong one: both must stay hidden.
const SECRET: &str = "fnSECRETc0ffee5ecretA";
const WRONG: &str = "fnWRONGc0ffee5ecretB";

/// `brief` keeps no history, so export and sync read it with the short-retention strategy,
/// which writes an id log (`_state.json.ids/brief.ids`).
const SCHEMA: &str = r#"{
  "collections": [{"name": "things", "history_days": null}, {"name": "brief", "history_days": 0}],
  "indexes": [{"name": "things_ts", "source": "things", "values": [{"field": "ts"}, {"field": "ref"}]},
              {"name": "brief_ts", "source": "brief", "values": [{"field": "ts"}, {"field": "ref"}]}],
  "keys": [{"secret": "fnSECRETc0ffee5ecretA", "role": "server"}]
}"#;

fn docs() -> String {
    crate::support::numbered_docs(3)
}

/// Where the secret comes from.
#[derive(Clone, Copy, Debug)]
enum Source {
    Flag,
    Env,
    File,
}

/// Which path a run takes.
#[derive(Clone, Copy, Debug)]
enum Route {
    Success,
    WrongSecret,
    UnknownCollection,
    ServerDown,
}

/// Every way the secret could show: itself, the part after its prefix, and its base64 forms
/// (Basic authentication).
fn leaks(bytes: &[u8]) -> Vec<&'static str> {
    let text = String::from_utf8_lossy(bytes);
    let mut found = Vec::new();
    for s in [SECRET, WRONG] {
        let b64 = base64::engine::general_purpose::STANDARD;
        for needle in [
            s.to_string(),
            s[2..].to_string(),
            b64.encode(s),
            b64.encode(format!("{s}:")),
        ] {
            if text.contains(&needle) {
                found.push(s);
            }
        }
    }
    found
}

/// Scans a run's stdout, stderr and every file below `dirs`; returns what leaked where.
fn scan(what: &str, o: &Output, dirs: &[&Path]) -> Vec<String> {
    let mut found = Vec::new();
    if !leaks(&o.stdout).is_empty() {
        found.push(format!("{what}: stdout"));
    }
    if !leaks(&o.stderr).is_empty() {
        found.push(format!("{what}: stderr"));
    }
    for dir in dirs.iter().filter(|d| d.exists()) {
        for f in files_below(dir) {
            if !leaks(&std::fs::read(dir.join(&f)).unwrap()).is_empty() {
                found.push(format!("{what}: {}", dir.join(f).display()));
            }
        }
    }
    found
}

async fn run(mut c: Command) -> Output {
    c.env_remove("RUST_LOG")
        .env_remove("FAUNA_SYNC_TEST_CRASH_AT")
        .stdin(Stdio::null());
    tokio::task::spawn_blocking(move || c.output().unwrap())
        .await
        .unwrap()
}

/// A config file for `port` and `collection`, with `secret` in it when given.
fn config(dir: &Path, name: &str, port: u16, collection: &str, secret: Option<&str>) -> PathBuf {
    let secret = secret
        .map(|s| format!(r#""secret": "{s}", "#))
        .unwrap_or_default();
    let path = dir.join(name);
    std::fs::write(
        &path,
        format!(
            r#"{{"domain": "127.0.0.1", "port": {port}, "scheme": "http", {secret}"max_retries": 0,
 "collections": [{{"name": "{collection}", "index": "things_ts", "page_size": 2}},
                 {{"name": "brief", "index": "brief_ts", "page_size": 2}}]}}"#
        ),
    )
    .unwrap();
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_command_shows_the_secret_anywhere() {
    // The scan finds the secret in each form it looks for.
    let b64 = base64::engine::general_purpose::STANDARD;
    for form in [
        format!("Bearer {SECRET}"),
        format!("key={}", &WRONG[2..]),
        b64.encode(format!("{SECRET}:")),
    ] {
        assert!(!leaks(form.as_bytes()).is_empty(), "{form}");
    }
    assert!(leaks(b"fnSECRET fnWRONG").is_empty());
    let fx = Fixture::start(SCHEMA, &[("things", docs()), ("brief", docs())]).await;
    let dir = fx.dir.path();
    let up = fx.server.addr().port();
    let down = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut found = Vec::new();
    let mut runs = 0;
    let routes = [
        Route::Success,
        Route::WrongSecret,
        Route::UnknownCollection,
        Route::ServerDown,
    ];

    // export, sync and verify: the secret from each source, every path, -vv.
    for source in [Source::Flag, Source::Env, Source::File] {
        for route in routes {
            let secret = match route {
                Route::WrongSecret => WRONG,
                _ => SECRET,
            };
            let port = match route {
                Route::ServerDown => down,
                _ => up,
            };
            let collection = match route {
                Route::UnknownCollection => "nope",
                _ => "things",
            };
            let tag = format!("{source:?}-{route:?}");
            let in_file = matches!(source, Source::File).then_some(secret);
            let cfg = config(dir, &format!("{tag}.json"), port, collection, in_file);
            let out = dir.join(format!("out-{tag}"));
            for command in ["export", "sync", "sync", "verify"] {
                let mut c = Command::new(env!("CARGO_BIN_EXE_fauna-sync"));
                c.arg(command).arg("-vv").arg("--out").arg(&out);
                if command != "verify" {
                    c.arg("--config").arg(&cfg);
                }
                c.env_remove("FAUNA_SECRET");
                match source {
                    Source::Flag if command != "verify" => {
                        c.arg("--secret").arg(secret);
                    }
                    Source::Env => {
                        c.env("FAUNA_SECRET", secret);
                    }
                    _ => {}
                }
                let o = run(c).await;
                runs += 1;
                let want = match (route, command) {
                    (Route::Success, _) => Some(0),
                    (Route::UnknownCollection, "verify") | (Route::ServerDown, "verify") => None,
                    (Route::WrongSecret, "verify") => None,
                    _ => Some(if matches!(route, Route::UnknownCollection) {
                        2
                    } else {
                        1
                    }),
                };
                if want.is_some() {
                    assert_eq!(o.status.code(), want, "{tag} {command}: {o:?}");
                }
                found.extend(scan(&format!("{tag} {command}"), &o, &[&out]));
                if matches!(route, Route::Success) {
                    // -vv logs at trace level: the most verbose output was scanned.
                    let stderr = String::from_utf8_lossy(&o.stderr);
                    assert!(
                        command == "verify" || stderr.contains(" TRACE "),
                        "{stderr}"
                    );
                    let files = files_below(&out);
                    for f in ["_state.json", "_manifest.jsonl"] {
                        assert!(files.iter().any(|x| x == f), "{tag} {command}: {files:?}");
                    }
                    // The short-history collection's id set was scanned too.
                    assert!(
                        files
                            .iter()
                            .any(|x| x.starts_with("_state.json.ids/brief.")),
                        "{tag} {command}: {files:?}"
                    );
                }
            }
        }
    }

    // Command-line mistakes and help with the secret in the flag and the environment.
    for args in [
        vec!["export", "--secret", SECRET, "--page-size", "many"],
        vec!["sync", "--secret", SECRET, "--no-such-flag"],
        vec!["export", "--help"],
        vec!["sync", "--help"],
    ] {
        let mut c = Command::new(env!("CARGO_BIN_EXE_fauna-sync"));
        c.args(&args).env("FAUNA_SECRET", SECRET);
        let o = run(c).await;
        runs += 1;
        found.extend(scan(&args.join(" "), &o, &[]));
    }

    // The Airbyte commands read the secret from the config file only.
    let catalog = dir.join("catalog.json");
    for route in routes {
        let secret = match route {
            Route::WrongSecret => WRONG,
            _ => SECRET,
        };
        let port = match route {
            Route::ServerDown => down,
            _ => up,
        };
        let collection = match route {
            Route::UnknownCollection => "nope",
            _ => "things",
        };
        let tag = format!("airbyte-{route:?}");
        let cfg = config(dir, &format!("{tag}.json"), port, collection, Some(secret));
        let state = dir.join(format!("{tag}-state.json"));
        for (command, mode) in [
            ("spec", ""),
            ("check", ""),
            ("discover", ""),
            ("read", "full_refresh"),
            ("read", "incremental"),
            ("read", "incremental"),
        ] {
            let mut c = Command::new(env!("CARGO_BIN_EXE_fauna-sync"));
            c.arg(command).arg("-vv").env("FAUNA_SECRET", secret);
            if command != "spec" {
                c.arg("--config").arg(&cfg);
            }
            if command == "read" {
                std::fs::write(
                    &catalog,
                    format!(r#"{{"streams": [{{"stream": {{"name": "{collection}"}}, "sync_mode": "{mode}"}}]}}"#),
                )
                .unwrap();
                c.arg("--catalog").arg(&catalog);
                if state.exists() {
                    c.arg("--state").arg(&state);
                }
            }
            let o = run(c).await;
            runs += 1;
            let stdout = String::from_utf8_lossy(&o.stdout);
            if matches!(route, Route::Success) {
                assert_eq!(o.status.code(), Some(0), "{tag} {command}: {o:?}");
                assert!(!stdout.contains("\"FAILED\""), "{tag} {command}: {stdout}");
            } else if command == "check" {
                assert!(stdout.contains("\"FAILED\""), "{tag} {command}: {stdout}");
            } else if command != "spec" {
                assert_ne!(o.status.code(), Some(0), "{tag} {command}: {stdout}");
            }
            // The last STATE becomes the next read's input state, as the platform does.
            let states: Vec<&str> = stdout
                .lines()
                .filter(|l| l.starts_with(r#"{"type":"STATE""#))
                .collect();
            if let Some(last) = states.last() {
                let message: serde_json::Value = serde_json::from_str(last).unwrap();
                std::fs::write(&state, format!("[{}]", message["state"])).unwrap();
            }
            found.extend(scan(&format!("{tag} {command} {mode}"), &o, &[]));
        }
        if state.exists() && !leaks(&std::fs::read(&state).unwrap()).is_empty() {
            found.push(format!("{tag}: the Airbyte state"));
        }
    }
    assert!(
        found.is_empty(),
        "the secret leaked in {runs} runs:\n{}",
        found.join("\n")
    );
    eprintln!("{runs} runs scanned");
}
