//! Typed columns through the real binary (issue 24): every value kind in its own column
//! beside `data`, the plan and schema in the state, schema contracts across five syncs, and
//! a run killed mid-batch resuming to byte-identical files and schema.

use std::path::Path;

use arrow_array::cast::AsArray;
use arrow_array::types::{Date32Type, Float64Type, Int64Type, TimestampNanosecondType};
use arrow_array::{Array, ArrayRef};
use arrow_schema::DataType;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use serde_json::{json, Value as Json};

use fauna_sync::sink::read_manifest;
use fauna_sync::state::State;

use crate::support::{execute, files_below, wire_ref, Fixture};

const SCHEMA: &str = r#"{
  "collections": [{"name": "foo", "history_days": null}, {"name": "other", "history_days": null}],
  "indexes": [{"name": "foo_ts", "source": "foo", "values": [{"field": "ts"}, {"field": "ref"}]}],
  "keys": [{"secret": "fnTestServer", "role": "server"}]
}"#;

/// Runs the binary with `args` against `fx` into `out`.
fn run(fx: &Fixture, out: &Path, args: &[&str], crash: Option<&str>) -> std::process::Output {
    let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_fauna-sync"));
    c.args(args)
        .args(["--endpoint", &fx.server.url(), "--collection", "foo"])
        .args(["--format", "parquet", "--out"])
        .arg(out)
        .env("FAUNA_SECRET", "fnTestServer")
        .env_remove("FAUNA_SYNC_TEST_CRASH_AT");
    if let Some(p) = crash {
        c.env("FAUNA_SYNC_TEST_CRASH_AT", p);
    }
    c.output().unwrap()
}

