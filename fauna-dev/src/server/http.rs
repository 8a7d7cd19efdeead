//! One HTTP request: routing, validation, auth, faults, evaluation, response headers.
//!
//! Order of checks, as on the real server: body size (413), request headers (400), path (404),
//! `Authorization` (401), method (405); then injected faults, then the engine.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use bytes::BytesMut;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::header::{HeaderName, HeaderValue, AUTHORIZATION, CONTENT_LENGTH};
use hyper::{Method, Request, Response};

use super::faults::{Fault, FaultInjector};
use super::headers::{self, RequestParams};
use super::response::{finish, Finish, Reply};
use super::{auth, gzip, query_string};
use crate::engine::{self, Engine};

/// How much of an oversized body is read and discarded before answering 413.
const DRAIN_LIMIT: usize = 64 * 1024 * 1024;

/// State shared by every connection.
pub(crate) struct Shared {
    pub(crate) engine: Arc<Engine>,
    pub(crate) latency: Duration,
    pub(crate) faults: Option<FaultInjector>,
    pub(crate) gzip: bool,
    pub(crate) max_body: usize,
    /// The latest `x-txn-time` the engine reported, for transport-made responses.
    pub(crate) last_txn_time: AtomicI64,
}

impl Shared {
    fn txn_time(&self, reply: &Reply) -> i64 {
        if let Some(t) = reply.txn_time.filter(|t| *t > 0) {
            self.last_txn_time.fetch_max(t, Ordering::Relaxed);
            return t;
        }
        match self.last_txn_time.load(Ordering::Relaxed) {
            0 => now_micros(),
            t => t,
        }
    }
}

/// The request must be answered by closing the connection (an injected `drop` fault or a
/// client that went away mid-body).
#[derive(Debug, thiserror::Error)]
#[error("connection dropped")]
pub(crate) struct Dropped;

/// Serves one request.
pub(crate) async fn handle(
    shared: Arc<Shared>,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Dropped> {
    let started = Instant::now();
    let method = req.method().clone();
    let gzip = shared.gzip && gzip::accepted(req.headers());
    let (reply, bytes_in) = route(&shared, req, started).await?;
    tracing::debug!(%method, status = reply.status, ms = started.elapsed().as_millis() as u64, "request");
    let ctx = Finish {
        txn_time: shared.txn_time(&reply),
        query_time_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        bytes_in,
        gzip,
    };
    // Artificial network latency: not part of `x-query-time`.
    if !shared.latency.is_zero() {
        tokio::time::sleep(shared.latency).await;
    }
    Ok(finish(reply, &ctx))
}

/// Where a path leads.
enum Route {
    Query { post_only: bool },
    Ping,
    NotFound,
}

async fn route(
    shared: &Shared,
    req: Request<Incoming>,
    started: Instant,
) -> Result<(Reply, usize), Dropped> {
    let (parts, body) = req.into_parts();
    let body = match read_body(&parts.headers, body, shared.max_body).await? {
        Ok(body) => body,
        Err(too_large) => return Ok((too_large, 0)),
    };
    let bytes_in = body.len();
    let params = match headers::parse(&parts.headers) {
        Ok(p) => p,
        Err(e) => {
            return Ok((
                Reply::plain_error(400, "bad request", &e.to_string()),
                bytes_in,
            ))
        }
    };
    let route = match parts.uri.path() {
        "/" | "" => Route::Query { post_only: false },
        "/linearized" => Route::Query { post_only: true },
        "/ping" => Route::Ping,
        _ => Route::NotFound,
    };
    let mut reply = match route {
        Route::NotFound => Reply::not_found(),
        Route::Ping => ping(&parts.method, parts.uri.query()),
        Route::Query { post_only } => {
            let secret = auth::secret(parts.headers.get(AUTHORIZATION));
            let allowed = parts.method == Method::POST || !post_only && parts.method == Method::GET;
            match secret {
                None => Reply::unauthorized(),
                Some(secret) if !allowed => {
                    // Like the server: an unknown secret is a 401 before the method is judged.
                    let run = Run {
                        started,
                        read_only: true,
                    };
                    let probe =
                        evaluate(shared, secret, Bytes::from_static(b"null"), &params, run).await;
                    match probe.status {
                        401 => probe,
                        _ if post_only => Reply::method_not_allowed("POST"),
                        _ => Reply::method_not_allowed("GET, POST"),
                    }
                }
                Some(secret) => {
                    let read_only = parts.method == Method::GET;
                    let run = Run { started, read_only };
                    let query = if read_only {
                        Bytes::from(query_string::param(parts.uri.query(), "q").unwrap_or_default())
                    } else {
                        body
                    };
                    match shared.faults.as_ref().and_then(|f| f.draw_for(&query)) {
                        Some(Fault::Dropped) => return Err(Dropped),
                        Some(fault) => injected(fault),
                        None => evaluate(shared, secret, query, &params, run).await,
                    }
                }
            }
        }
    };
    if let Some(value) = params.tags.and_then(|t| HeaderValue::from_str(&t).ok()) {
        reply = reply.with_header(HeaderName::from_static(super::tags::HEADER), value);
    }
    Ok((reply, bytes_in))
}

/// Reads the whole body, or answers 413 when it exceeds `limit`.
///
/// An oversized body is still read (and discarded, up to [`DRAIN_LIMIT`]) so that the client
/// receives the 413 instead of a connection reset while it is still sending.
async fn read_body(
    headers: &hyper::HeaderMap,
    mut body: Incoming,
    limit: usize,
) -> Result<Result<Bytes, Reply>, Dropped> {
    let declared = headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    let mut buf = BytesMut::with_capacity(declared.map_or(0, |n| n.min(limit as u64) as usize));
    let mut seen = 0usize;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|_| Dropped)?;
        if let Ok(data) = frame.into_data() {
            seen = seen.saturating_add(data.len());
            if seen <= limit {
                buf.extend_from_slice(&data);
            } else if seen > DRAIN_LIMIT {
                break;
            }
        }
    }
    if seen > limit {
        return Ok(Err(Reply::plain_error(
            413,
            "request too large",
            "Request entity is too large",
        )));
    }
    Ok(Ok(buf.freeze()))
}

