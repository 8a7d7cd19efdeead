//! Several errors in one response, where the real server accumulates them: `Range` bounds
//! (`FunctionAdapters.Range`), array elements and object fields (`evalList`, `evalAlist`), and
//! `Ref(collection, id)` (`RefFunction`).

use crate::support::*;

#[test]
fn range_reports_both_undefined_bounds() {
    let e = engine();
    let r = run(
        &e,
        r#"{"paginate":{"range":{"collections":null},"from":{"collection":"foo"},"to":{"collection":"bar"}}}"#,
    );
    assert_eq!(r.status, 400);
    assert_eq!(
        r.body,
        r#"{"errors":[{"position":["paginate","from"],"code":"invalid ref","description":"Ref refers to undefined collection 'foo'"},{"position":["paginate","to"],"code":"invalid ref","description":"Ref refers to undefined collection 'bar'"}]}"#
    );
    let r = run(
        &e,
        r#"{"paginate":{"range":{"collections":null},"from":[],"to":{"collection":"bar"}}}"#,
    );
    assert_eq!(
        r.body,
        r#"{"errors":[{"position":["paginate","to"],"code":"invalid ref","description":"Ref refers to undefined collection 'bar'"}]}"#
    );
}

#[test]
fn array_elements_and_object_fields_report_every_error() {
    let e = engine();
    let r = run(&e, r#"[1,{"abort":"a"},{"abort":"b"}]"#);
    assert_eq!(r.status, 400);
    assert_eq!(
        r.body,
        r#"{"errors":[{"position":[1],"code":"transaction aborted","description":"a"},{"position":[2],"code":"transaction aborted","description":"b"}]}"#
    );
    let r = run(
        &e,
        r#"{"object":{"x":{"abort":"a"},"y":{"select":"q","from":{"object":{}}}}}"#,
    );
    assert_eq!(
        r.status, 400,
        "the first error of highest priority decides the status"
    );
    assert_eq!(
        r.body,
        r#"{"errors":[{"position":["object","x"],"code":"transaction aborted","description":"a"},{"position":["object","y","from"],"code":"value not found","description":"Value not found at path [q]."}]}"#
    );
}

#[test]
fn writes_of_a_failed_array_are_rolled_back() {
    let e = engine();
    setup_foo(&e);
    let r = run(
        &e,
        r#"[{"create":{"ref":{"collection":"foo"},"id":"1"},"params":{"object":{}}},{"abort":"no"}]"#,
    );
    assert_eq!(r.status, 400);
    let r = run(&e, r#"{"exists":{"ref":{"collection":"foo"},"id":"1"}}"#);
    assert_eq!(r.body, r#"{"resource":false}"#);
}

#[test]
fn ref_reports_collection_and_id_errors_together() {
    let e = engine();
    let r = run(&e, r#"{"ref":"foo","id":"abc"}"#);
    assert_eq!(r.status, 400);
    assert_eq!(
        r.body,
        r#"{"errors":[{"position":["ref"],"code":"invalid argument","description":"Collection Ref expected, String provided."},{"position":["id"],"code":"invalid argument","description":"Number or numeric String expected, non-numeric 'abc' provided."}]}"#
    );
}
