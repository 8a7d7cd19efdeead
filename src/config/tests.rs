use std::path::{Path, PathBuf};

use super::*;
use crate::export::ColumnType;
use crate::fauna::Secret;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/configs")
        .join(name)
}

fn load_str(json: &str, o: Overrides) -> Result<Settings, ConfigError> {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("c.json");
    std::fs::write(&p, json).unwrap();
    Settings::load(Some(&p), o)
}

fn err(json: &str) -> ConfigError {
    match load_str(json, Overrides::default()) {
        Err(e) => e,
        Ok(s) => panic!("accepted: {s:?}"),
    }
}

#[test]
fn accepts_the_airbyte_source_fauna_config_unchanged() {
    let s = Settings::load(
        Some(&fixture("airbyte-source-fauna.json")),
        Overrides::default(),
    )
    .unwrap();
    assert_eq!(s.endpoint, "http://127.0.0.1:8443");
    assert_eq!(s.secret, Secret::new("secret"));
    let c = &s.collections.as_ref().unwrap()[0];
    assert_eq!(c.name, "foo");
    assert_eq!(c.index.as_deref(), Some("ts"));
    assert_eq!(c.page_size, 64);
    assert!(c.data_column);
    assert_eq!(c.deletion_column.as_deref(), Some("deleted_at"));
    assert_eq!(
        c.columns
            .iter()
            .map(|c| (c.name.as_str(), c.column_type, c.required))
            .collect::<Vec<_>>(),
        vec![
            ("my_a_col", ColumnType::Integer, true),
            ("nested_column", ColumnType::Integer, true),
            ("optional_name", ColumnType::String, false)
        ]
    );
    assert_eq!(c.columns[1].path, vec!["data", "nested", "value"]);
    assert_eq!(s.output.format, OutputFormat::Jsonl);
    assert_eq!(s.output.state, PathBuf::from("fauna-export/_state.json"));
}

#[test]
fn extends_with_collections_defaults_output_and_overrides() {
    let o = Overrides {
        secret: Some(Secret::new("from-env")),
        collections: vec!["items".into(), "other".into()],
        batch_rows: Some(7),
        batch_bytes: None,
        ..Overrides::default()
    };
    let s = Settings::load(Some(&fixture("multi-collection.json")), o).unwrap();
    assert_eq!(s.secret.expose(), "from-env");
    let cs = s.collections.unwrap();
    assert_eq!(
        cs.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(),
        ["items", "other"]
    );
    assert!(!cs[0].data_column);
    assert_eq!(cs[0].page_size, 500);
    assert_eq!(cs[0].columns[0].path, vec!["data", "owner", "id"]);
    assert_eq!(
        cs[1].page_size, 500,
        "unconfigured collections take the defaults"
    );
    assert_eq!(cs[1].deletion_column, None);
    assert_eq!(s.output.format, OutputFormat::Parquet);
    assert_eq!(s.output.batch_rows, 7);
    assert_eq!(s.output.dir, PathBuf::from("out"));
}

#[test]
fn no_collection_means_every_readable_collection() {
    let s = load_str(r#"{"secret":"s"}"#, Overrides::default()).unwrap();
    assert!(s.collections.is_none());
    assert_eq!(s.endpoint, "https://db.fauna.com:443");
    assert_eq!(s.defaults.page_size, DEFAULT_PAGE_SIZE);
}

#[test]
fn invalid_configs_name_the_field_and_the_fix() {
    let cases: &[(&str, &str, &str)] = &[
        (r#"{"domain":"x"}"#, "secret", "no Fauna secret was given"),
        (r#"{"secret":"s","port":"443"}"#, "port", "invalid type: string \"443\", expected u16 at line 1 column 26"),
        (r#"{"secret":"s","scheme":"ftp"}"#, "scheme", "unknown scheme 'ftp'"),
        (r#"{"secret":"s","collection":{"name":"c","page_size":0}}"#, "collection.page_size", "page size 0 is outside 1..=100000"),
        (r#"{"secret":"s","collections":[{"name":"a"},{"name":"a"}]}"#, "collections[1].name", "collection 'a' is listed twice"),
        (r#"{"secret":"s","collection":{"name":"c","additional_columns":[{"name":"ts","path":["ts"],"type":"integer"}]}}"#, "collection.additional_columns[0].name", "'ts' is reserved or empty"),
        (r#"{"secret":"s","collection":{"name":"c","additional_columns":[{"name":"x","path":["a"],"type":"integer"},{"name":"x","path":["b"],"type":"string"}]}}"#, "collection.additional_columns[1].name", "column 'x' is declared twice"),
        (r#"{"secret":"s","collection":{"name":"c","additional_columns":[{"name":"x","path":[],"type":"integer"}]}}"#, "collection.additional_columns[0].path", "empty path"),
        (r#"{"secret":"s","collection":{"name":"c","additional_columns":[{"name":"x","path":["a"],"type":"date"}]}}"#, "collection.additional_columns[0].type", "unknown variant `date`, expected one of `string`, `integer`, `number`, `boolean`, `object`, `array` at line 1 column 99"),
        (r#"{"secret":"s","collection":{"name":"c","deletions":{"deletion_mode":"maybe"}}}"#, "collection.deletions.deletion_mode", "unknown variant `maybe`, expected `ignore` or `deleted_field` at line 1 column 75"),
        (r#"{"secret":"s","collection":{"name":"c","deletions":{"deletion_mode":"deleted_field","column":"data"}}}"#, "collection.deletions.column", "the deletion column 'data' clashes with another column"),
        (r#"{"secret":"s","collection":{"name":"c","pagesize":5}}"#, "collection.pagesize", "unknown field `pagesize`, expected one of `name`, `index`, `data_column`, `additional_columns`, `page_size`, `deletions` at line 1 column 49"),
        (r#"{"secret":"s","output":{"format":"csv"}}"#, "output.format", "unknown format 'csv'"),
        (r#"{"secret":"s","output":{"format":"parquet","compression":"gzip"}}"#, "compression", "compression applies to JSONL only"),
        (r#"{"secret":"s","query_timeout_ms":0}"#, "query_timeout_ms", "0 is outside 1..=600000"),
        (r#"{"secret":"s""#, "(file)", "EOF while parsing an object at line 1 column 13"),
    ];
    for (json, field, problem) in cases {
        let e = err(json);
        assert_eq!(
            (e.field.as_str(), e.problem.as_str()),
            (*field, *problem),
            "{json}"
        );
        assert!(!e.fix.is_empty());
    }
    let e = err(r#"{"secret":"fnSECRET","scheme":"ftp"}"#);
    assert!(!e.to_string().contains("fnSECRET"));
}

#[test]
fn a_missing_config_file_is_a_clear_error() {
    let e = Settings::load(
        Some(Path::new("/nonexistent/cfg.json")),
        Overrides::default(),
    )
    .unwrap_err();
    assert_eq!(e.field, "--config");
    assert!(e.problem.starts_with("cannot read /nonexistent/cfg.json"));
}
