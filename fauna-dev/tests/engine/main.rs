//! Engine tests through `Engine::execute`.

mod airbyte;
mod basics;
mod perf;
mod security_dataset;
mod support;

/// Literal objects may hold keys starting with `@`; they come back `@obj`-escaped.
#[test]
fn literal_objects_with_at_keys_are_accepted_and_escaped_on_the_way_out() {
    let engine = fauna_dev::engine::Engine::new(fauna_dev::engine::EngineOptions::default());
    let resp = engine.execute(&fauna_dev::engine::Request {
        secret: Some("secret"),
        body: br#"{"object":{"@name":"John","n":{"@ts":"1970-01-01T00:00:00Z"}}}"#,
        last_seen_txn: None,
        api_version: "4",
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
    });
    assert_eq!(resp.status, 400, "{}", resp.body);
    assert!(
        resp.body.contains(r#""code":"invalid expression""#),
        "{}",
        resp.body
    );
}
