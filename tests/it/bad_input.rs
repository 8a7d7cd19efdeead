//! Bad input (issue 13, `spec/bad-input.md`): malformed configs, catalogs, state files and
//! server responses, each row run through the real binary in every mode it applies to. Each
//! must end with a clear message naming the problem and the exit code of its kind (Airbyte: a
//! TRACE error of the kind's `failure_type`; `check`: a FAILED CONNECTION_STATUS), leaving the
//! committed state and files byte-identical. Malformed responses come from a small fake server
//! in this file, which answers every other request with fauna-dev's engine.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::Arc;

use fauna_dev::engine::{Engine, Request};
use fauna_sync::error::ErrorKind;
use fauna_sync::lock::LOCK_FILE;
use fauna_sync::sync::{Position, State};

use crate::support::Fixture;

const SCHEMA: &str = r#"{
  "collections": [{"name": "things", "history_days": null}],
  "indexes": [{"name": "things_ts", "source": "things", "values": [{"field": "ts"}, {"field": "ref"}]},
              {"name": "things_by_n", "source": "things", "terms": [{"field": ["data", "n"]}]}],
  "keys": [{"secret": "fnTestServer", "role": "server"}]
}"#;

/// The configuration every row starts from (`{port}` is the row's server).
const GOOD: &str = r#"{"domain": "127.0.0.1", "port": {port}, "scheme": "http", "secret": "fnTestServer", "max_retries": 0,
 "collection": {"name": "things", "index": "things_ts", "page_size": 2}}"#;
/// The configured catalog every `read` row starts from.
const CATALOG: &str =
    r#"{"streams": [{"stream": {"name": "things"}, "sync_mode": "incremental"}]}"#;

fn docs() -> String {
    crate::support::numbered_docs(5)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    Export,
    Sync,
    Verify,
    Check,
    Discover,
    Read,
}
use Mode::*;

const CONFIG_MODES: &[Mode] = &[Export, Sync, Check, Discover, Read];
const STATE_MODES: &[Mode] = &[Export, Sync, Verify];
const RESPONSE_MODES: &[Mode] = &[Export, Sync, Check, Discover, Read];

/// Where a row's requests go.
#[derive(Clone, Copy)]
enum Server {
    /// fauna-dev.
    Dev,
    /// The fake server: requests whose body contains `when` get `status` and `body()`.
    Fake {
        when: &'static str,
        status: u16,
        body: fn() -> Vec<u8>,
    },
    /// A port nothing listens on.
    Down,
}

/// One row of `spec/bad-input.md`.
struct Row {
    case: &'static str,
    modes: &'static [Mode],
    /// The config file's text (`{port}` replaced); `None`: no such file.
    config: Option<String>,
    catalog: Option<&'static str>,
    /// export/sync/verify: replaces the committed state file; read: the `--state` file.
    state: Option<Vec<u8>>,
    args: &'static [&'static str],
    /// Damage done to the committed output before the run (export/sync/verify).
    damage: Option<fn(&Path)>,
    server: Server,
    kind: ErrorKind,
    message: &'static str,
}

fn row(case: &'static str, modes: &'static [Mode], kind: ErrorKind, message: &'static str) -> Row {
    Row {
        case,
        modes,
        config: Some(GOOD.to_string()),
        catalog: None,
        state: None,
        args: &[],
        damage: None,
        server: Server::Dev,
        kind,
        message,
    }
}

impl Row {
    fn config(mut self, text: &str) -> Self {
        self.config = Some(text.to_string());
        self
    }
    /// The good config with `from` replaced by `to`.
    fn edit(mut self, from: &str, to: &str) -> Self {
        assert!(GOOD.contains(from), "{from}");
        self.config = Some(GOOD.replacen(from, to, 1));
        self
    }
    fn no_config(mut self) -> Self {
        self.config = None;
        self
    }
    fn catalog(mut self, text: &'static str) -> Self {
        self.catalog = Some(text);
        self
    }
    fn state(mut self, bytes: &[u8]) -> Self {
        self.state = Some(bytes.to_vec());
        self
    }
    fn args(mut self, args: &'static [&'static str]) -> Self {
        self.args = args;
        self
    }
    fn damage(mut self, damage: fn(&Path)) -> Self {
        self.damage = Some(damage);
        self
    }
    fn server(mut self, server: Server) -> Self {
        self.server = server;
        self
    }
}

