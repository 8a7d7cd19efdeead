//! The reference limit of the throughput benchmark (`scripts/bench`): a plain
//! `serde_json::Value` parse of the very bytes Fauna sent for a collection's pages, and
//! fauna-sync's own wire decode of them, in CPU seconds and MB/s.
//!
//! Run: `PARSE_LIMIT_FILE=pages.jsonl PARSE_LIMIT_DOCS=N cargo bench --bench parse_limit`
//! (one response body per line, as `scripts/bench` saves them). Prints one JSON line.

use std::time::Instant;

fn cpu_seconds() -> f64 {
    // getrusage through /proc (no libc dependency): utime + stime of this process.
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // Fields after the command: state is 0, utime 11, stime 12 (clock ticks, 100 per second).
    (ticks(11) + ticks(12)) / 100.0
}

fn main() {
    let Some(path) = std::env::var_os("PARSE_LIMIT_FILE") else {
        eprintln!("set PARSE_LIMIT_FILE (see benches/parse_limit.rs)");
        return;
    };
    let docs: f64 = std::env::var("PARSE_LIMIT_DOCS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0);
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("cannot read {}: {e}", std::path::Path::new(&path).display());
            return;
        }
    };
    let lines: Vec<&[u8]> = bytes
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .collect();
    let mb = bytes.len() as f64 / 1e6;
    let measure = |f: &dyn Fn(&[u8]) -> bool| {
        let (cpu, wall) = (cpu_seconds(), Instant::now());
        let ok = lines.iter().filter(|l| f(l)).count();
        assert_eq!(ok, lines.len(), "every body parses");
        (cpu_seconds() - cpu, wall.elapsed().as_secs_f64())
    };
    let (json_cpu, json_wall) =
        measure(&|l| serde_json::from_slice::<serde_json::Value>(l).is_ok());
    let (wire_cpu, wire_wall) = measure(&|l| fauna_sync::fauna::decode(l).is_ok());
    let per_m = |cpu: f64| if docs > 0.0 { cpu / docs * 1e6 } else { 0.0 };
    println!(
        "{}",
        serde_json::json!({
            "mb": mb,
            "serde_json_value": {"cpu_s": json_cpu, "mb_per_s": mb / json_wall.max(1e-9), "cpu_s_per_m_docs": per_m(json_cpu)},
            "fauna_wire_decode": {"cpu_s": wire_cpu, "mb_per_s": mb / wire_wall.max(1e-9), "cpu_s_per_m_docs": per_m(wire_cpu)},
        })
    );
}
