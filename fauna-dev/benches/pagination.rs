//! fauna-dev's storage and serving cost, measured on the issue-12 benchmark documents.
//!
//! Writes a dataset of `FAUNA_DEV_BENCH_DOCS` documents (default 100 000) shaped like
//! `scripts/bench`'s (~630 bytes of wire JSON each: strings, numbers, booleans, arrays, nested
//! objects, a ref, a time, a date, bytes) with a `[ts, ref]` index, loads it and prints:
//!
//! * memory: resident bytes per document after the load (`VmRSS` growth) and the peak (`VmHWM`);
//! * engine CPU per document served, calling `Engine::execute` directly (no transport), for
//!   `At(T, Map(Paginate(Documents(c), size, after), Lambda(x, Get(x))))`, refs-only
//!   `At(T, Paginate(Documents(c)))` and the `[ts, ref]` index pages, at page sizes 1 000 and
//!   10 000, with the response bytes per document and a checksum of every body (bodies must
//!   stay byte-identical across engine changes: compare the checksums);
//! * the gzip cost of those bodies (the server's `Compression::fast()`), separately;
//! * the whole-process CPU of walking the `Get` pages over HTTP/1.1 (server and client).
//!
//! Run: `cargo bench -p fauna-dev --bench pagination` (release build; `FAUNA_DEV_BENCH_DOCS=200000`
//! for the issue's memory figure). Figures are printed, never asserted.

use std::io::Write as _;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use bytes::Bytes;
use flate2::write::GzEncoder;
use flate2::Compression;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use serde::de::IgnoredAny;
use serde::Deserialize;
use serde_json::value::RawValue;

use fauna_dev::engine::{Engine, EngineOptions, Request};
use fauna_dev::server::{serve, ServerConfig};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Valid time of the first document (2023-11-14); document `i` is written at `BASE_TS + i`.
const BASE_TS: i64 = 1_700_000_000_000_000;

const WORDS: [&str; 18] = [
    "amber", "basil", "cedar", "delta", "ember", "fjord", "grove", "harbor", "iris", "juniper",
    "kelp", "lumen", "meadow", "nectar", "onyx", "pine", "quartz", "ridge",
];

/// A small deterministic generator (xorshift64*), so every run loads the same documents.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn word(&mut self) -> &'static str {
        WORDS[self.below(WORDS.len() as u64) as usize]
    }
    fn words(&mut self, k: usize, title: bool) -> String {
        let ws: Vec<String> = (0..k)
            .map(|_| {
                let w = self.word();
                if title {
                    let (a, b) = w.split_at(1);
                    a.to_uppercase() + b
                } else {
                    w.to_string()
                }
            })
            .collect();
        ws.join(" ")
    }
}

/// One dataset line: the shape of `document()` in `scripts/bench`.
fn document(rng: &mut Rng, i: u64) -> String {
    let name = rng.words(2, true);
    let email = format!("{}.{i}@example.com", rng.word());
    let age = 18 + rng.below(72);
    let score = rng.below(1_000_000) as f64 / 1000.0;
    let active = rng.below(10) < 7;
    let tags = [rng.word(), rng.word(), rng.word()];
    let street = format!("{} {} St", 1 + rng.below(998), rng.words(1, true));
    let city = rng.words(1, true);
    let zip = 10_000 + rng.below(89_999);
    let owner = 1 + rng.below(1_000_000);
    let secs = 1_600_000_000 + i;
    let created = chrono::DateTime::from_timestamp(secs as i64, 0)
        .map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_default();
    let born = format!(
        "19{}-0{}-1{}",
        50 + rng.below(49),
        1 + rng.below(8),
        rng.below(9)
    );
    let blob: Vec<u8> = (0..12).map(|_| rng.below(256) as u8).collect();
    let blob = base64::engine::general_purpose::STANDARD.encode(blob);
    let notes = rng.words(8, false);
    format!(
        concat!(
            r#"{{"id":"{id}","ts":{ts},"data":{{"name":"{name}","email":"{email}","age":{age},"#,
            r#""score":{score},"active":{active},"tags":["{t0}","{t1}","{t2}"],"#,
            r#""address":{{"street":"{street}","city":"{city}","zip":"{zip}"}},"#,
            r#""owner":{{"@ref":{{"id":"{owner}","collection":{{"@ref":{{"id":"users","#,
            r#""collection":{{"@ref":{{"id":"collections"}}}}}}}}}}}},"#,
            r#""created":{{"@ts":"{created}"}},"born":{{"@date":"{born}"}},"#,
            r#""blob":{{"@bytes":"{blob}"}},"notes":"{notes}"}}}}"#
        ),
        id = 100_000_000_000_000_000 + i,
        ts = BASE_TS + i as i64,
        t0 = tags[0],
        t1 = tags[1],
        t2 = tags[2],
        name = name,
        email = email,
        age = age,
        score = score,
        active = active,
        street = street,
        city = city,
        zip = zip,
        owner = owner,
        created = created,
        born = born,
        blob = blob,
        notes = notes,
    )
}