/// `GET /ping[?scope=…]`: always healthy.
fn ping(method: &Method, query: Option<&str>) -> Reply {
    if method != Method::GET && method != Method::HEAD {
        return Reply::method_not_allowed("GET");
    }
    let scope = query_string::param(query, "scope");
    let scope = match scope.as_deref().unwrap_or(b"write") {
        b"all" => "all",
        b"write" | b"global" => "write",
        b"read" | b"local" => "read",
        _ => "node",
    };
    Reply::resource_str(&format!("Scope {scope} is OK"))
}

/// The response to an injected fault (other than a dropped connection).
fn injected(fault: Fault) -> Reply {
    match fault {
        Fault::RateLimited => {
            Reply::plain_error(429, "too many requests", "Rate limit for read exceeded")
                .with_header(
                    HeaderName::from_static("x-rate-limited-ops"),
                    HeaderValue::from_static("read"),
                )
        }
        Fault::TooLarge => {
            Reply::plain_error(413, "request too large", "Request entity is too large")
        }
        Fault::TimedOut | Fault::Dropped => Reply::plain_error(503, "time out", "Read timed out"),
    }
}

/// The real server's query timeout when `X-Query-Timeout` is absent (`DefaultQueryTimeout`).
const DEFAULT_QUERY_TIMEOUT: Duration = Duration::from_secs(120);

/// How a query is run: its arrival (the timeout counts from there) and whether it came by GET.
#[derive(Clone, Copy)]
struct Run {
    started: Instant,
    read_only: bool,
}

/// Runs the query on the blocking pool.
async fn evaluate(
    shared: &Shared,
    secret: String,
    body: Bytes,
    params: &RequestParams,
    run: Run,
) -> Reply {
    let engine = Arc::clone(&shared.engine);
    let api_version = params.api_version;
    let last_seen_txn = params.last_seen_txn;
    let deadline = run
        .started
        .checked_add(params.query_timeout.unwrap_or(DEFAULT_QUERY_TIMEOUT));
    let task = tokio::task::spawn_blocking(move || {
        engine.execute(&engine::Request {
            secret: Some(&secret),
            body: &body,
            last_seen_txn,
            api_version,
            read_only: run.read_only,
            deadline,
        })
    });
    match task.await {
        Ok(res) => Reply::engine(res.status, res.body, res.txn_time, res.metrics),
        Err(e) => {
            tracing::error!(error = %e, "the engine failed while evaluating a query");
            Reply::plain_error(
                500,
                "internal server error",
                "The query failed inside fauna-dev.",
            )
        }
    }
}

fn now_micros() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}
