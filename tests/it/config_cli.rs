//! Configuration and connection checks of the real binary: refusals before any network call
//! (exit 2), misspelled keys, validated overrides, and connection failures that are permanent
//! (no retry) or transient (one line per retry). No test contacts a non-loopback address.

use std::path::Path;
use std::process::Output;

use fauna_sync::config::{DEFAULT_BATCH_ROWS, DEFAULT_PAGE_SIZE};
use fauna_sync::error::ErrorKind;
use fauna_sync::fauna::{ClientOptions, Expr, FaunaClient, FaunaError, RetryPolicy, Secret};

use crate::support::Fixture;

const SCHEMA: &str = r#"{
  "collections": [{"name": "things", "history_days": null}],
  "keys": [{"secret": "fnTestServer", "role": "server"}]
}"#;

fn things() -> String {
    [
        r#"{"id":"1","ts":1658188683585000,"data":{"n":1}}"#,
        r#"{"id":"2","ts":1658188683586000,"data":{"n":2}}"#,
    ]
    .join("\n")
        + "\n"
}

/// Runs `fauna-sync <args>` with the test key in `FAUNA_SECRET` and default logging.
async fn run(args: &[&str], config: Option<(&Path, &str)>) -> Output {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_fauna-sync"));
    cmd.args(args)
        .env("FAUNA_SECRET", "fnTestServer")
        .env_remove("RUST_LOG")
        .env_remove("FAUNA_SYNC_TEST_CRASH_AT");
    if let Some((path, text)) = config {
        std::fs::write(path, text).unwrap();
        cmd.arg("--config").arg(path);
    }
    tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Lines of the log that announce a retry.
fn retry_lines(o: &Output) -> Vec<String> {
    stderr(o)
        .lines()
        .filter(|l| l.contains("retrying in"))
        .map(str::to_string)
        .collect()
}

/// Asserts exit code 2 and exactly `message` on stderr, and that nothing was written.
fn assert_refused(o: &Output, out: &Path, message: &str) {
    assert_eq!(
        (o.status.code(), stderr(o).as_str(), o.stdout.as_slice()),
        (Some(2), format!("error: {message}\n").as_str(), &b""[..])
    );
    assert!(!out.exists(), "{} was created", out.display());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_http_to_another_machine_is_refused_before_any_network_call() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let out_arg = out.to_str().unwrap();
    let o = run(
        &[
            "export",
            "--endpoint",
            "http://192.0.2.2:8443",
            "--collection",
            "things",
            "--out",
            out_arg,
        ],
        None,
    )
    .await;
    assert_refused(
        &o,
        &out,
        "invalid configuration: `--endpoint`: plain http to 192.0.2.2, which is not this machine, \
         would send the secret unencrypted. Use https, or pass --allow-insecure-http if the \
         network path is trusted.",
    );
    let config = dir.path().join("c.json");
    let o = run(
        &["export", "--out", out_arg],
        Some((
            &config,
            r#"{"domain":"192.0.2.2","port":8443,"scheme":"http","collection":{"name":"things"}}"#,
        )),
    )
    .await;
    assert_refused(
        &o,
        &out,
        "invalid configuration: `scheme`: plain http to 192.0.2.2, which is not this machine, \
         would send the secret unencrypted. Use https, or set \"allow_insecure_http\": true (or \
         pass --allow-insecure-http) if the network path is trusted.",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn misspelled_keys_and_out_of_range_values_in_the_file_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let config = dir.path().join("c.json");
    let cases = [
        (
            r#"{"domain":"127.0.0.1","port":1,"scheme":"http","colection":{"name":"things"}}"#,
            "invalid configuration: `colection`: unknown key; it looks like a misspelling of \
             `collection`. Rename it to `collection` (see spec/config.schema.json).",
        ),
        (
            r#"{"domain":"127.0.0.1","port":1,"scheme":"http","max_retires":3}"#,
            "invalid configuration: `max_retires`: unknown key; it looks like a misspelling of \
             `max_retries`. Rename it to `max_retries` (see spec/config.schema.json).",
        ),
        (
            r#"{"domain":"127.0.0.1","port":1,"scheme":"http","max_retries":1000}"#,
            "invalid configuration: `max_retries`: 1000 is outside 0..=100. Use at most 100 \
             retries; each waits up to 20 s.",
        ),
    ];
    for (text, message) in cases {
        let o = run(
            &["export", "--out", out.to_str().unwrap()],
            Some((&config, text)),
        )
        .await;
        assert_refused(&o, &out, message);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn command_line_overrides_are_validated_like_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let out_arg = out.to_str().unwrap();
    let example = "Give the full URL, e.g. https://db.fauna.com or http://127.0.0.1:8443 for a \
                   local fauna-dev.";
    let cases: Vec<(Vec<&str>, String)> = vec![
        (
            vec!["--endpoint", "127.0.0.1:8443"],
            format!(
                "invalid configuration: `--endpoint`: '127.0.0.1:8443' has no scheme. {example}"
            ),
        ),
        (
            vec!["--endpoint", "ftp://127.0.0.1:8443"],
            "invalid configuration: `--endpoint`: unsupported scheme 'ftp' in \
             'ftp://127.0.0.1:8443'. Use https:// (or http:// for a local fauna-dev)."
                .to_string(),
        ),
        (
            vec!["--endpoint", "http://127.0.0.1:99999"],
            format!(
                "invalid configuration: `--endpoint`: 'http://127.0.0.1:99999' is not a valid \
                 URL (invalid port number). {example}"
            ),
        ),
        (
            vec!["--endpoint", "http://127.0.0.1:1", "--collection", ""],
            "invalid configuration: `--collection`: empty collection name. Name a collection, \
             e.g. --collection users, or leave --collection out."
                .to_string(),
        ),
    ];
    for (args, message) in cases {
        let mut all = vec!["export", "--out", out_arg];
        all.extend(args);
        let o = run(&all, None).await;
        assert_refused(&o, &out, &message);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_repeated_collection_is_exported_once_and_unknown_keys_are_warned_about() {
    let fx = Fixture::start(SCHEMA, &[("things", things())]).await;
    let out = fx.out("out");
    let config = fx.dir.path().join("c.json");
    let url = fx.server.url();
    let o = run(
        &[
            "export",
            "--endpoint",
            &url,
            "--collection",
            "things",
            "--collection",
            "things",
            "--out",
            out.to_str().unwrap(),
        ],
        Some((&config, r#"{"notes":"nightly export"}"#)),
    )
    .await;
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    // The summary is human output, on stderr; stdout stays empty for protocol messages.
    assert!(o.stdout.is_empty());
    assert!(
        stderr(&o).contains("\nexported 1 collection(s): 2 docs in 1 file(s)"),
        "{}",
        stderr(&o)
    );
    // Then what paging did: one page of the default size, not full, so it never grew; and the
    // round trips before it, one after the other: the collection, its first id (the
    // permission check), the snapshot time and the split points' ends.
    assert!(
        stderr(&o).contains(
            "\npaging: 1000 documents per page at the end (grew 0 times, shrank 0, 0 too \
             large); queries in flight: 6 of 6 allowed (halved 0 times); 5 queries, 4 of them \
             before the first page\n"
        ),
        "{}",
        stderr(&o)
    );
    let warnings: Vec<String> = stderr(&o)
        .lines()
        .filter(|l| l.contains("WARN"))
        .map(|l| l.split_once("WARN ").unwrap().1.to_string())
        .collect();
    assert_eq!(
        warnings,
        ["the configuration key `notes` is unknown and ignored (the nearest known key is `port`)"]
    );
    assert_eq!(
        std::fs::read_to_string(out.join("things/part-00000001.jsonl"))
            .unwrap()
            .lines()
            .count(),
        2
    );
}

/// A client for `endpoint` with the test key and up to 8 retries.
fn client(endpoint: &str) -> FaunaClient {
    FaunaClient::new(ClientOptions {
        endpoint: endpoint.to_string(),
        secret: Secret::new("fnTestServer"),
        query_timeout: std::time::Duration::from_secs(5),
        retry: RetryPolicy::default(),
    })
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_to_a_plain_http_port_fails_at_once_suggesting_http() {
    let fx = Fixture::start(SCHEMA, &[("things", things())]).await;
    let port = fx.server.addr().port();
    let https = format!("https://127.0.0.1:{port}");
    let expected = format!(
        "cannot connect to Fauna at {https}: the server does not speak TLS (https) on this port. \
         If it is a plain-http server such as a local fauna-dev, use http://127.0.0.1:{port}."
    );

    let c = client(&https);
    let err = c.query(&Expr::now()).await.unwrap_err();
    assert!(matches!(err, FaunaError::Connect { .. }), "{err:?}");
    assert_eq!(
        (err.to_string(), err.kind(), err.is_retryable(), c.retries()),
        (expected.clone(), ErrorKind::Config, false, 0)
    );

    let out = fx.out("out");
    let o = run(
        &[
            "export",
            "--endpoint",
            &https,
            "--collection",
            "things",
            "--out",
            out.to_str().unwrap(),
        ],
        None,
    )
    .await;
    // ErrorKind::Config: exit 2.
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains(&expected), "{}", stderr(&o));
    assert_eq!(retry_lines(&o), Vec::<String>::new());
    assert!(!stderr(&o).contains("fnTestServer"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "asks the machine's DNS resolver, which is not on loopback; run by hand with --ignored"]
async fn a_host_name_that_does_not_resolve_fails_at_once() {
    // RFC 2606: `.invalid` never resolves. https, so that the plain-http check does not refuse
    // it first.
    let endpoint = "https://fauna-sync-test.invalid:8443";
    let expected = format!(
        "cannot connect to Fauna at {endpoint}: the host name fauna-sync-test.invalid does not \
         resolve. Check the host name in the endpoint (\"domain\" or --endpoint)."
    );
    let c = client(endpoint);
    let err = c.query(&Expr::now()).await.unwrap_err();
    assert_eq!(
        (err.to_string(), err.kind(), err.is_retryable(), c.retries()),
        (expected.clone(), ErrorKind::Config, false, 0)
    );

    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let o = run(
        &[
            "export",
            "--endpoint",
            endpoint,
            "--collection",
            "things",
            "--out",
            out.to_str().unwrap(),
        ],
        None,
    )
    .await;
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains(&expected), "{}", stderr(&o));
    assert_eq!(retry_lines(&o), Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_connection_is_retried_saying_so_on_each_attempt() {
    // A port nothing listens on: bind one, then free it.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let endpoint = format!("http://127.0.0.1:{port}");
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let config = dir.path().join("c.json");
    let o = run(
        &[
            "export",
            "--endpoint",
            &endpoint,
            "--collection",
            "things",
            "--out",
            out.to_str().unwrap(),
        ],
        Some((&config, r#"{"max_retries":3}"#)),
    )
    .await;
    assert_ne!(o.status.code(), Some(0));
    let lines = retry_lines(&o);
    assert_eq!(lines.len(), 3, "{}", stderr(&o));
    for (i, line) in lines.iter().enumerate() {
        let (head, tail) = line
            .split_once(" s (")
            .unwrap_or_else(|| panic!("no delay in {line}"));
        let prefix =
            format!("WARN Fauna at {endpoint} is unreachable (connection refused); retrying in ");
        let at = head.find(&prefix).unwrap_or_else(|| panic!("{line}"));
        let seconds: f64 = head[at + prefix.len()..].parse().unwrap();
        assert!((0.0..=20.0).contains(&seconds), "{line}");
        assert_eq!(tail, format!("{}/3)", i + 1));
    }
    assert!(
        stderr(&o).contains(&format!(
            "could not reach Fauna at {endpoint}: connection refused"
        )),
        "{}",
        stderr(&o)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_help_shows_the_defaults() {
    let o = run(&["export", "--help"], None).await;
    assert_eq!(o.status.code(), Some(0));
    let help = String::from_utf8_lossy(&o.stdout)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    // The texts are written by hand: they must match the defaults the code applies.
    for expected in [
        "Output format [default: jsonl]".to_string(),
        "usual environment variables [default: fauna-export]".to_string(),
        format!("Documents per page (1..=100000) [default: {DEFAULT_PAGE_SIZE}]"),
        format!("Rows per batch file [default: {DEFAULT_BATCH_ROWS}]"),
        "JSONL compression (Parquet is always zstd) [default: none]".to_string(),
        "--allow-insecure-http Allow plain http:// to a host other than this machine".to_string(),
    ] {
        assert!(help.contains(&expected), "{expected:?} not in {help}");
    }
}