fn ok(o: &std::process::Output) {
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

/// One cell as JSON (times as nanoseconds, dates as days, bytes as a byte list).
fn cell(a: &ArrayRef, i: usize) -> Json {
    if a.is_null(i) {
        return Json::Null;
    }
    match a.data_type() {
        DataType::Utf8 => json!(a.as_string::<i32>().value(i)),
        DataType::Int64 => json!(a.as_primitive::<Int64Type>().value(i)),
        DataType::Float64 => json!(a.as_primitive::<Float64Type>().value(i)),
        DataType::Boolean => json!(a.as_boolean().value(i)),
        DataType::Date32 => json!(a.as_primitive::<Date32Type>().value(i)),
        DataType::Timestamp(_, _) => json!(a.as_primitive::<TimestampNanosecondType>().value(i)),
        DataType::Binary => json!(a.as_binary::<i32>().value(i)),
        DataType::Struct(fields) => {
            let s = a.as_struct();
            let mut m = serde_json::Map::new();
            for (f, c) in fields.iter().zip(s.columns()) {
                m.insert(f.name().clone(), cell(c, i));
            }
            Json::Object(m)
        }
        DataType::List(_) => {
            let items = a.as_list::<i32>().value(i);
            Json::Array((0..items.len()).map(|j| cell(&items, j)).collect())
        }
        other => panic!("unexpected column type {other}"),
    }
}

/// A Parquet file's column names and rows (objects by column name, nulls left out).
fn parquet_rows(path: &Path) -> (Vec<String>, Vec<Json>) {
    let file = std::fs::File::open(path).unwrap();
    let reader = ParquetRecordBatchReaderBuilder::try_new(file)
        .unwrap()
        .build()
        .unwrap();
    let mut names = Vec::new();
    let mut rows = Vec::new();
    for batch in reader {
        let batch = batch.unwrap();
        names = batch
            .schema()
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .collect();
        for i in 0..batch.num_rows() {
            let mut m = serde_json::Map::new();
            for (name, col) in names.iter().zip(batch.columns()) {
                let v = cell(col, i);
                if !v.is_null() {
                    m.insert(name.clone(), v);
                }
            }
            rows.push(Json::Object(m));
        }
    }
    (names, rows)
}

fn write(fx: &Fixture, query: &str) {
    let r = execute(&fx.engine, "fnTestServer", query);
    assert!(r.status == 200 || r.status == 201, "{query}: {}", r.body);
}

fn create(id: &str, data: &str) -> String {
    format!(
        r#"{{"create":{{"ref":{{"collection":"foo"}},"id":"{id}"}},"params":{{"object":{{"data":{{"object":{data}}}}}}}}}"#
    )
}

fn state(out: &Path) -> State {
    State::load(&out.join("_state.json")).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_export_writes_each_value_kind_in_a_typed_column_beside_data() {
    let other = wire_ref("other", "123");
    let docs = [
        format!(r#"{{"id":"101","ts":1658188683585000,"data":{{"s":"héllo","i":12,"d":3.5,"b":true,"arr":[1,2],"mixed":[1,"x"],"nested":{{"value":15,"deep":{{"x":1}}}},"owner":{other},"blob":{{"@bytes":"aGk="}},"seen":{{"@ts":"2022-07-18T23:58:03.585Z"}},"born":{{"@date":"2012-02-01"}},"fn":{{"@query":{{"api_version":"4","lambda":"x","expr":{{"var":"x"}}}}}},"ref":"user key"}}}}"#),
        r#"{"id":"102","ts":1658188683586000,"data":{"s":"second","i":"twelve","nested":{"value":20}}}"#.to_string(),
    ];
    let fx = Fixture::start(SCHEMA, &[("foo", docs.join("\n") + "\n")]).await;
    let out = fx.out("typed");
    ok(&run(&fx, &out, &["export", "--columns", "typed"], None));
    let (names, rows) = parquet_rows(&out.join("foo/part-00000001.parquet"));
    assert_eq!(
        names,
        [
            "ref",
            "ts",
            "data",
            "arr",
            "b",
            "blob",
            "born",
            "d",
            "fn",
            "i",
            "mixed",
            "nested__deep",
            "nested__value",
            "owner",
            "ref_",
            "s",
            "seen",
            "i__v_string"
        ]
    );
    assert_eq!(
        rows[0],
        json!({
            "ref": "101", "ts": 1658188683585000i64,
            "data": rows[0]["data"],
            "arr": [1, 2], "b": true, "blob": [104, 105], "born": 15371, "d": 3.5,
            "fn": r#"{"@query":{"api_version":"4","lambda":"x","expr":{"var":"x"}}}"#,
            "i": 12, "mixed": r#"[1,"x"]"#, "nested__deep": r#"{"x":1}"#, "nested__value": 15,
            "owner": {"id": "123", "collection": "other", "type": "document"},
            "ref_": "user key", "s": "héllo", "seen": 1658188683585000000i64
        })
    );
    assert_eq!(
        rows[1],
        json!({
            "ref": "102", "ts": 1658188683586000i64,
            "data": r#"{"s":"second","i":"twelve","nested":{"value":20}}"#,
            "nested__value": 20, "s": "second", "i__v_string": "twelve"
        })
    );
    // The manifest line says which schema the file has; the state keeps plan and schema.
    let files = read_manifest(&out).unwrap();
    let schema = files[0].schema.clone().unwrap();
    assert_eq!(
        (
            schema.version,
            schema.columns,
            schema.variants,
            schema.variant_values
        ),
        (1, 15, 1, 1)
    );
    let typed = state(&out).streams["foo"].typed.clone().unwrap();
    assert_eq!(
        (typed.version, typed.variants, typed.observed.documents()),
        (1, 1, 2)
    );
    assert_eq!(typed.plan.columns().len(), 15);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn columns_json_keeps_the_data_column_layout_and_an_output_keeps_its_mode() {
    let fx = Fixture::start(SCHEMA, &[]).await;
    write(&fx, &create("1", r#"{"a":1}"#));
    let out = fx.out("json");
    ok(&run(&fx, &out, &["sync", "--columns", "json"], None));
    let (names, _) = parquet_rows(&out.join("foo/part-00000001.parquet"));
    assert_eq!(names, ["ref", "ts", "data"]);
    assert_eq!(read_manifest(&out).unwrap()[0].schema, None);
    // Without --columns the output stays json; asking for typed is refused.
    write(&fx, &create("2", r#"{"a":2}"#));
    ok(&run(&fx, &out, &["sync"], None));
    let (names, _) = parquet_rows(&out.join("foo/part-00000002.parquet"));
    assert_eq!(names, ["ref", "ts", "data"]);
    let refused = run(&fx, &out, &["sync", "--columns", "typed"], None);
    assert!(!refused.status.success());
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(
        err.contains("columns: json") && err.contains("columns: typed"),
        "{err}"
    );
    // A new output without --columns is json (the default); a typed one stays typed without
    // --columns, and asking for json is refused.
    let default = fx.out("default");
    ok(&run(&fx, &default, &["export"], None));
    let (names, _) = parquet_rows(&default.join("foo/part-00000001.parquet"));
    assert_eq!(names, ["ref", "ts", "data"]);
    let typed = fx.out("typed");
    ok(&run(&fx, &typed, &["sync", "--columns", "typed"], None));
    write(&fx, &create("3", r#"{"a":3}"#));
    ok(&run(&fx, &typed, &["sync"], None));
    let (names, _) = parquet_rows(&typed.join("foo/part-00000002.parquet"));
    assert!(
        names.len() > 3 && names.contains(&"a".to_string()),
        "{names:?}"
    );
    let refused = run(&fx, &typed, &["sync", "--columns", "json"], None);
    assert!(!refused.status.success());
}

/// Five syncs: a first document, a new field, a type change, a field removed, another new
/// field. Returns each sync's exit code and its summary's typed-columns line (if any).
fn five_syncs(fx: &Fixture, out: &Path, contract: &str) -> Vec<(i32, String)> {
    let steps = [
        r#"{"a":1,"b":"x"}"#,
        r#"{"a":2,"b":"y","c":true}"#,
        r#"{"a":"three","b":"z"}"#,
        r#"{"a":4}"#,
        r#"{"a":5,"d":1.5}"#,
    ];
    let mut codes = Vec::new();
    for (i, data) in steps.iter().enumerate() {
        write(fx, &create(&format!("{}", i + 1), data));
        let o = run(
            fx,
            out,
            &["sync", "--columns", "typed", "--contract", contract],
            None,
        );
        let typed_line = String::from_utf8_lossy(&o.stderr)
            .lines()
            .find(|l| l.starts_with("foo: typed columns"))
            .unwrap_or_default()
            .to_string();
        codes.push((o.status.code().unwrap_or(-1), typed_line));
    }
    codes
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_syncs_evolve_the_schema_under_each_contract() {
    // evolve: every change becomes a column or a variant; versions only grow.
    let fx = Fixture::start(SCHEMA, &[]).await;
    let out = fx.out("evolve");
    let variants =
        "foo: typed columns: 1 value(s) in variant columns, 0 left out by the schema contract";
    let codes = five_syncs(&fx, &out, "evolve");
    let want = [(0, ""), (0, ""), (0, variants), (0, ""), (0, "")];
    assert_eq!(codes, want.map(|(c, l)| (c, l.to_string())));
    let lines: Vec<_> = read_manifest(&out)
        .unwrap()
        .into_iter()
        .map(|f| {
            let s = f.schema.unwrap();
            (f.rows, s.version, s.columns, s.variants, s.variant_values)
        })
        .collect();
    assert_eq!(
        lines,
        [
            (1, 1, 2, 0, 0),
            (1, 2, 3, 0, 0),
            (1, 3, 4, 1, 1),
            (1, 3, 4, 1, 0),
            (1, 4, 5, 1, 0)
        ]
    );
    let (names, rows) = parquet_rows(&out.join("foo/part-00000005.parquet"));
    assert_eq!(
        names,
        ["ref", "ts", "data", "a", "b", "c", "a__v_string", "d"]
    );
    assert_eq!(rows[0]["a"], 5);
    assert_eq!(rows[0]["d"], 1.5);
    let (_, rows) = parquet_rows(&out.join("foo/part-00000003.parquet"));
    assert_eq!(rows[0]["a__v_string"], "three");

    // freeze: the second sync stops before committing the batch, with its own exit code.
    let fx = Fixture::start(SCHEMA, &[]).await;
    let out = fx.out("freeze");
    write(&fx, &create("1", r#"{"a":1,"b":"x"}"#));
    ok(&run(
        &fx,
        &out,
        &["sync", "--columns", "typed", "--contract", "freeze"],
        None,
    ));
    write(&fx, &create("2", r#"{"a":2,"b":"y","c":true}"#));
    let frozen = run(
        &fx,
        &out,
        &["sync", "--columns", "typed", "--contract", "freeze"],
        None,
    );
    assert_eq!(frozen.status.code(), Some(3));
    let err = String::from_utf8_lossy(&frozen.stderr);
    assert!(
        err.contains(r#"document 2 has a boolean value at ["c"]"#),
        "{err}"
    );
    assert_eq!(read_manifest(&out).unwrap().len(), 1);
    // A value of a type the plan has is no change.
    write(&fx, &create("3", r#"{"a":3}"#));
    ok(&run(
        &fx,
        &out,
        &["sync", "--columns", "typed", "--contract", "evolve"],
        None,
    ));
    assert_eq!(read_manifest(&out).unwrap().len(), 2);

    // discard_row: documents that would change the schema are left out, and counted.
    let fx = Fixture::start(SCHEMA, &[]).await;
    let out = fx.out("discard_row");
    let codes: Vec<i32> = five_syncs(&fx, &out, "discard_row")
        .into_iter()
        .map(|c| c.0)
        .collect();
    assert_eq!(codes, [0, 0, 0, 0, 0]);
    let lines: Vec<_> = read_manifest(&out)
        .unwrap()
        .into_iter()
        .map(|f| {
            let s = f.schema.unwrap();
            (f.rows, s.version, s.columns, s.discarded_rows)
        })
        .collect();
    assert_eq!(
        lines,
        [
            (1, 1, 2, 0),
            (0, 1, 2, 1),
            (0, 1, 2, 1),
            (1, 1, 2, 0),
            (0, 1, 2, 1)
        ]
    );

    // discard_value: the document is written; the new values stay in `data` only.
    let fx = Fixture::start(SCHEMA, &[]).await;
    let out = fx.out("discard_value");
    let codes = five_syncs(&fx, &out, "discard_value");
    let left_out =
        "foo: typed columns: 0 value(s) in variant columns, 1 left out by the schema contract";
    let want = [
        (0, ""),
        (0, left_out),
        (0, left_out),
        (0, ""),
        (0, left_out),
    ];
    assert_eq!(codes, want.map(|(c, l)| (c, l.to_string())));
    let (names, rows) = parquet_rows(&out.join("foo/part-00000003.parquet"));
    assert_eq!(names, ["ref", "ts", "data", "a", "b"]);
    assert_eq!(
        rows[0],
        json!({"ref": "3", "ts": rows[0]["ts"], "data": r#"{"a":"three","b":"z"}"#, "b": "z"})
    );
    let discarded: Vec<u64> = read_manifest(&out)
        .unwrap()
        .into_iter()
        .map(|f| f.schema.unwrap().discarded_values)
        .collect();
    assert_eq!(discarded, [0, 1, 1, 0, 1]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_killed_mid_batch_resumes_to_byte_identical_typed_files_and_schema() {
    let docs: String = (1..=50i64)
        .map(|i| {
            let v = match i % 3 {
                0 => format!("{i}"),
                1 => format!(r#""n{i}""#),
                _ => format!(r#"{{"@ts":"2024-01-0{}T00:00:00.000000123Z"}}"#, i % 9 + 1),
            };
            format!(
                r#"{{"id":"{}","ts":{},"data":{{"v":{v},"k{}":{i}}}}}"#,
                1000 + i,
                1_658_188_683_000_000 + i,
                i % 4
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n";
    let fx = Fixture::start(SCHEMA, &[("foo", docs)]).await;
    let args = [
        "export",
        "--columns",
        "typed",
        "--fixed-page-size",
        "--concurrency",
        "1",
        "--page-size",
        "3",
        "--batch-rows",
        "20",
    ];
    let clean = fx.out("clean");
    ok(&run(&fx, &clean, &args, None));
    let out = fx.out("crashy");
    for (crash, part) in [("mid-batch:4", 1), ("mid-batch:12", 2)] {
        assert!(
            !run(&fx, &out, &args, Some(crash)).status.success(),
            "{crash}"
        );
        assert_eq!(read_manifest(&out).unwrap().len(), part - 1, "{crash}");
    }
    ok(&run(&fx, &out, &args, None));
    let listing = files_below(&out);
    assert_eq!(listing, files_below(&clean));
    for f in listing.iter().filter(|f| f.starts_with("foo/")) {
        assert_eq!(
            std::fs::read(out.join(f)).unwrap(),
            std::fs::read(clean.join(f)).unwrap(),
            "{f}"
        );
    }
    assert_eq!(read_manifest(&out).unwrap(), read_manifest(&clean).unwrap());
    assert_eq!(
        state(&out).streams["foo"].typed,
        state(&clean).streams["foo"].typed
    );
    assert_eq!(read_manifest(&out).unwrap().len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deletions_go_into_typed_files_with_their_columns_and_null_user_columns() {
    let fx = Fixture::start(SCHEMA, &[]).await;
    let out = fx.out("deletions");
    let config = fx.dir.path().join("deletions.json");
    std::fs::write(
        &config,
        r#"{"collection": {"name": "foo", "deletions": {"deletion_mode": "deleted_field", "column": "deleted_at"}}}"#,
    )
    .unwrap();
    let config = config.to_str().unwrap();
    write(&fx, &create("1", r#"{"a":1}"#));
    ok(&run(
        &fx,
        &out,
        &["sync", "--columns", "typed", "--config", config],
        None,
    ));
    write(&fx, r#"{"delete":{"ref":{"collection":"foo"},"id":"1"}}"#);
    ok(&run(
        &fx,
        &out,
        &["sync", "--columns", "typed", "--config", config],
        None,
    ));
    let (names, rows) = parquet_rows(&out.join("foo/part-00000002.parquet"));
    assert_eq!(
        names,
        ["ref", "ts", "data", "deleted_at", "deletion_detected", "a"]
    );
    let row = rows[0].as_object().unwrap();
    let keys: Vec<&str> = row.keys().map(String::as_str).collect();
    assert_eq!(keys, ["deleted_at", "deletion_detected", "ref", "ts"]);
    assert_eq!(
        (&row["ref"], &row["deletion_detected"]),
        (&json!("1"), &json!(false))
    );
    let schema = read_manifest(&out).unwrap()[1].schema.clone().unwrap();
    assert_eq!((schema.version, schema.columns), (1, 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flatten_options_name_the_columns_and_stay_with_the_stream() {
    let fx = Fixture::start(SCHEMA, &[]).await;
    write(
        &fx,
        &create(
            "1",
            r#"{"addr":{"object":{"city":"Oslo","geo":{"object":{"lat":1,"lon":2}}}},"a":{"object":{"b":1}}}"#,
        ),
    );
    let out = fx.out("flat");
    let flags = ["--columns", "typed", "--flatten-depth", "2"];
    ok(&run(
        &fx,
        &out,
        &[&["export"][..], &flags, &["--column-separator", "_"]].concat(),
        None,
    ));
    let (names, rows) = parquet_rows(&out.join("foo/part-00000001.parquet"));
    assert_eq!(
        names[3..],
        ["a_b", "addr_city", "addr_geo_lat", "addr_geo_lon"],
        "{names:?}"
    );
    assert_eq!(rows[0]["addr_geo_lat"], json!(1));
    let plan = state(&out).streams["foo"].typed.clone().unwrap().plan;
    assert_eq!(
        (
            plan.options().flatten_depth,
            plan.options().separator.as_str()
        ),
        (2, "_")
    );

    // A sync without the options keeps the stream's; a variant is named with its separator.
    write(&fx, &create("2", r#"{"a":{"object":{"b":"x"}}}"#));
    ok(&run(&fx, &out, &["sync"], None));
    let (names, rows) = parquet_rows(&out.join("foo/part-00000002.parquet"));
    assert!(names.contains(&"a_b_v_string".to_string()), "{names:?}");
    assert_eq!(rows[0]["a_b_v_string"], json!("x"));

    // Other options for the same stream are refused, naming both; nothing is written.
    write(&fx, &create("3", r#"{"a":{"object":{"b":3}}}"#));
    let files = read_manifest(&out).unwrap().len();
    for other in [&["--flatten-depth", "1"][..], &["--column-separator", "__"]] {
        let refused = run(&fx, &out, &[&["sync"][..], other].concat(), None);
        assert!(!refused.status.success());
        let err = String::from_utf8_lossy(&refused.stderr);
        assert!(
            err.contains("flatten options changed")
                && err.contains("flatten_depth 2 and column_separator \"_\""),
            "{err}"
        );
        assert_eq!(read_manifest(&out).unwrap().len(), files);
    }

    // Options no plan can take are refused before anything runs.
    for (bad, what) in [
        (&["--column-separator", "-"][..], "separator \"-\""),
        (&["--flatten-depth", "9"], "flatten depth 9"),
    ] {
        let refused = run(
            &fx,
            &fx.out("bad"),
            &[&["export", "--columns", "typed"][..], bad].concat(),
            None,
        );
        assert_eq!(refused.status.code(), Some(2), "{bad:?}");
        let err = String::from_utf8_lossy(&refused.stderr);
        assert!(
            err.contains(what) && err.contains("--flatten-depth / --column-separator"),
            "{err}"
        );
    }
}

fn create_in(collection: &str, id: &str, data: &str) -> String {
    create(id, data).replacen(
        r#""collection":"foo""#,
        &format!(r#""collection":"{collection}""#),
        1,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_collections_own_contract_applies_to_it_alone_and_the_flag_overrides_it() {
    let schema = SCHEMA.replace(
        r#"{"name": "foo_ts","#,
        r#"{"name": "other_ts", "source": "other", "values": [{"field": "ts"}, {"field": "ref"}]}, {"name": "foo_ts","#,
    );
    let fx = Fixture::start(&schema, &[]).await;
    let out = fx.out("contracts");
    let config = fx.out("contracts.json");
    std::fs::write(
        &config,
        r#"{"collections": [{"name": "foo", "contract": "freeze"}, {"name": "other"}],
            "output": {"format": "parquet", "columns": "typed", "contract": "evolve"}}"#,
    )
    .unwrap();
    let sync = |collection: &str, extra: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_fauna-sync"))
            .arg("sync")
            .arg("--config")
            .arg(&config)
            .args([
                "--endpoint",
                &fx.server.url(),
                "--collection",
                collection,
                "--out",
            ])
            .arg(&out)
            .args(extra)
            .env("FAUNA_SECRET", "fnTestServer")
            .env_remove("FAUNA_SYNC_TEST_CRASH_AT")
            .output()
            .unwrap()
    };
    for c in ["foo", "other"] {
        write(&fx, &create_in(c, "1", r#"{"a":1}"#));
        ok(&sync(c, &[]));
        write(&fx, &create_in(c, "2", r#"{"a":2,"b":true}"#));
    }
    // foo's own contract freezes it: exit 3, nothing of the batch committed …
    let files = read_manifest(&out).unwrap().len();
    let frozen = sync("foo", &[]);
    assert_eq!(
        frozen.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&frozen.stderr)
    );
    assert_eq!(read_manifest(&out).unwrap().len(), files);
    // … while other takes the output's contract and evolves (a new column `b`) …
    ok(&sync("other", &[]));
    let (names, _) = parquet_rows(&out.join("other/part-00000002.parquet"));
    assert!(names.contains(&"b".to_string()), "{names:?}");
    // … and --contract, the run's, overrides foo's.
    ok(&sync("foo", &["--contract", "evolve"]));
    let (names, _) = parquet_rows(&out.join("foo/part-00000002.parquet"));
    assert!(names.contains(&"b".to_string()), "{names:?}");
}
