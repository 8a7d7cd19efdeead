//! Pagination throughput of fauna-dev over HTTP.
//!
//! Starts fauna-dev in-process on a free port, loads `FAUNA_DEV_BENCH_DOCS` documents (default
//! 100 000, ~400 bytes each, varied types) into collection `c`, then walks
//! `Map(Paginate(Documents(Collection("c")), size, after), Lambda("x", Get(Var("x"))))`
//! page by page over one keep-alive HTTP/1.1 connection for page sizes 1000, 64 and 100 000.
//!
//! Run: `cargo bench -p fauna-dev --bench pagination` (release build). Figures are printed,
//! never asserted. CPU time is the whole process (server and client share it).

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper::Request;
use hyper_util::rt::TokioIo;
use serde::de::IgnoredAny;
use serde::Deserialize;
use serde_json::value::RawValue;

use fauna_dev::engine::{Engine, EngineOptions};
use fauna_dev::server::{serve, ServerConfig};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

const LOAD_BATCH: usize = 1000;

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

struct Client {
    sender: SendRequest<Full<Bytes>>,
}

impl Client {
    async fn connect(addr: std::net::SocketAddr) -> Result<Self, BoxError> {
        let stream = tokio::net::TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
        tokio::spawn(conn);
        Ok(Client { sender })
    }

    /// POSTs a query; returns the status and the body.
    async fn query(&mut self, body: String) -> Result<(u16, Bytes), BoxError> {
        let req = Request::post("/")
            .header("host", "localhost")
            .header("authorization", "Bearer secret")
            .header("x-faunadb-api-version", "4")
            .body(Full::new(Bytes::from(body)))?;
        self.sender.ready().await?;
        let res = self.sender.send_request(req).await?;
        let status = res.status().as_u16();
        Ok((status, res.into_body().collect().await?.to_bytes()))
    }

    async fn ok(&mut self, body: String) -> Result<Bytes, BoxError> {
        let (status, bytes) = self.query(body).await?;
        if !(200..300).contains(&status) {
            return Err(format!("status {status}: {}", String::from_utf8_lossy(&bytes)).into());
        }
        Ok(bytes)
    }
}

/// A `Create` of one document, about 400 bytes as `Get` renders it (ref and ts included),
/// with strings, integers, doubles, booleans, arrays, nested objects, a ref, a time and a date.
fn document(i: usize) -> String {
    let friend = if i > 0 { i - 1 } else { 0 };
    format!(
        concat!(
            r#"{{"create":{{"collection":"c"}},"params":{{"object":{{"data":{{"object":{{"#,
            r#""name":"user-{i:08}","age":{age},"score":{score},"active":{active},"#,
            r#""tags":["a","b"],"address":{{"object":{{"city":"Berlin","#,
            r#""geo":{{"object":{{"lat":52.52{i},"lng":13.40{i}}}}}}}}},"#,
            r#""friend":{{"@ref":{{"id":"{friend}","collection":{{"@ref":{{"id":"c","#,
            r#""collection":{{"@ref":{{"id":"collections"}}}}}}}}}}}},"#,
            r#""seen":{{"@ts":"2022-07-18T23:58:03.{ms:03}Z"}},"born":{{"@date":"1990-01-01"}}"#,
            r#"}}}}}}}}}}"#
        ),
        i = i,
        age = 18 + i % 70,
        score = (i as f64) * 0.37 + 0.5,
        active = i.is_multiple_of(2),
        friend = friend,
        ms = i % 1000,
    )
}

async fn load(client: &mut Client, docs: usize) -> Result<(), BoxError> {
    client
        .ok(r#"{"create_collection":{"object":{"name":"c"}}}"#.to_owned())
        .await?;
    let mut i = 0;
    while i < docs {
        let end = (i + LOAD_BATCH).min(docs);
        let creates: Vec<String> = (i..end).map(document).collect();
        client
            .ok(format!(r#"{{"do":[{}]}}"#, creates.join(",")))
            .await?;
        i = end;
    }
    Ok(())
}

fn page_query(size: usize, after: Option<&str>) -> String {
    let after = after
        .map(|a| format!(r#","after":{a}"#))
        .unwrap_or_default();
    format!(
        concat!(
            r#"{{"map":{{"lambda":"x","expr":{{"get":{{"var":"x"}}}}}},"#,
            r#""collection":{{"paginate":{{"documents":{{"collection":"c"}}}},"size":{size}{after}}}}}"#
        ),
        size = size,
        after = after
    )
}

struct Walk {
    docs: usize,
    pages: usize,
    bytes: usize,
    elapsed: Duration,
    cpu: Duration,
}

async fn walk(client: &mut Client, size: usize) -> Result<Walk, BoxError> {
    let cpu0 = cpu_time();
    let started = Instant::now();
    let (mut docs, mut pages, mut bytes) = (0, 0, 0);
    let mut after: Option<String> = None;
    loop {
        let body = client.ok(page_query(size, after.as_deref())).await?;
        let envelope: Envelope<'_> = serde_json::from_slice(&body)?;
        docs += envelope.resource.data.len();
        pages += 1;
        bytes += body.len();
        match envelope.resource.after {
            Some(cursor) => after = Some(cursor.get().to_owned()),
            None => break,
        }
    }
    Ok(Walk {
        docs,
        pages,
        bytes,
        elapsed: started.elapsed(),
        cpu: cpu_time().saturating_sub(cpu0),
    })
}

/// User + system CPU time of the whole process.
fn cpu_time() -> Duration {
    let usage = rusage();
    let tv = |t: libc::timeval| {
        Duration::from_secs(t.tv_sec.max(0) as u64) + Duration::from_micros(t.tv_usec.max(0) as u64)
    };
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

/// Peak resident set size in MiB.
fn peak_rss_mib() -> f64 {
    rusage().ru_maxrss as f64 / 1024.0
}

fn rusage() -> libc::rusage {
    // SAFETY: getrusage fills the zeroed struct it is given; RUSAGE_SELF is always valid.
    unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut usage);
        usage
    }
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let docs: usize = std::env::var("FAUNA_DEV_BENCH_DOCS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let engine = Arc::new(Engine::new(EngineOptions::default()));
    let server = serve(ServerConfig::new().port(0).gzip(false), engine).await?;
    let mut client = Client::connect(server.addr()).await?;

    let started = Instant::now();
    load(&mut client, docs).await?;
    let load_secs = started.elapsed().as_secs_f64();
    println!(
        "fauna-dev pagination benchmark: {docs} documents loaded in {load_secs:.1} s ({:.0} docs/s)",
        docs as f64 / load_secs
    );
    println!(
        "{:>9} {:>7} {:>12} {:>9} {:>10} {:>16}",
        "page size", "pages", "docs/s", "MB/s", "bytes/doc", "CPU s / M docs"
    );
    for size in [1000, 64, 100_000] {
        let w = walk(&mut client, size).await?;
        if w.docs != docs {
            return Err(format!("page size {size}: walked {} of {docs} documents", w.docs).into());
        }
        let secs = w.elapsed.as_secs_f64();
        println!(
            "{:>9} {:>7} {:>12.0} {:>9.1} {:>10.0} {:>16.2}",
            size,
            w.pages,
            w.docs as f64 / secs,
            w.bytes as f64 / secs / 1e6,
            w.bytes as f64 / w.docs as f64,
            w.cpu.as_secs_f64() / (w.docs as f64 / 1e6),
        );
    }
    println!("peak RSS: {:.0} MiB", peak_rss_mib());
    server.shutdown().await;
    Ok(())
}