/// Writes the dataset folder; returns the average line length.
fn write_dataset(dir: &Path, docs: u64) -> Result<f64, BoxError> {
    std::fs::create_dir_all(dir.join("documents"))?;
    std::fs::write(
        dir.join("schema.json"),
        r#"{"collections":[{"name":"items","history_days":null}],
            "indexes":[{"name":"items_ts","source":"items","values":[{"field":"ts"},{"field":"ref"}]}]}"#,
    )?;
    let mut f = std::io::BufWriter::new(std::fs::File::create(
        dir.join("documents").join("items.jsonl"),
    )?);
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut bytes = 0;
    for i in 0..docs {
        let line = document(&mut rng, i);
        bytes += line.len();
        f.write_all(line.as_bytes())?;
        f.write_all(b"\n")?;
    }
    f.flush()?;
    Ok(bytes as f64 / docs.max(1) as f64)
}

/// A `/proc/self/status` figure in bytes (`VmRSS`, `VmHWM`).
fn proc_status(key: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(key))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<u64>().ok())
        })
        .map_or(0, |kb| kb * 1024)
}

/// CPU time of the calling thread.
fn thread_cpu() -> Duration {
    // SAFETY: clock_gettime fills the zeroed timespec; the clock id is always valid.
    let ts = unsafe {
        let mut ts: libc::timespec = std::mem::zeroed();
        libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts);
        ts
    };
    Duration::new(ts.tv_sec.max(0) as u64, ts.tv_nsec.max(0) as u32)
}

/// CPU time (user + system) of the whole process.
fn process_cpu() -> Duration {
    // SAFETY: getrusage fills the zeroed struct it is given; RUSAGE_SELF is always valid.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut usage);
        usage
    };
    let tv = |t: libc::timeval| {
        Duration::from_secs(t.tv_sec.max(0) as u64) + Duration::from_micros(t.tv_usec.max(0) as u64)
    };
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(borrow)]
    resource: Page<'a>,
}

#[derive(Deserialize)]
struct Page<'a> {
    #[serde(borrow)]
    after: Option<&'a RawValue>,
    data: Vec<IgnoredAny>,
}

