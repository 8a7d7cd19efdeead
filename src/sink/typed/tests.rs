//! Tests of typed-column writing.

use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{Date32Type, Float64Type, Int64Type, TimestampNanosecondType};
use arrow_array::{Array, ArrayRef};
use bytes::Bytes;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use super::*;
use crate::fauna::{decode, Value};
use crate::schema::{ColumnPlan, ObservedSchema, PlanOptions};

fn wire(text: &str) -> Value {
    match decode(text.as_bytes()) {
        Ok(v) => v,
        Err(e) => panic!("bad fixture {text}: {e}"),
    }
}

/// The plan grown from `values` and their typed arrays by column name.
fn build(values: &[Value]) -> (ColumnPlan, Vec<(String, ArrayRef)>) {
    let mut s = ObservedSchema::default();
    for (i, v) in values.iter().enumerate() {
        s.observe(v, 10, &i.to_string());
    }
    let mut plan = ColumnPlan::new(PlanOptions::default()).unwrap_or_else(|e| panic!("{e}"));
    plan.grow(&s);
    let ids: Vec<String> = (0..values.len()).map(|i| i.to_string()).collect();
    let docs: Vec<TypedDoc> = values
        .iter()
        .zip(&ids)
        .map(|(data, id)| TypedDoc { id, ts: 10, data })
        .collect();
    let arrays = typed_arrays(&plan, &docs, Unplanned::Error).unwrap_or_else(|e| panic!("{e}"));
    let named = plan
        .columns()
        .iter()
        .map(|c| c.name.clone())
        .zip(arrays)
        .collect();
    (plan, named)
}

fn col<'a>(arrays: &'a [(String, ArrayRef)], name: &str) -> &'a ArrayRef {
    match arrays.iter().find(|(n, _)| n == name) {
        Some((_, a)) => a,
        None => panic!("no column {name}"),
    }
}

fn texts(a: &ArrayRef) -> Vec<Option<String>> {
    a.as_string::<i32>()
        .iter()
        .map(|s| s.map(str::to_string))
        .collect()
}

