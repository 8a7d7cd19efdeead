//! Metric figures as the real server's `QueryMetrics` computes them: compute ops =
//! ceil(calls / 50) (at least 1), byte read ops = ceil(bytes / 4096) + partitions - 1 per read,
//! byte write ops = ceil(bytes / 1024) per write; storage bytes are the JSON sizes read/written.

use fauna_dev::engine::Metrics;

use crate::support::*;

fn metrics(e: &fauna_dev::engine::Engine, body: &str) -> Metrics {
    let r = run(e, body);
    assert!(r.status < 300, "{body} -> {} {}", r.status, r.body);
    r.metrics
}

fn m(compute: u64, read: u64, write: u64, bytes_read: u64, bytes_written: u64) -> Metrics {
    Metrics {
        compute_ops: compute,
        byte_read_ops: read,
        byte_write_ops: write,
        storage_bytes_read: bytes_read,
        storage_bytes_write: bytes_written,
    }
}

#[test]
fn pure_queries_cost_one_compute_op_and_nothing_else() {
    let e = engine();
    assert_eq!(metrics(&e, "1"), m(1, 0, 0, 0, 0));
    assert_eq!(metrics(&e, r#"{"add":[1,2]}"#), m(1, 0, 0, 0, 0));
}

#[test]
fn compute_ops_are_calls_over_fifty_rounded_up() {
    let e = engine();
    let items: Vec<String> = (0..100).map(|i| i.to_string()).collect();
    // One Map plus 100 Add calls: ceil(101 / 50) = 3.
    let q = format!(
        r#"{{"map":{{"lambda":"x","expr":{{"add":[{{"var":"x"}},1]}}}},"collection":[{}]}}"#,
        items.join(",")
    );
    assert_eq!(metrics(&e, &q).compute_ops, 3);
}

#[test]
fn document_reads_and_writes_are_billed_by_size() {
    let e = engine();
    setup_foo(&e);
    // {"data":{"a":1}}: 15 bytes of fields + 2 + 8 bytes of id = 25 bytes.
    let create = r#"{"create":{"ref":{"collection":"foo"},"id":"1"},"params":{"object":{"data":{"object":{"a":1}}}}}"#;
    assert_eq!(metrics(&e, create), m(1, 0, 1, 0, 25));
    let get = r#"{"get":{"ref":{"collection":"foo"},"id":"1"}}"#;
    assert_eq!(metrics(&e, get), m(1, 1, 0, 25, 0));
    let big = "x".repeat(5000);
    let update = format!(
        r#"{{"update":{{"ref":{{"collection":"foo"}},"id":"1"}},"params":{{"object":{{"data":{{"object":{{"b":"{big}"}}}}}}}}}}"#
    );
    // {"data":{"a":1,"b":"x…"}}: 5032 bytes → ceil(5032 / 1024) = 5 write ops.
    assert_eq!(metrics(&e, &update), m(1, 0, 5, 0, 5032));
    assert_eq!(metrics(&e, get), m(1, 2, 0, 5032, 0));
}

#[test]
fn set_reads_add_one_op_per_extra_partition() {
    let e = engine();
    setup_foo(&e);
    for i in 1..=3 {
        create_doc(&e, "foo", &i.to_string(), "{}");
    }
    // Three entries of 8 bytes over the 8 partitions of Documents: 1 + 7 read ops.
    let page = r#"{"paginate":{"documents":{"collection":"foo"}}}"#;
    assert_eq!(metrics(&e, page), m(1, 8, 0, 24, 0));
}

#[test]
fn rolled_back_writes_are_not_billed() {
    let e = engine();
    setup_foo(&e);
    let r = run(
        &e,
        r#"{"do":[{"create":{"ref":{"collection":"foo"},"id":"1"},"params":{"object":{}}},{"abort":"no"}]}"#,
    );
    assert_eq!(r.status, 400);
    assert_eq!(r.metrics, m(1, 0, 0, 0, 0));
}