/// What a walk is over.
#[derive(Clone, Copy)]
enum Kind {
    /// `Map(Paginate(Documents), Lambda(x, Get(x)))`.
    Get,
    /// `Paginate(Documents)`.
    Refs,
    /// `Paginate(Match(Index(items_ts)))`.
    Index,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Get => "Map(Paginate(Documents), Get)",
            Kind::Refs => "Paginate(Documents)",
            Kind::Index => "Paginate(Match(items_ts))",
        }
    }

    fn query(self, at: i64, size: usize, after: Option<&str>) -> String {
        let after = after
            .map(|a| format!(r#","after":{a}"#))
            .unwrap_or_default();
        let set = match self {
            Kind::Index => r#"{"match":{"index":"items_ts"}}"#,
            _ => r#"{"documents":{"collection":"items"}}"#,
        };
        let page = format!(r#"{{"paginate":{set},"size":{size}{after}}}"#);
        let expr = match self {
            Kind::Get => format!(
                r#"{{"map":{{"lambda":"x","expr":{{"get":{{"var":"x"}}}}}},"collection":{page}}}"#
            ),
            _ => page,
        };
        format!(r#"{{"at":{at},"expr":{expr}}}"#)
    }
}

/// The next page's cursor and the documents in a body.
fn parse_page(body: &[u8]) -> Result<(Option<String>, usize), BoxError> {
    let envelope: Envelope<'_> = serde_json::from_slice(body)?;
    Ok((
        envelope.resource.after.map(|a| a.get().to_owned()),
        envelope.resource.data.len(),
    ))
}

/// FNV-1a over every body of a walk, to compare the bytes across engine changes.
fn fnv(mut h: u64, bytes: &[u8]) -> u64 {
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x100_0000_01B3);
    }
    h
}

struct Walk {
    docs: usize,
    bytes: usize,
    engine_cpu: Duration,
    gzip_cpu: Duration,
    gzip_bytes: usize,
    checksum: u64,
}

/// Walks a whole set through `Engine::execute`, timing the engine and gzip separately.
fn walk_engine(engine: &Engine, kind: Kind, at: i64, size: usize) -> Result<Walk, BoxError> {
    let mut w = Walk {
        docs: 0,
        bytes: 0,
        engine_cpu: Duration::ZERO,
        gzip_cpu: Duration::ZERO,
        gzip_bytes: 0,
        checksum: 0xCBF2_9CE4_8422_2325,
    };
    let mut after: Option<String> = None;
    loop {
        let q = kind.query(at, size, after.as_deref());
        let req = Request {
            secret: Some("secret"),
            body: q.as_bytes(),
            last_seen_txn: None,
            api_version: "4",
            read_only: false,
            deadline: None,
        };
        let t0 = thread_cpu();
        let res = engine.execute(&req);
        w.engine_cpu += thread_cpu() - t0;
        if res.status != 200 {
            return Err(format!("status {}: {}", res.status, res.body).into());
        }
        let t1 = thread_cpu();
        let mut gz = GzEncoder::new(Vec::with_capacity(res.body.len() / 4), Compression::fast());
        gz.write_all(res.body.as_bytes())?;
        w.gzip_bytes += gz.finish()?.len();
        w.gzip_cpu += thread_cpu() - t1;
        w.bytes += res.body.len();
        w.checksum = fnv(w.checksum, res.body.as_bytes());
        let (next, n) = parse_page(res.body.as_bytes())?;
        w.docs += n;
        match next {
            Some(a) => after = Some(a),
            None => return Ok(w),
        }
    }
}

/// Walks the `Get` pages over HTTP/1.1; returns (documents, whole-process CPU).
async fn walk_http(
    sender: &mut SendRequest<Full<Bytes>>,
    at: i64,
    size: usize,
) -> Result<(usize, Duration), BoxError> {
    let cpu0 = process_cpu();
    let mut docs = 0;
    let mut after: Option<String> = None;
    loop {
        let req = hyper::Request::post("/")
            .header("host", "localhost")
            .header("authorization", "Bearer secret")
            .header("x-faunadb-api-version", "4")
            .body(Full::new(Bytes::from(Kind::Get.query(
                at,
                size,
                after.as_deref(),
            ))))?;
        sender.ready().await?;
        let res = sender.send_request(req).await?;
        if res.status() != 200 {
            return Err(format!("HTTP status {}", res.status()).into());
        }
        let body = res.into_body().collect().await?.to_bytes();
        let (next, n) = parse_page(&body)?;
        docs += n;
        match next {
            Some(a) => after = Some(a),
            None => return Ok((docs, process_cpu().saturating_sub(cpu0))),
        }
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), BoxError> {
    let docs: u64 = std::env::var("FAUNA_DEV_BENCH_DOCS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let dir = std::env::temp_dir().join(format!("fauna-dev-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let line = write_dataset(&dir, docs)?;

    let rss0 = proc_status("VmRSS:");
    let engine = Arc::new(Engine::new(EngineOptions::default()));
    let cpu0 = process_cpu();
    let loaded = engine.load_dataset(&dir);
    let load_cpu = process_cpu().saturating_sub(cpu0);
    let _ = std::fs::remove_dir_all(&dir);
    loaded.map_err(|e| e.to_string())?;
    let rss1 = proc_status("VmRSS:");
    let per_doc = rss1.saturating_sub(rss0) as f64 / docs as f64;
    println!(
        "fauna-dev benchmark: {docs} documents ({line:.0} B dataset lines), loaded in {:.1} CPU s",
        load_cpu.as_secs_f64()
    );
    println!(
        "memory: {per_doc:.0} B resident per document after the load; peak {:.0} MiB",
        proc_status("VmHWM:") as f64 / 1_048_576.0
    );

    let at = BASE_TS + docs as i64;
    println!(
        "{:<30} {:>6} {:>10} {:>10} {:>10} {:>10} {:>18}",
        "engine (no transport)",
        "size",
        "µs/doc",
        "bytes/doc",
        "gzip µs/d",
        "gzip B/d",
        "body checksum"
    );
    for kind in [Kind::Get, Kind::Refs, Kind::Index] {
        for size in [1_000, 10_000] {
            let w = walk_engine(&engine, kind, at, size)?;
            if w.docs as u64 != docs {
                return Err(
                    format!("{}: walked {} of {docs} documents", kind.name(), w.docs).into(),
                );
            }
            let n = w.docs as f64;
            println!(
                "{:<30} {:>6} {:>10.2} {:>10.0} {:>10.2} {:>10.0} {:>18x}",
                kind.name(),
                size,
                w.engine_cpu.as_secs_f64() * 1e6 / n,
                w.bytes as f64 / n,
                w.gzip_cpu.as_secs_f64() * 1e6 / n,
                w.gzip_bytes as f64 / n,
                w.checksum,
            );
        }
    }

    let server = serve(ServerConfig::new().port(0).gzip(false), engine).await?;
    let stream = tokio::net::TcpStream::connect(server.addr()).await?;
    stream.set_nodelay(true)?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(conn);
    for size in [1_000, 10_000] {
        let (n, cpu) = walk_http(&mut sender, at, size).await?;
        println!(
            "HTTP/1.1 Get pages of {size}: {:.2} µs/doc process CPU (server + client parse)",
            cpu.as_secs_f64() * 1e6 / n as f64
        );
    }
    server.shutdown().await;
    Ok(())
}
