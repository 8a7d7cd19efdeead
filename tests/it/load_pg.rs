//! `fauna-sync load --into postgres://…` against a real PostgreSQL server (issue 28): started
//! by `scripts/postgres` in a temporary directory on a loopback port (or the server
//! `FAUNA_SYNC_PG_URL` names, as `scripts/test` starts one), each test in its own database.
//! Without PostgreSQL the tests are skipped with a message, except under `CI=true`, where they
//! fail.
//!
//! Every table is compared with the collection read from fauna-dev, typed: `data` as jsonb
//! read back as JSON values (an integer is not a double, 18 digits stay exact), `ts` both as
//! microseconds and as the timestamp they make.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Output};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tokio_postgres::NoTls;

use crate::support::{collection_now, execute, Fixture};

/// A PostgreSQL server for one test: `FAUNA_SYNC_PG_URL`'s, or one `scripts/postgres` started
/// (stopped on drop).
pub struct Pg {
    url: String,
    dir: Option<tempfile::TempDir>,
}

impl Pg {
    /// The server, or `None` (skip) when there is none and `CI` is not `true`.
    pub fn start() -> Option<Pg> {
        if let Ok(url) = std::env::var("FAUNA_SYNC_PG_URL") {
            return Some(Pg { url, dir: None });
        }
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/postgres");
        let dir = tempfile::Builder::new()
            .prefix("fauna-sync-pg")
            .tempdir()
            .unwrap();
        let out = Command::new(&script).arg(dir.path()).output().unwrap();
        if !out.status.success() {
            let why = String::from_utf8_lossy(&out.stderr).to_string();
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "scripts/postgres failed (CI=true): {why}"
            );
            eprintln!("SKIPPED: no PostgreSQL server (scripts/postgres: {why})");
            return None;
        }
        let url = String::from_utf8(out.stdout).unwrap().trim().to_string();
        Some(Pg {
            url,
            dir: Some(dir),
        })
    }

    /// The admin URL with another database.
    pub fn url_of(&self, db: &str) -> String {
        let (base, _) = self.url.rsplit_once('/').unwrap();
        format!("{base}/{db}")
    }

    /// The password in the URL.
    pub fn password(&self) -> String {
        let after = self.url.split_once("://").unwrap().1;
        let userinfo = after.split_once('@').unwrap().0;
        userinfo.split_once(':').unwrap().1.to_string()
    }

    /// A new empty database; its URL.
    pub async fn database(&self, name: &str) -> String {
        let c = connect(&self.url).await;
        c.batch_execute(&format!("DROP DATABASE IF EXISTS {name}"))
            .await
            .unwrap();
        c.batch_execute(&format!("CREATE DATABASE {name}"))
            .await
            .unwrap();
        self.url_of(name)
    }
}

impl Drop for Pg {
    fn drop(&mut self) {
        if let Some(dir) = &self.dir {
            let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/postgres");
            let _ = Command::new(script).arg("stop").arg(dir.path()).output();
        }
    }
}

/// A client of `url`.
pub async fn connect(url: &str) -> tokio_postgres::Client {
    let (client, conn) = tokio_postgres::connect(url, NoTls).await.unwrap();
    tokio::spawn(async move {
        let _ = conn.await;
    });
    client
}

const SCHEMA: &str = r#"{
  "collections": [{"name": "r", "history_days": 30}, {"name": "o", "history_days": 30}],
  "indexes": [{"name": "r_by_ts", "source": "r", "values": [{"field": "ts"}, {"field": "ref"}]},
              {"name": "o_by_ts", "source": "o", "values": [{"field": "ts"}, {"field": "ref"}]}],
  "keys": [{"secret": "fnTestServer", "role": "server"}]
}"#;

/// Both collections track deletions; `r` has two additional columns (a string column that
/// holds strings, refs and timestamps, and an integer column).
const CONFIG: &str = r#"{"collections": [
  {"name": "r", "deletions": {"deletion_mode": "deleted_field", "column": "deleted_at"},
   "additional_columns": [{"name": "label", "path": ["data", "label"], "type": "string", "required": false},
                          {"name": "n", "path": ["data", "n"], "type": "integer"}]},
  {"name": "o", "deletions": {"deletion_mode": "deleted_field", "column": "deleted_at"}}]}"#;

/// The `data` of document `id` in round `round`: every value type, and `v` of another type
/// each round (a type conflict inside `data`).
fn doc(id: u64, round: u64) -> String {
    let v = match (id + round) % 3 {
        0 => format!("{}", id * 10 + round),
        1 => format!("\"v{round}\""),
        _ => format!(r#"{{"object": {{"round": {round}, "list": [1, 2.5, "x"]}}}}"#),
    };
    let label = match id % 4 {
        0 => "\"plain label\"".to_string(),
        1 => r#"{"ref": {"collection": "o"}, "id": "7"}"#.to_string(),
        2 => r#"{"@ts": "2023-01-02T03:04:05.123456Z"}"#.to_string(),
        _ => "null".to_string(),
    };
    format!(
        r#"{{"object": {{"v": {v}, "n": {n}, "label": {label}, "big": {big}, "d": {d}, "dd": 2.0,
        "s": "h\u00e9llo \"q\" \\ \n {id}", "when": {{"@ts": "2022-07-18T23:58:03.585Z"}},
        "day": {{"@date": "2012-02-01"}}, "raw": {{"@bytes": "aGVsbG8gd29ybGQ="}},
        "owner": {{"ref": {{"collection": "o"}}, "id": "{o}"}}, "tags": ["a", 1, 2.5, null, true],
        "nested": {{"object": {{"x": {{"object": {{"y": {id}, "z": -0.000125}}}}}}}}}}}}"#,
        n = id as i64 - 50,
        big = 123_456_789_012_345_678u64 + id,
        d = id as f64 + 0.25,
        o = 1 + id % 5,
    )
}

fn run_query(fx: &Fixture, q: &str) {
    let r = execute(&fx.engine, "fnTestServer", q);
    assert!(r.status == 200 || r.status == 201, "{q}: {}", r.body);
}

fn create(coll: &str, id: u64, data: &str) -> String {
    format!(
        r#"{{"create":{{"ref":{{"collection":"{coll}"}},"id":"{id}"}},"params":{{"object":{{"data":{data}}}}}}}"#
    )
}

fn update(coll: &str, id: u64, data: &str) -> String {
    format!(
        r#"{{"update":{{"ref":{{"collection":"{coll}"}},"id":"{id}"}},"params":{{"object":{{"data":{data}}}}}}}"#
    )
}

