//! Tests of the whole sink: exact file contents, Parquet read back, commit protocol, cleanup
//! and manifest.

use std::fs::{self, File};
use std::io::Read;
use std::path::Path;

use ::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int64Type};
use arrow_array::RecordBatch;
use arrow_schema::DataType;
use sha2::{Digest, Sha256};

use super::{
    cleanup, read_manifest, write_manifest, BatchWriter, CommittedFile, Compression, FileFormat,
    SinkError, WriteOptions, FORMAT_VERSION_KEY, MANIFEST_FILE, SCHEMA_KEY,
};
use crate::export::{ColumnType, Deletion, ExportJson, Record, RecordSchema};
use crate::fauna::{decode, Value};

const PLAIN: FileFormat = FileFormat::Jsonl {
    compression: Compression::None,
};
const GZIP: FileFormat = FileFormat::Jsonl {
    compression: Compression::Gzip,
};
const ZSTD: FileFormat = FileFormat::Jsonl {
    compression: Compression::Zstd,
};

fn wire(text: &str) -> Value {
    decode(text.as_bytes()).unwrap()
}

const PLAYER_7: &str = r#"{"@ref":{"id":"7","collection":{"@ref":{"id":"players","collection":{"@ref":{"id":"collections"}}}}}}"#;

fn schema() -> RecordSchema {
    RecordSchema {
        data_column: true,
        columns: vec![
            ("zip".into(), ColumnType::String),
            ("n".into(), ColumnType::Integer),
            ("score".into(), ColumnType::Number),
            ("ok".into(), ColumnType::Boolean),
            ("addr".into(), ColumnType::Object),
            ("tags".into(), ColumnType::Array),
        ],
        deletion_column: Some("deleted_at".into()),
        detected_column: None,
        typed: None,
    }
}