fn fake(when: &'static str, status: u16, body: fn() -> Vec<u8>) -> Server {
    Server::Fake { when, status, body }
}

fn deep() -> Vec<u8> {
    format!(
        r#"{{"resource": {{"data": {}{}}}}}"#,
        "[".repeat(100_000),
        "]".repeat(100_000)
    )
    .into_bytes()
}

fn truncate_manifest(out: &Path) {
    let file = std::fs::OpenOptions::new()
        .write(true)
        .open(out.join("_manifest.jsonl"))
        .unwrap();
    file.set_len(10).unwrap();
}

fn broken_state(name: &str) -> Vec<u8> {
    std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures/state/broken")
            .join(name),
    )
    .unwrap()
}

/// Every row of `spec/bad-input.md`.
fn rows() -> Vec<Row> {
    use ErrorKind::{Auth, Config, Data, State, Transient};
    let not_object = "`(file)`: the file holds an array, not a JSON object";
    vec![
        // Configuration files and flags.
        row("config file missing", CONFIG_MODES, Config, "`--config`: cannot read").no_config(),
        row("config empty", CONFIG_MODES, Config, "`(file)`: EOF while parsing a value at line 1 column 0").config(""),
        row("config garbage", CONFIG_MODES, Config, "`(file)`: expected value at line 1 column 1").config("garbage"),
        row("config truncated", CONFIG_MODES, Config, "`domain`: EOF while parsing a string at line 1 column 21").config(r#"{"domain": "127.0.0.1"#),
        row("config not an object", CONFIG_MODES, Config, not_object).config("[1, 2]"),
        row("secret missing", CONFIG_MODES, Config, "`secret`: no Fauna secret was given").edit(r#""secret": "fnTestServer", "#, ""),
        row("secret wrong type", CONFIG_MODES, Config, "`secret`: invalid type: integer `5`, expected a string").edit(r#""fnTestServer""#, "5"),
        // Without a name `collection` is source-fauna 0.1.x's form (settings for every
        // collection), where an index cannot be meant.
        row("collection name missing, with an index", CONFIG_MODES, Config, "`collection.index`: an index for a collection without a name").edit(r#""name": "things", "#, ""),
        row("collection unknown field", CONFIG_MODES, Config, "`collection.nam`: unknown field `nam`").edit(r#""name": "things""#, r#""name": "things", "nam": "x""#),
        row("collections not an array", CONFIG_MODES, Config, "`collections`: invalid type: map, expected a sequence").edit(r#""collection": {"#, r#""collections": {"#),
        row("port wrong type", CONFIG_MODES, Config, "`port`: invalid type: string \"1\", expected u16").edit("{port}", r#""1""#),
        row("port out of range", CONFIG_MODES, Config, "`port`: invalid value: integer `70000`, expected u16").edit("{port}", "70000"),
        row("page size 0", CONFIG_MODES, Config, "`collection.page_size`: page size 0 is outside 1..=100000").edit(r#""page_size": 2"#, r#""page_size": 0"#),
        row("page size negative", CONFIG_MODES, Config, "`collection.page_size`: invalid value: integer `-5`, expected u32").edit(r#""page_size": 2"#, r#""page_size": -5"#),
        row("page size wrong type", CONFIG_MODES, Config, "`collection.page_size`: invalid type: string \"big\", expected u32").edit(r#""page_size": 2"#, r#""page_size": "big""#),
        row("page size flag out of range", &[Export, Sync], Config, "`--page-size`: page size 100001 is outside 1..=100000").args(&["--page-size", "100001"]),
        row("domain is a URL", CONFIG_MODES, Config, "`domain`: 'http://127.0.0.1' is not a host name").edit(r#""127.0.0.1""#, r#""http://127.0.0.1""#),
        row("scheme unknown", CONFIG_MODES, Config, "`scheme`: unknown scheme 'ftp'").edit(r#""http""#, r#""ftp""#),
        row("endpoint flag not a URL", &[Export, Sync], Config, "`--endpoint`: 'notaurl' has no scheme").args(&["--endpoint", "notaurl"]),
        row("misspelled key", CONFIG_MODES, Config, "`colection`: unknown key; it looks like a misspelling of `collection`").edit(r#""collection""#, r#""colection""#),
        row("max_retries out of range", CONFIG_MODES, Config, "`max_retries`: 1000 is outside 0..=100").edit(r#""max_retries": 0"#, r#""max_retries": 1000"#),
        row("concurrency 0", CONFIG_MODES, Config, "`concurrency`: 0 is outside 1..=64").edit(r#""max_retries": 0"#, r#""max_retries": 0, "concurrency": 0"#),
        row("concurrency flag out of range", &[Export, Sync], Config, "`--concurrency`: 65 is outside 1..=64").args(&["--concurrency", "65"]),
        row("query timeout 0", CONFIG_MODES, Config, "`query_timeout_ms`: 0 is outside 1..=600000").edit(r#""max_retries": 0"#, r#""max_retries": 0, "query_timeout_ms": 0"#),
        row("output format unknown", &[Export, Sync], Config, "`output.format`: unknown format 'csv'").edit(r#""max_retries": 0"#, r#""max_retries": 0, "output": {"format": "csv"}"#),
        row("deletion mode unknown", CONFIG_MODES, Config, "`collection.deletions.deletion_mode`: unknown variant `sometimes`").edit(r#""page_size": 2"#, r#""page_size": 2, "deletions": {"deletion_mode": "sometimes"}"#),
        row("column type unknown", CONFIG_MODES, Config, "unknown variant `decimal`").edit(r#""page_size": 2"#, r#""page_size": 2, "additional_columns": [{"name": "x", "path": ["data", "x"], "type": "decimal"}]"#),
        row("collection unknown", CONFIG_MODES, Config, "'nope' does not exist").edit(r#""name": "things""#, r#""name": "nope""#).catalog(r#"{"streams": [{"stream": {"name": "nope"}, "sync_mode": "full_refresh"}]}"#),
        row("index unknown", &[Sync, Check, Discover], Config, "'nope' does not exist").edit(r#""things_ts""#, r#""nope""#),
        row("index not [ts, ref]", &[Sync, Check, Discover], Config, "Index 'things_by_n' should have no terms, but it has terms [data.n]").edit(r#""things_ts""#, r#""things_by_n""#),
        row("secret wrong", CONFIG_MODES, Auth, "HTTP 401").edit(r#""fnTestServer""#, r#""fnWrong""#),
        row("server down", CONFIG_MODES, Transient, "connection refused").server(Server::Down),
        // State files of export and sync (and verify, which reads one).
        row("state empty", STATE_MODES, State, "is not usable: not a fauna-sync state file (EOF while parsing a value at line 1 column 0)").state(b""),
        row("state garbage", STATE_MODES, State, "is not usable: not a fauna-sync state file (expected ident at line 1 column 2)").state(&broken_state("garbage.json")),
        row("state truncated", STATE_MODES, State, "is not usable: not a fauna-sync state file (EOF while parsing a string").state(&broken_state("truncated.json")),
        row("state not an object", STATE_MODES, State, "is not usable: not a fauna-sync state file (not a JSON object)").state(b"[]"),
        row("state version wrong", STATE_MODES, State, "is not usable: version 9 (this fauna-sync reads versions 1 and 2)").state(&broken_state("future-version.json")),
        row("state version missing", STATE_MODES, State, "is not usable: not a fauna-sync state file (missing field `version`").state(br#"{"streams": {}}"#),
        row("state field missing", STATE_MODES, State, "is not usable: missing field `next_seq`").state(&broken_state("missing-field.json")),
        row("state field wrong type", STATE_MODES, State, "is not usable: invalid type: string \"12\", expected u64").state(&broken_state("wrong-type.json")),
        row("state position unknown", STATE_MODES, State, "is not usable: unknown variant `somewhere`").state(&broken_state("unknown-position.json")),
        // The committed output itself.
        row("manifest truncated", &[Export, Sync], State, "_manifest.jsonl: it holds 10 bytes but the checkpoint recorded").damage(truncate_manifest),
        row("manifest truncated, verify", &[Verify], State, "_manifest.jsonl line 1: EOF while parsing a string at line 1 column 10").damage(truncate_manifest),
        row("manifest garbage", STATE_MODES, State, "_manifest.jsonl line 1: expected value at line 1 column 1").damage(|out| {
            let path = out.join("_manifest.jsonl");
            let len = std::fs::metadata(&path).unwrap().len() as usize;
            std::fs::write(path, "x".repeat(len)).unwrap();
        }),
        row("output is a file", STATE_MODES, Config, "is not a directory").damage(|out| {
            std::fs::remove_dir_all(out).unwrap();
            std::fs::write(out, "not a directory").unwrap();
        }),
        row("state set back", &[Export, Sync], State, "things/part-00000001.jsonl (batch 1 of stream 'things') is committed, but the state's next batch of 'things' is 1: the state was set back; this run would overwrite that file").damage(|out| {
            let path = out.join("_state.json");
            let mut state: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
            state["streams"]["things"]["next_seq"] = 1.into();
            std::fs::write(path, serde_json::to_vec(&state).unwrap()).unwrap();
        }),
        row("no output, verify", &[Verify], Config, "holds no fauna-sync output (neither _manifest.jsonl nor _output.json); check --out").damage(|out| {
            std::fs::remove_dir_all(out).unwrap();
        }),
        // The configured catalog of `read`.
        row("catalog garbage", &[Read], Config, "invalid --catalog file").catalog("garbage"),
        row("catalog truncated", &[Read], Config, "not valid JSON (EOF while parsing").catalog(r#"{"streams": [{"stream""#),
        row("catalog without streams", &[Read], Config, "it has no \"streams\" array").catalog("{}"),
        row("catalog streams wrong type", &[Read], Config, "it has no \"streams\" array").catalog(r#"{"streams": {"things": 1}}"#),
        row("catalog stream name missing", &[Read], Config, "streams[0] has no stream.name").catalog(r#"{"streams": [{"stream": {}, "sync_mode": "full_refresh"}]}"#),
        row("catalog stream unknown", &[Read], Config, "stream 'nope' is not a collection of this config (its streams: 'things')").catalog(r#"{"streams": [{"stream": {"name": "nope"}, "sync_mode": "full_refresh"}]}"#),
        row("catalog stream twice", &[Read], Config, "stream 'things' is listed twice").catalog(r#"{"streams": [{"stream": {"name": "things"}, "sync_mode": "full_refresh"}, {"stream": {"name": "things"}, "sync_mode": "incremental"}]}"#),
        row("catalog sync mode unknown", &[Read], Config, "stream 'things' has sync_mode \"sometimes\"").catalog(r#"{"streams": [{"stream": {"name": "things"}, "sync_mode": "sometimes"}]}"#),
        row("catalog sync mode wrong type", &[Read], Config, "stream 'things' has sync_mode 5").catalog(r#"{"streams": [{"stream": {"name": "things"}, "sync_mode": 5}]}"#),
        row("catalog sync mode missing", &[Read], Config, "stream 'things' has no sync_mode").catalog(r#"{"streams": [{"stream": {"name": "things"}}]}"#),
        // The input state of `read`.
        row("input state garbage", &[Read], Config, "invalid --state file").state(b"garbage"),
        row("input state truncated", &[Read], Config, "not valid JSON (EOF while parsing an object at line 1 column 18)").state(br#"[{"type": "STREAM""#),
        row("input state wrong type", &[Read], Config, "expected an array or an object, found 5").state(b"5"),
        row("input state type unknown", &[Read], Config, "[0] has state type 'PER_STREAM'; expected STREAM, GLOBAL or LEGACY").state(br#"[{"type": "PER_STREAM", "stream": {}}]"#),
        row("input state stream name missing", &[Read], Config, "[0].stream has no stream_descriptor.name").state(br#"[{"type": "STREAM", "stream": {"stream_state": {}}}]"#),
        row("input state legacy cursor wrong type", &[Read], Config, "stream 'things' updates_cursor.ts is \"soon\", not an integer").state(br#"{"things": {"updates_cursor": {"ts": "soon"}}}"#),
        row("input state not ours", &[Read], Config, "the state of stream 'things' is not one fauna-sync wrote").state(br#"[{"type": "STREAM", "stream": {"stream_descriptor": {"name": "things"}, "stream_state": {"version": "x"}}}]"#),
        // Malformed server responses.
        row("response truncated JSON", RESPONSE_MODES, Data, "Fauna's response could not be read: invalid JSON: unexpected end of input").server(fake("paginate", 200, || br#"{"resource": {"data": ["#.to_vec())),
        row("response HTML error page", RESPONSE_MODES, Transient, "Fauna answered HTTP 502: unexpected response: <html><body><h1>502 Bad Gateway</h1></body></html>").server(fake("", 502, || b"<html><body><h1>502 Bad Gateway</h1></body></html>".to_vec())),
        row("response HTML with 200", RESPONSE_MODES, Data, "Fauna's response could not be read: invalid JSON: unexpected character at byte 0").server(fake("", 200, || b"<html><body>Welcome</body></html>".to_vec())),
        row("response unknown tag", RESPONSE_MODES, Data, "Fauna's response could not be read: unknown tag '@foo'").server(fake("paginate", 200, || br#"{"resource": {"data": [{"@foo": 1}]}}"#.to_vec())),
        row("response huge number", RESPONSE_MODES, Data, "integer 123456789012345678901234567890 is outside the 64-bit range").server(fake("paginate", 200, || br#"{"resource": {"data": [123456789012345678901234567890]}}"#.to_vec())),
        row("response invalid UTF-8", RESPONSE_MODES, Data, "Fauna's response could not be read: invalid string: not valid UTF-8").server(fake("paginate", 200, || b"{\"resource\": {\"data\": [\"\xff\xfe\"]}}".to_vec())),
        row("response deep nesting", RESPONSE_MODES, Data, "Fauna's response could not be read: nesting deeper than 128 levels").server(fake("paginate", 200, deep)),
        row("response 200 with errors", RESPONSE_MODES, Data, "HTTP 200 with errors instead of a \"resource\" (permission denied: Insufficient privileges to perform the action.)").server(fake("paginate", 200, || br#"{"errors": [{"code": "permission denied", "description": "Insufficient privileges to perform the action."}]}"#.to_vec())),
        row("response page without data", &[Sync, Read], Data, "collection 'things': unexpected page shape: no data array").server(fake("paginate", 200, || br#"{"resource": {"after": [1]}}"#.to_vec())),
        row("response time not a number", &[Sync, Read], Data, "ToMicros(Now()) gave").server(fake("\"now\"", 200, || br#"{"resource": {"x": 1}}"#.to_vec())),
    ]
}

/// The fake endpoint: requests whose body contains `when` get `status` and `body`; the others
/// are answered by `engine` as fauna-dev's HTTP server would. One connection per request.
fn fake_server(engine: Arc<Engine>, when: &'static str, status: u16, body: Vec<u8>) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for conn in listener.incoming().flatten() {
            let (engine, body) = (engine.clone(), body.clone());
            std::thread::spawn(move || answer(conn, &engine, when, status, &body));
        }
    });
    port
}

fn answer(mut conn: TcpStream, engine: &Engine, when: &str, status: u16, canned: &[u8]) {
    let mut reader = BufReader::new(conn.try_clone().unwrap());
    let (mut length, mut secret) = (0usize, String::new());
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            match name.to_ascii_lowercase().as_str() {
                "content-length" => length = value.trim().parse().unwrap(),
                "authorization" => secret = value.trim().trim_start_matches("Bearer ").into(),
                _ => {}
            }
        }
    }
    let mut request = vec![0; length];
    if reader.read_exact(&mut request).is_err() {
        return;
    }
    let hit = when.is_empty() || request.windows(when.len()).any(|w| w == when.as_bytes());
    let (status, body, txn) = if hit {
        (status, canned.to_vec(), None)
    } else {
        let r = engine.execute(&Request {
            secret: Some(&secret),
            body: &request,
            last_seen_txn: None,
            api_version: "4",
            read_only: false,
            deadline: None,
        });
        (r.status, r.body.into_bytes(), Some(r.txn_time))
    };
    let mut head = format!(
        "HTTP/1.1 {status} Fake\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n",
        body.len()
    );
    if let Some(t) = txn {
        head += &format!("x-txn-time: {t}\r\n");
    }
    head += "\r\n";
    let _ = conn.write_all(head.as_bytes());
    let _ = conn.write_all(&body);
}

/// Every file below `dir` but the lock file (its holder's pid changes with every run).
fn snapshot(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    if !dir.exists() {
        return BTreeMap::new();
    }
    if dir.is_file() {
        return [(String::new(), std::fs::read(dir).unwrap())].into();
    }
    crate::support::files_below(dir)
        .into_iter()
        .filter(|f| !f.ends_with(LOCK_FILE))
        .map(|f| {
            let bytes = std::fs::read(dir.join(&f)).unwrap();
            (f, bytes)
        })
        .collect()
}

/// Whether `after` differs from `before` only by a sync window opened in the state: each
/// stream `Synced { to }` became `Window { from: to + 1, at, cursor: None }`, nothing else.
fn only_a_window_opened(
    before: &BTreeMap<String, Vec<u8>>,
    after: &BTreeMap<String, Vec<u8>>,
) -> bool {
    let state = |m: &BTreeMap<String, Vec<u8>>| -> State {
        serde_json::from_slice(&m["_state.json"]).unwrap()
    };
    let (Some(_), Some(now)) = (before.get("_state.json"), after.get("_state.json")) else {
        return false;
    };
    let mut others = before.clone();
    others.insert("_state.json".into(), now.clone());
    if others != *after || before == after {
        return false;
    }
    let (mut was, now) = (state(before), state(after));
    for (name, stream) in was.streams.iter_mut() {
        match (&stream.position, now.streams.get(name).map(|s| &s.position)) {
            (
                Position::Synced { to },
                Some(Position::Window {
                    from,
                    at,
                    cursor: None,
                    reconcile,
                }),
            ) if *from == to + 1 => {
                stream.position = Position::Window {
                    from: *from,
                    at: *at,
                    cursor: None,
                    reconcile: *reconcile,
                };
            }
            _ => return false,
        }
    }
    was == now
}

fn copy_dir(from: &Path, to: &Path) {
    for f in crate::support::files_below(from) {
        let dst = to.join(&f);
        std::fs::create_dir_all(dst.parent().unwrap()).unwrap();
        std::fs::copy(from.join(&f), dst).unwrap();
    }
}

async fn run(mut c: Command) -> Output {
    c.env_remove("FAUNA_SECRET")
        .env_remove("RUST_LOG")
        .env_remove("FAUNA_SYNC_TEST_CRASH_AT")
        .stdin(Stdio::null());
    tokio::task::spawn_blocking(move || c.output().unwrap())
        .await
        .unwrap()
}

fn binary() -> Command {
    Command::new(env!("CARGO_BIN_EXE_fauna-sync"))
}

/// What is wrong with one row's outcome in one mode (empty: as specified).
fn check_outcome(row: &Row, mode: Mode, o: &Output) -> Vec<String> {
    let stdout = String::from_utf8_lossy(&o.stdout);
    let stderr = String::from_utf8_lossy(&o.stderr);
    let mut problems = Vec::new();
    let code = o.status.code();
    match mode {
        Export | Sync | Verify => {
            if code != Some(row.kind.exit_code()) {
                problems.push(format!("exit {code:?}, want {}", row.kind.exit_code()));
            }
            if !stderr.contains("error: ") || !stderr.contains(row.message) {
                problems.push(format!("stderr lacks {:?}: {stderr}", row.message));
            }
            if !stdout.is_empty() {
                problems.push(format!("stdout: {stdout}"));
            }
        }
        Check | Discover | Read => {
            let messages: Vec<serde_json::Value> = stdout
                .lines()
                .map(|l| serde_json::from_str(l).unwrap_or_else(|_| panic!("not JSON: {l}")))
                .collect();
            if messages
                .iter()
                .any(|m| m["type"] == "STATE" || m["type"] == "RECORD")
            {
                problems.push(format!("emitted a STATE or RECORD: {stdout}"));
            }
            let last = messages.last().cloned().unwrap_or_default();
            let (want_code, text) = if mode == Check {
                let status = &last["connectionStatus"];
                if last["type"] != "CONNECTION_STATUS" || status["status"] != "FAILED" {
                    problems.push(format!("not a FAILED CONNECTION_STATUS: {stdout}"));
                }
                (
                    0,
                    status["message"].as_str().unwrap_or_default().to_string(),
                )
            } else {
                let error = &last["trace"]["error"];
                if last["type"] != "TRACE"
                    || error["failure_type"] != row.kind.airbyte_failure_type()
                {
                    problems.push(format!(
                        "not a TRACE error of failure_type {}: {stdout}",
                        row.kind.airbyte_failure_type()
                    ));
                }
                (
                    row.kind.exit_code(),
                    error["message"].as_str().unwrap_or_default().to_string(),
                )
            };
            if code != Some(want_code) {
                problems.push(format!("exit {code:?}, want {want_code}"));
            }
            if !text.contains(row.message) {
                problems.push(format!("message lacks {:?}: {text}", row.message));
            }
        }
    }
    problems
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_bad_input_fails_clearly_and_leaves_committed_output_untouched() {
    let fx = Fixture::start(SCHEMA, &[("things", docs())]).await;
    let good = fx.dir.path().join("good.json");
    std::fs::write(
        &good,
        GOOD.replace("{port}", &fx.server.addr().port().to_string()),
    )
    .unwrap();
    // What each export/sync/verify row starts from: a committed output of that mode.
    let base = fx.dir.path().join("base");
    for (mode, name) in [(Export, "export"), (Sync, "sync")] {
        let out = base.join(name);
        let mut c = binary();
        c.arg(name)
            .arg("--config")
            .arg(&good)
            .arg("--out")
            .arg(&out);
        let o = run(c).await;
        assert_eq!(o.status.code(), Some(0), "{mode:?}: {o:?}");
    }
    let spec =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("spec/bad-input.md"))
            .unwrap();

    let mut failures = Vec::new();
    let mut tried = 0;
    for (i, row) in rows().iter().enumerate() {
        if !spec.contains(&format!("| {} |", row.case)) {
            failures.push(format!("{}: not in spec/bad-input.md", row.case));
        }
        for &mode in row.modes {
            tried += 1;
            let dir = fx.dir.path().join(format!("row{i}-{mode:?}"));
            std::fs::create_dir_all(&dir).unwrap();
            let port = match row.server {
                Server::Dev => fx.server.addr().port(),
                Server::Fake { when, status, body } => {
                    fake_server(fx.engine.clone(), when, status, body())
                }
                Server::Down => TcpListener::bind("127.0.0.1:0")
                    .unwrap()
                    .local_addr()
                    .unwrap()
                    .port(),
            };
            let config = dir.join("config.json");
            if let Some(text) = &row.config {
                std::fs::write(&config, text.replace("{port}", &port.to_string())).unwrap();
            }
            let out = dir.join("out");
            let mut c = binary();
            match mode {
                Export | Sync | Verify => {
                    copy_dir(
                        &base.join(if mode == Sync { "sync" } else { "export" }),
                        &out,
                    );
                    if let Some(state) = &row.state {
                        std::fs::write(out.join("_state.json"), state).unwrap();
                    }
                    if let Some(damage) = row.damage {
                        damage(&out);
                    }
                    if mode == Verify {
                        c.arg("verify");
                    } else {
                        c.arg(if mode == Sync { "sync" } else { "export" });
                        c.arg("--config").arg(&config);
                    }
                    c.arg("--out").arg(&out);
                }
                Check | Discover => {
                    c.arg(if mode == Check { "check" } else { "discover" });
                    c.arg("--config").arg(&config);
                }
                Read => {
                    let catalog = dir.join("catalog.json");
                    std::fs::write(&catalog, row.catalog.unwrap_or(CATALOG)).unwrap();
                    c.arg("read")
                        .arg("--config")
                        .arg(&config)
                        .arg("--catalog")
                        .arg(&catalog);
                    if let Some(state) = &row.state {
                        let path = dir.join("input-state.json");
                        std::fs::write(&path, state).unwrap();
                        c.arg("--state").arg(path);
                    }
                }
            }
            c.args(row.args);
            let before = snapshot(&out);
            let o = run(c).await;
            let mut problems = check_outcome(row, mode, &o);
            let after = snapshot(&out);
            // Sync checkpoints a window's start before reading it (spec/bad-input.md).
            let window = mode == Sync && only_a_window_opened(&before, &after);
            if after != before && !window {
                let changed: Vec<&String> = before
                    .keys()
                    .chain(after.keys())
                    .filter(|f| before.get(*f) != after.get(*f))
                    .collect();
                problems.push(format!(
                    "the committed output or state changed: {changed:?}"
                ));
                for f in changed.iter().filter(|f| f.ends_with(".json")) {
                    let text = |m: &BTreeMap<String, Vec<u8>>| {
                        String::from_utf8_lossy(m.get(*f).map_or(&[][..], |b| b)).into_owned()
                    };
                    problems.push(format!("{f} was {} is {}", text(&before), text(&after)));
                }
            }
            if o.stderr.windows(8).any(|w| w == b"panicked") {
                problems.push("panicked".into());
            }
            failures.extend(
                problems
                    .into_iter()
                    .map(|p| format!("{} [{mode:?}]: {p}", row.case)),
            );
        }
    }
    eprintln!("{tried} bad inputs tried");
    assert!(
        failures.is_empty(),
        "{} of {tried} failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