fn delete(coll: &str, id: u64) -> String {
    format!(r#"{{"delete":{{"ref":{{"collection":"{coll}"}},"id":"{id}"}}}}"#)
}

fn set_ttl(coll: &str, id: u64) -> String {
    format!(
        r#"{{"update":{{"ref":{{"collection":"{coll}"}},"id":"{id}"}},"params":{{"object":{{"ttl":{{"@ts":"2100-01-01T00:00:00Z"}}}}}}}}"#
    )
}

fn tx(ops: &[String]) -> String {
    format!(r#"{{"do":[{}]}}"#, ops.join(","))
}

/// The collections, as the test keeps track of them.
struct World {
    live_r: Vec<u64>,
    /// Documents created and deleted between two syncs (never exported as documents).
    ephemeral: Vec<u64>,
    /// Every id `r` ever had.
    ever_r: std::collections::BTreeSet<u64>,
    live_o: Vec<u64>,
    next: u64,
}

/// The first documents: 30 in `r` (ids 1..=30, plus an 18-digit id), 5 in `o`.
fn seed(fx: &Fixture) -> World {
    let mut ops: Vec<String> = (1..=5)
        .map(|i| create("o", i, &format!(r#"{{"object": {{"name": "owner {i}"}}}}"#)))
        .collect();
    run_query(fx, &tx(&ops));
    ops = (1..=30).map(|i| create("r", i, &doc(i, 0))).collect();
    ops.push(create("r", 345_678_901_234_567_891, &doc(7, 0)));
    run_query(fx, &tx(&ops));
    let mut live_r: Vec<u64> = (1..=30).collect();
    live_r.push(345_678_901_234_567_891);
    World {
        ever_r: live_r.iter().copied().collect(),
        live_r,
        ephemeral: Vec::new(),
        live_o: (1..=5).collect(),
        next: 100,
    }
}

/// One round of writes: updates (`v` changes type), deletions, a delete and re-create of one
/// id (in two transactions), a document created and deleted between two syncs, a ttl set far
/// ahead (a remove + add that is not a deletion), new documents; several writes per
/// transaction.
fn write_round(fx: &Fixture, w: &mut World, rng: &mut StdRng, round: u64) {
    let mut ops = Vec::new();
    let mut touched = std::collections::HashSet::new();
    for _ in 0..6 {
        let id = w.live_r[rng.random_range(0..w.live_r.len())];
        if touched.insert(id) {
            ops.push(update("r", id, &doc(id, round)));
        }
    }
    for _ in 0..2 {
        let k = rng.random_range(0..w.live_r.len());
        let id = w.live_r[k];
        if touched.insert(id) {
            w.live_r.swap_remove(k);
            ops.push(delete("r", id));
        }
    }
    for _ in 0..3 {
        w.next += 1;
        ops.push(create("r", w.next, &doc(w.next, round)));
        w.live_r.push(w.next);
        w.ever_r.insert(w.next);
    }
    run_query(fx, &tx(&ops));
    // Delete and re-create one id, in two transactions.
    let k = rng.random_range(0..w.live_r.len());
    let again = w.live_r[k];
    run_query(fx, &tx(&[delete("r", again)]));
    run_query(fx, &tx(&[create("r", again, &doc(again + 1, round))]));
    // A document that lives only between two syncs.
    w.next += 1;
    run_query(fx, &tx(&[create("r", w.next, &doc(w.next, round))]));
    run_query(fx, &tx(&[delete("r", w.next)]));
    w.ephemeral.push(w.next);
    w.ever_r.insert(w.next);
    // A ttl set far ahead.
    let id = w.live_r[rng.random_range(0..w.live_r.len())];
    run_query(fx, &tx(&[set_ttl("r", id)]));
    // Orders: an update and, every other round, a delete and a new one.
    let o = w.live_o[rng.random_range(0..w.live_o.len())];
    let mut ops = vec![update(
        "o",
        o,
        &format!(r#"{{"object": {{"name": "owner {o} round {round}"}}}}"#),
    )];
    if round.is_multiple_of(2) && w.live_o.len() > 2 {
        let k = rng.random_range(0..w.live_o.len());
        let gone = w.live_o.swap_remove(k);
        if gone != o {
            ops.push(delete("o", gone));
        } else {
            w.live_o.push(gone);
        }
        w.next += 1;
        ops.push(create("o", w.next, r#"{"object": {"name": "new"}}"#));
        w.live_o.push(w.next);
    }
    run_query(fx, &tx(&ops));
}

/// `fauna-sync` with `args`, the Fauna secret set, crashing at `crash` if given.
fn binary(args: &[&str], crash: Option<&str>) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_fauna-sync"));
    cmd.args(args)
        .env("FAUNA_SECRET", "fnTestServer")
        .env_remove("FAUNA_SYNC_TEST_CRASH_AT")
        .env_remove("PGPASSWORD")
        .env_remove("PGSERVICE")
        .env_remove("GITHUB_STEP_SUMMARY");
    if let Some(c) = crash {
        cmd.env("FAUNA_SYNC_TEST_CRASH_AT", c);
    }
    cmd
}

async fn output(mut cmd: Command) -> Output {
    tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// `export` (first) or `sync` of the test's output; asserts success.
async fn sync(fx: &Fixture, command: &str, out: &Path, format: &str) {
    sync_in(fx, command, out, format, "7").await
}

/// [`sync`] with `batch_rows` records per file.
async fn sync_in(fx: &Fixture, command: &str, out: &Path, format: &str, batch_rows: &str) {
    sync_with(fx, command, out, format, batch_rows, &[]).await
}

/// [`sync_in`] with `extra` arguments.
async fn sync_with(
    fx: &Fixture,
    command: &str,
    out: &Path,
    format: &str,
    batch_rows: &str,
    extra: &[&str],
) {
    let config = fx.dir.path().join("config.json");
    std::fs::write(&config, CONFIG).unwrap();
    let url = fx.server.url();
    let o = output(binary(
        &[
            command,
            "--endpoint",
            &url,
            "--config",
            config.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--format",
            format,
            "--batch-rows",
            batch_rows,
            "--page-size",
            "5",
        ]
        .into_iter()
        .chain(extra.iter().copied())
        .collect::<Vec<_>>(),
        None,
    ))
    .await;
    assert!(o.status.success(), "{command}: {}", stderr(&o));
}

/// `fauna-sync load --out OUT --into URL` plus `extra`.
async fn load(out: &Path, url: &str, extra: &[&str], crash: Option<&str>) -> Output {
    let mut args = vec!["load", "--out", out.to_str().unwrap(), "--into", url];
    args.extend_from_slice(extra);
    output(binary(&args, crash)).await
}

async fn load_ok(out: &Path, url: &str, extra: &[&str]) -> String {
    let o = load(out, url, extra, None).await;
    assert!(o.status.success(), "load: {}", stderr(&o));
    stderr(&o)
}

/// A row as the test compares it: ts_us, data, the additional columns as text, and whether
/// `ts` is exactly `ts_us`.
type Rows = BTreeMap<String, (i64, serde_json::Value, Vec<Option<String>>, bool)>;

/// Every row of `schema.table` (`where_` filters: soft-deleted rows).
async fn table(
    c: &tokio_postgres::Client,
    schema: &str,
    table: &str,
    extra: &[&str],
    where_: &str,
) -> Rows {
    let cols: String = extra.iter().map(|e| format!(", {e}::text")).collect();
    c.query(
        &format!(
            "SELECT id, ts_us, coalesce(data, 'null'::jsonb), ts = timestamptz 'epoch' + ts_us * interval '1 microsecond'{cols} FROM \"{schema}\".\"{table}\" {where_} ORDER BY id"
        ),
        &[],
    )
    .await
    .unwrap()
    .into_iter()
    .map(|r| {
        let extra = (0..extra.len()).map(|i| r.get::<_, Option<String>>(4 + i)).collect();
        (r.get(0), (r.get(1), r.get(2), extra, r.get(3)))
    })
    .collect()
}

/// The collection now, as its table must hold it (`data` in export form; for `r` the
/// `label` and `n` columns as their export text).
fn expected(fx: &Fixture, coll: &str) -> Rows {
    collection_now(fx, coll)
        .into_iter()
        .map(|(id, (ts, data))| {
            let value = fauna_sync::fauna::decode(data.to_string().as_bytes()).unwrap();
            let export: serde_json::Value =
                serde_json::from_str(&fauna_sync::export::to_export_json(&value)).unwrap();
            let extra = if coll == "r" {
                // A string column holds a string's text, and any other value's export JSON.
                let text = |field: &str| {
                    let v = value.as_object().and_then(|o| o.get(field))?;
                    let json = fauna_sync::export::to_export_json(v);
                    match serde_json::from_str::<serde_json::Value>(&json).unwrap() {
                        serde_json::Value::Null => None,
                        serde_json::Value::String(s) => Some(s),
                        _ => Some(json),
                    }
                };
                vec![text("label"), text("n")]
            } else {
                vec![]
            };
            (id, (ts, export, extra, true))
        })
        .collect()
}

const R_COLUMNS: &[&str] = &["label", "n"];

/// Asserts that both tables of `schema` equal the collections (`where_`: the rows to compare).
async fn assert_tables_equal_collections(
    c: &tokio_postgres::Client,
    fx: &Fixture,
    schema: &str,
    where_: &str,
    round: u64,
) {
    assert_same(
        &table(c, schema, "r", R_COLUMNS, where_).await,
        &expected(fx, "r"),
        &format!("{schema}.r, round {round}"),
    );
    assert_same(
        &table(c, schema, "o", &[], where_).await,
        &expected(fx, "o"),
        &format!("{schema}.o, round {round}"),
    );
}

/// Equal rows, or a panic naming the first ids that differ.
fn assert_same<V: PartialEq + std::fmt::Debug>(
    got: &BTreeMap<String, V>,
    want: &BTreeMap<String, V>,
    what: &str,
) {
    if got == want {
        return;
    }
    let ids: std::collections::BTreeSet<&String> = got.keys().chain(want.keys()).collect();
    let diff: Vec<String> = ids
        .into_iter()
        .filter(|id| got.get(*id) != want.get(*id))
        .take(3)
        .map(|id| {
            format!(
                "{id}: table {:?}\n  collection {:?}",
                got.get(id),
                want.get(id)
            )
        })
        .collect();
    panic!(
        "{what}: {} rows, {} documents; first differences:\n{}",
        got.len(),
        want.len(),
        diff.join("\n")
    );
}

/// Every row, every column, as text (to see that a load changed nothing).
async fn snapshot(c: &tokio_postgres::Client, schema: &str) -> Vec<String> {
    let mut all = Vec::new();
    for t in ["r", "o", "_fauna_sync_tombstones"] {
        let rows = c
            .query(
                &format!("SELECT x::text FROM \"{schema}\".\"{t}\" x ORDER BY 1"),
                &[],
            )
            .await
            .unwrap();
        all.extend(
            rows.into_iter()
                .map(|r| format!("{t}: {}", r.get::<_, String>(0))),
        );
    }
    all
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_export_and_four_syncs_load_into_tables_equal_to_the_collections() {
    let Some(pg) = Pg::start() else { return };
    let url = pg.database("rounds").await;
    let c = connect(&url).await;
    let fx = Fixture::start(SCHEMA, &[]).await;
    let mut rng = StdRng::seed_from_u64(28);
    let mut w = seed(&fx);
    let (jsonl, parquet) = (fx.out("jsonl"), fx.out("parquet"));
    sync(&fx, "export", &jsonl, "jsonl").await;
    sync(&fx, "export", &parquet, "parquet").await;
    for round in 0..=4u64 {
        if round > 0 {
            write_round(&fx, &mut w, &mut rng, round);
            sync(&fx, "sync", &jsonl, "jsonl").await;
            sync(&fx, "sync", &parquet, "parquet").await;
        }
        load_ok(&jsonl, &url, &[]).await;
        load_ok(&parquet, &url, &["--schema", "pq"]).await;
        load_ok(&jsonl, &url, &["--schema", "soft", "--mode", "soft"]).await;
        assert_tables_equal_collections(&c, &fx, "public", "", round).await;
        assert_tables_equal_collections(&c, &fx, "pq", "", round).await;
        assert_tables_equal_collections(&c, &fx, "soft", "WHERE deleted_at IS NULL", round).await;
    }
    // Soft mode kept every deleted document, marked with its deletion time and its last data
    // (none for a document that only ever appeared as its deletion).
    let deleted = c
        .query("SELECT id, (deleted_at = timestamptz 'epoch' + ts_us * interval '1 microsecond'), data IS NOT NULL FROM soft.r WHERE deleted_at IS NOT NULL", &[])
        .await
        .unwrap();
    let mut gone: Vec<String> = w
        .ever_r
        .iter()
        .filter(|id| !w.live_r.contains(id))
        .map(|id| id.to_string())
        .collect();
    gone.sort();
    let mut deleted_ids: Vec<String> = deleted.iter().map(|r| r.get::<_, String>(0)).collect();
    deleted_ids.sort();
    assert_eq!(deleted_ids, gone);
    for r in &deleted {
        let id: String = r.get(0);
        assert!(r.get::<_, bool>(1), "{id}: deleted_at is the deletion's ts");
        let ephemeral = w.ephemeral.iter().any(|e| e.to_string() == id);
        assert_eq!(
            r.get::<_, bool>(2),
            !ephemeral,
            "{id}: a soft-deleted row keeps its last data"
        );
    }
    let hard_tombstones: i64 = c
        .query_one(
            "SELECT count(*) FROM public._fauna_sync_tombstones WHERE stream = 'r'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert!(hard_tombstones >= 8, "{hard_tombstones}");

    // Loading everything again changes nothing.
    let before = snapshot(&c, "public").await;
    let again = load_ok(&jsonl, &url, &[]).await;
    assert!(again.contains("loaded 0 file(s) of"), "{again}");
    assert!(again.contains("nothing new"), "{again}");
    assert_eq!(snapshot(&c, "public").await, before);

    // Older files loaded again after newer ones (their bookkeeping rows removed) change
    // nothing either: every record is skipped as stale.
    let files: Vec<(String, i64)> = c
        .query(
            "SELECT file, rows FROM public._fauna_sync_loads ORDER BY loaded_at, file LIMIT 6",
            &[],
        )
        .await
        .unwrap()
        .into_iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    let names: Vec<&str> = files.iter().map(|(f, _)| f.as_str()).collect();
    c.execute(
        "DELETE FROM public._fauna_sync_loads WHERE file = ANY($1)",
        &[&names],
    )
    .await
    .unwrap();
    let replay = load_ok(&jsonl, &url, &[]).await;
    assert!(
        replay.contains(" 0 inserted, 0 updated, 0 deleted"),
        "{replay}"
    );
    assert_eq!(snapshot(&c, "public").await, before);
    let stale: Vec<(i64, i64, i64, i64, i64)> = c
        .query("SELECT inserted, updated, deleted, stale, rows FROM public._fauna_sync_loads WHERE file = ANY($1)", &[&names])
        .await
        .unwrap()
        .into_iter()
        .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4)))
        .collect();
    assert_eq!(stale.len(), files.len());
    for (ins, upd, del, st, _) in &stale {
        assert_eq!((*ins, *upd, *del), (0, 0, 0));
        assert!(*st > 0);
    }
    assert_tables_equal_collections(&c, &fx, "public", "", 5).await;
}

/// Crash points inside the load: each kill leaves the committed files loaded and nothing of
/// the file in flight; re-running finishes the load with the same tables as a clean one.
const CRASH_POINTS: &[(&str, u64)] = &[
    ("load-mid-copy-row", 20),
    ("load-after-copy", 3),
    ("load-mid-merge", 3),
    ("load-after-merge", 3),
    ("load-before-commit", 3),
    ("load-after-commit", 3),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn loads_killed_at_random_points_resume_to_the_same_tables() {
    let Some(pg) = Pg::start() else { return };
    let url = pg.database("kills").await;
    let c = connect(&url).await;
    let fx = Fixture::start(SCHEMA, &[]).await;
    let mut rng = StdRng::seed_from_u64(2028);
    let mut w = seed(&fx);
    let out = fx.out("jsonl");
    sync_in(&fx, "export", &out, "jsonl", "3").await;
    let mut kills = 0;
    for round in 0..=4u64 {
        if round > 0 {
            write_round(&fx, &mut w, &mut rng, round);
            sync_in(&fx, "sync", &out, "jsonl", "3").await;
        }
        for mode in ["hard", "soft"] {
            let schema = format!("{mode}_killed");
            // Kill it up to four times (a point not reached lets the load finish).
            let mut killed = 0;
            for _ in 0..15 {
                let (point, max) = CRASH_POINTS[rng.random_range(0..CRASH_POINTS.len())];
                let crash = format!("{point}:{}", rng.random_range(1..=max));
                let o = load(
                    &out,
                    &url,
                    &["--schema", &schema, "--mode", mode],
                    Some(&crash),
                )
                .await;
                if o.status.success() {
                    break;
                }
                assert_eq!(o.status.code(), None, "{crash}: {}", stderr(&o));
                killed += 1;
                if killed == 4 {
                    break;
                }
            }
            kills += killed;
            load_ok(&out, &url, &["--schema", &schema, "--mode", mode]).await;
            load_ok(
                &out,
                &url,
                &["--schema", &format!("{mode}_clean"), "--mode", mode],
            )
            .await;
            let killed = snapshot(&c, &schema).await;
            let clean = snapshot(&c, &format!("{mode}_clean")).await;
            assert_eq!(killed, clean, "{mode}, round {round}");
            let files = |s: String| {
                let c = &c;
                async move {
                    c.query(
                        &format!(
                            "SELECT file, rows, sha256 FROM {s}._fauna_sync_loads ORDER BY file"
                        ),
                        &[],
                    )
                    .await
                    .unwrap()
                    .into_iter()
                    .map(|r| {
                        (
                            r.get::<_, String>(0),
                            r.get::<_, i64>(1),
                            r.get::<_, String>(2),
                        )
                    })
                    .collect::<Vec<_>>()
                }
            };
            assert_eq!(
                files(schema.clone()).await,
                files(format!("{mode}_clean")).await
            );
        }
        assert_tables_equal_collections(&c, &fx, "hard_killed", "", round).await;
        assert_tables_equal_collections(&c, &fx, "soft_killed", "WHERE deleted_at IS NULL", round)
            .await;
    }
    eprintln!("{kills} loads killed");
    assert!(kills >= 20, "only {kills} kills");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_targets_give_clear_errors_and_leave_committed_loads_intact() {
    let Some(pg) = Pg::start() else { return };
    let url = pg.database("errors").await;
    let password = pg.password();
    let c = connect(&url).await;
    let fx = Fixture::start(SCHEMA, &[]).await;
    let mut rng = StdRng::seed_from_u64(7);
    let mut w = seed(&fx);
    let out = fx.out("jsonl");
    sync(&fx, "export", &out, "jsonl").await;
    let said = load_ok(&out, &url, &[]).await;
    assert!(!said.contains(&password), "{said}");
    assert!(said.contains("postgres://fauna@127.0.0.1:"), "{said}");
    let committed_r = table(&c, "public", "r", R_COLUMNS, "").await;
    write_round(&fx, &mut w, &mut rng, 1);
    sync(&fx, "sync", &out, "jsonl").await;

    // A wrong password: exit 1, named as authentication, the password nowhere.
    let wrong = url.replace(&password, "not-the-password");
    let o = load(&out, &wrong, &[], None).await;
    let e = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{e}");
    assert!(
        e.contains("password authentication failed for user \"fauna\""),
        "{e}"
    );
    assert!(e.contains("Use the right user and password"), "{e}");
    assert!(
        !e.contains("not-the-password") && !e.contains(&password),
        "{e}"
    );
    // The password from PGPASSWORD instead of the URL works.
    let (no_pw, _) = (url.replace(&format!(":{password}@"), "@"), ());
    let mut cmd = binary(
        &[
            "load",
            "--out",
            out.to_str().unwrap(),
            "--into",
            &no_pw,
            "--schema",
            "viaenv",
        ],
        None,
    );
    cmd.env("PGPASSWORD", &password);
    let o = output(cmd).await;
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!stderr(&o).contains(&password));

    // An unreachable server.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let o = load(
        &out,
        &format!("postgres://fauna:{password}@127.0.0.1:{port}/x"),
        &[],
        None,
    )
    .await;
    let e = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{e}");
    assert!(
        e.contains(&format!(
            "cannot connect to postgres://fauna@127.0.0.1:{port}/x"
        )),
        "{e}"
    );
    assert!(e.contains("run the same command again"), "{e}");
    assert!(!e.contains(&password), "{e}");

    // A role without the privilege to create a schema, then without INSERT on a table.
    c.batch_execute(
        "DO $$ BEGIN CREATE ROLE limited; EXCEPTION WHEN duplicate_object THEN NULL; END $$; \
         ALTER ROLE limited LOGIN PASSWORD 'limited-pw'; GRANT USAGE ON SCHEMA public TO limited; \
         GRANT SELECT, INSERT, UPDATE, DELETE ON public._fauna_sync_loads, public._fauna_sync_tables, public._fauna_sync_tombstones TO limited; \
         GRANT SELECT, INSERT, UPDATE, DELETE ON public.o TO limited; GRANT SELECT ON public.r TO limited;",
    )
    .await
    .unwrap();
    let limited = url.replace(&format!("fauna:{password}"), "limited:limited-pw");
    let o = load(&out, &limited, &["--schema", "elsewhere"], None).await;
    let e = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{e}");
    assert!(
        e.contains(
            "create schema elsewhere: permission denied for database errors (SQLSTATE 42501)"
        ),
        "{e}"
    );
    assert!(e.contains("Grant the PostgreSQL role the privilege"), "{e}");
    let o = load(&out, &limited, &[], None).await;
    let e = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{e}");
    assert!(
        e.contains("permission denied for table r (SQLSTATE 42501)"),
        "{e}"
    );
    // Stream r failed; stream o went on.
    assert!(e.contains("r -> public.r: failed after 0 file(s)"), "{e}");
    assert!(e.contains("o -> public.o: 1 file(s)"), "{e}");
    assert_eq!(table(&c, "public", "r", R_COLUMNS, "").await, committed_r);

    // A table changed by hand: a column fauna-sync made is dropped, another retyped.
    c.batch_execute("ALTER TABLE public.r DROP COLUMN label")
        .await
        .unwrap();
    let o = load(&out, &url, &[], None).await;
    let e = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{e}");
    assert!(
        e.contains(
            "table public.r: column label (text) that fauna-sync created is gone (changed by hand)"
        ),
        "{e}"
    );
    assert!(e.contains("not as fauna-sync left it"), "{e}");
    c.batch_execute(
        "ALTER TABLE public.r ADD COLUMN label text; ALTER TABLE public.r ALTER COLUMN n TYPE text",
    )
    .await
    .unwrap();
    let o = load(&out, &url, &[], None).await;
    let e = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{e}");
    assert!(
        e.contains(
            "table public.r: column n is text, fauna-sync created it as bigint (changed by hand)"
        ),
        "{e}"
    );
    // A table fauna-sync did not make.
    c.batch_execute("CREATE SCHEMA mine; CREATE TABLE mine.r (id int)")
        .await
        .unwrap();
    let o = load(&out, &url, &["--schema", "mine"], None).await;
    let e = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{e}");
    assert!(
        e.contains("table mine.r: it exists but fauna-sync did not create it"),
        "{e}"
    );
    // Put back, the load goes on from where it stopped.
    c.batch_execute("ALTER TABLE public.r ALTER COLUMN n TYPE bigint USING n::bigint")
        .await
        .unwrap();
    // (label's values were lost by the drop: reload that table to get them back.)
    c.batch_execute("DROP TABLE public.r; DELETE FROM public._fauna_sync_tables WHERE stream = 'r'; DELETE FROM public._fauna_sync_loads WHERE stream = 'r'; DELETE FROM public._fauna_sync_tombstones WHERE stream = 'r'")
        .await
        .unwrap();
    load_ok(&out, &url, &[]).await;
    assert_tables_equal_collections(&c, &fx, "public", "", 1).await;

    // Another load holding the schema's lock: exit 75.
    let holder = connect(&url).await;
    holder
        .batch_execute(
            "SELECT pg_advisory_lock(hashtextextended('fauna-sync load ' || 'public', 0))",
        )
        .await
        .unwrap();
    let o = load(&out, &url, &["--lock-wait", "1"], None).await;
    let e = stderr(&o);
    assert_eq!(o.status.code(), Some(75), "{e}");
    assert!(
        e.contains("another fauna-sync load into schema public"),
        "{e}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn foreign_keys_from_refs_and_the_job_summary() {
    let Some(pg) = Pg::start() else { return };
    let url = pg.database("keys").await;
    let c = connect(&url).await;
    let fx = Fixture::start(SCHEMA, &[]).await;
    let mut rng = StdRng::seed_from_u64(11);
    let mut w = seed(&fx);
    let out = fx.out("jsonl");
    sync(&fx, "export", &out, "jsonl").await;
    let summary = fx.dir.path().join("summary.md");
    let mut cmd = binary(
        &[
            "load",
            "--out",
            out.to_str().unwrap(),
            "--into",
            &url,
            "--foreign-key",
            "r.data.owner -> o",
        ],
        None,
    );
    cmd.env("GITHUB_STEP_SUMMARY", &summary);
    let o = output(cmd).await;
    let e = stderr(&o);
    assert!(o.status.success(), "{e}");
    assert!(
        e.contains("foreign key public.r.owner_id -> public.o(id) declared NOT VALID"),
        "{e}"
    );
    let md = std::fs::read_to_string(&summary).unwrap();
    assert!(
        !md.contains(&pg.password()) && !e.contains(&pg.password()),
        "{md}"
    );
    assert!(md.contains("| stream | table | files | inserted | updated | deleted | skipped as stale | seconds |"), "{md}");
    assert!(md.contains("| r | public.r | 5 | 31 | 0 | 0 | 0 |"), "{md}");
    assert!(md.contains("| o | public.o | 1 | 5 | 0 | 0 | 0 |"), "{md}");
    let fk: (String, bool) = c
        .query_one("SELECT pg_get_constraintdef(oid), convalidated FROM pg_constraint WHERE conname = 'fauna_sync_fk_owner_id'", &[])
        .await
        .map(|r| (r.get(0), r.get(1)))
        .unwrap();
    assert_eq!(
        fk,
        (
            "FOREIGN KEY (owner_id) REFERENCES o(id) NOT VALID".to_string(),
            false
        )
    );
    let joined: i64 = c
        .query_one("SELECT count(*) FROM r JOIN o ON o.id = r.owner_id", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(joined, 31);
    // Later syncs delete owners still referenced (Fauna has no referential integrity): the
    // load drops its keys while it applies files and declares them again after.
    for round in 1..=2 {
        write_round(&fx, &mut w, &mut rng, round);
        sync(&fx, "sync", &out, "jsonl").await;
        let e = load_ok(
            &out,
            &url,
            &[
                "--foreign-key",
                "r.data.owner -> o",
                "--validate-foreign-keys",
            ],
        )
        .await;
        assert!(
            e.contains("foreign key public.r.owner_id -> public.o(id)"),
            "{e}"
        );
        assert_tables_equal_collections(&c, &fx, "public", "", round).await;
    }
    // --collection loads only the streams named.
    let only = load_ok(&out, &url, &["--schema", "only_o", "--collection", "o"]).await;
    assert!(
        only.contains("o -> only_o.o: 3 file(s)") && !only.contains("only_o.r"),
        "{only}"
    );
    // Without --foreign-key the key is dropped; the generated column stays.
    load_ok(&out, &url, &[]).await;
    let keys: i64 = c
        .query_one(
            "SELECT count(*) FROM pg_constraint WHERE conname LIKE 'fauna_sync_fk_%'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(keys, 0);
}

/// The statements of an incremental load join on the staged ids only: loading a few changes
/// into a table of 20,000 rows reads it through its primary key, never by a sequential scan.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_incremental_load_reads_the_table_by_its_key_only() {
    let Some(pg) = Pg::start() else { return };
    let url = pg.database("scans").await;
    let c = connect(&url).await;
    let fx = Fixture::start(SCHEMA, &[("r", crate::support::numbered_docs(20_000))]).await;
    let out = fx.out("jsonl");
    sync_in(&fx, "export", &out, "jsonl", "5000").await;
    load_ok(&out, &url, &[]).await;
    c.batch_execute("ANALYZE public.r").await.unwrap();
    run_query(
        &fx,
        &tx(&[
            update("r", 17, r#"{"object": {"n": 1}}"#),
            delete("r", 18),
            create("r", 30_001, r#"{"object": {"n": 2}}"#),
        ]),
    );
    run_query(&fx, &tx(&[delete("r", 30_001)]));
    run_query(&fx, &tx(&[create("r", 30_001, r#"{"object": {"n": 3}}"#)]));
    sync_in(&fx, "sync", &out, "jsonl", "5000").await;
    let before = scan_stats(&c).await;
    let said = load_ok(&out, &url, &[]).await;
    assert!(
        said.contains("1 inserted, 1 updated, 1 deleted, 0 skipped as stale"),
        "{said}"
    );
    // The load's server process reports its counters when it ends, just after the client.
    let mut after = scan_stats(&c).await;
    for _ in 0..400 {
        if after.2 > before.2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        after = scan_stats(&c).await;
    }
    assert!(
        after.2 > before.2,
        "the load's counters never arrived: {before:?} {after:?}"
    );
    assert_eq!(
        after.0, before.0,
        "sequential scans of public.r: {before:?} -> {after:?}"
    );
    assert!(
        after.1 > before.1,
        "index scans of public.r: {before:?} -> {after:?}"
    );
    assert_same(
        &table(&c, "public", "r", R_COLUMNS, "").await,
        &expected(&fx, "r"),
        "public.r",
    );
}

/// (sequential scans, index scans, rows written) of `public.r`.
async fn scan_stats(c: &tokio_postgres::Client) -> (i64, i64, i64) {
    let r = c
        .query_one(
            "SELECT seq_scan, coalesce(idx_scan, 0), n_tup_ins + n_tup_upd + n_tup_del FROM pg_stat_user_tables WHERE relid = 'public.r'::regclass",
            &[],
        )
        .await
        .unwrap();
    (r.get(0), r.get(1), r.get(2))
}

/// An output on S3 (moto) loads into the same tables as the same output in a directory.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_output_in_an_object_store_loads_like_a_local_one() {
    let Some(pg) = Pg::start() else { return };
    let Some(moto) = crate::object_store::Moto::start() else {
        return;
    };
    moto.bucket("loads");
    let url = pg.database("stores").await;
    let c = connect(&url).await;
    let fx = Fixture::start(SCHEMA, &[]).await;
    let mut rng = StdRng::seed_from_u64(3);
    let mut w = seed(&fx);
    let config = fx.dir.path().join("config.json");
    std::fs::write(&config, CONFIG).unwrap();
    let endpoint = fx.server.url();
    let s3 = "s3://loads/fauna/out";
    for (round, command) in ["export", "sync", "sync"].into_iter().enumerate() {
        if round > 0 {
            write_round(&fx, &mut w, &mut rng, round as u64);
        }
        let args = [
            command,
            "--endpoint",
            &endpoint,
            "--config",
            config.to_str().unwrap(),
            "--out",
            s3,
            "--format",
            "parquet",
            "--batch-rows",
            "7",
        ];
        let o = output(moto.command(&args)).await;
        assert!(o.status.success(), "{}", stderr(&o));
        let o =
            output(moto.command(&["load", "--out", s3, "--into", &url, "--schema", "s3"])).await;
        assert!(o.status.success(), "{}", stderr(&o));
        assert_tables_equal_collections(&c, &fx, "s3", "", round as u64).await;
    }
}

/// TLS through rustls, against a server that accepts TLS connections only, its certificate
/// signed by a throwaway CA: `require` encrypts, `verify-full` checks the chain against
/// `sslrootcert` and the host name, and without the CA the certificate is refused (exit 2).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_modes_encrypt_and_check_the_certificate() {
    if std::env::var("CI").as_deref() != Ok("true")
        && Command::new("openssl").arg("version").output().is_err()
    {
        eprintln!("SKIPPED: no openssl command to make the test certificates");
        return;
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/postgres");
    let dir = tempfile::Builder::new()
        .prefix("fauna-sync-pg-tls")
        .tempdir()
        .unwrap();
    let started = Command::new(&script)
        .arg("--tls")
        .arg(dir.path())
        .output()
        .unwrap();
    if !started.status.success() {
        let why = String::from_utf8_lossy(&started.stderr).to_string();
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "scripts/postgres --tls failed (CI=true): {why}"
        );
        eprintln!("SKIPPED: no PostgreSQL server (scripts/postgres --tls: {why})");
        return;
    }
    let pg = Pg {
        url: String::from_utf8(started.stdout)
            .unwrap()
            .trim()
            .to_string(),
        dir: Some(dir),
    };
    let ca = pg.dir.as_ref().unwrap().path().join("ca.pem");
    let fx = Fixture::start(SCHEMA, &[]).await;
    seed(&fx);
    let out = fx.out("jsonl");
    sync(&fx, "export", &out, "jsonl").await;
    let base = pg.url.clone();
    let ca = ca.to_str().unwrap();
    let localhost = base.replace("@127.0.0.1:", "@localhost:");
    for (url, schema) in [
        (format!("{base}?sslmode=require"), "tls_require"),
        (
            format!("{base}?sslmode=verify-full&sslrootcert={ca}"),
            "tls_full",
        ),
        (
            format!("{localhost}?sslmode=verify-full&sslrootcert={ca}"),
            "tls_name",
        ),
        (
            format!("{base}?sslmode=verify-ca&sslrootcert={ca}"),
            "tls_ca",
        ),
    ] {
        let e = load_ok(&out, &url, &["--schema", schema]).await;
        assert!(e.contains("31 inserted"), "{url}: {e}");
    }
    // The server accepts TLS only: a plain connection is refused by its pg_hba.
    let o = load(&out, &format!("{base}?sslmode=disable"), &[], None).await;
    let e = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{e}");
    assert!(
        e.contains("no pg_hba.conf entry") && e.contains("no encryption"),
        "{e}"
    );
    // Without the CA the certificate is not trusted: a configuration error.
    let o = load(&out, &format!("{base}?sslmode=verify-full"), &[], None).await;
    let e = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{e}");
    assert!(e.contains("invalid peer certificate"), "{e}");
    assert!(!e.contains(&pg.password()), "{e}");
}

/// A value PostgreSQL cannot hold (the NUL character, refused by jsonb) fails its stream's load
/// with the server's reason and the record's line; the other stream loads.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_document_postgres_cannot_hold_fails_its_stream_only() {
    let Some(pg) = Pg::start() else { return };
    let url = pg.database("nul").await;
    let c = connect(&url).await;
    let fx = Fixture::start(SCHEMA, &[]).await;
    seed(&fx);
    run_query(
        &fx,
        &tx(&[create("o", 9, r#"{"object": {"name": "a\u0000b"}}"#)]),
    );
    let out = fx.out("jsonl");
    sync(&fx, "export", &out, "jsonl").await;
    let o = load(&out, &url, &[], None).await;
    let e = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{e}");
    assert!(
        e.contains("o -> public.o: failed after 0 file(s): load o/part-00000001.jsonl into public.o: unsupported Unicode escape sequence (SQLSTATE 22P05); \\u0000 cannot be converted to text.; where: JSON data, line 1: {\"name\":\"a\\u0000...; COPY _fauna_sync_stage, line 6, column data"),
        "{e}"
    );
    assert!(e.contains("Fix the file or the output named above"), "{e}");
    assert!(
        e.contains("r -> public.r: 5 file(s), 31 record(s): 31 inserted"),
        "{e}"
    );
    let loaded: i64 = c
        .query_one(
            "SELECT count(*) FROM public._fauna_sync_loads WHERE stream = 'o'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(loaded, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_load_interrupted_by_sigterm_exits_130_keeps_its_committed_files_and_resumes() {
    let Some(pg) = Pg::start() else { return };
    let url = pg.database("interrupted").await;
    let c = connect(&url).await;
    let fx = Fixture::start(SCHEMA, &[]).await;
    seed(&fx);
    let out = fx.out("jsonl");
    sync_in(&fx, "export", &out, "jsonl", "3").await;
    let manifest: Vec<String> = std::fs::read_to_string(out.join("_manifest.jsonl"))
        .unwrap()
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["file"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert!(manifest.len() > 3, "{manifest:?}");

    // Held after copying the third file into its staging table, before it is merged: the
    // first two files are committed, the third's transaction is open.
    let go_on = fx.dir.path().join("go-on");
    let mut args = vec!["load", "--out", out.to_str().unwrap(), "--into", &url];
    args.extend_from_slice(&["--schema", "cut"]);
    let mut cmd = binary(&args, None);
    let mut child = cmd
        .env("FAUNA_SYNC_TEST_PAUSE_AT", "load-after-copy:3")
        .env("FAUNA_SYNC_TEST_PAUSE_FILE", &go_on)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let held = fx.dir.path().join("go-on.paused");
    // Polled, not timed: the loop ends when the load is held there or has ended.
    while !held.exists() {
        if let Some(status) = child.try_wait().unwrap() {
            panic!("the load ended ({status}) before reaching load-after-copy:3");
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    let pid = child.id().to_string();
    assert!(Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    std::fs::write(&go_on, b"").unwrap();
    let o = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap();
    assert_eq!(o.status.code(), Some(130), "{}", stderr(&o));
    assert!(
        stderr(&o).contains(
            "interrupted: every committed file stays loaded; run the same command again to continue."
        ),
        "{}",
        stderr(&o)
    );
    let loaded: Vec<String> = c
        .query("SELECT file FROM cut._fauna_sync_loads ORDER BY file", &[])
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.get(0))
        .collect();
    let mut first_two = manifest[..2].to_vec();
    first_two.sort();
    assert_eq!(
        loaded, first_two,
        "the committed files after the interruption"
    );

    // The same command again loads the rest: the tables equal the collections and a load
    // that was never interrupted.
    load_ok(&out, &url, &["--schema", "cut"]).await;
    load_ok(&out, &url, &["--schema", "whole"]).await;
    assert_tables_equal_collections(&c, &fx, "cut", "", 0).await;
    assert_eq!(snapshot(&c, "cut").await, snapshot(&c, "whole").await);
}

/// A typed output (`--columns typed`) as its tables must hold it: per row, every typed column
/// of the stream's plan by name, rendered as [`typed_select`] reads it back.
type TypedRows = BTreeMap<String, BTreeMap<String, serde_json::Value>>;

/// The stream's column plan from the output's state.
fn typed_plan(out: &Path, stream: &str) -> fauna_sync::schema::ColumnPlan {
    let state: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("_state.json")).unwrap()).unwrap();
    serde_json::from_value(state["streams"][stream]["typed"]["plan"].clone()).unwrap()
}

/// The SQL type a typed column of `kind` must have (as `format_type` spells it).
fn typed_type(kind: fauna_sync::schema::ColumnKind) -> &'static str {
    use fauna_sync::schema::{ColumnKind as K, ListOf as L};
    match kind {
        K::Int => "bigint",
        K::Double => "double precision",
        K::String | K::TimeText | K::DateText => "text",
        K::Boolean => "boolean",
        K::Time => "timestamp with time zone",
        K::Date => "date",
        K::Bytes => "bytea",
        K::Ref => "fauna_ref",
        K::List(L::Int) => "bigint[]",
        K::List(L::Double) => "double precision[]",
        K::List(L::String) => "text[]",
        K::List(L::Boolean) => "boolean[]",
        K::List(L::Time) => "timestamp with time zone[]",
        K::List(L::Date) => "date[]",
        K::List(L::Bytes) => "bytea[]",
        K::Array | K::Object | K::Set | K::Query => "jsonb",
    }
}

/// How the test reads a typed column back: a timestamptz as Unix microseconds, a date as days
/// since 1970, bytea as hex, a ref as its composite's fields, jsonb as itself, others as JSON.
fn typed_select(name: &str, kind: fauna_sync::schema::ColumnKind) -> String {
    use fauna_sync::schema::ColumnKind as K;
    let n = format!("\"{name}\"");
    match kind {
        K::Time => format!("to_jsonb((extract(epoch FROM {n}) * 1000000)::bigint)"),
        K::Date => format!("to_jsonb({n} - date '1970-01-01')"),
        K::Bytes => format!("to_jsonb(encode({n}, 'hex'))"),
        K::Array | K::Object | K::Set | K::Query => n,
        _ => format!("to_jsonb({n})"),
    }
}

/// A value of a typed column as [`typed_select`] reads it back.
fn typed_expected(
    kind: fauna_sync::schema::ColumnKind,
    v: &fauna_sync::fauna::Value,
) -> serde_json::Value {
    use fauna_sync::fauna::Value as V;
    use fauna_sync::schema::ColumnKind as K;
    let export = || -> serde_json::Value {
        serde_json::from_str(&fauna_sync::export::to_export_json(v)).unwrap()
    };
    match (kind, v) {
        (_, V::Null) => serde_json::Value::Null,
        (K::Time, V::Timestamp(t)) => {
            serde_json::json!(t.secs() * 1_000_000 + i64::from(t.subsec_nanos() / 1000))
        }
        (K::Date, V::Date(d)) => serde_json::json!(d.days_since_epoch()),
        (K::Bytes, V::Bytes(b)) => {
            serde_json::json!(b.iter().map(|x| format!("{x:02x}")).collect::<String>())
        }
        (K::List(of), V::Array(items)) => serde_json::Value::Array(
            items
                .iter()
                .map(|i| typed_expected(of.element(), i))
                .collect(),
        ),
        (K::Ref, V::Ref(_)) => {
            let mut e = export();
            if let Some(o) = e.as_object_mut() {
                o.entry("collection").or_insert(serde_json::Value::Null);
            }
            e
        }
        _ => export(),
    }
}

/// A double column's numbers as JSON floats: `to_jsonb` writes the double 2.0 as `2`.
fn doubles_as_floats(
    kind: fauna_sync::schema::ColumnKind,
    v: serde_json::Value,
) -> serde_json::Value {
    use fauna_sync::schema::{ColumnKind as K, ListOf as L};
    let float = |v: serde_json::Value| match v.as_f64() {
        Some(f) => serde_json::json!(f),
        None => v,
    };
    match (kind, v) {
        (K::Double, v) => float(v),
        (K::List(L::Double), serde_json::Value::Array(items)) => {
            serde_json::Value::Array(items.into_iter().map(float).collect())
        }
        (_, v) => v,
    }
}

/// Every document's typed columns under `plan`, as its table must hold them.
fn typed_expected_rows(
    fx: &Fixture,
    coll: &str,
    plan: &fauna_sync::schema::ColumnPlan,
) -> TypedRows {
    use fauna_sync::schema::{placement, Path as SPath, Placement, Seg};
    fn walk(
        plan: &fauna_sync::schema::ColumnPlan,
        path: SPath,
        v: &fauna_sync::fauna::Value,
        row: &mut BTreeMap<String, serde_json::Value>,
    ) {
        match placement(plan, &path, v) {
            Placement::Null => {}
            Placement::Flatten => {
                if let fauna_sync::fauna::Value::Object(fields) = v {
                    for (k, c) in fields.iter() {
                        walk(plan, path.child(Seg::Key(k.clone())), c, row);
                    }
                }
            }
            Placement::Column(kind) => {
                let i = plan
                    .column_for(&path, kind)
                    .unwrap_or_else(|| panic!("no column for {path} {kind:?}"));
                row.insert(plan.columns()[i].name.clone(), typed_expected(kind, v));
            }
        }
    }
    collection_now(fx, coll)
        .into_iter()
        .map(|(id, (_, data))| {
            let mut row: BTreeMap<String, serde_json::Value> = plan
                .columns()
                .iter()
                .map(|c| (c.name.clone(), serde_json::Value::Null))
                .collect();
            let value = fauna_sync::fauna::decode(data.to_string().as_bytes()).unwrap();
            if let fauna_sync::fauna::Value::Object(fields) = &value {
                for (k, c) in fields.iter() {
                    walk(plan, SPath::keys(&[k.as_str()]), c, &mut row);
                }
            }
            (id, row)
        })
        .collect()
}

/// Asserts that the typed columns of `schema.coll` have their types and equal the collection.
async fn assert_typed_table(
    c: &tokio_postgres::Client,
    fx: &Fixture,
    out: &Path,
    schema: &str,
    coll: &str,
    what: &str,
) {
    let plan = typed_plan(out, coll);
    let types: BTreeMap<String, String> = c
        .query(
            "SELECT a.attname::text, CASE WHEN t.typtype = 'c' THEN t.typname::text ELSE format_type(a.atttypid, a.atttypmod) END \
             FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid \
             WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped",
            &[&format!("\"{schema}\".\"{coll}\"")],
        )
        .await
        .unwrap()
        .into_iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    for col in plan.columns() {
        assert_eq!(
            types.get(&col.name).map(String::as_str),
            Some(typed_type(col.kind)),
            "{what}: column {} ({:?})",
            col.name,
            col.kind
        );
    }
    let exprs: Vec<String> = plan
        .columns()
        .iter()
        .map(|col| {
            format!(
                "coalesce({}, 'null'::jsonb)",
                typed_select(&col.name, col.kind)
            )
        })
        .collect();
    let got: TypedRows = c
        .query(
            &format!(
                "SELECT id{} FROM \"{schema}\".\"{coll}\" ORDER BY id",
                exprs.iter().map(|e| format!(", {e}")).collect::<String>()
            ),
            &[],
        )
        .await
        .unwrap()
        .into_iter()
        .map(|r| {
            let row = plan
                .columns()
                .iter()
                .enumerate()
                .map(|(i, col)| {
                    let v = r.get::<_, serde_json::Value>(i + 1);
                    (col.name.clone(), doubles_as_floats(col.kind, v))
                })
                .collect();
            (r.get(0), row)
        })
        .collect();
    let want = typed_expected_rows(fx, coll, &plan);
    assert_same(&got, &want, what);
}

/// `export` or `sync` of a typed Parquet output, 7 records per file.
async fn sync_typed(fx: &Fixture, command: &str, out: &Path) {
    sync_with(fx, command, out, "parquet", "7", &["--columns", "typed"]).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_typed_output_loads_into_typed_columns_and_variants() {
    let Some(pg) = Pg::start() else { return };
    let url = pg.database("typed").await;
    let c = connect(&url).await;
    let fx = Fixture::start(SCHEMA, &[]).await;
    let mut rng = StdRng::seed_from_u64(24);
    let mut w = seed(&fx);
    let out = fx.out("typed");
    sync_typed(&fx, "export", &out).await;
    let mut columns = Vec::new();
    for round in 0..=4u64 {
        if round > 0 {
            write_round(&fx, &mut w, &mut rng, round);
            if round == 2 {
                // New fields: a date and a list of integers (columns the plan lacked).
                let id = w.live_r[0];
                run_query(
                    &fx,
                    &tx(&[update(
                        "r",
                        id,
                        r#"{"object": {"added": {"@date": "2024-02-29"}, "nums": [3, null, -2]}}"#,
                    )]),
                );
            }
            sync_typed(&fx, "sync", &out).await;
        }
        load_ok(&out, &url, &[]).await;
        load_ok(&out, &url, &["--schema", "soft", "--mode", "soft"]).await;
        for coll in ["r", "o"] {
            assert_typed_table(
                &c,
                &fx,
                &out,
                "public",
                coll,
                &format!("public.{coll}, round {round}"),
            )
            .await;
        }
        // The JSON columns (ts, ts_us, data, the additional columns) as for a JSON output.
        assert_tables_equal_collections(&c, &fx, "public", "", round).await;
        assert_tables_equal_collections(&c, &fx, "soft", "WHERE deleted_at IS NULL", round).await;
        columns.push(typed_plan(&out, "r").columns().len());
    }
    // The plan grew (a variant and new fields) and the table with it.
    assert!(columns.windows(2).any(|w| w[1] > w[0]), "{columns:?}");
    let plan = typed_plan(&out, "r");
    let kinds: Vec<(&str, &str)> = plan
        .columns()
        .iter()
        .map(|c| (c.name.as_str(), typed_type(c.kind)))
        .collect();
    for want in [
        // `n` is an additional column's name, so its typed column is `n_`.
        ("n_", "bigint"),
        ("big", "bigint"),
        ("d", "double precision"),
        ("s", "text"),
        ("when", "timestamp with time zone"),
        ("day", "date"),
        ("raw", "bytea"),
        ("owner", "fauna_ref"),
        ("tags", "jsonb"),
        ("nested__x", "jsonb"),
        ("v__v_int", "bigint"),
        ("label___v_time", "timestamp with time zone"),
        ("d__v_int", "bigint"),
        ("added", "date"),
        ("nums", "bigint[]"),
    ] {
        assert!(kinds.contains(&want), "{want:?} in {kinds:?}");
    }
    // The ref's fields and a time, read as SQL.
    let row = c
        .query_one(
            "SELECT (owner).id, (owner).collection, (owner).type, \"when\" = timestamptz '2022-07-18T23:58:03.585Z', raw = '\\x68656c6c6f20776f726c64'::bytea FROM public.r WHERE id = '3'",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(
        (
            row.get::<_, String>(0),
            row.get::<_, String>(1),
            row.get::<_, String>(2),
            row.get::<_, bool>(3),
            row.get::<_, bool>(4)
        ),
        (
            "4".to_string(),
            "o".to_string(),
            "document".to_string(),
            true,
            true
        )
    );

    // Loading everything again changes nothing.
    let before = snapshot(&c, "public").await;
    let again = load_ok(&out, &url, &[]).await;
    assert!(again.contains("loaded 0 file(s) of"), "{again}");
    assert_eq!(snapshot(&c, "public").await, before);

    // Killed at each point, from scratch into another schema, it resumes to the same tables.
    let mut kills = 0;
    for (point, max) in CRASH_POINTS {
        for n in [1, *max] {
            let crash = format!("{point}:{n}");
            let o = load(&out, &url, &["--schema", "killed"], Some(&crash)).await;
            if !o.status.success() {
                assert_eq!(o.status.code(), None, "{crash}: {}", stderr(&o));
                kills += 1;
            }
        }
    }
    load_ok(&out, &url, &["--schema", "killed"]).await;
    assert!(kills >= 8, "only {kills} kills");
    // (A schema loaded at once has the columns in plan order; public grew them one load at a
    // time, so it is compared by value above and the killed one with a clean load at once.)
    load_ok(&out, &url, &["--schema", "clean"]).await;
    assert_eq!(snapshot(&c, "killed").await, snapshot(&c, "clean").await);
    for coll in ["r", "o"] {
        assert_typed_table(&c, &fx, &out, "killed", coll, &format!("killed.{coll}")).await;
    }
}
