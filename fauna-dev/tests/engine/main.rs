//! Engine tests through `Engine::execute`.

mod airbyte;
mod basics;
mod collation;
mod databases;
mod filter_sets;
mod metrics;
mod multiple_errors;
mod perf;
mod role_predicates;
mod security_dataset;
mod select_all;
mod support;
mod tag_keys;
mod timeouts_and_get;
mod ttl_events;

/// Literal objects may hold keys starting with `@`; they come back `@obj`-escaped.
#[test]
fn literal_objects_with_at_keys_are_accepted_and_escaped_on_the_way_out() {
    let engine = fauna_dev::engine::Engine::new(fauna_dev::engine::EngineOptions::default());
    let resp = engine.execute(&fauna_dev::engine::Request {
        secret: Some("secret"),
        body: br#"{"object":{"@name":"John","n":{"@ts":"1970-01-01T00:00:00Z"}}}"#,
        last_seen_txn: None,
        api_version: "4",
        read_only: false,
        deadline: None,
    });
    assert_eq!(resp.status, 200, "{}", resp.body);
    assert_eq!(
        resp.body,
        r#"{"resource":{"@obj":{"@name":"John","n":{"@ts":"1970-01-01T00:00:00Z"}}}}"#
    );
    let resp = engine.execute(&fauna_dev::engine::Request {
        secret: Some("secret"),
        body: br#"{"@foo":1}"#,
        last_seen_txn: None,
        api_version: "4",
        read_only: false,
        deadline: None,
    });
    assert_eq!(resp.status, 400, "{}", resp.body);
    assert!(
        resp.body.contains(r#""code":"invalid expression""#),
        "{}",
        resp.body
    );
}

/// `Add` sums integers (staying an integer) or doubles; a non-number is positioned at its
/// element, as the real server does.
#[test]
fn add_sums_numbers_and_positions_type_errors_at_the_element() {
    let engine = fauna_dev::engine::Engine::new(fauna_dev::engine::EngineOptions::default());
    let run = |body: &str| {
        engine.execute(&fauna_dev::engine::Request {
            secret: Some("secret"),
            body: body.as_bytes(),
            last_seen_txn: None,
            api_version: "4",
            read_only: false,
            deadline: None,
        })
    };
    assert_eq!(run(r#"{"add":[1,2,3]}"#).body, r#"{"resource":6}"#);
    assert_eq!(run(r#"{"add":[1,2.5]}"#).body, r#"{"resource":3.5}"#);
    let r = run(r#"{"add":[1,"two"]}"#);
    assert_eq!(r.status, 400);
    assert_eq!(
        r.body,
        r#"{"errors":[{"position":["add",1],"code":"invalid argument","description":"Number expected, String provided."}]}"#
    );
}
