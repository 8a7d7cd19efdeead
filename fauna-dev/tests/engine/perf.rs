//! Throughput check (run with `cargo test --release -p fauna-dev --test engine perf -- --ignored --nocapture`).

use std::time::Instant;

use crate::support::*;

#[test]
#[ignore]
fn map_get_over_documents_pages() {
    let dir = std::env::temp_dir().join(format!("fauna-dev-perf-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("documents")).unwrap();
    std::fs::write(dir.join("schema.json"), r#"{"collections":[{"name":"c"}]}"#).unwrap();
    let mut lines = String::new();
    let filler = "x".repeat(300);
    for i in 0..100_000 {
        lines.push_str(&format!(
            "{{\"id\":\"{}\",\"ts\":1000000,\"data\":{{\"n\":{i},\"name\":\"doc {i}\",\"f\":1.5,\"ok\":true,\"text\":\"{filler}\"}}}}\n",
            1_000_000 + i
        ));
    }
    std::fs::write(dir.join("documents/c.jsonl"), lines).unwrap();
    let e = engine();
    e.load_dataset(&dir).unwrap();
    let base = r#"{"map":{"lambda":"x","expr":{"get":{"var":"x"}}},"collection":{"paginate":{"documents":{"collection":"c"}},"size":1000"#;
    let start = Instant::now();
    let mut after: Option<String> = None;
    let mut docs = 0;
    loop {
        let q = match &after {
            Some(a) => format!(r#"{base},"after":{a}}}}}"#),
            None => format!("{base}}}}}"),
        };
        let r = run(&e, &q);
        assert_eq!(r.status, 200);
        docs += r.body.matches(r#""data":{"n""#).count();
        after = r.body.find(r#""after":"#).map(|i| {
            let rest = &r.body[i + 8..];
            rest[..rest.find(r#","data":"#).unwrap()].to_string()
        });
        if after.is_none() {
            break;
        }
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "{docs} docs in {secs:.3}s = {:.0} docs/s",
        docs as f64 / secs
    );
    assert_eq!(docs, 100_000);
}
