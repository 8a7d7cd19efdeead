//! Object-store outputs (`--out s3://…`) against moto's S3 server, started here on a free
//! loopback port: byte-identical to a local-directory run, crash and resume, overlapping runs,
//! `verify`. moto comes from `scripts/venv-moto` (`MOTO_SERVER_BIN`); without it these tests
//! are skipped, except under `CI=true`, where they fail.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use ::object_store::aws::AmazonS3Builder;
use ::object_store::path::Path as ObjectPath;
use ::object_store::{ObjectStore, ObjectStoreExt};
use fauna_dev::engine::EngineOptions;
use fauna_dev::server::ServerConfig;
use futures_util::StreamExt;

use crate::support::{execute, files_below, Fixture};

const SCHEMA: &str = r#"{
  "collections": [{"name": "things", "history_days": null}],
  "indexes": [{"name": "things_ts", "source": "things", "values": [{"field": "ts"}, {"field": "ref"}]}],
  "keys": [{"secret": "fnTestServer", "role": "server"}]
}"#;

const CONFIG: &str = r#"{"collection": {"name": "things", "deletions": {"deletion_mode": "deleted_field", "column": "deleted_at"}}, "output": {"format": "jsonl"}}"#;

/// A moto S3 server on a free loopback port, stopped on drop.
pub(crate) struct Moto {
    child: Child,
    endpoint: String,
    port: u16,
}

impl Moto {
    /// Starts moto_server; `None` (the test is skipped) when it is not installed, unless
    /// `CI=true`.
    pub(crate) fn start() -> Option<Moto> {
        Moto::start_with(&[])
    }

    /// [`Moto::start`] with extra environment for the server (e.g. IAM checks).
    fn start_with(env: &[(&str, &str)]) -> Option<Moto> {
        let bin = std::env::var_os("MOTO_SERVER_BIN")
            .map(PathBuf::from)
            .unwrap_or_else(|| {
                Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv-moto/bin/moto_server")
            });
        if !bin.exists() {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "moto_server not found at {} (CI=true): run scripts/venv-moto",
                bin.display()
            );
            eprintln!(
                "SKIPPED: moto_server not found at {}; run scripts/venv-moto",
                bin.display()
            );
            return None;
        }
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(&bin)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let moto = Moto {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
            port,
        };
        for _ in 0..600 {
            if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Some(moto);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("moto_server did not listen on port {port}");
    }

    /// Creates a bucket (moto does not check signatures).
    pub(crate) fn bucket(&self, name: &str) {
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        write!(
            s,
            "PUT /{name} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            self.port
        )
        .unwrap();
        let mut response = String::new();
        s.read_to_string(&mut response).unwrap();
        assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    }

    pub(crate) fn store(&self, bucket: &str) -> Arc<dyn ObjectStore> {
        Arc::new(
            AmazonS3Builder::new()
                .with_endpoint(&self.endpoint)
                .with_allow_http(true)
                .with_bucket_name(bucket)
                .with_region("us-east-1")
                .with_access_key_id("test")
                .with_secret_access_key("test")
                .build()
                .unwrap(),
        )
    }

    /// The binary with the S3 environment pointing at this server.
    pub(crate) fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_fauna-sync"));
        cmd.args(args)
            .env("FAUNA_SECRET", "fnTestServer")
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .env("AWS_DEFAULT_REGION", "us-east-1")
            .env("AWS_ENDPOINT_URL", &self.endpoint)
            .env("AWS_ALLOW_HTTP", "true")
            .env_remove("AWS_PROFILE")
            .env_remove("AWS_SESSION_TOKEN")
            .env_remove("FAUNA_SYNC_TEST_CRASH_AT")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        cmd
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn output(cmd: Command) -> std::process::Output {
    let mut cmd = cmd;
    tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap()
}

fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Every object below `prefix`, relative to it, with its bytes.
pub(crate) async fn objects(store: &dyn ObjectStore, prefix: &str) -> BTreeMap<String, Vec<u8>> {
    let p = ObjectPath::from(prefix);
    let mut list = store.list(Some(&p));
    let mut out = BTreeMap::new();
    while let Some(meta) = list.next().await {
        let meta = meta.unwrap();
        let rel = meta.location.as_ref()[prefix.len() + 1..].to_string();
        let bytes = store
            .get(&meta.location)
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        out.insert(rel, bytes.to_vec());
    }
    out
}

/// The local output's files, except the lock and the state (its output id differs).
fn local_files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    files_below(dir)
        .into_iter()
        .filter(|f| f != ".fauna-sync.lock" && f != "_state.json" && f != "_output.json")
        .map(|f| {
            let bytes = std::fs::read(dir.join(&f)).unwrap();
            (f, bytes)
        })
        .collect()
}

/// The objects without the state and owner records.
fn data_objects(mut o: BTreeMap<String, Vec<u8>>) -> BTreeMap<String, Vec<u8>> {
    o.remove("_state.json");
    o.remove("_output.json");
    o
}

