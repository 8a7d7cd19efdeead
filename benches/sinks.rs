//! Sink throughput: the same ~100k records (~400 bytes of export JSON each: nested objects,
//! refs, timestamps) written as one batch in every format, side by side.
//!
//! Run: `cargo bench -p fauna-sync --bench sinks` (rows via `SINK_BENCH_ROWS`, default 100000).
//! Each figure is the best of 3 runs and includes the commit (fsync, rename, directory fsync).
//! MB/s is plain-JSONL bytes per second, so the formats compare on the same input size.

use std::time::{Duration, Instant};

use fauna_sync::export::{ColumnType, ExportJson, Record, RecordJson, RecordSchema};
use fauna_sync::fauna::{decode, Value};
use fauna_sync::sink::{BatchWriter, Compression, FileFormat, SinkError, WriteOptions};

const RUNS: usize = 3;

/// xorshift64: deterministic, dependency-free.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }
}

const FIRST: &[&str] = &[
    "ann", "bob", "carol", "dave", "erin", "frank", "grace", "mallory",
];
const LAST: &[&str] = &["smith", "jones", "thomas", "garcia", "miller", "davis"];
const CITY: &[&str] = &["Scranton", "Utica", "Boise", "Tulsa", "Fresno", "Akron"];
const TAGS: &[&str] = &["beta", "vip", "trial", "churned", "eu", "us"];

fn document(rng: &mut Rng, i: u64) -> Record {
    let first = rng.pick(FIRST);
    let last = rng.pick(LAST);
    let tags: Vec<String> = (0..=rng.below(3))
        .map(|_| format!("\"{}\"", rng.pick(TAGS)))
        .collect();
    let secs = 1_600_000_000 + rng.below(100_000_000);
    let wire = format!(
        concat!(
            r#"{{"name":"{first} {last}","email":"{first}.{last}{i}@example.com","active":{active},"#,
            r#""score":{score}.{frac},"created":{{"@ts":"{created}"}},"#,
            r#""owner":{{"@ref":{{"id":"{owner}","collection":{{"@ref":{{"id":"players","collection":{{"@ref":{{"id":"collections"}}}}}}}}}}}},"#,
            r#""tags":[{tags}],"address":{{"street":"{num} Oak St","city":"{city}","zip":"{zip:05}","#,
            r#""geo":{{"lat":{lat}.{latf},"lon":-{lon}.{lonf}}}}}}}"#
        ),
        first = first,
        last = last,
        i = i,
        active = rng.below(2) == 0,
        score = rng.below(100),
        frac = rng.below(100),
        created = iso(secs),
        owner = 300_000_000_000_000_000 + rng.below(1_000_000),
        tags = tags.join(","),
        num = rng.below(9999),
        city = rng.pick(CITY),
        zip = rng.below(100_000),
        lat = rng.below(90),
        latf = rng.below(10_000),
        lon = rng.below(180),
        lonf = rng.below(10_000),
    );
    let data = match decode(wire.as_bytes()) {
        Ok(v) => v,
        Err(e) => panic!("bench document does not decode: {e}: {wire}"),
    };
    let fields = data.as_object().cloned().unwrap_or_default();
    let col = |k: &str| fields.get(k).cloned().unwrap_or(Value::Null);
    Record {
        id: (337_567_897_171_787_849 + i).to_string(),
        ts: secs as i64 * 1_000_000 + rng.below(1_000_000) as i64,
        columns: vec![col("email"), col("score"), col("active")],
        data: Some(ExportJson::of(&data)),
        deletion: None,
        ttl: None,
    }
}