#[test]
fn every_kind_becomes_its_arrow_type() {
    let docs = [
        wire(
            r#"{"i":-9223372036854775808,"d":-0.0,"s":"é","b":false,
            "t":{"@ts":"2024-01-02T03:04:05.123456789Z"},"dt":{"@date":"1969-12-31"},
            "by":{"@bytes":"AAE="},
            "r":{"@ref":{"id":"123456789012345678","collection":{"@ref":{"id":"players","collection":{"@ref":{"id":"collections"}}}}}},
            "l":[1,null,3],"o":{"k":{"deep":true}},
            "q":{"@query":{"api_version":"4","lambda":"x","expr":{"var":"x"}}}}"#,
        ),
        wire(
            r#"{"r":{"@ref":{"id":"ts","collection":{"@ref":{"id":"indexes"}}}},"d":{"@ts":"2262-04-12T00:00:00Z"}}"#,
        ),
        wire(r#"{}"#),
    ];
    let (_, a) = build(&docs);
    let i = col(&a, "i").as_primitive::<Int64Type>();
    assert_eq!(i.iter().collect::<Vec<_>>(), [Some(i64::MIN), None, None]);
    let d = col(&a, "d").as_primitive::<Float64Type>();
    assert_eq!(d.value(0).to_bits(), (-0.0f64).to_bits());
    assert_eq!(d.null_count(), 2);
    assert_eq!(texts(col(&a, "s")), [Some("é".into()), None, None]);
    let b = col(&a, "b").as_boolean();
    assert_eq!(b.iter().collect::<Vec<_>>(), [Some(false), None, None]);
    let t = col(&a, "t").as_primitive::<TimestampNanosecondType>();
    assert_eq!(t.value(0), 1_704_164_645_123_456_789);
    assert_eq!(t.timezone(), Some("UTC"));
    let dt = col(&a, "dt").as_primitive::<Date32Type>();
    assert_eq!(dt.value(0), -1);
    let by = col(&a, "by").as_binary::<i32>();
    assert_eq!(by.value(0), [0u8, 1]);
    let r = col(&a, "r").as_struct();
    let part = |n: &str| {
        texts(&Arc::clone(
            r.column_by_name(n).unwrap_or_else(|| panic!("{n}")),
        ))
    };
    assert_eq!(
        part("id"),
        [Some("123456789012345678".into()), Some("ts".into()), None]
    );
    assert_eq!(part("collection"), [Some("players".into()), None, None]);
    assert_eq!(
        part("type"),
        [Some("document".into()), Some("index".into()), None]
    );
    assert_eq!(r.null_count(), 1);
    let l = col(&a, "l").as_list::<i32>();
    let first = l.value(0);
    let items = first.as_primitive::<Int64Type>();
    assert_eq!(items.iter().collect::<Vec<_>>(), [Some(1), None, Some(3)]);
    assert!(l.is_null(1));
    assert_eq!(
        texts(col(&a, "o__k")),
        [Some(r#"{"deep":true}"#.into()), None, None]
    );
    assert_eq!(
        texts(col(&a, "q")),
        [
            Some(r#"{"@query":{"api_version":"4","lambda":"x","expr":{"var":"x"}}}"#.into()),
            None,
            None
        ]
    );
    // A time where a double was first seen, out of the nanosecond range: a text variant.
    assert_eq!(
        texts(col(&a, "d__v_time_text")),
        [None, Some("2262-04-12T00:00:00Z".into()), None]
    );
}

#[test]
fn every_non_null_value_lands_in_exactly_one_column() {
    let values = [
        "1",
        "2.5",
        r#""s""#,
        "true",
        r#"{"@ts":"1000-01-01T00:00:00Z"}"#,
        r#"{"@ts":"2000-01-01T00:00:00Z"}"#,
        "[1,2]",
        r#"[1,"a"]"#,
        r#"{"@set":{"match":{"@ref":{"id":"all","collection":{"@ref":{"id":"indexes"}}}}}}"#,
    ];
    let docs: Vec<Value> = values
        .iter()
        .map(|v| wire(&format!(r#"{{"x":{v}}}"#)))
        .collect();
    let (plan, arrays) = build(&docs);
    let names: Vec<&str> = plan.columns().iter().map(|c| c.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "x",
            "x__v_double",
            "x__v_string",
            "x__v_boolean",
            "x__v_time",
            "x__v_time_text",
            "x__v_array",
            "x__v_set",
        ]
    );
    for row in 0..docs.len() {
        let filled: Vec<&str> = arrays
            .iter()
            .filter(|(_, a)| a.is_valid(row))
            .map(|(n, _)| n.as_str())
            .collect();
        assert_eq!(filled.len(), 1, "row {row}: {filled:?}");
    }
    // Element types int and string at x[]: no list column, both arrays are JSON text.
    let arrays_json = texts(col(&arrays, "x__v_array"));
    assert_eq!(arrays_json[6], Some("[1,2]".into()));
    assert_eq!(arrays_json[7], Some(r#"[1,"a"]"#.into()));
    assert_eq!(
        texts(col(&arrays, "x__v_time_text"))[4],
        Some("1000-01-01T00:00:00Z".into())
    );
}

#[test]
fn a_value_without_a_column_is_an_error_not_a_null() {
    let plan = ColumnPlan::new(PlanOptions::default()).unwrap_or_else(|e| panic!("{e}"));
    let data = wire(r#"{"x":1}"#);
    let err = typed_arrays(
        &plan,
        &[TypedDoc {
            id: "5",
            ts: 1,
            data: &data,
        }],
        Unplanned::Error,
    )
    .err();
    assert_eq!(
        err.as_ref().map(TypedError::kind),
        Some(TypedErrorKind::NoColumn)
    );
    assert_eq!(
        err.map(|e| e.to_string()).unwrap_or_default(),
        r#"document 5: no int column for path ["x"] in the column plan (grow the plan from a schema that observed this document)"#
    );
}

#[test]
fn parquet_file_is_deterministic_and_keeps_paths_in_field_metadata() {
    let values = [
        wire(r#"{"a":{"B":1},"a__b":"x","t":{"@ts":"2024-01-02T03:04:05.123456789Z"}}"#),
        wire(r#"{"a":{"B":2.5}}"#),
    ];
    let mut s = ObservedSchema::default();
    for (i, v) in values.iter().enumerate() {
        s.observe(v, 10 + i as i64, &i.to_string());
    }
    let mut plan = ColumnPlan::new(PlanOptions::default()).unwrap_or_else(|e| panic!("{e}"));
    plan.grow(&s);
    let docs = [
        TypedDoc {
            id: "0",
            ts: 10,
            data: &values[0],
        },
        TypedDoc {
            id: "1",
            ts: 11,
            data: &values[1],
        },
    ];
    let write = || {
        write_typed_parquet(Vec::new(), &plan, true, Unplanned::Error, &docs)
            .unwrap_or_else(|e| panic!("{e}"))
    };
    let bytes = write();
    assert_eq!(bytes, write());
    let reader = ParquetRecordBatchReaderBuilder::try_new(Bytes::from(bytes))
        .unwrap_or_else(|e| panic!("{e}"));
    let schema = reader.schema().clone();
    let fields: Vec<(String, Option<String>, Option<String>)> = schema
        .fields()
        .iter()
        .map(|f| {
            (
                f.name().clone(),
                f.metadata().get(PATH_KEY).cloned(),
                f.metadata().get(VARIANT_OF_KEY).cloned(),
            )
        })
        .collect();
    let s = |x: &str| Some(x.to_string());
    assert_eq!(
        fields,
        [
            ("ref".into(), None, None),
            ("ts".into(), None, None),
            ("data".into(), None, None),
            ("a__b".into(), s(r#"["a","B"]"#), None),
            ("a__b_2".into(), s(r#"["a__b"]"#), None),
            ("t".into(), s(r#"["t"]"#), None),
            ("a__b__v_double".into(), s(r#"["a","B"]"#), s("a__b")),
        ]
    );
    assert_eq!(schema.metadata().get(PLAN_KEY), Some(&plan.to_json()));
    let batches: Vec<_> = reader
        .build()
        .unwrap_or_else(|e| panic!("{e}"))
        .collect::<Result<_, _>>()
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(batches.len(), 1);
    let data: ArrayRef = Arc::clone(batches[0].column(2));
    assert_eq!(
        texts(&data),
        [
            Some(r#"{"a":{"B":1},"a__b":"x","t":"2024-01-02T03:04:05.123456789Z"}"#.into()),
            Some(r#"{"a":{"B":2.5}}"#.into())
        ]
    );
}

#[test]
fn discard_value_leaves_unplanned_values_to_data() {
    let first = wire(r#"{"n":1}"#);
    let (plan, _) = build(std::slice::from_ref(&first));
    let later = wire(r#"{"n":"two","m":3}"#);
    let docs = [TypedDoc {
        id: "9",
        ts: 1,
        data: &later,
    }];
    let arrays = typed_arrays(&plan, &docs, Unplanned::Skip).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(arrays.len(), 1);
    assert!(arrays[0].is_null(0));
    let err = typed_arrays(&plan, &docs, Unplanned::Error).err();
    assert_eq!(err.map(|e| e.kind()), Some(TypedErrorKind::NoColumn));
}

#[test]
fn files_are_byte_identical_however_the_schema_was_gathered() {
    let values: Vec<Value> = (0..200)
        .map(|i| match i % 4 {
            0 => wire(&format!(r#"{{"x":{i},"o":{{"k":"s{i}"}}}}"#)),
            1 => wire(&format!(r#"{{"x":"t{i}","l":[{i}]}}"#)),
            2 => wire(r#"{"x":1.5,"o":{"k":{"@date":"2024-01-01"}}}"#),
            _ => wire(r#"{"x":null,"o":null}"#),
        })
        .collect();
    let ids: Vec<String> = (0..values.len()).map(|i| i.to_string()).collect();
    let docs: Vec<TypedDoc> = values
        .iter()
        .zip(&ids)
        .enumerate()
        .map(|(i, (data, id))| TypedDoc {
            id,
            ts: 1000 + (i as i64 % 7),
            data,
        })
        .collect();
    let file_from = |order: &[usize], parts: usize| {
        let mut partials = vec![ObservedSchema::default(); parts];
        for (n, &i) in order.iter().enumerate() {
            partials[n % parts].observe(docs[i].data, docs[i].ts, docs[i].id);
        }
        let mut s = ObservedSchema::default();
        for p in partials.iter().rev() {
            s.merge(p);
        }
        let mut plan = ColumnPlan::new(PlanOptions::default()).unwrap_or_else(|e| panic!("{e}"));
        plan.grow(&s);
        write_typed_parquet(Vec::new(), &plan, true, Unplanned::Error, &docs)
            .unwrap_or_else(|e| panic!("{e}"))
    };
    let forward: Vec<usize> = (0..docs.len()).collect();
    let backward: Vec<usize> = forward.iter().rev().copied().collect();
    let interleaved: Vec<usize> = forward.iter().map(|i| (i * 37) % docs.len()).collect();
    let reference = file_from(&forward, 1);
    assert_eq!(file_from(&backward, 3), reference);
    assert_eq!(file_from(&interleaved, 5), reference);
}

/// Arrays whose elements do not fit the list column an earlier batch planned get the
/// `array` variant (they once made the run fail: the list slot was taken, so no column was
/// added and the value had nowhere to go); empty and all-null arrays fit the list.
#[test]
fn arrays_that_do_not_fit_an_earlier_list_column_get_the_array_variant() {
    let first = [wire(r#"{"tags":[1,2]}"#)];
    let later = [
        wire(r#"{"tags":["a","b"]}"#),
        wire(r#"{"tags":[]}"#),
        wire(r#"{"tags":[null,3]}"#),
        wire(r#"{"tags":[null]}"#),
    ];
    let mut plan = ColumnPlan::new(PlanOptions::default()).unwrap_or_else(|e| panic!("{e}"));
    let observe = |values: &[Value]| {
        let mut s = ObservedSchema::default();
        for (i, v) in values.iter().enumerate() {
            s.observe(v, 10, &i.to_string());
        }
        s
    };
    plan.grow(&observe(&first));
    // Only empty, all-null or fitting arrays: no new column.
    assert_eq!(plan.grow(&observe(&later[1..])), 0);
    // Strings only: one type, but not the list's.
    assert_eq!(plan.grow(&observe(&later[..1])), 1);
    assert_eq!(plan.grow(&observe(&later)), 0);
    let names: Vec<_> = plan.columns().iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["tags", "tags__v_array"]);
    let docs: Vec<TypedDoc> = later
        .iter()
        .map(|data| TypedDoc {
            id: "1",
            ts: 10,
            data,
        })
        .collect();
    let arrays = typed_arrays(&plan, &docs, Unplanned::Error).unwrap_or_else(|e| panic!("{e}"));
    let list = arrays[0].as_list::<i32>();
    let rows: Vec<Option<Vec<Option<i64>>>> = (0..list.len())
        .map(|i| {
            list.is_valid(i).then(|| {
                list.value(i)
                    .as_primitive::<Int64Type>()
                    .iter()
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    assert_eq!(
        rows,
        [
            None,
            Some(vec![]),
            Some(vec![None, Some(3)]),
            Some(vec![None])
        ]
    );
    assert_eq!(
        texts(&arrays[1]),
        [Some(r#"["a","b"]"#.to_string()), None, None, None]
    );
}