fn docs(n: u64, pad: usize) -> String {
    (1..=n)
        .map(|i| {
            format!(
                r#"{{"id":"{}","ts":{},"data":{{"n":{i},"pad":"{}"}}}}"#,
                1000 + i,
                1_658_188_683_000_000 + i,
                "x".repeat(pad)
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}

fn write(fx: &Fixture, query: &str) {
    let r = execute(&fx.engine, "fnTestServer", query);
    assert!(
        r.status == 200 || r.status == 201,
        "{query}: {} {}",
        r.status,
        r.body
    );
}

fn export_args<'a>(endpoint: &'a str, out: &'a str) -> Vec<&'a str> {
    vec![
        "export",
        "--endpoint",
        endpoint,
        "--collection",
        "things",
        "--page-size",
        "5",
        "--batch-rows",
        "7",
        "--out",
        out,
    ]
}

/// Every document id in the committed JSONL files the manifest lists, with its count.
fn committed_ids(files: &BTreeMap<String, Vec<u8>>) -> BTreeMap<String, u32> {
    let mut ids = BTreeMap::new();
    for line in String::from_utf8_lossy(&files["_manifest.jsonl"]).lines() {
        let f: serde_json::Value = serde_json::from_str(line).unwrap();
        let name = f["file"].as_str().unwrap();
        for rec in String::from_utf8_lossy(&files[name]).lines() {
            let r: serde_json::Value = serde_json::from_str(rec).unwrap();
            *ids.entry(r["ref"].as_str().unwrap().to_string())
                .or_insert(0) += 1;
        }
    }
    ids
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_and_sync_to_s3_are_byte_identical_to_the_local_directory_run() {
    let Some(moto) = Moto::start() else { return };
    moto.bucket("bkt");
    let fx = Fixture::start(SCHEMA, &[("things", docs(30, 10))]).await;
    let url = fx.server.url();
    let store = moto.store("bkt");

    // Export.
    let local = fx.out("local-export");
    let local_s = local.to_str().unwrap();
    let r = output(moto.command(&export_args(&url, local_s))).await;
    assert!(r.status.success(), "{}", stderr(&r));
    let r = output(moto.command(&export_args(&url, "s3://bkt/exports/one"))).await;
    assert!(r.status.success(), "{}", stderr(&r));
    let remote = objects(store.as_ref(), "exports/one").await;
    assert_eq!(
        remote
            .keys()
            .filter(|k| !k.contains('/'))
            .collect::<Vec<_>>(),
        ["_manifest.jsonl", "_output.json", "_state.json"],
        "the lease is gone at the end"
    );
    let expected = local_files(&local);
    assert_eq!(
        expected.len(),
        1 + 5,
        "the manifest and 5 batches of 7, 7, 7, 7, 2"
    );
    assert_eq!(data_objects(remote.clone()), expected);
    // The state object is the local state but for the output id, the snapshot time and the
    // object's write marker (the claim, the streams, then one write per batch: 7).
    let strip = |b: &[u8]| {
        let mut v: serde_json::Value = serde_json::from_slice(b).unwrap();
        let o = v.as_object_mut().unwrap();
        o.remove("output_id");
        if let Some(write) = o.remove("write") {
            assert_eq!(write["n"], 7, "{write}");
            assert_eq!(write["run"].as_str().map(str::len), Some(32), "{write}");
        }
        // Each run reads at its own snapshot time.
        o["streams"]["things"]
            .as_object_mut()
            .unwrap()
            .remove("snapshot_ts");
        v
    };
    assert_eq!(
        strip(&remote["_state.json"]),
        strip(&std::fs::read(local.join("_state.json")).unwrap())
    );

    // Parquet, gzip-compressed JSONL: the same bytes too.
    for (name, extra) in [
        ("parquet", ["--format", "parquet"]),
        ("gzip", ["--compression", "gzip"]),
    ] {
        let local = fx.out(&format!("local-{name}"));
        let remote = format!("s3://bkt/formats/{name}");
        for out in [local.to_str().unwrap(), remote.as_str()] {
            let mut args = export_args(&url, out);
            args.extend(extra);
            let r = output(moto.command(&args)).await;
            assert!(r.status.success(), "{name}: {}", stderr(&r));
        }
        let remote = data_objects(objects(store.as_ref(), &format!("formats/{name}")).await);
        let expected = local_files(&local);
        assert_eq!(expected.len(), 1 + 5, "{name}");
        assert_eq!(remote, expected, "{name}");
    }

    // Sync: a full export, then a window with an update, a creation and a deletion.
    let cfg = fx.dir.path().join("sync.json");
    std::fs::write(&cfg, CONFIG).unwrap();
    let cfg = cfg.to_str().unwrap().to_string();
    let local = fx.out("local-sync");
    let local_s = local.to_str().unwrap().to_string();
    let sync = |out: &str| {
        moto.command(&[
            "sync",
            "--endpoint",
            &url,
            "--config",
            &cfg,
            "--batch-rows",
            "7",
            "--out",
            out,
        ])
    };
    for round in 0..2 {
        if round == 1 {
            write(
                &fx,
                r#"{"update":{"ref":{"collection":"things"},"id":"1003"},"params":{"object":{"data":{"object":{"n":-3}}}}}"#,
            );
            write(
                &fx,
                r#"{"delete":{"ref":{"collection":"things"},"id":"1004"}}"#,
            );
            write(
                &fx,
                r#"{"create":{"ref":{"collection":"things"},"id":"2001"},"params":{"object":{"data":{"object":{"n":2001}}}}}"#,
            );
        }
        let r = output(sync(&local_s)).await;
        assert!(r.status.success(), "{}", stderr(&r));
        let r = output(sync("s3://bkt/syncs")).await;
        assert!(r.status.success(), "{}", stderr(&r));
    }
    let remote = data_objects(objects(store.as_ref(), "syncs").await);
    let expected = local_files(&local);
    assert_eq!(remote, expected);
    let manifest = String::from_utf8_lossy(&expected["_manifest.jsonl"]).into_owned();
    assert_eq!(manifest.lines().count(), 5 + 1, "{manifest}");
    let last = &remote["things/part-00000006.jsonl"];
    let refs: Vec<String> = String::from_utf8_lossy(last)
        .lines()
        .map(|l| {
            let r: serde_json::Value = serde_json::from_str(l).unwrap();
            format!(
                "{}:{}",
                r["ref"].as_str().unwrap(),
                !r["deleted_at"].is_null()
            )
        })
        .collect();
    assert_eq!(refs, ["1003:false", "1004:true", "2001:false"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_at_every_commit_point_resumes_to_every_document_exactly_once() {
    let Some(moto) = Moto::start() else { return };
    moto.bucket("crash");
    let fx = Fixture::start(SCHEMA, &[("things", docs(30, 10))]).await;
    let url = fx.server.url();
    let store = moto.store("crash");
    let clean = fx.out("clean");
    let r = output(moto.command(&export_args(&url, clean.to_str().unwrap()))).await;
    assert!(r.status.success(), "{}", stderr(&r));
    let expected = local_files(&clean);

    for (i, point) in [
        "after-upload:2",
        "after-batch-rename:3",
        "state-write:4",
        "after-page:3",
    ]
    .into_iter()
    .enumerate()
    {
        let out = format!("s3://crash/p{i}");
        let mut cmd = moto.command(&export_args(&url, &out));
        cmd.env("FAUNA_SYNC_TEST_CRASH_AT", point);
        let r = output(cmd).await;
        assert!(!r.status.success(), "{point}: the crash point was reached");
        let r = output(moto.command(&export_args(&url, &out))).await;
        assert!(r.status.success(), "{point}: {}", stderr(&r));
        let remote = data_objects(objects(store.as_ref(), &format!("p{i}")).await);
        assert_eq!(remote, expected, "{point}");
        let ids = committed_ids(&remote);
        assert_eq!(ids.len(), 30, "{point}");
        assert!(ids.values().all(|n| *n == 1), "{point}: {ids:?}");
        let r = output(moto.command(&["verify", "--out", &out])).await;
        assert!(r.status.success(), "{point}: {}", stderr(&r));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_mid_multipart_upload_resumes_without_an_orphan() {
    let Some(moto) = Moto::start() else { return };
    moto.bucket("big");
    // 40 documents of 300 kB in one batch: a 12 MB file, uploaded in two parts.
    let fx = Fixture::start(SCHEMA, &[("things", docs(40, 300_000))]).await;
    let url = fx.server.url();
    let store = moto.store("big");
    let args = |out: &str| -> Vec<String> {
        [
            "export",
            "--endpoint",
            &url,
            "--collection",
            "things",
            "--batch-rows",
            "100",
            "--out",
            out,
        ]
        .map(String::from)
        .to_vec()
    };
    let clean = fx.out("clean");
    let a = args(clean.to_str().unwrap());
    let r = output(moto.command(&a.iter().map(String::as_str).collect::<Vec<_>>())).await;
    assert!(r.status.success(), "{}", stderr(&r));
    let expected = local_files(&clean);
    assert!(expected["things/part-00000001.jsonl"].len() > fauna_sync::output::MULTIPART_BYTES);

    let a = args("s3://big/out");
    let a: Vec<&str> = a.iter().map(String::as_str).collect();
    let mut cmd = moto.command(&a);
    cmd.env("FAUNA_SYNC_TEST_CRASH_AT", "mid-upload:1");
    let r = output(cmd).await;
    assert!(!r.status.success());
    let partial = objects(store.as_ref(), "out").await;
    assert!(
        !partial.contains_key("things/part-00000001.jsonl"),
        "an unfinished upload is not an object"
    );
    assert_eq!(partial.get("_manifest.jsonl").map(Vec::len), Some(0));
    let r = output(moto.command(&a)).await;
    assert!(r.status.success(), "{}", stderr(&r));
    assert_eq!(data_objects(objects(store.as_ref(), "out").await), expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn of_two_overlapping_syncs_the_second_fails_fast_and_nothing_is_lost() {
    let Some(moto) = Moto::start() else { return };
    moto.bucket("two");
    // Each page takes 20 ms: the first run is still going when the second starts.
    let fx = Fixture::start_with(
        SCHEMA,
        &[("things", docs(200, 10))],
        EngineOptions::default(),
        ServerConfig::new().latency(Duration::from_millis(20)),
    )
    .await;
    let url = fx.server.url();
    let store = moto.store("two");
    let cfg = fx.dir.path().join("sync.json");
    std::fs::write(&cfg, CONFIG).unwrap();
    let cfg = cfg.to_str().unwrap().to_string();
    let args = [
        "sync",
        "--endpoint",
        &url,
        "--config",
        &cfg,
        "--page-size",
        "5",
        "--batch-rows",
        "7",
        "--out",
        "s3://two/out",
    ];
    let first = moto.command(&args).spawn().unwrap();
    // Wait until the first run holds the lease.
    let lease = ObjectPath::from("out/_lock");
    let mut held = false;
    for _ in 0..400 {
        if store.head(&lease).await.is_ok() {
            held = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(held, "the first run took the lease");
    let second = output(moto.command(&args)).await;
    assert_eq!(second.status.code(), Some(75), "{}", stderr(&second));
    let msg = stderr(&second);
    assert!(
        msg.contains("another fauna-sync run holds s3://two/out/_lock (pid "),
        "{msg}"
    );
    let first = tokio::task::spawn_blocking(move || first.wait_with_output().unwrap())
        .await
        .unwrap();
    assert!(first.status.success(), "{}", stderr(&first));
    let remote = objects(store.as_ref(), "out").await;
    assert!(!remote.contains_key("_lock"));
    let ids = committed_ids(&remote);
    assert_eq!(ids.len(), 200);
    assert!(ids.values().all(|n| *n == 1));
    // A later run finds the lease released and the export complete.
    let again = output(moto.command(&args)).await;
    assert!(again.status.success(), "{}", stderr(&again));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_finds_a_deleted_an_altered_and_an_unlisted_object() {
    let Some(moto) = Moto::start() else { return };
    moto.bucket("ver");
    let fx = Fixture::start(SCHEMA, &[("things", docs(30, 10))]).await;
    let url = fx.server.url();
    let store = moto.store("ver");
    let r = output(moto.command(&export_args(&url, "s3://ver/o"))).await;
    assert!(r.status.success(), "{}", stderr(&r));
    let r = output(moto.command(&["verify", "--out", "s3://ver/o"])).await;
    assert_eq!(r.status.code(), Some(0), "{}", stderr(&r));
    assert!(
        stderr(&r).starts_with("verified s3://ver/o: 5 file(s)"),
        "{}",
        stderr(&r)
    );

    store
        .delete(&ObjectPath::from("o/things/part-00000002.jsonl"))
        .await
        .unwrap();
    let altered = ObjectPath::from("o/things/part-00000003.jsonl");
    let mut bytes = store
        .get(&altered)
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap()
        .to_vec();
    let at = bytes.iter().position(|b| *b == b'1').unwrap();
    bytes[at] = b'2';
    store.put(&altered, bytes.into()).await.unwrap();
    store
        .put(
            &ObjectPath::from("o/things/part-00000099.jsonl"),
            b"{}\n".to_vec().into(),
        )
        .await
        .unwrap();
    let r = output(moto.command(&["verify", "--out", "s3://ver/o"])).await;
    assert_eq!(r.status.code(), Some(1));
    assert_eq!(
        stderr(&r),
        "3 problem(s) in s3://ver/o (5 file(s) listed):\n  \
         things/part-00000002.jsonl is missing\n  \
         things/part-00000003.jsonl does not match its SHA-256 (changed)\n  \
         things/part-00000099.jsonl is not listed in the manifest\n"
    );
}

/// Azurite's blob service on a free loopback port, stopped on drop.
struct Azurite {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

/// Azurite's well-known development account.
const AZURITE_ACCOUNT: &str = "devstoreaccount1";
const AZURITE_KEY: &str =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

fn hmac_sha256(key: &[u8], message: &[u8]) -> Vec<u8> {
    use sha2::{Digest, Sha256};
    let mut k = [0u8; 64];
    k[..key.len()].copy_from_slice(key);
    let mut inner = Sha256::new();
    inner.update(k.map(|b| b ^ 0x36));
    inner.update(message);
    let mut outer = Sha256::new();
    outer.update(k.map(|b| b ^ 0x5c));
    outer.update(inner.finalize());
    outer.finalize().to_vec()
}

impl Azurite {
    /// Starts azurite-blob (npm, `tests/object_store/azurite`); `None` (skipped) when it is
    /// not installed, unless `CI=true`.
    fn start() -> Option<Azurite> {
        let bin = std::env::var_os("AZURITE_BLOB_BIN")
            .map(PathBuf::from)
            .unwrap_or_else(|| {
                Path::new(env!("CARGO_MANIFEST_DIR"))
                    .join("tests/object_store/azurite/node_modules/.bin/azurite-blob")
            });
        if !bin.exists() {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "azurite-blob not found at {} (CI=true): npm ci in tests/object_store/azurite",
                bin.display()
            );
            eprintln!("SKIPPED: azurite-blob not found at {}", bin.display());
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(&bin)
            .args(["--blobHost", "127.0.0.1", "--blobPort", &port.to_string()])
            .args(["--skipApiVersionCheck", "--loose", "--silent", "--location"])
            .arg(dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let azurite = Azurite {
            child,
            port,
            _dir: dir,
        };
        for _ in 0..600 {
            if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Some(azurite);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("azurite-blob did not listen on port {port}");
    }

    /// Creates a container (a request signed with the development account's shared key).
    fn container(&self, name: &str) {
        use base64::Engine;
        let b64 = base64::engine::general_purpose::STANDARD;
        let date = chrono::Utc::now()
            .format("%a, %d %b %Y %H:%M:%S GMT")
            .to_string();
        let version = "2021-08-06";
        let to_sign = format!(
            "PUT\n\n\n\n\n\n\n\n\n\n\n\nx-ms-date:{date}\nx-ms-version:{version}\n/{AZURITE_ACCOUNT}/{AZURITE_ACCOUNT}/{name}\nrestype:container"
        );
        let signature = b64.encode(hmac_sha256(
            &b64.decode(AZURITE_KEY).unwrap(),
            to_sign.as_bytes(),
        ));
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        write!(
            s,
            "PUT /{AZURITE_ACCOUNT}/{name}?restype=container HTTP/1.1\r\nHost: 127.0.0.1:{}\r\n\
             x-ms-date: {date}\r\nx-ms-version: {version}\r\n\
             Authorization: SharedKey {AZURITE_ACCOUNT}:{signature}\r\n\
             Content-Length: 0\r\nConnection: close\r\n\r\n",
            self.port
        )
        .unwrap();
        let mut response = String::new();
        s.read_to_string(&mut response).unwrap();
        assert!(response.starts_with("HTTP/1.1 201"), "{response}");
    }

    fn store(&self, container: &str) -> Arc<dyn ObjectStore> {
        Arc::new(
            ::object_store::azure::MicrosoftAzureBuilder::new()
                .with_account(AZURITE_ACCOUNT)
                .with_access_key(AZURITE_KEY)
                .with_endpoint(format!("http://127.0.0.1:{}/{AZURITE_ACCOUNT}", self.port))
                .with_allow_http(true)
                .with_container_name(container)
                .build()
                .unwrap(),
        )
    }

    pub(crate) fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_fauna-sync"));
        cmd.args(args)
            .env("FAUNA_SECRET", "fnTestServer")
            .env("AZURE_STORAGE_USE_EMULATOR", "true")
            .env(
                "AZURITE_BLOB_STORAGE_URL",
                format!("http://127.0.0.1:{}", self.port),
            )
            .env_remove("FAUNA_SYNC_TEST_CRASH_AT")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        cmd
    }
}

impl Drop for Azurite {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_to_azurite_is_byte_identical_to_the_local_directory_run_and_verifies() {
    let Some(azurite) = Azurite::start() else {
        return;
    };
    azurite.container("cont");
    let fx = Fixture::start(SCHEMA, &[("things", docs(30, 10))]).await;
    let url = fx.server.url();
    let local = fx.out("local");
    let r = output(azurite.command(&export_args(&url, local.to_str().unwrap()))).await;
    assert!(r.status.success(), "{}", stderr(&r));
    let r = output(azurite.command(&export_args(&url, "az://cont/exports"))).await;
    assert!(r.status.success(), "{}", stderr(&r));
    // A second run finds the export complete (the lease was released, the state is read back).
    let r = output(azurite.command(&export_args(&url, "az://cont/exports"))).await;
    assert!(r.status.success(), "{}", stderr(&r));
    let store = azurite.store("cont");
    let remote = objects(store.as_ref(), "exports").await;
    assert_eq!(data_objects(remote), local_files(&local));
    let r = output(azurite.command(&["verify", "--out", "az://cont/exports"])).await;
    assert!(
        stderr(&r).starts_with("verified az://cont/exports: 5 file(s)"),
        "{}",
        stderr(&r)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_stopped_by_sigterm_releases_its_lease_and_the_next_run_completes() {
    let Some(moto) = Moto::start() else { return };
    moto.bucket("term");
    let fx = Fixture::start_with(
        SCHEMA,
        &[("things", docs(200, 10))],
        EngineOptions::default(),
        ServerConfig::new().latency(Duration::from_millis(20)),
    )
    .await;
    let url = fx.server.url();
    let store = moto.store("term");
    let args = export_args(&url, "s3://term/out");
    let child = moto.command(&args).spawn().unwrap();
    let lease = ObjectPath::from("out/_lock");
    let mut held = false;
    for _ in 0..400 {
        if store.head(&lease).await.is_ok() {
            held = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(held, "the run took the lease");
    let kill = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let r = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap();
    assert_eq!(r.status.code(), Some(130), "{}", stderr(&r));
    assert!(
        matches!(
            store.head(&lease).await,
            Err(::object_store::Error::NotFound { .. })
        ),
        "the lease is deleted on SIGTERM: {}",
        stderr(&r)
    );
    let r = output(moto.command(&args)).await;
    assert!(r.status.success(), "{}", stderr(&r));
    let ids = committed_ids(&objects(store.as_ref(), "out").await);
    assert_eq!(ids.len(), 200);
    assert!(ids.values().all(|n| *n == 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_lease_removed_by_hand_conditional_writes_never_let_two_runs_commit() {
    let Some(moto) = Moto::start() else { return };
    moto.bucket("race");
    let fx = Fixture::start_with(
        SCHEMA,
        &[("things", docs(400, 10))],
        EngineOptions::default(),
        ServerConfig::new().latency(Duration::from_millis(20)),
    )
    .await;
    let url = fx.server.url();
    let store = moto.store("race");
    let args = export_args(&url, "s3://race/out");
    let first = moto.command(&args).spawn().unwrap();
    // Once the first run has committed a batch, delete its lease: nothing stops a second run
    // from starting but the conditional writes of the manifest and the state.
    let state = ObjectPath::from("out/_state.json");
    let mut committed = false;
    for _ in 0..400 {
        if let Ok(r) = store.get(&state).await {
            let s: serde_json::Value = serde_json::from_slice(&r.bytes().await.unwrap()).unwrap();
            if s["manifest_len"].as_u64().unwrap_or(0) > 0 {
                committed = true;
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(committed, "the first run committed a batch");
    store.delete(&ObjectPath::from("out/_lock")).await.unwrap();
    let second = output(moto.command(&args)).await;
    let first = tokio::task::spawn_blocking(move || first.wait_with_output().unwrap())
        .await
        .unwrap();
    // Never both: the one that writes second fails (exit 75); when each changed what the
    // other had read (the second cut the first's unrecorded manifest line, the first then
    // recorded a state the second had not read), both stop, and neither committed over the other.
    let codes = [first.status.code(), second.status.code()];
    assert!(
        codes == [Some(0), Some(75)] || codes == [Some(75), Some(0)] || codes == [Some(75); 2],
        "{codes:?}\nfirst: {}\nsecond: {}",
        stderr(&first),
        stderr(&second)
    );
    for r in [&first, &second] {
        if r.status.code() == Some(75) {
            let msg = stderr(r);
            assert!(
                msg.contains("another run rewrote the manifest meanwhile")
                    || msg.contains("another run committed a newer state meanwhile"),
                "{msg}"
            );
        }
    }
    // Whatever the losers uploaded, the output is whole: resume, verify, count.
    let r = output(moto.command(&args)).await;
    assert!(r.status.success(), "{}", stderr(&r));
    let r = output(moto.command(&["verify", "--out", "s3://race/out"])).await;
    assert!(r.status.success(), "{}", stderr(&r));
    let ids = committed_ids(&objects(store.as_ref(), "out").await);
    assert_eq!(ids.len(), 400);
    assert!(ids.values().all(|n| *n == 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_url_is_the_local_directory() {
    let fx = Fixture::start(SCHEMA, &[("things", docs(30, 10))]).await;
    let url = fx.server.url();
    let plain = fx.out("plain");
    let by_url = fx.out("by-url");
    let file_url = format!("file://{}", by_url.display());
    for out in [plain.to_str().unwrap(), file_url.as_str()] {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_fauna-sync"));
        cmd.args(export_args(&url, out))
            .env("FAUNA_SECRET", "fnTestServer")
            .env_remove("FAUNA_SYNC_TEST_CRASH_AT");
        let r = output(cmd).await;
        assert!(r.status.success(), "{}", stderr(&r));
    }
    assert_eq!(local_files(&by_url), local_files(&plain));
    let r = output({
        let mut c = Command::new(env!("CARGO_BIN_EXE_fauna-sync"));
        c.args(["verify", "--out", &file_url]);
        c
    })
    .await;
    assert_eq!(
        stderr(&r),
        format!(
            "verified {}: 5 file(s), 0.0 MB, all intact\n",
            by_url.display()
        )
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_short_history_collection_syncs_to_s3_and_a_fresh_runner_reconciles_a_gap() {
    use fauna_dev::engine::EngineOptions;
    use fauna_dev::server::ServerConfig;
    let Some(moto) = Moto::start() else { return };
    moto.bucket("gaps");
    // History kept 300 ms (15 minutes on a real server): the first sync is a scan + catch-up
    // + reconciliation, the second comes after the history window.
    let schema = SCHEMA.replace(r#""history_days": null"#, r#""history_days": 0"#);
    let fx = Fixture::start_with(
        &schema,
        &[("things", docs(12, 3))],
        EngineOptions {
            mvt_offset: Duration::from_millis(300),
            ..EngineOptions::default()
        },
        ServerConfig::new(),
    )
    .await;
    let config = fx.dir.path().join("config.json");
    std::fs::write(&config, CONFIG).unwrap();
    let url = fx.server.url();
    let sync = |out: &str| {
        let mut c = moto.command(&["sync", "--endpoint", &url, "--config"]);
        c.arg(&config)
            .args(["--page-size", "5", "--batch-rows", "4", "--out", out]);
        c
    };
    let local = fx.out("local");
    for out in ["s3://gaps/p", local.to_str().unwrap()] {
        let r = output(sync(out)).await;
        assert!(r.status.success(), "{}", stderr(&r));
    }
    write(
        &fx,
        r#"{"delete":{"ref":{"collection":"things"},"id":"1003"}}"#,
    );
    write(
        &fx,
        r#"{"update":{"ref":{"collection":"things"},"id":"1005"},"params":{"object":{"data":{"object":{"n":50}}}}}"#,
    );
    tokio::time::sleep(Duration::from_millis(600)).await;
    // Every run is a fresh runner: its id set comes from the objects beside the state.
    for out in ["s3://gaps/p", local.to_str().unwrap()] {
        let r = output(sync(out)).await;
        assert!(r.status.success(), "{}", stderr(&r));
        assert!(
            stderr(&r).contains("1 new or updated, 1 deleted (1 detected by reconciliation)"),
            "{out}: {}",
            stderr(&r)
        );
    }
    // The same files, id sets included, as the local run — but for the detected deletion,
    // stamped with each run's own reconciliation time; nothing else under the id prefix.
    let store = moto.store("gaps");
    let remote = objects(store.as_ref(), "p").await;
    let (mut theirs, mut ours) = (data_objects(remote.clone()), local_files(&local));
    let last = "things/part-00000005.jsonl";
    for files in [&mut theirs, &mut ours] {
        let line: serde_json::Value = serde_json::from_slice(&files.remove(last).unwrap()).unwrap();
        assert_eq!(
            (&line["ref"], &line["deletion_detected"], &line["data"]),
            (
                &serde_json::json!("1003"),
                &serde_json::json!(true),
                &serde_json::Value::Null
            )
        );
        files.remove("_manifest.jsonl");
    }
    assert!(theirs == ours, "{:?} vs {:?}", theirs.keys(), ours.keys());
    let state: serde_json::Value = serde_json::from_slice(&remote["_state.json"]).unwrap();
    let mark: fauna_sync::id_set::IdsMark =
        serde_json::from_value(state["streams"]["things"]["ids"].clone()).unwrap();
    let ids: Vec<&String> = remote
        .keys()
        .filter(|k| k.starts_with("_state.json.ids/"))
        .collect();
    let mut want: Vec<String> = fauna_sync::id_set::files_of("things", mark)
        .into_iter()
        .map(|f| format!("_state.json.ids/{f}"))
        .collect();
    want.sort();
    assert_eq!(ids, want.iter().collect::<Vec<_>>());
    assert_eq!(committed_ids(&remote).len(), 12);
}

/// The advice after a configuration error, and after a lacking permission.
const CONFIG_ADVICE: &str = "Fix the configuration or command line; nothing was exported.\n";
const PERMISSION_ADVICE: &str = "Grant the privilege or access named above (to the key's role, or to the user or credentials writing the output), or use another key; committed files stay valid.\n";
const STATE_ADVICE: &str = "The output was left untouched.\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_of_a_prefix_or_a_bucket_without_output_fails_naming_the_url() {
    let Some(moto) = Moto::start() else { return };
    moto.bucket("there");
    let r = output(moto.command(&["verify", "--out", "s3://there/doesnotexist"])).await;
    assert_eq!(r.status.code(), Some(2), "{}", stderr(&r));
    assert_eq!(
        stderr(&r),
        "error: s3://there/doesnotexist holds no fauna-sync output (neither _manifest.jsonl nor _output.json); check --out (the path, or the bucket and prefix), or run export or sync with this --out first\n"
    );
    let r = output(moto.command(&["verify", "--out", "s3://nobucket/p"])).await;
    assert_eq!(r.status.code(), Some(2), "{}", stderr(&r));
    assert_eq!(
        stderr(&r),
        "error: cannot read s3://nobucket/p/_manifest.jsonl: the bucket 'nobucket' does not exist (NoSuchBucket); check the bucket name in --out (and AWS_ENDPOINT_URL for an S3-compatible server), or create it\n"
    );
}

/// An HTTP server on a free loopback port that answers every request 403 (a metadata service
/// that gives no credentials); its address.
fn forbidding_server() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for mut s in listener.incoming().flatten() {
            let mut buf = [0u8; 4096];
            let _ = s.read(&mut buf);
            let _ = s.write_all(
                b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            );
        }
    });
    addr
}

impl Moto {
    /// An IAM action (form parameters), unauthenticated (counted by INITIAL_NO_AUTH_ACTION_COUNT);
    /// the response body.
    fn iam(&self, params: &[(&str, &str)]) -> String {
        let mut form = String::from("Version=2010-05-08");
        for (k, v) in params {
            form.push('&');
            form.push_str(k);
            form.push('=');
            for b in v.bytes() {
                if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                    form.push(b as char);
                } else {
                    form.push_str(&format!("%{b:02X}"));
                }
            }
        }
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        write!(
            s,
            "POST / HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Type: application/x-www-form-urlencoded\r\n\
             Authorization: AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20240101/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=0\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n{form}",
            self.port,
            form.len()
        )
        .unwrap();
        let mut response = String::new();
        s.read_to_string(&mut response).unwrap();
        assert!(response.starts_with("HTTP/1.1 200"), "{response}");
        response
    }
}

/// The text between `<tag>` and `</tag>`.
fn xml_field<'a>(xml: &'a str, tag: &str) -> &'a str {
    let start = xml.find(&format!("<{tag}>")).unwrap() + tag.len() + 2;
    let end = xml[start..].find(&format!("</{tag}>")).unwrap();
    &xml[start..start + end]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn object_store_configuration_mistakes_are_named_with_what_to_do() {
    let Some(moto) = Moto::start() else { return };
    let args = export_args("http://127.0.0.1:1", "s3://nobucket/out");
    // A bucket that does not exist: no raw XML, no "run again to resume".
    let r = output(moto.command(&args)).await;
    assert_eq!(r.status.code(), Some(2), "{}", stderr(&r));
    assert_eq!(
        stderr(&r),
        format!("error: cannot create the lease s3://nobucket/out/_lock: the bucket 'nobucket' does not exist (NoSuchBucket); check the bucket name in --out (and AWS_ENDPOINT_URL for an S3-compatible server), or create it\n{CONFIG_ADVICE}")
    );

    // No credentials: none in the environment, and the metadata service answers 403.
    moto.bucket("creds");
    let metadata = forbidding_server();
    let mut cmd = moto.command(&export_args("http://127.0.0.1:1", "s3://creds/out"));
    for var in [
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
        "AWS_ROLE_ARN",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    ] {
        cmd.env_remove(var);
    }
    cmd.env("AWS_METADATA_ENDPOINT", &metadata);
    let r = output(cmd).await;
    assert_eq!(r.status.code(), Some(2), "{}", stderr(&r));
    assert_eq!(
        stderr(&r),
        format!("error: cannot create the lease s3://creds/out/_lock: no S3 credentials found (HTTP 403 Forbidden from {metadata}); set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN for temporary credentials), or AWS_ROLE_ARN and AWS_WEB_IDENTITY_TOKEN_FILE, or run where an instance or container role provides them\n{CONFIG_ADVICE}")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rejected_credentials_and_a_lacking_permission_are_named_without_the_secret() {
    // moto checks signatures and IAM policies after its first 4 actions: the bucket, a user,
    // its access key and its policy (read and list, no write).
    let Some(moto) = Moto::start_with(&[("INITIAL_NO_AUTH_ACTION_COUNT", "4")]) else {
        return;
    };
    moto.bucket("locked");
    moto.iam(&[("Action", "CreateUser"), ("UserName", "reader")]);
    let key = moto.iam(&[("Action", "CreateAccessKey"), ("UserName", "reader")]);
    let (id, secret) = (
        xml_field(&key, "AccessKeyId").to_string(),
        xml_field(&key, "SecretAccessKey").to_string(),
    );
    moto.iam(&[
        ("Action", "PutUserPolicy"),
        ("UserName", "reader"),
        ("PolicyName", "read"),
        (
            "PolicyDocument",
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:GetObject","s3:ListBucket"],"Resource":["arn:aws:s3:::locked","arn:aws:s3:::locked/*"]}]}"#,
        ),
    ]);
    let with = |id: &str, secret: &str| {
        let mut cmd = moto.command(&export_args("http://127.0.0.1:1", "s3://locked/out"));
        cmd.env("AWS_ACCESS_KEY_ID", id)
            .env("AWS_SECRET_ACCESS_KEY", secret);
        cmd
    };
    let r = output(with(&id, &secret)).await;
    assert_eq!(r.status.code(), Some(1), "{}", stderr(&r));
    assert_eq!(
        stderr(&r),
        format!("error: cannot create the lease s3://locked/out/_lock: the credentials may not do that (AccessDenied); grant them s3:PutObject (a run needs s3:GetObject, s3:PutObject and s3:DeleteObject on arn:aws:s3:::locked/<prefix>/* and s3:ListBucket on arn:aws:s3:::locked; verify needs s3:GetObject and s3:ListBucket)\n{PERMISSION_ADVICE}")
    );
    let rejected = |code: &str| {
        format!("error: cannot create the lease s3://locked/out/_lock: S3 rejected the credentials ({code}); check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN, which expires), and that they belong to the account and endpoint of the bucket\n{CONFIG_ADVICE}")
    };
    let wrong_secret = format!("{}x", &secret[..secret.len() - 1]);
    for (id, secret, code) in [
        (id.as_str(), wrong_secret.as_str(), "SignatureDoesNotMatch"),
        (
            "AKIAUNKNOWN000000000",
            secret.as_str(),
            "InvalidAccessKeyId",
        ),
    ] {
        let r = output(with(id, secret)).await;
        assert_eq!(r.status.code(), Some(2), "{}", stderr(&r));
        assert_eq!(stderr(&r), rejected(code));
        assert!(!stderr(&r).contains(secret));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_state_object_set_back_is_refused_instead_of_overwriting_a_committed_object() {
    let Some(moto) = Moto::start() else { return };
    moto.bucket("back");
    let fx = Fixture::start(SCHEMA, &[("things", docs(30, 10))]).await;
    let url = fx.server.url();
    let cfg = fx.dir.path().join("sync.json");
    std::fs::write(&cfg, CONFIG).unwrap();
    let cfg = cfg.to_str().unwrap().to_string();
    let args = [
        "sync",
        "--endpoint",
        &url,
        "--config",
        &cfg,
        "--batch-rows",
        "7",
        "--out",
        "s3://back/out",
    ];
    let r = output(moto.command(&args)).await;
    assert!(r.status.success(), "{}", stderr(&r));
    // Five batches; the state is set back to batch 4.
    let store = moto.store("back");
    let key = ObjectPath::from("out/_state.json");
    let mut state: serde_json::Value =
        serde_json::from_slice(&store.get(&key).await.unwrap().bytes().await.unwrap()).unwrap();
    assert_eq!(state["streams"]["things"]["next_seq"], 6);
    state["streams"]["things"]["next_seq"] = 4.into();
    store
        .put(&key, serde_json::to_vec(&state).unwrap().into())
        .await
        .unwrap();
    write(
        &fx,
        r#"{"update":{"ref":{"collection":"things"},"id":"1003"},"params":{"object":{"data":{"object":{"n":-3}}}}}"#,
    );
    let before = data_objects(objects(store.as_ref(), "out").await);
    let r = output(moto.command(&args)).await;
    assert_eq!(r.status.code(), Some(1), "{}", stderr(&r));
    assert_eq!(
        stderr(&r),
        format!("error: the state s3://back/out/_state.json does not match the output s3://back/out: things/part-00000004.jsonl (batch 4 of stream 'things') is committed, but the state's next batch of 'things' is 4: the state was set back; this run would overwrite that file — use the state that made this output (or restore its latest copy), or delete the output and its state to export again\n{STATE_ADVICE}")
    );
    assert_eq!(data_objects(objects(store.as_ref(), "out").await), before);
    let r = output(moto.command(&["verify", "--out", "s3://back/out"])).await;
    assert_eq!(r.status.code(), Some(1), "{}", stderr(&r));
    assert_eq!(
        stderr(&r),
        "1 problem(s) in s3://back/out (5 file(s) listed):\n  things/part-00000004.jsonl (batch 4 of stream 'things') is committed, but the state's next batch of 'things' is 4: the state was set back\n"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_id_set_object_fails_the_run_and_verify_with_a_remedy() {
    let Some(moto) = Moto::start() else { return };
    moto.bucket("ids");
    let fx = Fixture::start(SCHEMA, &[("things", docs(30, 10))]).await;
    let url = fx.server.url();
    let cfg = fx.dir.path().join("sync.json");
    std::fs::write(&cfg, CONFIG).unwrap();
    let cfg = cfg.to_str().unwrap().to_string();
    let args = [
        "sync",
        "--endpoint",
        &url,
        "--config",
        &cfg,
        "--batch-rows",
        "7",
        "--out",
        "s3://ids/out",
    ];
    let r = output(moto.command(&args)).await;
    assert!(r.status.success(), "{}", stderr(&r));
    let store = moto.store("ids");
    store
        .delete(&ObjectPath::from("out/_state.json.ids/things.delta.0"))
        .await
        .unwrap();
    let problem = "s3://ids/out/_state.json.ids/things.delta.0 is missing (the id set of stream 'things' that the state names: the ids its output holds, which deletion reconciliation reads)";
    let r = output(moto.command(&["verify", "--out", "s3://ids/out"])).await;
    assert_eq!(r.status.code(), Some(1), "{}", stderr(&r));
    assert_eq!(
        stderr(&r),
        format!("1 problem(s) in s3://ids/out (5 file(s) listed):\n  {problem}\n")
    );
    let r = output(moto.command(&args)).await;
    assert_eq!(r.status.code(), Some(1), "{}", stderr(&r));
    assert_eq!(
        stderr(&r),
        format!("error: the output s3://ids/out is damaged: {problem}; restore the files, or delete the output and its state to export again (`fauna-sync verify --out s3://ids/out` lists every problem)\n{STATE_ADVICE}")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn typed_parquet_killed_mid_batch_on_s3_resumes_to_the_local_runs_bytes_and_schema() {
    let Some(moto) = Moto::start() else { return };
    moto.bucket("typed");
    let mixed: String = (1..=30u64)
        .map(|i| {
            let v = match i % 3 {
                0 => format!("{i}"),
                1 => format!(r#""n{i}""#),
                _ => r#"{"@date":"2024-02-29"}"#.to_string(),
            };
            format!(
                r#"{{"id":"{}","ts":{},"data":{{"v":{v},"k{}":[{i}]}}}}"#,
                1000 + i,
                1_658_188_683_000_000 + i,
                i % 4
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n";
    let fx = Fixture::start(SCHEMA, &[("things", mixed)]).await;
    let url = fx.server.url();
    let args = |out: &str| {
        let mut a: Vec<String> = export_args(&url, out)
            .into_iter()
            .map(String::from)
            .collect();
        a.extend(["--format", "parquet", "--columns", "typed"].map(String::from));
        a
    };
    let clean = fx.out("clean");
    let a = args(clean.to_str().unwrap());
    let r = output(moto.command(&a.iter().map(String::as_str).collect::<Vec<_>>())).await;
    assert!(r.status.success(), "{}", stderr(&r));
    let expected = local_files(&clean);
    let out = "s3://typed/p";
    let a = args(out);
    let a: Vec<&str> = a.iter().map(String::as_str).collect();
    for crash in ["mid-batch:3", "mid-batch:5"] {
        let mut cmd = moto.command(&a);
        cmd.env("FAUNA_SYNC_TEST_CRASH_AT", crash);
        let r = output(cmd).await;
        assert!(!r.status.success(), "{crash}: the crash point was reached");
    }
    let r = output(moto.command(&a)).await;
    assert!(r.status.success(), "{}", stderr(&r));
    let store = moto.store("typed");
    let all = objects(store.as_ref(), "p").await;
    let typed = |state: &[u8]| {
        let s: serde_json::Value = serde_json::from_slice(state).unwrap();
        s["streams"]["things"]["typed"].clone()
    };
    let local_state = std::fs::read(clean.join("_state.json")).unwrap();
    assert!(typed(&local_state)["plan"]["columns"].is_array());
    assert_eq!(typed(&all["_state.json"]), typed(&local_state));
    assert_eq!(data_objects(all), expected);
}
