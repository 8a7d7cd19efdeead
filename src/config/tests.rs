use std::path::{Path, PathBuf};

use super::ColumnType;
use super::*;
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
    assert_eq!(
        s.output.out,
        crate::location::Location::Dir(PathBuf::from("out"))
    );
}

#[test]
fn no_collection_means_every_readable_collection() {
    let s = load_str(r#"{"secret":"s"}"#, Overrides::default()).unwrap();
    assert!(s.collections.is_none());
    assert_eq!(s.endpoint, "https://db.fauna.com:443");
    assert_eq!(s.defaults.page_size, DEFAULT_PAGE_SIZE);
}

#[test]
fn page_sizes_adapt_unless_pinned_by_defaults_a_collection_or_the_flag() {
    let json = r#"{"secret":"s","defaults":{"page_size_fixed":true},
        "collections":[{"name":"a"},{"name":"b","page_size_fixed":false}]}"#;
    let fixed = |o: Overrides| {
        let s = load_str(json, o).unwrap();
        let cs = s.collections.unwrap();
        (
            s.defaults.page_size_fixed,
            cs[0].page_size_fixed,
            cs[1].page_size_fixed,
        )
    };
    assert_eq!(fixed(Overrides::default()), (true, true, false));
    let flag = Overrides {
        fixed_page_size: true,
        ..Overrides::default()
    };
    assert_eq!(fixed(flag), (true, true, true));
    let s = load_str(
        r#"{"secret":"s","collection":{"name":"c"}}"#,
        Overrides::default(),
    )
    .unwrap();
    assert!(!s.defaults.page_size_fixed);
    assert!(!s.collections.unwrap()[0].page_size_fixed);
    let e = err(r#"{"secret":"s","defaults":{"page_size_fixed":"yes"}}"#);
    assert_eq!(e.field, "defaults.page_size_fixed");
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
        (r#"{"secret":"s","collection":{"name":"c","deletions":{"deletion_mode":"deleted_field","column":"deletion_detected"}}}"#, "collection.deletions.column", "the deletion column 'deletion_detected' clashes with another column"),
        (r#"{"secret":"s","collection":{"name":"c","additional_columns":[{"name":"deletion_detected","path":["a"],"type":"boolean"}],"deletions":{"deletion_mode":"deleted_field"}}}"#, "collection.additional_columns", "the column name 'deletion_detected' is taken by deletion tracking"),
        (r#"{"secret":"s","collection":{"name":"c","deletions":{"deletion_mode":"deleted_field","history_gap":"skip"}}}"#, "collection.deletions", "unknown variant `skip`, expected one of `reconcile`, `stop`, `resync` at line 1 column 106"),
        (r#"{"secret":"s","collection":{"name":"c","pagesize":5}}"#, "collection.pagesize", "unknown field `pagesize`, expected one of `name`, `index`, `data_column`, `additional_columns`, `page_size`, `page_size_fixed`, `deletions`, `contract` at line 1 column 49"),
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

fn problem(json: &str, o: Overrides) -> (String, String) {
    match load_str(json, o) {
        Err(e) => (e.field, e.problem),
        Ok(s) => panic!("accepted: {s:?}"),
    }
}

#[test]
fn every_bound_of_the_schema_is_enforced() {
    let refused: &[(&str, &str, &str)] = &[
        (
            r#""max_retries":101"#,
            "max_retries",
            "101 is outside 0..=100",
        ),
        (
            r#""max_retries":1000"#,
            "max_retries",
            "1000 is outside 0..=100",
        ),
        (
            r#""max_retries":-1"#,
            "max_retries",
            "invalid value: integer `-1`, expected usize at line 1 column 30",
        ),
        (
            r#""query_timeout_ms":0"#,
            "query_timeout_ms",
            "0 is outside 1..=600000",
        ),
        (
            r#""query_timeout_ms":600001"#,
            "query_timeout_ms",
            "600001 is outside 1..=600000",
        ),
        (r#""port":0"#, "port", "port 0 is outside 1..=65535"),
        (
            r#""port":65536"#,
            "port",
            "invalid value: integer `65536`, expected u16 at line 1 column 26",
        ),
        (r#""domain":"""#, "domain", "'' is not a host name"),
        (
            r#""domain":"db.fauna.com:443""#,
            "domain",
            "'db.fauna.com:443' is not a host name",
        ),
        (
            r#""domain":"https://db.fauna.com""#,
            "domain",
            "'https://db.fauna.com' is not a host name",
        ),
        (
            r#""defaults":{"page_size":0}"#,
            "defaults.page_size",
            "page size 0 is outside 1..=100000",
        ),
        (
            r#""defaults":{"page_size":100001}"#,
            "defaults.page_size",
            "page size 100001 is outside 1..=100000",
        ),
        (
            r#""collection":{"name":"c","page_size":100001}"#,
            "collection.page_size",
            "page size 100001 is outside 1..=100000",
        ),
        (
            r#""collections":[{"name":"c","page_size":0}]"#,
            "collections[0].page_size",
            "page size 0 is outside 1..=100000",
        ),
        (
            r#""collection":{"name":""}"#,
            "collection.name",
            "empty collection name",
        ),
        (
            r#""collection":{"name":"c","deletions":{"deletion_mode":"deleted_field","column":""}}"#,
            "collection.deletions.column",
            "empty column name",
        ),
        (
            r#""defaults":{"deletions":{"deletion_mode":"deleted_field","column":""}}"#,
            "defaults.deletions.column",
            "empty column name",
        ),
        (
            r#""output":{"batch_rows":0}"#,
            "output.batch_rows",
            "0 rows per batch",
        ),
        (
            r#""output":{"batch_bytes":0}"#,
            "output.batch_bytes",
            "0 bytes per batch",
        ),
        (r#""output":{"dir":""}"#, "output.dir", "empty path"),
        (r#""output":{"state":""}"#, "output.state", "empty path"),
    ];
    for (extra, field, message) in refused {
        let json = format!(r#"{{"secret":"s",{extra}}}"#);
        assert_eq!(
            problem(&json, Overrides::default()),
            (field.to_string(), message.to_string()),
            "{json}"
        );
    }
    let accepted: &[&str] = &[
        r#""max_retries":0"#,
        r#""max_retries":100"#,
        r#""query_timeout_ms":1"#,
        r#""query_timeout_ms":600000"#,
        r#""port":1"#,
        r#""port":65535"#,
        r#""defaults":{"page_size":1}"#,
        r#""defaults":{"page_size":100000}"#,
        r#""output":{"batch_rows":1,"batch_bytes":1}"#,
    ];
    for extra in accepted {
        let json = format!(r#"{{"secret":"s",{extra}}}"#);
        assert!(load_str(&json, Overrides::default()).is_ok(), "{json}");
    }
    let s = load_str(r#"{"secret":"s","max_retries":100}"#, Overrides::default()).unwrap();
    assert_eq!(s.max_retries, 100);
    assert_eq!(
        problem(r#"{"secret":""}"#, Overrides::default()),
        ("secret".into(), "no Fauna secret was given".into())
    );
}

#[test]
fn command_line_overrides_are_checked_like_the_file_and_named_by_flag() {
    let o = |f: fn(&mut Overrides)| {
        let mut o = Overrides::default();
        f(&mut o);
        o
    };
    let cases: Vec<(Overrides, &str, &str)> = vec![
        (
            o(|o| o.endpoint = Some("127.0.0.1:8443".into())),
            "--endpoint",
            "'127.0.0.1:8443' has no scheme",
        ),
        (
            o(|o| o.endpoint = Some("ftp://db.fauna.com".into())),
            "--endpoint",
            "unsupported scheme 'ftp' in 'ftp://db.fauna.com'",
        ),
        (
            o(|o| o.endpoint = Some("http://127.0.0.1:99999".into())),
            "--endpoint",
            "'http://127.0.0.1:99999' is not a valid URL (invalid port number)",
        ),
        (
            o(|o| o.collections = vec!["a".into(), "".into()]),
            "--collection",
            "empty collection name",
        ),
        (
            o(|o| o.page_size = Some(0)),
            "--page-size",
            "page size 0 is outside 1..=100000",
        ),
        (
            o(|o| o.page_size = Some(100_001)),
            "--page-size",
            "page size 100001 is outside 1..=100000",
        ),
        (
            o(|o| o.batch_rows = Some(0)),
            "--batch-rows",
            "0 rows per batch",
        ),
        (
            o(|o| o.batch_bytes = Some(0)),
            "--batch-bytes",
            "0 bytes per batch",
        ),
        (o(|o| o.out = Some(PathBuf::new())), "--out", "empty path"),
        (
            o(|o| o.state = Some(PathBuf::new())),
            "--state",
            "empty path",
        ),
    ];
    for (overrides, field, message) in cases {
        assert_eq!(
            problem(r#"{"secret":"s"}"#, overrides),
            (field.to_string(), message.to_string())
        );
    }
}

#[test]
fn a_collection_named_twice_on_the_command_line_counts_once() {
    let o = Overrides {
        collections: vec!["b".into(), "a".into(), "b".into()],
        ..Overrides::default()
    };
    let s = load_str(r#"{"secret":"s"}"#, o).unwrap();
    let names: Vec<String> = s.collections.unwrap().into_iter().map(|c| c.name).collect();
    assert_eq!(names, ["b", "a"]);
}

#[test]
fn plain_http_to_another_machine_is_refused_unless_allowed() {
    let refusal = |field: &str, host: &str, fix: &str| {
        ConfigError::new(
            field,
            format!("plain http to {host}, which is not this machine, would send the secret unencrypted"),
            fix,
        )
    };
    let file_fix = "Use https, or set \"allow_insecure_http\": true (or pass --allow-insecure-http) if the network path is trusted.";
    let flag_fix = "Use https, or pass --allow-insecure-http if the network path is trusted.";
    assert_eq!(
        load_str(
            r#"{"secret":"s","scheme":"http","domain":"192.0.2.2","port":8443}"#,
            Overrides::default()
        )
        .unwrap_err(),
        refusal("scheme", "192.0.2.2", file_fix)
    );
    assert_eq!(
        load_str(r#"{"secret":"s","scheme":"http"}"#, Overrides::default()).unwrap_err(),
        refusal("scheme", "db.fauna.com", file_fix)
    );
    let endpoint = |e: &str| Overrides {
        endpoint: Some(e.into()),
        ..Overrides::default()
    };
    assert_eq!(
        load_str(r#"{"secret":"s"}"#, endpoint("http://192.0.2.2:8443")).unwrap_err(),
        refusal("--endpoint", "192.0.2.2", flag_fix)
    );
    // The file's opt-in also covers an endpoint given on the command line.
    let s = load_str(
        r#"{"secret":"s","allow_insecure_http":true}"#,
        endpoint("http://192.0.2.2:8443"),
    )
    .unwrap();
    assert_eq!(s.endpoint, "http://192.0.2.2:8443");
    assert_eq!(
        s.warnings,
        ["plain http to 192.0.2.2 sends the secret unencrypted (allowed by allow_insecure_http)"]
    );
    let s = load_str(
        r#"{"secret":"s","scheme":"http","domain":"192.0.2.2","port":8443}"#,
        Overrides {
            allow_insecure_http: true,
            ..Overrides::default()
        },
    )
    .unwrap();
    assert_eq!(s.endpoint, "http://192.0.2.2:8443");
    for (json, expected) in [
        (
            r#"{"secret":"s","scheme":"http","domain":"localhost","port":8443}"#,
            "http://localhost:8443",
        ),
        (
            r#"{"secret":"s","scheme":"http","domain":"127.0.0.2","port":8443}"#,
            "http://127.0.0.2:8443",
        ),
        (
            r#"{"secret":"s","scheme":"http","domain":"::1","port":8443}"#,
            "http://[::1]:8443",
        ),
        (
            r#"{"secret":"s","scheme":"https","domain":"192.0.2.2"}"#,
            "https://192.0.2.2:443",
        ),
    ] {
        let s = load_str(json, Overrides::default()).unwrap();
        assert_eq!(
            (s.endpoint.as_str(), s.warnings.len()),
            (expected, 0),
            "{json}"
        );
    }
    let e = load_str(r#"{"secret":"fnSECRET"}"#, endpoint("http://192.0.2.2")).unwrap_err();
    assert!(!e.to_string().contains("fnSECRET"));
}

#[test]
fn misspelled_top_level_keys_are_refused_and_other_unknown_keys_warned_about() {
    assert_eq!(
        load_str(
            r#"{"secret":"s","colection":{"name":"a"}}"#,
            Overrides::default()
        )
        .unwrap_err(),
        ConfigError::new(
            "colection",
            "unknown key; it looks like a misspelling of `collection`",
            "Rename it to `collection` (see spec/config.schema.json)."
        )
    );
    assert_eq!(
        problem(r#"{"secret":"s","max_retires":3}"#, Overrides::default()),
        (
            "max_retires".into(),
            "unknown key; it looks like a misspelling of `max_retries`".into()
        )
    );
    let s = load_str(
        r#"{"secret":"s","comment":"nightly","$schema":"x","__injected_declarative_manifest":{}}"#,
        Overrides::default(),
    )
    .unwrap();
    assert_eq!(
        s.warnings,
        ["the configuration key `comment` is unknown and ignored (the nearest known key is `domain`)"]
    );
    let s = Settings::load(
        Some(&fixture("airbyte-source-fauna.json")),
        Overrides::default(),
    )
    .unwrap();
    assert!(s.warnings.is_empty(), "{:?}", s.warnings);
}

#[test]
fn a_history_gap_is_reconciled_unless_the_config_says_stop() {
    let one = |json: &str| {
        let s = load_str(json, Overrides::default()).unwrap();
        s.collections.unwrap()[0].history_gap
    };
    assert_eq!(
        one(
            r#"{"secret":"s","collection":{"name":"c","deletions":{"deletion_mode":"deleted_field"}}}"#
        ),
        HistoryGap::Reconcile
    );
    assert_eq!(
        one(
            r#"{"secret":"s","collection":{"name":"c","deletions":{"deletion_mode":"deleted_field","history_gap":"stop"}}}"#
        ),
        HistoryGap::Stop
    );
    assert_eq!(
        one(
            r#"{"secret":"s","defaults":{"deletions":{"deletion_mode":"deleted_field","history_gap":"stop"}},"collection":{"name":"c"}}"#
        ),
        HistoryGap::Stop
    );
}

#[test]
fn source_fauna_0_1_configs_without_a_collection_name_apply_to_every_collection() {
    let s = load_str(
        r#"{"domain":"127.0.0.1","port":8443,"scheme":"http","secret":"s",
            "collection":{"page_size":64,"deletions":{"deletion_mode":"deleted_field","column":"deleted_at"}}}"#,
        Overrides::default(),
    )
    .unwrap();
    assert_eq!(s.collections, None, "every readable collection");
    let d = &s.defaults;
    assert_eq!(
        (d.page_size, d.deletion_column.as_deref()),
        (64, Some("deleted_at"))
    );
    assert_eq!(
        d.columns,
        [ColumnSpec {
            name: "ttl".into(),
            path: vec!["ttl".into()],
            column_type: ColumnType::String,
            format: Some("date-time".into()),
            airbyte_type: None,
            required: false,
        }]
    );
    // Its own columns replace the ttl column; an index needs a name; names are required in
    // `collections`.
    let s = load_str(
        r#"{"secret":"s","collection":{"additional_columns":[{"name":"a","path":["data","a"],"type":"integer"}]}}"#,
        Overrides::default(),
    )
    .unwrap();
    assert_eq!(s.defaults.columns[0].name, "a");
    assert_eq!(s.defaults.columns.len(), 1);
    let e = err(r#"{"secret":"s","collection":{"index":"ts"}}"#);
    assert_eq!(e.field, "collection.index");
    let e = err(r#"{"secret":"s","collections":[{"page_size":5}]}"#);
    assert_eq!(
        (e.field.as_str(), e.problem.as_str()),
        ("collections[0].name", "missing collection name")
    );
}

#[test]
fn a_file_that_is_not_a_json_object_says_so() {
    for (text, found) in [
        ("[1, 2]", "an array"),
        ("\"fnSecret\"", "a string"),
        ("5", "a number"),
        ("true", "a boolean"),
        ("null", "null"),
    ] {
        assert_eq!(
            err(text),
            ConfigError::new(
                "(file)",
                format!("the file holds {found}, not a JSON object"),
                "See spec/config.schema.json for the expected shape."
            ),
            "{text}"
        );
    }
    assert_eq!(
        err("{\"port\": 1").problem,
        "EOF while parsing an object at line 1 column 10"
    );
}

#[test]
fn flatten_options_come_from_the_output_section_or_the_flags_and_are_checked() {
    let json = r#"{"secret": "s", "output": {"flatten_depth": 3, "column_separator": "_x"}}"#;
    let s = load_str(json, Overrides::default()).unwrap();
    assert_eq!(
        s.output.flatten,
        FlattenAsked {
            depth: Some(3),
            separator: Some("_x".into())
        }
    );
    let flags = Overrides {
        flatten_depth: Some(0),
        ..Overrides::default()
    };
    let s = load_str(json, flags).unwrap();
    assert_eq!(s.output.flatten.depth, Some(0));
    let s = load_str(r#"{"secret": "s"}"#, Overrides::default()).unwrap();
    assert_eq!(s.output.flatten, FlattenAsked::default());
    let e = err(r#"{"secret": "s", "output": {"column_separator": "."}}"#).to_string();
    assert!(
        e.contains("output.flatten_depth / output.column_separator") && e.contains("\".\""),
        "{e}"
    );
}

#[test]
fn a_collection_may_have_its_own_contract_unless_the_flag_sets_the_runs() {
    let json =
        r#"{"secret": "s", "collections": [{"name": "a", "contract": "freeze"}, {"name": "b"}]}"#;
    let s = load_str(json, Overrides::default()).unwrap();
    let cs = s.collections.unwrap();
    assert_eq!(cs[0].contract, Some(crate::schema::Contract::Freeze));
    assert_eq!(cs[1].contract, None);
    let flag = Overrides {
        contract: Some("evolve".into()),
        ..Overrides::default()
    };
    assert_eq!(
        load_str(json, flag).unwrap().collections.unwrap()[0].contract,
        None
    );
    let e = err(r#"{"secret": "s", "collections": [{"name": "a", "contract": "strict"}]}"#);
    assert!(e.to_string().contains("collections[0].contract"), "{e}");
}
