//! Tests of the observed schema and the column plan.

use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};

use super::*;
use crate::fauna::{decode, Value};

fn wire(text: &str) -> Value {
    match decode(text.as_bytes()) {
        Ok(v) => v,
        Err(e) => panic!("bad fixture {text}: {e}"),
    }
}

fn schema_of(docs: &[(&str, i64, &str)]) -> ObservedSchema {
    let mut s = ObservedSchema::default();
    for (id, ts, data) in docs {
        s.observe(&wire(data), *ts, id);
    }
    s
}

fn types_at(s: &ObservedSchema, path: Path) -> Vec<(&'static str, u64)> {
    s.get(&path)
        .map(|p| p.types.iter().map(|(t, st)| (t.name(), st.count)).collect())
        .unwrap_or_default()
}

fn plan_of(s: &ObservedSchema, options: PlanOptions) -> ColumnPlan {
    let mut plan = match ColumnPlan::new(options) {
        Ok(p) => p,
        Err(e) => panic!("{e}"),
    };
    plan.grow(s);
    plan
}

fn columns(plan: &ColumnPlan) -> Vec<(String, String, String)> {
    plan.columns()
        .iter()
        .map(|c| {
            let kind = match c.kind {
                ColumnKind::List(of) => format!("list<{}>", of.element().tag()),
                k => k.tag().to_string(),
            };
            (c.name.clone(), c.path.to_json(), kind)
        })
        .collect()
}

fn cols(list: &[(&str, &str, &str)]) -> Vec<(String, String, String)> {
    list.iter()
        .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
        .collect()
}

const EVERY_KIND: &str = r#"{"i":1,"d":1.5,"s":"x","b":true,"n":null,
  "t":{"@ts":"2024-01-02T03:04:05.123456789Z"},"dt":{"@date":"2024-01-02"},
  "by":{"@bytes":"AAE="},"r":{"@ref":{"id":"7","collection":{"@ref":{"id":"players","collection":{"@ref":{"id":"collections"}}}}}},
  "c":{"@ref":{"id":"players","collection":{"@ref":{"id":"collections"}}}},
  "o":{"k":1},"a":[1,null,2],
  "set":{"@set":{"match":{"@ref":{"id":"all","collection":{"@ref":{"id":"indexes"}}}}}},
  "q":{"@query":{"api_version":"4","lambda":"x","expr":{"var":"x"}}}}"#;

#[test]
fn observes_every_wire_type_exactly() {
    let s = schema_of(&[("1", 10, EVERY_KIND)]);
    let k = |key: &str| Path::keys(&[key]);
    assert_eq!(types_at(&s, k("i")), [("int", 1)]);
    assert_eq!(types_at(&s, k("d")), [("double", 1)]);
    assert_eq!(types_at(&s, k("s")), [("string", 1)]);
    assert_eq!(types_at(&s, k("b")), [("boolean", 1)]);
    assert_eq!(types_at(&s, k("n")), []);
    assert_eq!(s.get(&k("n")).map(|p| p.nulls), Some(1));
    assert_eq!(types_at(&s, k("t")), [("time", 1)]);
    assert_eq!(types_at(&s, k("dt")), [("date", 1)]);
    assert_eq!(types_at(&s, k("by")), [("bytes", 1)]);
    assert_eq!(types_at(&s, k("r")), [("ref", 1)]);
    assert_eq!(types_at(&s, k("o")), [("object", 1)]);
    assert_eq!(types_at(&s, Path::keys(&["o", "k"])), [("int", 1)]);
    assert_eq!(types_at(&s, k("a")), [("array", 1)]);
    assert_eq!(types_at(&s, k("a").child(Seg::Items)), [("int", 2)]);
    assert_eq!(s.get(&k("a").child(Seg::Items)).map(|p| p.nulls), Some(1));
    assert_eq!(types_at(&s, k("set")), [("set", 1)]);
    assert_eq!(types_at(&s, k("q")), [("query", 1)]);
    let targets = |key: &str| {
        s.get(&k(key))
            .and_then(|p| p.types.get(&WireType::Ref))
            .map(|t| t.refs.clone().into_iter().collect::<Vec<_>>())
    };
    assert_eq!(
        targets("r"),
        Some(vec![("document:players".to_string(), 1)])
    );
    assert_eq!(targets("c"), Some(vec![("collection".to_string(), 1)]));
    assert_eq!(s.documents(), 1);
}