/// Four records: typical values, values converted by the Parquet column types, a deletion,
/// and a timestamp in a string column.
fn records() -> Vec<Record> {
    vec![
        Record {
            id: "101".into(),
            ts: 1_658_188_683_585_000,
            data: Some(ExportJson::of(&wire(&format!(
                r#"{{"name":"Ann","owner":{PLAYER_7},"seen":{{"@ts":"2022-07-18T23:58:03.585Z"}}}}"#
            )))),
            columns: vec![
                Value::from("02134"),
                Value::Int(3),
                Value::Double(2.5),
                Value::Bool(true),
                wire(r#"{"city":"X"}"#),
                wire(r#"["a","b"]"#),
            ],
            deletion: None,
            ttl: None,
        },
        Record {
            id: "102".into(),
            ts: 1_658_188_683_586_000,
            data: Some(ExportJson::of(&wire(r#"{"n":1}"#))),
            columns: vec![
                Value::Int(2134),
                Value::Null,
                Value::Int(4),
                Value::Null,
                wire(PLAYER_7),
                Value::Null,
            ],
            deletion: None,
            ttl: None,
        },
        Record {
            id: "103".into(),
            ts: 1_658_188_683_587_000,
            data: None,
            columns: vec![],
            deletion: Some(Deletion::Observed),
            ttl: None,
        },
        Record {
            id: "104".into(),
            ts: 1_658_188_683_584_000,
            data: Some(ExportJson::of(&Value::Null)),
            columns: vec![wire(r#"{"@ts":"2022-07-18T23:58:03Z"}"#)],
            deletion: None,
            ttl: None,
        },
    ]
}

const EXPECTED_JSONL: &str = concat!(
    r#"{"ref":"101","ts":1658188683585000,"data":{"name":"Ann","owner":{"id":"7","collection":"players","type":"document"},"seen":"2022-07-18T23:58:03.585Z"},"zip":"02134","n":3,"score":2.5,"ok":true,"addr":{"city":"X"},"tags":["a","b"],"deleted_at":null}"#,
    "\n",
    r#"{"ref":"102","ts":1658188683586000,"data":{"n":1},"zip":2134,"n":null,"score":4,"ok":null,"addr":{"id":"7","collection":"players","type":"document"},"tags":null,"deleted_at":null}"#,
    "\n",
    r#"{"ref":"103","ts":1658188683587000,"data":null,"zip":null,"n":null,"score":null,"ok":null,"addr":null,"tags":null,"deleted_at":"2022-07-18T23:58:03.587Z"}"#,
    "\n",
    r#"{"ref":"104","ts":1658188683584000,"data":null,"zip":"2022-07-18T23:58:03Z","n":null,"score":null,"ok":null,"addr":null,"tags":null,"deleted_at":null}"#,
    "\n",
);

/// File names in `dir`, sorted.
fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    v.sort();
    v
}

fn sha256_hex(bytes: &[u8]) -> String {
    format!("{:x}", Sha256::digest(bytes))
}

fn write(root: &Path, format: FileFormat, seq: u64) -> CommittedFile {
    BatchWriter::new(root, format)
        .unwrap()
        .write_batch("players", seq, &schema(), &records())
        .unwrap()
}

/// Checks the committed file's bookkeeping against the bytes on disk; returns those bytes.
fn check_committed(root: &Path, f: &CommittedFile, format: FileFormat, seq: u64) -> Vec<u8> {
    let bytes = fs::read(root.join(&f.path)).unwrap();
    assert_eq!(f.path, format!("players/part-{seq:08}.{}", format.name()));
    assert_eq!(f.stream, "players");
    assert_eq!(f.seq, seq);
    assert_eq!(f.rows, 4);
    assert_eq!(f.bytes, bytes.len() as u64);
    assert_eq!(f.sha256, sha256_hex(&bytes));
    assert_eq!(f.min_ts, 1_658_188_683_584_000);
    assert_eq!(f.max_ts, 1_658_188_683_587_000);
    assert_eq!(f.format, format);
    // Only the final file: the temporary is gone.
    assert_eq!(
        names(&root.join("players")),
        [format!("part-{seq:08}.{}", format.name())]
    );
    bytes
}

#[test]
fn jsonl_files_hold_exactly_one_record_json_per_line() {
    let root = tempfile::tempdir().unwrap();
    let f = write(root.path(), PLAIN, 1);
    let bytes = check_committed(root.path(), &f, PLAIN, 1);
    assert_eq!(String::from_utf8(bytes).unwrap(), EXPECTED_JSONL);
}

#[test]
fn gzip_jsonl_decompresses_to_the_same_lines() {
    let root = tempfile::tempdir().unwrap();
    let f = write(root.path(), GZIP, 2);
    let bytes = check_committed(root.path(), &f, GZIP, 2);
    assert_eq!(&bytes[..2], [0x1f, 0x8b]);
    let mut text = String::new();
    flate2::read::GzDecoder::new(&bytes[..])
        .read_to_string(&mut text)
        .unwrap();
    assert_eq!(text, EXPECTED_JSONL);
}

#[test]
fn zstd_jsonl_decompresses_to_the_same_lines() {
    let root = tempfile::tempdir().unwrap();
    let f = write(root.path(), ZSTD, 3);
    let bytes = check_committed(root.path(), &f, ZSTD, 3);
    assert_eq!(&bytes[..4], [0x28, 0xb5, 0x2f, 0xfd]);
    let text = zstd::decode_all(&bytes[..]).unwrap();
    assert_eq!(String::from_utf8(text).unwrap(), EXPECTED_JSONL);
}

/// The `fauna_sync.*` key-value metadata, the number of row groups, and the batches.
type ParquetContents = (Vec<(String, Option<String>)>, usize, Vec<RecordBatch>);

fn read_parquet(path: &Path) -> ParquetContents {
    let builder = ParquetRecordBatchReaderBuilder::try_new(File::open(path).unwrap()).unwrap();
    let meta = builder.metadata().clone();
    let kv = meta
        .file_metadata()
        .key_value_metadata()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .map(|kv| (kv.key, kv.value))
        .filter(|(k, _)| k.starts_with("fauna_sync."))
        .collect();
    let batches = builder
        .build()
        .unwrap()
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    (kv, meta.num_row_groups(), batches)
}

fn strings(batch: &RecordBatch, name: &str) -> Vec<Option<String>> {
    let col = batch.column_by_name(name).unwrap();
    col.as_string::<i32>()
        .iter()
        .map(|s| s.map(str::to_string))
        .collect()
}

fn s(text: &str) -> Option<String> {
    Some(text.to_string())
}

#[test]
fn parquet_columns_are_typed_and_read_back_exactly() {
    let root = tempfile::tempdir().unwrap();
    let f = write(root.path(), FileFormat::Parquet, 4);
    let bytes = check_committed(root.path(), &f, FileFormat::Parquet, 4);
    assert_eq!(&bytes[..4], b"PAR1");

    let (kv, row_groups, batches) = read_parquet(&root.path().join(&f.path));
    assert_eq!(
        kv,
        [
            (FORMAT_VERSION_KEY.to_string(), s("1")),
            (
                SCHEMA_KEY.to_string(),
                s(concat!(
                    r#"{"data_column":true,"columns":[{"name":"zip","type":"string"},"#,
                    r#"{"name":"n","type":"integer"},{"name":"score","type":"number"},"#,
                    r#"{"name":"ok","type":"boolean"},{"name":"addr","type":"object"},"#,
                    r#"{"name":"tags","type":"array"}],"deletion_column":"deleted_at"}"#
                ))
            ),
        ]
    );
    assert_eq!(row_groups, 1);
    assert_eq!(batches.len(), 1);
    let batch = &batches[0];

    let fields: Vec<(String, DataType, bool)> = batch
        .schema()
        .fields()
        .iter()
        .map(|f| (f.name().clone(), f.data_type().clone(), f.is_nullable()))
        .collect();
    let field = |n: &str, t, null| (n.to_string(), t, null);
    assert_eq!(
        fields,
        [
            field("ref", DataType::Utf8, false),
            field("ts", DataType::Int64, false),
            field("data", DataType::Utf8, true),
            field("zip", DataType::Utf8, true),
            field("n", DataType::Int64, true),
            field("score", DataType::Float64, true),
            field("ok", DataType::Boolean, true),
            field("addr", DataType::Utf8, true),
            field("tags", DataType::Utf8, true),
            field("deleted_at", DataType::Utf8, true),
        ]
    );

    assert_eq!(
        strings(batch, "ref"),
        [s("101"), s("102"), s("103"), s("104")]
    );
    let ts: Vec<i64> = batch["ts"].as_primitive::<Int64Type>().values().to_vec();
    assert_eq!(
        ts,
        [
            1_658_188_683_585_000,
            1_658_188_683_586_000,
            1_658_188_683_587_000,
            1_658_188_683_584_000
        ]
    );
    assert_eq!(
        strings(batch, "data"),
        [
            s(
                r#"{"name":"Ann","owner":{"id":"7","collection":"players","type":"document"},"seen":"2022-07-18T23:58:03.585Z"}"#
            ),
            s(r#"{"n":1}"#),
            None,
            None,
        ]
    );
    assert_eq!(
        strings(batch, "zip"),
        [s("02134"), s("2134"), None, s("2022-07-18T23:58:03Z")]
    );
    let n: Vec<Option<i64>> = batch["n"].as_primitive::<Int64Type>().iter().collect();
    assert_eq!(n, [Some(3), None, None, None]);
    let score: Vec<Option<f64>> = batch["score"]
        .as_primitive::<Float64Type>()
        .iter()
        .collect();
    assert_eq!(score, [Some(2.5), Some(4.0), None, None]);
    let ok: Vec<Option<bool>> = batch["ok"].as_boolean().iter().collect();
    assert_eq!(ok, [Some(true), None, None, None]);
    assert_eq!(
        strings(batch, "addr"),
        [
            s(r#"{"city":"X"}"#),
            s(r#"{"id":"7","collection":"players","type":"document"}"#),
            None,
            None
        ]
    );
    assert_eq!(
        strings(batch, "tags"),
        [s(r#"["a","b"]"#), None, None, None]
    );
    assert_eq!(
        strings(batch, "deleted_at"),
        [None, None, s("2022-07-18T23:58:03.587Z"), None]
    );
}

#[test]
fn string_columns_take_the_export_text_of_any_value() {
    let schema = RecordSchema {
        data_column: false,
        columns: vec![("v".into(), ColumnType::String)],
        deletion_column: None,
        detected_column: None,
        typed: None,
    };
    let values = [
        (Value::from("plain"), "plain"),
        (Value::Int(-5), "-5"),
        (Value::Double(1.5), "1.5"),
        (Value::Double(f64::NAN), "NaN"),
        (Value::Bool(false), "false"),
        (wire(r#"{"@date":"2012-02-01"}"#), "2012-02-01"),
        (wire(r#"{"@bytes":"+/8="}"#), "-_8="),
        (wire(r#"{"a":[1,"x"]}"#), r#"{"a":[1,"x"]}"#),
        (
            wire(r#"{"@query":{"lambda":"x","expr":{"var":"x"}}}"#),
            r#"{"@query":{"lambda":"x","expr":{"var":"x"}}}"#,
        ),
        (Value::from("quote \" and \u{e9}"), "quote \" and \u{e9}"),
    ];
    let records: Vec<Record> = values
        .iter()
        .enumerate()
        .map(|(i, (v, _))| Record {
            id: i.to_string(),
            ts: i as i64,
            data: None,
            columns: vec![v.clone()],
            deletion: None,
            ttl: None,
        })
        .collect();
    let root = tempfile::tempdir().unwrap();
    let f = BatchWriter::new(root.path(), FileFormat::Parquet)
        .unwrap()
        .write_batch("s", 0, &schema, &records)
        .unwrap();
    let (_, _, batches) = read_parquet(&root.path().join(&f.path));
    let want: Vec<Option<String>> = values.iter().map(|(_, t)| s(t)).collect();
    assert_eq!(strings(&batches[0], "v"), want);
    assert_eq!(batches[0].num_columns(), 3);
}

#[test]
fn values_that_do_not_fit_the_declared_type_fail_naming_column_document_and_value() {
    let cases = [
        (ColumnType::Integer, Value::Double(1.5), "double 1.5"),
        (ColumnType::Integer, Value::from("3"), r#"string "3""#),
        (
            ColumnType::Integer,
            wire(r#"{"@ts":"2022-07-18T23:58:03Z"}"#),
            r#"timestamp "2022-07-18T23:58:03Z""#,
        ),
        (ColumnType::Number, Value::from("x"), r#"string "x""#),
        (ColumnType::Boolean, Value::Int(1), "integer 1"),
        (ColumnType::Object, wire("[1]"), "array [1]"),
        (ColumnType::Object, Value::from("{}"), r#"string "{}""#),
        (ColumnType::Array, wire(r#"{"a":1}"#), r#"object {"a":1}"#),
        (
            ColumnType::Array,
            Value::from("y".repeat(100)),
            &format!("string \"{}…", "y".repeat(59)),
        ),
    ];
    for (ty, value, found) in cases {
        let root = tempfile::tempdir().unwrap();
        let writer = BatchWriter::new(root.path(), FileFormat::Parquet).unwrap();
        let schema = RecordSchema {
            data_column: false,
            columns: vec![("col".into(), ty)],
            deletion_column: None,
            detected_column: None,
            typed: None,
        };
        let good = Record {
            id: "1".into(),
            ts: 1,
            data: None,
            columns: vec![Value::Null],
            deletion: None,
            ttl: None,
        };
        let committed = writer
            .write_batch("s", 9, &schema, std::slice::from_ref(&good))
            .unwrap();
        let before = fs::read(root.path().join(&committed.path)).unwrap();
        let bad = Record {
            id: "doc-42".into(),
            columns: vec![value],
            ..good.clone()
        };
        let err = writer
            .write_batch("s", 9, &schema, &[good, bad])
            .unwrap_err();
        match &err {
            SinkError::TypeMismatch {
                column,
                id,
                expected,
                found: f,
                ..
            } => {
                assert_eq!(
                    (column.as_str(), id.as_str(), *expected, f.as_str()),
                    ("col", "doc-42", ty, found)
                );
            }
            other => panic!("{other}"),
        }
        let msg = err.to_string();
        assert!(
            msg.ends_with(&format!(
                "column `col` of document doc-42 is declared {} but holds {found}",
                super::error::column_type_name(ty)
            )),
            "{msg}"
        );
        assert!(msg.contains(".part-00000009.parquet.tmp"), "{msg}");
        // The failed rewrite left neither a temporary nor a changed file.
        assert_eq!(names(&root.path().join("s")), ["part-00000009.parquet"]);
        assert_eq!(fs::read(root.path().join(&committed.path)).unwrap(), before);
    }
}

#[test]
fn rewriting_a_batch_yields_identical_bytes_and_hash() {
    for format in FileFormat::ALL {
        let root = tempfile::tempdir().unwrap();
        let first = write(root.path(), format, 7);
        let bytes = fs::read(root.path().join(&first.path)).unwrap();
        let second = write(root.path(), format, 7);
        assert_eq!(first, second, "{format}");
        assert_eq!(fs::read(root.path().join(&second.path)).unwrap(), bytes);
        assert_eq!(names(&root.path().join("players")).len(), 1);
        // A fresh root gives the same bytes too (no time or path in the file).
        let other = tempfile::tempdir().unwrap();
        assert_eq!(write(other.path(), format, 7), first, "{format}");
    }
}

#[test]
fn parquet_row_groups_are_bounded_by_bytes() {
    let options = WriteOptions {
        parquet_row_group_bytes: 16 << 10,
        parquet_chunk_rows: 100,
        ..Default::default()
    };
    let schema = RecordSchema {
        data_column: true,
        columns: vec![],
        deletion_column: None,
        detected_column: None,
        typed: None,
    };
    let records: Vec<Record> = (0..3000)
        .map(|i| Record {
            id: format!("{i:06}"),
            ts: i,
            data: Some(ExportJson::of(&wire(&format!(
                r#"{{"i":{i},"s":"value number {i}"}}"#
            )))),
            columns: vec![],
            deletion: None,
            ttl: None,
        })
        .collect();
    let root = tempfile::tempdir().unwrap();
    let f = BatchWriter::with_options(root.path(), FileFormat::Parquet, options)
        .unwrap()
        .write_batch("big", 1, &schema, &records)
        .unwrap();
    assert_eq!((f.rows, f.min_ts, f.max_ts), (3000, 0, 2999));
    let (_, row_groups, batches) = read_parquet(&root.path().join(&f.path));
    assert!(row_groups > 1, "{row_groups} row groups");
    let ids: Vec<Option<String>> = batches.iter().flat_map(|b| strings(b, "ref")).collect();
    let data: Vec<Option<String>> = batches.iter().flat_map(|b| strings(b, "data")).collect();
    assert_eq!(ids.len(), 3000);
    for (i, (id, d)) in ids.iter().zip(&data).enumerate() {
        assert_eq!(id.as_deref(), Some(format!("{i:06}").as_str()));
        assert_eq!(
            d.as_deref(),
            Some(format!(r#"{{"i":{i},"s":"value number {i}"}}"#).as_str())
        );
    }
}

#[test]
fn bad_batches_are_rejected_before_anything_is_written() {
    let root = tempfile::tempdir().unwrap();
    let writer = BatchWriter::new(root.path(), PLAIN).unwrap();
    assert!(matches!(
        writer.write_batch("s", 1, &schema(), &[]),
        Err(SinkError::EmptyBatch { seq: 1, .. })
    ));
    let dup = RecordSchema {
        data_column: true,
        columns: vec![("a".into(), ColumnType::String)],
        deletion_column: Some("a".into()),
        detected_column: None,
        typed: None,
    };
    let err = writer.write_batch("s", 1, &dup, &records()).unwrap_err();
    assert!(err.to_string().contains("`a` is used twice"), "{err}");
    let data = RecordSchema {
        data_column: true,
        columns: vec![("data".into(), ColumnType::String)],
        deletion_column: None,
        detected_column: None,
        typed: None,
    };
    assert!(matches!(
        writer.write_batch("s", 1, &data, &records()),
        Err(SinkError::Schema { .. })
    ));
    assert!(matches!(
        writer.write_batch("", 1, &schema(), &records()),
        Err(SinkError::InvalidStream { .. })
    ));
    assert!(names(root.path()).is_empty());
    assert!(matches!(
        BatchWriter::with_options(
            root.path(),
            PLAIN,
            WriteOptions {
                zstd_level: 99,
                ..Default::default()
            }
        ),
        Err(SinkError::InvalidOption {
            option: "zstd_level",
            ..
        })
    ));
}

#[test]
fn stream_names_are_escaped_in_paths_but_kept_in_committed_files() {
    let root = tempfile::tempdir().unwrap();
    let f = BatchWriter::new(root.path(), PLAIN)
        .unwrap()
        .write_batch("my.stream/x", 1, &schema(), &records())
        .unwrap();
    assert_eq!(f.path, "my%2Estream%2Fx/part-00000001.jsonl");
    assert_eq!(f.stream, "my.stream/x");
    assert_eq!(names(root.path()), ["my%2Estream%2Fx"]);
}

#[test]
fn cleanup_removes_temporaries_and_uncommitted_batch_files_only() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("players");
    let writer = BatchWriter::new(root.path(), PLAIN).unwrap();
    let one = writer
        .write_batch("players", 1, &schema(), &records())
        .unwrap();
    writer
        .write_batch("players", 2, &schema(), &records())
        .unwrap();
    BatchWriter::new(root.path(), FileFormat::Parquet)
        .unwrap()
        .write_batch("players", 3, &schema(), &records())
        .unwrap();
    fs::write(dir.join(".part-00000004.jsonl.tmp"), b"half").unwrap();
    fs::write(dir.join("notes.txt"), b"mine").unwrap();
    fs::write(dir.join("part-1.jsonl"), b"not ours").unwrap();
    fs::create_dir(dir.join("part-00000005.jsonl")).unwrap();

    let removed = cleanup(root.path(), "players", &[one.path.as_str()]).unwrap();
    assert_eq!(
        removed,
        [
            dir.join(".part-00000004.jsonl.tmp"),
            dir.join("part-00000002.jsonl"),
            dir.join("part-00000003.parquet"),
        ]
    );
    assert_eq!(
        names(&dir),
        [
            "notes.txt",
            "part-00000001.jsonl",
            "part-00000005.jsonl",
            "part-1.jsonl"
        ]
    );
    // Bare file names work too; a second run finds nothing.
    assert!(cleanup(root.path(), "players", &["part-00000001.jsonl"])
        .unwrap()
        .is_empty());
    // A path into another stream's directory does not protect a file here.
    let removed = cleanup(root.path(), "players", &["other/part-00000001.jsonl"]).unwrap();
    assert_eq!(removed, [dir.join("part-00000001.jsonl")]);
    // A stream never written has nothing to clean.
    assert!(cleanup(root.path(), "nobody", &[] as &[&str])
        .unwrap()
        .is_empty());
}

fn committed(stream: &str, seq: u64, format: FileFormat) -> CommittedFile {
    CommittedFile {
        path: format!("{stream}/part-{seq:08}.{}", format.name()),
        stream: stream.into(),
        seq,
        rows: 10 * seq,
        bytes: 1000 + seq,
        sha256: sha256_hex(stream.as_bytes()),
        min_ts: -1,
        max_ts: i64::MAX,
        format,
        schema: None,
        typed: None,
    }
}

#[test]
fn manifest_lists_committed_files_sorted_and_round_trips() {
    let root = tempfile::tempdir().unwrap();
    assert_eq!(read_manifest(root.path()).unwrap(), []);
    let files = vec![
        committed("users", 2, GZIP),
        committed("orders", 1, FileFormat::Parquet),
        committed("users", 1, ZSTD),
    ];
    write_manifest(root.path(), &files).unwrap();
    let text = fs::read_to_string(root.path().join(MANIFEST_FILE)).unwrap();
    let line = |f: &CommittedFile| {
        format!(
            concat!(
                r#"{{"file":"{}","stream":"{}","seq":{},"rows":{},"bytes":{},"sha256":"{}","#,
                r#""min_ts":-1,"max_ts":9223372036854775807,"format":"{}"}}"#,
                "\n"
            ),
            f.path,
            f.stream,
            f.seq,
            f.rows,
            f.bytes,
            f.sha256,
            f.format.name()
        )
    };
    let sorted = [files[1].clone(), files[2].clone(), files[0].clone()];
    assert_eq!(text, sorted.iter().map(line).collect::<String>());
    assert_eq!(read_manifest(root.path()).unwrap(), sorted);
    assert_eq!(names(root.path()), [MANIFEST_FILE]);

    // Rewritten from the full list: a shorter list replaces the longer one.
    write_manifest(root.path(), &files[..1]).unwrap();
    assert_eq!(read_manifest(root.path()).unwrap(), files[..1]);
    write_manifest(root.path(), &[]).unwrap();
    assert_eq!(fs::read(root.path().join(MANIFEST_FILE)).unwrap(), b"");
    assert_eq!(read_manifest(root.path()).unwrap(), []);
}

#[test]
fn manifest_rejects_duplicates_and_reports_bad_lines() {
    let root = tempfile::tempdir().unwrap();
    let f = committed("users", 1, PLAIN);
    assert!(matches!(
        write_manifest(root.path(), &[f.clone(), f.clone()]),
        Err(SinkError::DuplicateManifestEntry { file }) if file == "users/part-00000001.jsonl"
    ));
    assert!(!root.path().join(MANIFEST_FILE).exists());

    let good = serde_json::to_string(&f).unwrap();
    fs::write(
        root.path().join(MANIFEST_FILE),
        format!("{good}\n{{\"file\":1}}\n"),
    )
    .unwrap();
    let err = read_manifest(root.path()).unwrap_err();
    assert!(matches!(err, SinkError::Manifest { line: 2, .. }), "{err}");
    assert!(err.to_string().contains("_manifest.jsonl line 2"), "{err}");
}

#[test]
fn committed_files_round_trip_through_serde() {
    let root = tempfile::tempdir().unwrap();
    for (seq, format) in FileFormat::ALL.into_iter().enumerate() {
        let f = write(root.path(), format, seq as u64);
        let json = serde_json::to_string(&f).unwrap();
        assert_eq!(serde_json::from_str::<CommittedFile>(&json).unwrap(), f);
        assert_eq!(f.file_name(), format!("part-{seq:08}.{}", format.name()));
    }
}

/// `n` documents of about 700 bytes of export JSON each.
fn big_records(n: i64) -> Vec<Record> {
    (0..n)
        .map(|i| Record {
            id: format!("{i:08}"),
            ts: 1_000 + i,
            data: Some(ExportJson::of(&wire(&format!(
                r#"{{"i":{i},"text":"{}","tags":["a","b"],"deep":{{"x":{i}}}}}"#,
                format!("word{i} ").repeat(70)
            )))),
            columns: vec![],
            deletion: (i % 97 == 0).then_some(Deletion::Observed),
            ttl: None,
        })
        .collect()
}

fn plain_schema() -> RecordSchema {
    RecordSchema {
        data_column: true,
        columns: vec![],
        deletion_column: Some("deleted_at".into()),
        detected_column: None,
        typed: None,
    }
}

#[test]
fn a_batch_written_page_by_page_is_the_file_written_at_once() {
    let records = big_records(3000);
    let schema = std::sync::Arc::new(plain_schema());
    for format in FileFormat::ALL {
        let whole = tempfile::tempdir().unwrap();
        let at_once = BatchWriter::new(whole.path(), format)
            .unwrap()
            .write_batch("s", 1, &schema, &records)
            .unwrap();
        let expected = fs::read(whole.path().join(&at_once.path)).unwrap();
        // Pages of any size (as a resume after a crash would cut them) give the same bytes.
        for page in [1, 7, 1000, 2999] {
            let root = tempfile::tempdir().unwrap();
            let writer = BatchWriter::new(root.path(), format).unwrap();
            let mut file = writer.begin("s", 1, schema.clone()).unwrap();
            for chunk in records.chunks(page) {
                file.write(chunk).unwrap();
            }
            assert_eq!(file.rows(), 3000);
            // Until finished, only the temporary name exists.
            let temp = format!(".part-00000001.{}.tmp", format.name());
            assert_eq!(names(&root.path().join("s")), [temp]);
            let f = file.finish().unwrap();
            assert_eq!(f, at_once, "{format}, pages of {page}");
            assert_eq!(fs::read(root.path().join(&f.path)).unwrap(), expected);
            assert_eq!(
                names(&root.path().join("s")),
                [format!("part-00000001.{format}")]
            );
        }
    }
}

#[test]
fn an_open_batch_reaches_its_file_as_it_is_written_and_dropping_it_leaves_nothing() {
    let records = big_records(3000);
    let schema = std::sync::Arc::new(plain_schema());
    let options = WriteOptions {
        parquet_row_group_rows: 256,
        parquet_chunk_rows: 128,
        ..Default::default()
    };
    for format in FileFormat::ALL {
        let root = tempfile::tempdir().unwrap();
        let writer = BatchWriter::with_options(root.path(), format, options.clone()).unwrap();
        let mut file = writer.begin("s", 4, schema.clone()).unwrap();
        let temp = root
            .path()
            .join(format!("s/.part-00000004.{}.tmp", format.name()));
        let mut sizes = Vec::new();
        for chunk in records.chunks(500) {
            file.write(chunk).unwrap();
            sizes.push(fs::metadata(&temp).unwrap().len());
        }
        // The encoder keeps buffers, not the batch: the file grows while pages are written.
        assert!(
            sizes.windows(2).all(|w| w[0] <= w[1]) && sizes[0] < sizes[5],
            "{format}: {sizes:?}"
        );
        drop(file);
        assert!(names(&root.path().join("s")).is_empty(), "{format}");
    }
}

#[test]
fn parquet_row_groups_are_bounded_by_rows() {
    let records: Vec<Record> = (0..50_000)
        .map(|i| Record {
            id: format!("{i:06}"),
            ts: i,
            data: Some(ExportJson::of(&Value::Int(i))),
            columns: vec![],
            deletion: None,
            ttl: None,
        })
        .collect();
    let root = tempfile::tempdir().unwrap();
    let writer = BatchWriter::new(root.path(), FileFormat::Parquet).unwrap();
    let mut file = writer
        .begin("s", 1, std::sync::Arc::new(plain_schema()))
        .unwrap();
    for page in records.chunks(1000) {
        file.write(page).unwrap();
    }
    let f = file.finish().unwrap();
    let reader =
        ParquetRecordBatchReaderBuilder::try_new(File::open(root.path().join(&f.path)).unwrap())
            .unwrap();
    let groups: Vec<i64> = reader
        .metadata()
        .row_groups()
        .iter()
        .map(|g| g.num_rows())
        .collect();
    // The default: 16,384 records per row group.
    assert_eq!(groups, [16_384, 16_384, 16_384, 848]);
    let ids: Vec<Option<String>> = reader
        .build()
        .unwrap()
        .flat_map(|b| strings(&b.unwrap(), "ref"))
        .collect();
    assert_eq!(
        ids,
        (0..50_000)
            .map(|i| Some(format!("{i:06}")))
            .collect::<Vec<_>>()
    );
}
