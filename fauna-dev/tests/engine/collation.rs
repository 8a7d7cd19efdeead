//! Strings in index order follow the ICU collator (default locale), ties broken bytewise.

use crate::support::*;

#[test]
fn index_values_sort_by_collation_then_bytes() {
    let e = engine();
    setup_foo(&e);
    let names = [
        "b", "B", "a", "A", "é", "e", "E", "ä", "z", "10", "9", "a b", "ab",
    ];
    for (i, n) in names.iter().enumerate() {
        create_doc(
            &e,
            "foo",
            &(i + 1).to_string(),
            &format!(r#"{{"name":"{n}"}}"#),
        );
    }
    ok(
        &e,
        r#"{"create_index":{"object":{"name":"by_name","source":{"collection":"foo"},"values":[{"object":{"field":["data","name"]}}]}}}"#,
    );
    let page = ok(
        &e,
        r#"{"paginate":{"match":{"index":"by_name"}},"size":100}"#,
    );
    assert_eq!(
        page,
        r#"{"resource":{"data":["10","9","a","A","ä","a b","ab","b","B","e","E","é","z"]}}"#
    );
    let page = ok(
        &e,
        r#"{"paginate":{"range":{"match":{"index":"by_name"}},"from":"a","to":"b"},"size":100}"#,
    );
    assert_eq!(
        page,
        r#"{"resource":{"data":["a","A","ä","a b","ab","b"]}}"#
    );
}