#[test]
fn tag_like_keys_are_plain_keys() {
    let s = schema_of(&[(
        "1",
        10,
        r#"{"@obj":{"@ts":{"@obj":{"@ref":"x"}},"[]":1,"a.b":2}}"#,
    )]);
    let paths: Vec<String> = s.paths().keys().map(Path::to_json).collect();
    assert_eq!(
        paths,
        [r#"["@ts"]"#, r#"["@ts","@ref"]"#, r#"["[]"]"#, r#"["a.b"]"#]
    );
    assert_eq!(types_at(&s, Path::keys(&["@ts"])), [("object", 1)]);
    let plan = plan_of(&s, PlanOptions::default());
    assert_eq!(
        columns(&plan),
        cols(&[
            ("_ts___ref", r#"["@ts","@ref"]"#, "string"),
            ("__", r#"["[]"]"#, "int"),
            ("a_b", r#"["a.b"]"#, "int"),
        ])
    );
}

#[test]
fn first_seen_is_the_earliest_version_in_id_order() {
    let s = schema_of(&[
        ("10", 5, r#"{"x":1}"#),
        ("9", 5, r#"{"x":2}"#),
        ("1", 7, r#"{"x":3}"#),
    ]);
    let first = s
        .get(&Path::keys(&["x"]))
        .and_then(|p| p.types.get(&WireType::Int))
        .map(|t| t.first.clone());
    assert_eq!(
        first,
        Some(FirstSeen {
            ts: 5,
            id: "9".into()
        })
    );
}

/// A varied set of documents: conflicting types, nesting, arrays, out-of-range times.
fn varied_docs() -> Vec<(String, i64, String)> {
    let values = [
        "1",
        "2.5",
        r#""s""#,
        "false",
        "null",
        r#"{"@ts":"2024-01-02T03:04:05.000000001Z"}"#,
        r#"{"@ts":"2300-01-01T00:00:00Z"}"#,
        r#"{"@date":"2024-02-29"}"#,
        r#"{"@bytes":"AQI="}"#,
        r#"[1,2]"#,
        r#"["a",1]"#,
        r#"{"inner":{"deep":1},"n":1}"#,
    ];
    let mut rng = rand::rngs::StdRng::seed_from_u64(24);
    (0..300)
        .map(|i| {
            let fields: Vec<String> = ["a", "b", "C", "c"]
                .iter()
                .map(|k| format!(r#""{k}":{}"#, values[rng.random_range(0..values.len())]))
                .collect();
            (
                i.to_string(),
                1000 + (i % 17),
                format!("{{{}}}", fields.join(",")),
            )
        })
        .collect()
}

#[test]
fn merge_is_independent_of_order_and_partitioning() {
    let docs = varied_docs();
    let whole = {
        let mut s = ObservedSchema::default();
        for (id, ts, d) in &docs {
            s.observe(&wire(d), *ts, id);
        }
        s
    };
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    for _ in 0..20 {
        let mut shuffled = docs.clone();
        shuffled.shuffle(&mut rng);
        let parts = rng.random_range(1..8);
        let mut partials = vec![ObservedSchema::default(); parts];
        for (id, ts, d) in &shuffled {
            let p = rng.random_range(0..parts);
            partials[p].observe(&wire(d), *ts, id);
        }
        partials.shuffle(&mut rng);
        let mut merged = ObservedSchema::default();
        for p in &partials {
            merged.merge(p);
        }
        assert_eq!(merged, whole);
        assert_eq!(merged.to_json(), whole.to_json());
        assert_eq!(
            plan_of(&merged, PlanOptions::default()),
            plan_of(&whole, PlanOptions::default())
        );
    }
}

#[test]
fn serde_form_round_trips_and_refuses_other_versions() {
    let s = schema_of(&[("1", 10, EVERY_KIND), ("2", 11, r#"{"i":"x","a":[]}"#)]);
    let json = s.to_json();
    assert!(json.starts_with(r#"{"version":1,"documents":2,"paths":[{"path":["a"],"types":{"array":{"count":2,"first":{"ts":10,"id":"1"}}}},{"path":["a",null],"nulls":1,"types":{"int":{"count":2,"first":{"ts":10,"id":"1"}}}}"#), "{json}");
    assert_eq!(ObservedSchema::from_json(&json).ok(), Some(s));
    let err = ObservedSchema::from_json(&json.replacen(r#""version":1"#, r#""version":2"#, 1));
    assert_eq!(err.err().map(|e| e.kind()), Some(SchemaErrorKind::Stored));
    let plan = plan_of(&schema_of(&[("1", 10, EVERY_KIND)]), PlanOptions::default());
    assert_eq!(ColumnPlan::from_json(&plan.to_json()).ok(), Some(plan));
}

#[test]
fn plan_maps_every_kind() {
    let plan = plan_of(&schema_of(&[("1", 10, EVERY_KIND)]), PlanOptions::default());
    assert_eq!(
        columns(&plan),
        cols(&[
            ("a", r#"["a"]"#, "list<int>"),
            ("b", r#"["b"]"#, "boolean"),
            ("by", r#"["by"]"#, "bytes"),
            ("c", r#"["c"]"#, "ref"),
            ("d", r#"["d"]"#, "double"),
            ("dt", r#"["dt"]"#, "date"),
            ("i", r#"["i"]"#, "int"),
            ("o__k", r#"["o","k"]"#, "int"),
            ("q", r#"["q"]"#, "query"),
            ("r", r#"["r"]"#, "ref"),
            ("s", r#"["s"]"#, "string"),
            ("set", r#"["set"]"#, "set"),
            ("t", r#"["t"]"#, "time"),
        ])
    );
}

#[test]
fn conflicts_become_variants_in_first_seen_order_and_the_plan_only_grows() {
    let mut s = schema_of(&[("2", 20, r#"{"x":"text"}"#), ("1", 30, r#"{"x":1}"#)]);
    let mut plan = plan_of(&s, PlanOptions::default());
    assert_eq!(
        columns(&plan),
        cols(&[("x", r#"["x"]"#, "string"), ("x__v_int", r#"["x"]"#, "int")])
    );
    let before = plan.clone();
    // An earlier document with a third type: the existing columns keep names and kinds.
    s.observe(&wire(r#"{"x":2.5,"y":true}"#), 1, "0");
    assert_eq!(plan.grow(&s), 2);
    assert_eq!(&plan.columns()[..2], before.columns());
    assert_eq!(
        columns(&plan),
        cols(&[
            ("x", r#"["x"]"#, "string"),
            ("x__v_int", r#"["x"]"#, "int"),
            ("x__v_double", r#"["x"]"#, "double"),
            ("y", r#"["y"]"#, "boolean"),
        ])
    );
    assert_eq!(plan.columns()[2].variant_of.as_deref(), Some("x"));
    assert_eq!(plan.grow(&s), 0);
}

#[test]
fn out_of_range_times_and_dates_get_text_variants() {
    let s = schema_of(&[
        (
            "1",
            10,
            r#"{"t":{"@ts":"2024-01-01T00:00:00Z"},"d":{"@date":"2024-01-01"}}"#,
        ),
        (
            "2",
            11,
            r#"{"t":{"@ts":"1500-01-01T00:00:00Z"},"d":{"@date":"+9999999-01-01"},"u":{"@ts":"3000-01-01T00:00:00Z"}}"#,
        ),
    ]);
    assert_eq!(
        columns(&plan_of(&s, PlanOptions::default())),
        cols(&[
            ("d", r#"["d"]"#, "date"),
            ("d__v_date_text", r#"["d"]"#, "date_text"),
            ("t", r#"["t"]"#, "time"),
            ("t__v_time_text", r#"["t"]"#, "time_text"),
            ("u", r#"["u"]"#, "time_text"),
        ])
    );
}

#[test]
fn nesting_flattens_to_the_depth_and_keeps_deeper_levels_as_json() {
    let docs = [("1", 10, r#"{"a":{"b":{"c":{"d":1}},"e":2},"f":3}"#)];
    let s = schema_of(&docs);
    let depth = |d| {
        columns(&plan_of(
            &s,
            PlanOptions {
                flatten_depth: d,
                ..PlanOptions::default()
            },
        ))
    };
    assert_eq!(
        depth(0),
        cols(&[("a", r#"["a"]"#, "object"), ("f", r#"["f"]"#, "int")])
    );
    assert_eq!(
        depth(1),
        cols(&[
            ("a__b", r#"["a","b"]"#, "object"),
            ("a__e", r#"["a","e"]"#, "int"),
            ("f", r#"["f"]"#, "int"),
        ])
    );
    assert_eq!(
        depth(2),
        cols(&[
            ("a__b__c", r#"["a","b","c"]"#, "object"),
            ("a__e", r#"["a","e"]"#, "int"),
            ("f", r#"["f"]"#, "int"),
        ])
    );
    let dot = plan_of(
        &s,
        PlanOptions {
            separator: "_".into(),
            ..PlanOptions::default()
        },
    );
    assert_eq!(dot.columns()[0].name, "a_b");
    for bad in ["", ".", "A", "_____"] {
        let err = ColumnPlan::new(PlanOptions {
            separator: bad.into(),
            ..PlanOptions::default()
        });
        assert_eq!(
            err.err().map(|e| e.kind()),
            Some(SchemaErrorKind::Options),
            "{bad:?}"
        );
    }
}

#[test]
fn arrays_of_one_type_are_lists_and_others_json() {
    let s = schema_of(&[(
        "1",
        10,
        r#"{"ints":[1,2],"mixed":[1,"a"],"objs":[{"k":1}],"empty":[],"refs":[{"@ref":{"id":"collections"}}],"nested":[[1]]}"#,
    )]);
    let mut plan = plan_of(&s, PlanOptions::default());
    assert_eq!(
        columns(&plan),
        cols(&[
            ("empty", r#"["empty"]"#, "array"),
            ("ints", r#"["ints"]"#, "list<int>"),
            ("mixed", r#"["mixed"]"#, "array"),
            ("nested", r#"["nested"]"#, "array"),
            ("objs", r#"["objs"]"#, "array"),
            ("refs", r#"["refs"]"#, "array"),
        ])
    );
    // A second element type later: the list column stays, arrays that do not fit it get a
    // JSON variant.
    let mut s2 = s.clone();
    s2.observe(&wire(r#"{"ints":[1.5]}"#), 20, "2");
    assert_eq!(plan.grow(&s2), 1);
    assert_eq!(plan.columns()[6].name, "ints__v_array");
    assert_eq!(plan.columns()[6].kind, ColumnKind::Array);
}

#[test]
fn names_are_valid_unique_and_keep_their_path() {
    let long = "x".repeat(80);
    let data = format!(
        r#"{{"Name":1,"name":2,"a__b":3,"a":{{"b":4}},"ref":5,"ts":6,"data":7,"deleted_at":8,"9lives":9,"héllo wörld":10,"_PARTITIONTIME":11,"{long}":12,"{long}y":13,"deletion_detected":14,"_airbyte_raw_id":15,"":16}}"#
    );
    let s = schema_of(&[("1", 10, &data)]);
    let plan = plan_of(
        &s,
        PlanOptions {
            reserved: vec!["Deleted_At".into()],
            ..PlanOptions::default()
        },
    );
    let names: Vec<(&str, String)> = plan
        .columns()
        .iter()
        .map(|c| (c.name.as_str(), c.path.to_json()))
        .collect();
    let hashed = |n: &str| plan.columns().iter().any(|c| c.name == n);
    // Sorted by path: "" < "9lives" < "Name" < "_PARTITIONTIME" < "_airbyte…" < "a" …
    assert_eq!(names[0], ("_", r#"[""]"#.to_string()));
    assert_eq!(names[1], ("_9lives", r#"["9lives"]"#.to_string()));
    assert_eq!(names[2], ("name", r#"["Name"]"#.to_string()));
    assert_eq!(
        names[3],
        ("f_partitiontime", r#"["_PARTITIONTIME"]"#.to_string())
    );
    assert_eq!(
        names[4],
        ("f_airbyte_raw_id", r#"["_airbyte_raw_id"]"#.to_string())
    );
    assert_eq!(names[5], ("a__b", r#"["a","b"]"#.to_string()));
    assert_eq!(names[6], ("a__b_2", r#"["a__b"]"#.to_string()));
    assert_eq!(names[7], ("data_", r#"["data"]"#.to_string()));
    assert_eq!(names[8], ("deleted_at_", r#"["deleted_at"]"#.to_string()));
    assert_eq!(
        names[9],
        ("deletion_detected_", r#"["deletion_detected"]"#.to_string())
    );
    assert_eq!(names[10], ("h_llo_w_rld", r#"["héllo wörld"]"#.to_string()));
    assert_eq!(names[11], ("name_2", r#"["name"]"#.to_string()));
    assert_eq!(names[12], ("ref_", r#"["ref"]"#.to_string()));
    assert_eq!(names[13], ("ts_", r#"["ts"]"#.to_string()));
    assert_eq!(names.len(), 16);
    let longs: Vec<&str> = names[14..].iter().map(|(n, _)| *n).collect();
    assert!(longs.iter().all(|n| n.len() == MAX_NAME_BYTES), "{longs:?}");
    assert_ne!(longs[0], longs[1]);
    assert!(longs.iter().all(|n| n.starts_with(&"x".repeat(54))));
    assert!(hashed(longs[0]));
    for c in plan.columns() {
        let ok = c.name.len() <= MAX_NAME_BYTES
            && c.name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
            && !c.name.starts_with(|ch: char| ch.is_ascii_digit());
        assert!(ok, "{}", c.name);
    }
}

#[test]
fn typed_time_and_date_ranges_leave_out_duckdb_sentinels() {
    use crate::fauna::{Date, Timestamp};
    let t = |ns| time_fits(&Timestamp::from_nanos(ns));
    assert_eq!(t(i64::MAX), None);
    assert_eq!(t(i64::MAX - 1), Some(i64::MAX - 1));
    assert_eq!(t(i64::MIN), None);
    assert_eq!(t(i64::MIN + 1), None);
    assert_eq!(t(i64::MIN + 2), Some(i64::MIN + 2));
    assert_eq!(t(0), Some(0));
    let d = |days: i64| {
        Date::from_days_since_epoch(days)
            .ok()
            .and_then(|d| date_fits(&d))
    };
    assert_eq!(d(i64::from(i32::MAX)), None);
    assert_eq!(d(i64::from(i32::MAX) - 1), Some(i32::MAX - 1));
    assert_eq!(d(i64::from(i32::MIN) + 1), None);
    assert_eq!(d(i64::from(i32::MIN) + 2), Some(i32::MIN + 2));
    assert_eq!(d(-1), Some(-1));
}

#[test]
fn contracts_decide_what_a_batch_does_to_the_plan() {
    let s = schema_of(&[("1", 10, r#"{"n":1,"o":{"k":"x"}}"#)]);
    let plan = plan_of(&s, PlanOptions::default());
    let fits = wire(r#"{"n":2,"o":{"k":"y"},"z":null}"#);
    let new_type = wire(r#"{"n":"two"}"#);
    let new_path = wire(r#"{"o":{"k":"y","j":true}}"#);
    let docs = [("2", &fits), ("3", &new_type), ("4", &new_path)];
    assert_eq!(
        first_unplanned(&plan, &new_path),
        Some((Path::keys(&["o", "j"]), ColumnKind::Boolean))
    );
    assert_eq!(first_unplanned(&plan, &fits), None);
    let evolve = decide(Contract::Evolve, &plan, &docs).ok();
    assert_eq!(
        evolve,
        Some(ContractDecision {
            keep: vec![true; 3],
            grow: true,
            skip_unplanned: false,
            discarded_rows: 0,
            discarded_values: 0
        })
    );
    let rows = decide(Contract::DiscardRow, &plan, &docs).ok();
    assert_eq!(
        rows,
        Some(ContractDecision {
            keep: vec![true, false, false],
            grow: false,
            skip_unplanned: false,
            discarded_rows: 2,
            discarded_values: 0
        })
    );
    let values = decide(Contract::DiscardValue, &plan, &docs).ok();
    assert_eq!(
        values,
        Some(ContractDecision {
            keep: vec![true; 3],
            grow: false,
            skip_unplanned: true,
            discarded_rows: 0,
            discarded_values: 2
        })
    );
    let frozen = decide(Contract::Freeze, &plan, &docs).err();
    assert_eq!(
        frozen.as_ref().map(SchemaError::kind),
        Some(SchemaErrorKind::Frozen)
    );
    assert_eq!(
        frozen.map(|e| e.to_string()).unwrap_or_default(),
        r#"schema contract freeze: document 3 has a string value at ["n"], which has no column (set the contract to evolve, or fix the document)"#
    );
    assert!(decide(Contract::Freeze, &plan, &docs[..1]).is_ok());
    assert_eq!(
        serde_json::to_string(&Contract::DiscardValue)
            .ok()
            .as_deref(),
        Some(r#""discard_value""#)
    );
}

#[test]
fn a_plan_keeps_its_options() {
    let plan = plan_of(&ObservedSchema::default(), PlanOptions::default());
    assert!(plan.check_options(&PlanOptions::default()).is_ok());
    let other = PlanOptions {
        flatten_depth: 2,
        ..PlanOptions::default()
    };
    assert_eq!(
        plan.check_options(&other)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default(),
        r#"typed-column options changed from {"flatten_depth":1,"separator":"__","reserved":[]} to {"flatten_depth":2,"separator":"__","reserved":[]}: the column plan keeps the options it was made with"#
    );
}

#[test]
fn json_schema_gives_each_path_its_export_types() {
    let s = schema_of(&[
        (
            "1",
            10,
            r#"{"n":1,"t":{"@ts":"2024-01-01T00:00:00Z"},"o":{"k":[1,null]}}"#,
        ),
        ("2", 11, r#"{"n":"x","o":null}"#),
    ]);
    let got = record_json_schema(&s);
    let want = serde_json::json!({
        "$schema": "http://json-schema.org/draft-07/schema#",
        "type": "object",
        "properties": {
            "ref": {"type": "string"},
            "ts": {"type": "integer"},
            "data": {"type": "object", "additionalProperties": true, "properties": {
                "n": {"anyOf": [{"type": "integer"}, {"type": "string"}]},
                "o": {"anyOf": [
                    {"type": "object", "additionalProperties": true, "properties": {
                        "k": {"type": "array", "items": {"anyOf": [{"type": "integer"}, {"type": "null"}]}}
                    }},
                    {"type": "null"}
                ]},
                "t": {"type": "string", "format": "date-time", "airbyte_type": "timestamp_with_timezone"},
            }},
        },
        "required": ["ref", "ts"],
        "additionalProperties": true,
    });
    assert_eq!(got, want);
}

#[test]
fn bigquery_schema_follows_the_plan() {
    let s = schema_of(&[
        (
            "1",
            10,
            r#"{"n":1,"r":{"@ref":{"id":"c","collection":{"@ref":{"id":"collections"}}}},"l":["a"]}"#,
        ),
        ("2", 11, r#"{"n":"x"}"#),
    ]);
    let plan = plan_of(&s, PlanOptions::default());
    let got = bigquery_schema(&plan, true);
    let want = serde_json::json!([
        {"name": "ref", "type": "STRING", "mode": "REQUIRED"},
        {"name": "ts", "type": "INT64", "mode": "REQUIRED"},
        {"name": "data", "type": "JSON", "mode": "NULLABLE"},
        {"name": "l", "type": "STRING", "mode": "REPEATED", "description": r#"data path ["l"]"#},
        {"name": "n", "type": "INT64", "mode": "NULLABLE", "description": r#"data path ["n"]"#},
        {"name": "r", "type": "RECORD", "mode": "NULLABLE", "description": r#"data path ["r"]"#,
         "fields": [
            {"name": "id", "type": "STRING", "mode": "NULLABLE"},
            {"name": "collection", "type": "STRING", "mode": "NULLABLE"},
            {"name": "type", "type": "STRING", "mode": "NULLABLE"},
         ]},
        {"name": "n__v_string", "type": "STRING", "mode": "NULLABLE", "description": r#"data path ["n"]"#},
    ]);
    assert_eq!(got, want);
}

/// One observer over many documents gives exactly the schema of each observed on its own and
/// merged, for every wire type, nesting, arrays of arrays, nulls, refs, tag-like keys and
/// out-of-range times.
#[test]
fn one_observer_gives_what_documents_observed_one_by_one_give() {
    let mut docs = varied_docs();
    docs.push((
        "9".into(),
        5,
        r#"{"a":[[1,{"b":null}],[]],"t":{"@ts":"9999-01-01T00:00:00Z"},"o":{"@obj":{"@ref":{"x":[null]}}},"n":null}"#.into(),
    ));
    let mut observer = SchemaObserver::default();
    let mut expected = ObservedSchema::default();
    for (id, ts, data) in &docs {
        let v = wire(data);
        observer.observe(&v, *ts, id);
        expected.observe(&v, *ts, id);
    }
    observer.observe(&Value::Null, 1, "0");
    expected.observe(&Value::Null, 1, "0");
    let observed = observer.finish();
    assert_eq!(observed, expected);
    assert_eq!(observed.documents(), docs.len() as u64 + 1);
    assert_eq!(
        types_at(
            &observed,
            Path(vec![Seg::Key("a".into()), Seg::Items, Seg::Items])
        ),
        [("int", 1), ("object", 1)]
    );
    assert_eq!(
        SchemaObserver::default().finish(),
        ObservedSchema::default()
    );
}
