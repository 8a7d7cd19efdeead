//! `Select(path, from, all: true)` and `select_all`, as `ReadAdaptor.valueAtPath0` with `all`.

use crate::support::*;

const DOCS: &str = r#"[{"object":{"data":{"object":{"x":1}}}},{"object":{"data":{"object":{"x":[2,3]}}}},{"object":{"data":{"object":{}}}}]"#;

#[test]
fn all_selects_the_path_from_every_element_and_splices_arrays() {
    let e = engine();
    let q = format!(r#"{{"select":["data","x"],"from":{DOCS},"all":true}}"#);
    assert_eq!(ok(&e, &q), r#"{"resource":[1,2,3]}"#);
    let q = format!(r#"{{"select_all":["data","x"],"from":{DOCS}}}"#);
    assert_eq!(ok(&e, &q), r#"{"resource":[1,2,3]}"#);
}

#[test]
fn all_flattens_a_final_array_and_wraps_a_single_value() {
    let e = engine();
    let q = r#"{"select":"a","from":{"object":{"a":[[1,[2]],3]}},"all":true}"#;
    assert_eq!(ok(&e, q), r#"{"resource":[1,2,3]}"#);
    let q = r#"{"select":["a",0],"from":{"object":{"a":[[1,2],[3]]}},"all":true}"#;
    assert_eq!(ok(&e, q), r#"{"resource":[1,2]}"#);
    let q = r#"{"select":"a","from":{"object":{"a":5}},"all":true}"#;
    assert_eq!(ok(&e, q), r#"{"resource":[5]}"#);
}

#[test]
fn all_returns_an_empty_array_when_missing_and_ignores_the_default() {
    let e = engine();
    let q = r#"{"select":"missing","from":{"object":{"a":1}},"all":true}"#;
    assert_eq!(ok(&e, q), r#"{"resource":[]}"#);
    let q =
        r#"{"select":"missing","from":{"object":{"a":1}},"all":true,"default":{"abort":"never"}}"#;
    assert_eq!(ok(&e, q), r#"{"resource":[]}"#);
    let q = r#"{"select":"a","from":{"object":{"a":1}},"all":false}"#;
    assert_eq!(ok(&e, q), r#"{"resource":1}"#);
}

#[test]
fn all_must_be_a_boolean() {
    let e = engine();
    let r = run(
        &e,
        r#"{"select":"a","from":{"object":{"a":1}},"all":"yes"}"#,
    );
    assert_eq!(r.status, 400);
    assert_eq!(
        r.body,
        r#"{"errors":[{"position":["all"],"code":"invalid argument","description":"Boolean expected, String provided."}]}"#
    );
}