/// `YYYY-MM-DDTHH:MM:SSZ` for seconds since the epoch (civil-from-days).
fn iso(secs: u64) -> String {
    let (days, rem) = ((secs / 86_400) as i64, secs % 86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

fn main() -> Result<(), SinkError> {
    let rows: u64 = std::env::var("SINK_BENCH_ROWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let records: Vec<Record> = (0..rows).map(|i| document(&mut rng, i)).collect();
    let schema = RecordSchema {
        data_column: true,
        columns: vec![
            ("email".into(), ColumnType::String),
            ("score".into(), ColumnType::Number),
            ("active".into(), ColumnType::Boolean),
        ],
        deletion_column: None,
        detected_column: None,
        typed: None,
    };
    let root = match tempfile::tempdir() {
        Ok(d) => d,
        Err(e) => panic!("no temporary directory: {e}"),
    };

    let jsonl = |compression| FileFormat::Jsonl { compression };
    let level = |gzip_level, zstd_level, parquet_zstd_level| WriteOptions {
        gzip_level,
        zstd_level,
        parquet_zstd_level,
        ..WriteOptions::default()
    };
    let cases = [
        ("jsonl", jsonl(Compression::None), WriteOptions::default()),
        ("jsonl.gz (6)", jsonl(Compression::Gzip), level(6, 1, 1)),
        ("jsonl.gz (1)", jsonl(Compression::Gzip), level(1, 1, 1)),
        ("jsonl.zst (1)", jsonl(Compression::Zstd), level(6, 1, 1)),
        ("jsonl.zst (3)", jsonl(Compression::Zstd), level(6, 3, 1)),
        ("parquet zstd(1)", FileFormat::Parquet, level(6, 1, 1)),
        ("parquet zstd(3)", FileFormat::Parquet, level(6, 1, 3)),
    ];

    // Serialization alone, into memory: what the file formats add on top of it.
    let mut encode_only = Duration::MAX;
    let mut memory = Vec::new();
    for _ in 0..RUNS {
        memory.clear();
        let start = Instant::now();
        for record in &records {
            let line = RecordJson {
                schema: &schema,
                record,
            };
            if let Err(e) = serde_json::to_writer(&mut memory, &line) {
                panic!("serializing into memory failed: {e}");
            }
            memory.push(b'\n');
        }
        encode_only = encode_only.min(start.elapsed());
    }

    let mut source_bytes = 0u64;
    println!(
        "{rows} records; best of {RUNS}; MB/s = plain JSONL MB per second; output under {}",
        root.path().display()
    );
    if let Some(record) = records.first() {
        let line = serde_json::to_string(&RecordJson {
            schema: &schema,
            record,
        });
        println!("sample line: {}", line.unwrap_or_default());
    }
    println!(
        "{:<18} {:>12} {:>10} {:>12} {:>8}",
        "format", "rows/s", "MB/s", "file MB", "ratio"
    );
    let secs = encode_only.as_secs_f64();
    println!(
        "{:<18} {:>12.0} {:>10.1} {:>12} {:>8}",
        "(JSONL in memory)",
        rows as f64 / secs,
        memory.len() as f64 / secs / 1e6,
        "-",
        "-"
    );
    for (seq, (label, format, options)) in cases.into_iter().enumerate() {
        let writer = BatchWriter::with_options(root.path(), format, options)?;
        let mut best = Duration::MAX;
        let mut bytes = 0;
        for _ in 0..RUNS {
            let start = Instant::now();
            let f = writer.write_batch("bench", seq as u64, &schema, &records)?;
            best = best.min(start.elapsed());
            bytes = f.bytes;
        }
        if source_bytes == 0 {
            source_bytes = bytes; // the first case is plain JSONL
            println!(
                "(avg {:.0} bytes per JSONL line)",
                source_bytes as f64 / rows as f64
            );
        }
        let secs = best.as_secs_f64();
        println!(
            "{:<18} {:>12.0} {:>10.1} {:>12.2} {:>8.2}",
            label,
            rows as f64 / secs,
            source_bytes as f64 / secs / 1e6,
            bytes as f64 / 1e6,
            source_bytes as f64 / bytes as f64
        );
    }
    Ok(())
}
