//! The FQL v4 HTTP client: one `POST /` per query, with Fauna's headers, typed errors,
//! bounded, jittered exponential retries for transient failures, an AIMD limit of queries in
//! flight ([`super::limiter`]) and the page-size pacers of its read streams ([`super::pacing`]).

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use fauna_wire::{decode, Expr, Value};

use backon::Retryable;

use super::backoff::{capped, parse_retry_after};

use super::error::{ErrorDetail, FaunaError};
use super::limiter::{LimitStats, Limiter, DEFAULT_MAX_CONCURRENCY};
use super::pacing::{Pacer, PacerStats, PAGE_TIME_TARGET};
use super::secret::Secret;
use super::transport::{classify, TransportFailure};

/// How transient failures are retried.
#[derive(Clone, Debug, PartialEq)]
pub struct RetryPolicy {
    /// Retries after the first attempt (0 = no retry).
    pub max_retries: usize,
    /// Delay before the first retry; doubles each time, with jitter.
    pub min_delay: Duration,
    /// Upper bound of one delay, jitter and the server's `Retry-After` included
    /// ([`super::backoff`]).
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_retries: 8,
            min_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(20),
        }
    }
}

/// Where and how to connect.
#[derive(Clone, Debug)]
pub struct ClientOptions {
    /// Base URL, e.g. `https://db.fauna.com:443`.
    pub endpoint: String,
    /// The secret (Bearer auth).
    pub secret: Secret,
    /// Sent as `X-Query-Timeout`; the HTTP request itself times out a little later.
    pub query_timeout: Duration,
    /// Retries of transient failures.
    pub retry: RetryPolicy,
}

/// A successful query's result and what it cost.
#[derive(Clone, Debug, PartialEq)]
pub struct Measured<T = Value> {
    /// The response's `resource`, as `T` reads it.
    pub value: T,
    /// Response body bytes (after decompression).
    pub bytes: u64,
    /// Time from sending the request to the end of the response body (the successful attempt).
    pub elapsed: Duration,
}

/// What the body of a successful response is read into. It is read on the task that receives
/// the body, so the pages of concurrent reads are decoded in parallel with each other and with
/// the caller.
pub trait ResponseBody: Sized + Send + 'static {
    /// Reads the body of a response with the 2xx `status`.
    fn read(body: &[u8], status: u16) -> Result<Self, FaunaError>;
}

impl ResponseBody for Value {
    /// The body's `resource`, decoded.
    fn read(body: &[u8], status: u16) -> Result<Self, FaunaError> {
        resource(body, status)
    }
}

/// An FQL v4 client. Cheap to share by reference across tasks.
pub struct FaunaClient {
    http: reqwest::Client,
    opts: ClientOptions,
    last_txn: AtomicI64,
    retries: AtomicU64,
    backoffs: AtomicU64,
    queries: AtomicU64,
    /// Queries answered before the first page of data was asked for (`mark_data_page`).
    before_data: AtomicU64,
    data_started: std::sync::atomic::AtomicBool,
    read_ops: AtomicU64,
    limiter: Limiter,
    pacers: Mutex<HashMap<String, Arc<Pacer>>>,
    page_time_target: Mutex<Duration>,
    page_byte_budget: std::sync::atomic::AtomicU64,
}

impl FaunaClient {
    /// Builds a client (no network traffic yet).
    pub fn new(opts: ClientOptions) -> Result<Self, FaunaError> {
        let http = reqwest::Client::builder()
            .timeout(opts.query_timeout + Duration::from_secs(10))
            .connect_timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| FaunaError::Transport {
                endpoint: opts.endpoint.clone(),
                message: format!("cannot set up the HTTP client: {e}"),
            })?;
        Ok(FaunaClient {
            http,
            opts,
            last_txn: AtomicI64::new(0),
            retries: AtomicU64::new(0),
            backoffs: AtomicU64::new(0),
            queries: AtomicU64::new(0),
            before_data: AtomicU64::new(0),
            data_started: std::sync::atomic::AtomicBool::new(false),
            read_ops: AtomicU64::new(0),
            limiter: Limiter::new(DEFAULT_MAX_CONCURRENCY),
            pacers: Mutex::new(HashMap::new()),
            page_time_target: Mutex::new(PAGE_TIME_TARGET),
            page_byte_budget: std::sync::atomic::AtomicU64::new(super::pacing::PAGE_BYTE_BUDGET),
        })
    }

    /// Sets the most queries in flight at once (at least 1; default 8). The limit starts
    /// there, halves on each burst of 429 / 503 "too many pending" and grows back by one
    /// after as many successful queries as the limit.
    pub fn set_max_concurrency(&self, max: usize) {
        self.limiter.set_max(max);
    }

    /// The concurrency limit's counters (for the run summary).
    pub fn concurrency(&self) -> LimitStats {
        self.limiter.stats()
    }

    /// Counts a query asked again by its caller (a page re-asked smaller after a too-large
    /// failure) as a retry, so that every failed attempt is one retry in the run summary.
    pub fn count_retry(&self) {
        self.retries.fetch_add(1, Ordering::Relaxed);
    }

    /// Retries that waited after Fauna said it was overloaded (429, 503 "too many pending").
    pub fn overload_backoffs(&self) -> u64 {
        self.backoffs.load(Ordering::Relaxed)
    }

    /// The pacer of the read stream `stream` (e.g. `documents:users`) that starts at `start`
    /// and is pinned when `fixed`: one per stream and client, so a stream's partitions and
    /// its later pages share what was learned.
    pub fn pacer(&self, stream: &str, start: u32, fixed: bool) -> Arc<Pacer> {
        let key = format!("{stream}/{start}/{fixed}");
        let target = *self
            .page_time_target
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        let mut pacers = self.pacers.lock().unwrap_or_else(|p| p.into_inner());
        Arc::clone(pacers.entry(key).or_insert_with(|| {
            let budget = self.page_byte_budget.load(Ordering::Relaxed);
            Arc::new(Pacer::with_limits(start, fixed, target, budget))
        }))
    }

    /// The time a page should take at most, for pacers made from now on (default 1 s): a
    /// longer target lets pages grow on a slow link, and makes page sizes in tests independent
    /// of the machine's speed.
    pub fn set_page_time_target(&self, target: Duration) {
        *self
            .page_time_target
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = target;
    }

    /// What the page sizes of every read stream did: the largest size reached and the
    /// changes, summed over the streams (for the run summary).
    pub fn paging(&self) -> PacerStats {
        self.paging_of(|_| true)
    }

    /// [`FaunaClient::paging`] of the read streams whose name (`kind:collection`, as given to
    /// [`FaunaClient::pacer`]) `include` accepts.
    pub fn paging_of(&self, include: impl Fn(&str) -> bool) -> PacerStats {
        let pacers = self.pacers.lock().unwrap_or_else(|p| p.into_inner());
        pacers
            .iter()
            .filter(|(key, _)| include(key.rsplitn(3, '/').last().unwrap_or_default()))
            .map(|(_, p)| p.stats())
            .fold(PacerStats::default(), |all, s| PacerStats {
                size: all.size.max(s.size),
                grows: all.grows + s.grows,
                shrinks: all.shrinks + s.shrinks,
                too_large: all.too_large + s.too_large,
            })
    }

    /// The response bytes a page should stay within, for pacers made from now on (default
    /// [`super::pacing::PAGE_BYTE_BUDGET`]): a run reading N ranges at once gives each 1/N, so
    /// the pages in memory stay bounded whatever the concurrency.
    pub fn set_page_byte_budget(&self, bytes: u64) {
        self.page_byte_budget.store(bytes.max(1), Ordering::Relaxed);
    }

    /// Every pacer this client made, by stream (`stream/start/fixed`), sorted.
    pub fn pacers(&self) -> Vec<(String, Arc<Pacer>)> {
        let pacers = self.pacers.lock().unwrap_or_else(|p| p.into_inner());
        let mut all: Vec<_> = pacers
            .iter()
            .map(|(k, p)| (k.clone(), Arc::clone(p)))
            .collect();
        all.sort_by(|a, b| a.0.cmp(&b.0));
        all
    }

    /// The endpoint this client talks to.
    pub fn endpoint(&self) -> &str {
        &self.opts.endpoint
    }

    /// Retries made so far (for the run summary).
    pub fn retries(&self) -> u64 {
        self.retries.load(Ordering::Relaxed)
    }

    /// Queries answered so far (each attempt with a response counts).
    pub fn queries(&self) -> u64 {
        self.queries.load(Ordering::Relaxed)
    }

    /// Records that a page of data (documents, changes, events or ids) is being asked for:
    /// queries answered after this no longer count as [`FaunaClient::queries_before_data`].
    pub fn mark_data_page(&self) {
        self.data_started.store(true, Ordering::Relaxed);
    }

    /// Queries answered before the first page of data was asked for: the round trips (checks,
    /// server time, index discovery, split points) a run waits for before data flows.
    pub fn queries_before_data(&self) -> u64 {
        self.before_data.load(Ordering::Relaxed)
    }

    /// Fauna's read ops billed so far: the sum of the responses' `x-byte-read-ops`.
    pub fn read_ops(&self) -> u64 {
        self.read_ops.load(Ordering::Relaxed)
    }

    /// The highest `x-txn-time` seen, in microseconds.
    pub fn last_txn_time(&self) -> Option<i64> {
        match self.last_txn.load(Ordering::Relaxed) {
            0 => None,
            t => Some(t),
        }
    }

    /// Evaluates `expr` and returns the `resource` of the response, retrying transient failures.
    pub async fn query(&self, expr: &Expr) -> Result<Value, FaunaError> {
        self.query_measured(expr, false).await.map(|m| m.value)
    }

    /// Like [`query`](Self::query), with the response's size and time. With `shrinkable`,
    /// failures that a smaller page may avoid ([`FaunaError::is_too_large`]) are returned at
    /// once instead of retried, for the caller to ask for a smaller page.
    pub async fn query_measured<T: ResponseBody>(
        &self,
        expr: &Expr,
        shrinkable: bool,
    ) -> Result<Measured<T>, FaunaError> {
        let body = expr.to_json();
        let policy = &self.opts.retry;
        let mut retries = 0usize;
        (|| self.attempt(&body))
            .retry(super::backoff::builder(policy))
            .when(|f: &Failed| f.error.is_retryable() && !(shrinkable && f.error.is_too_large()))
            .adjust(|f: &Failed, delay| delay.map(|d| capped(policy, d, f.retry_after)))
            .notify(|f: &Failed, delay: Duration| {
                retries += 1;
                self.retries.fetch_add(1, Ordering::Relaxed);
                if f.error.is_overload() {
                    self.backoffs.fetch_add(1, Ordering::Relaxed);
                }
                tracing::warn!(
                    "{}",
                    retry_line(&f.error, delay, retries, policy.max_retries)
                );
            })
            .await
            .map_err(|f| f.error)
    }

    /// One attempt, no retries.
    pub async fn query_once(&self, body: &str) -> Result<Value, FaunaError> {
        self.attempt(body)
            .await
            .map(|m| m.value)
            .map_err(|f| f.error)
    }

    /// One attempt inside a slot of the concurrency limit, which it adjusts.
    async fn attempt<T: ResponseBody>(&self, body: &str) -> Result<Measured<T>, Failed> {
        let permit = self.limiter.acquire().await;
        let res = self.send(body).await;
        match &res {
            Ok(_) => permit.succeeded(),
            Err(f) if f.error.is_overload() => permit.overloaded(),
            Err(_) => {}
        }
        res
    }

    /// Sends one request and reads its response.
    async fn send<T: ResponseBody>(&self, body: &str) -> Result<Measured<T>, Failed> {
        let transport = |e: reqwest::Error| {
            let endpoint = self.opts.endpoint.clone();
            // reqwest's own message only repeats the URL; its sources say what happened.
            let cause = std::error::Error::source(&e).unwrap_or(&e);
            match classify(cause, &endpoint) {
                TransportFailure::Transient(message) => FaunaError::Transport { endpoint, message },
                TransportFailure::Permanent { problem, fix } => FaunaError::Connect {
                    endpoint,
                    problem,
                    fix,
                },
            }
        };
        let mut req = self
            .http
            .post(&self.opts.endpoint)
            .bearer_auth(self.opts.secret.expose())
            .header("X-FaunaDB-API-Version", "4")
            .header(
                "X-Query-Timeout",
                self.opts
                    .query_timeout
                    .as_millis()
                    .clamp(1, 600_000)
                    .to_string(),
            )
            .header("X-Fauna-Driver", "fauna-sync")
            .body(body.to_string());
        let last = self.last_txn.load(Ordering::Relaxed);
        if last > 0 {
            req = req.header("X-Last-Seen-Txn", last.to_string());
        }
        let started = Instant::now();
        let resp = req.send().await.map_err(transport)?;
        let status = resp.status().as_u16();
        self.queries.fetch_add(1, Ordering::Relaxed);
        if !self.data_started.load(Ordering::Relaxed) {
            self.before_data.fetch_add(1, Ordering::Relaxed);
        }
        if let Some(ops) = resp
            .headers()
            .get("x-byte-read-ops")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok())
        {
            self.read_ops.fetch_add(ops, Ordering::Relaxed);
        }
        if let Some(t) = resp
            .headers()
            .get("x-txn-time")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<i64>().ok())
        {
            self.last_txn.fetch_max(t, Ordering::Relaxed);
        }
        let retry_after = resp
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| parse_retry_after(v, chrono::Utc::now()));
        let ok = (200..300).contains(&status);
        let (bytes, read) =
            read_body::<T>(resp, ok.then_some(status))
                .await
                .map_err(|e| match e {
                    BodyError::Read(e) => transport(e),
                    BodyError::Lost(why) => FaunaError::InvalidResponse(why),
                })?;
        let elapsed = started.elapsed();
        match read {
            Some(value) => Ok(Measured {
                value: value?,
                bytes: bytes.len() as u64,
                elapsed,
            }),
            None => Err(Failed {
                error: FaunaError::Status {
                    status,
                    details: error_details(&bytes),
                },
                retry_after,
            }),
        }
    }
}

/// A failed attempt, with the wait the server asked for (`Retry-After`), if any.
struct Failed {
    error: FaunaError,
    retry_after: Option<Duration>,
}

impl From<FaunaError> for Failed {
    fn from(error: FaunaError) -> Self {
        Failed {
            error,
            retry_after: None,
        }
    }
}

/// The decoded `resource` of a response body with the 2xx `status`.
fn resource(body: &[u8], status: u16) -> Result<Value, FaunaError> {
    let v = decode(body).map_err(|e| FaunaError::InvalidResponse(e.to_string()))?;
    match v {
        Value::Object(mut o) => o.swap_remove("resource").ok_or_else(|| {
            // A proxy or a broken server may send Fauna's error body with 2xx.
            FaunaError::InvalidResponse(if o.contains_key("errors") {
                format!(
                    "HTTP {status} with errors instead of a \"resource\" ({})",
                    error_details(body)
                        .iter()
                        .map(|d| format!("{}: {}", d.code, d.description))
                        .collect::<Vec<_>>()
                        .join("; ")
                )
            } else {
                "no \"resource\" in the response".into()
            })
        }),
        _ => Err(FaunaError::InvalidResponse(
            "the response is not a JSON object".into(),
        )),
    }
}

/// Why a response body could not be had.
enum BodyError {
    Read(reqwest::Error),
    /// The task reading or decoding it ended without an answer (the runtime shutting down).
    Lost(String),
}

/// Aborts the task when dropped, so a caller that gives up does not leave a body being read.
struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Reads the body (inflating it) and, given the 2xx `status` of a success, reads it as `T` in a
/// task of its own on a runtime worker: the pages of concurrent reads then decode in parallel
/// with each other and with the caller (the committer), instead of all on the caller's thread.
/// (A blocking thread per decode measured no faster and held ~40 MB more: each thread kept its
/// allocator heap.)
async fn read_body<T: ResponseBody>(
    resp: reqwest::Response,
    success: Option<u16>,
) -> Result<(bytes::Bytes, Option<Result<T, FaunaError>>), BodyError> {
    let lost = |e: tokio::task::JoinError| BodyError::Lost(format!("reading the response: {e}"));
    let mut task = AbortOnDrop(tokio::spawn(async move {
        let bytes = resp.bytes().await.map_err(BodyError::Read)?;
        let read = success.map(|status| T::read(&bytes, status));
        Ok((bytes, read))
    }));
    (&mut task.0).await.map_err(lost)?
}

/// The line logged before a retry, e.g. `Fauna at http://127.0.0.1:8443 is unreachable
/// (connection refused); retrying in 1.6 s (3/8)`.
fn retry_line(err: &FaunaError, delay: Duration, attempt: usize, max: usize) -> String {
    let what = match err {
        FaunaError::Transport { endpoint, message } => {
            format!("Fauna at {endpoint} is unreachable ({message})")
        }
        other => other.to_string(),
    };
    format!(
        "{what}; retrying in {:.1} s ({attempt}/{max})",
        delay.as_secs_f64()
    )
}

/// Reads `{"errors":[{code, description, position?}…]}`; other bodies yield one detail with
/// the body's text (cut short) so nothing the server said is lost.
fn error_details(body: &[u8]) -> Vec<ErrorDetail> {
    let parsed = decode(body).ok();
    let errors = parsed
        .as_ref()
        .and_then(Value::as_object)
        .and_then(|o| o.get("errors"))
        .and_then(Value::as_array);
    match errors {
        Some(list) => list
            .iter()
            .filter_map(Value::as_object)
            .map(|e| ErrorDetail {
                code: e
                    .get("code")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string(),
                description: e
                    .get("description")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string(),
                position: e.get("position").and_then(Value::as_array).map(|p| {
                    p.iter()
                        .map(|step| match step {
                            Value::String(s) => s.clone(),
                            Value::Int(i) => i.to_string(),
                            other => format!("{other:?}"),
                        })
                        .collect()
                }),
            })
            .collect(),
        None => {
            let text = String::from_utf8_lossy(body);
            let text: String = text.chars().take(200).collect();
            vec![ErrorDetail {
                code: "unexpected response".into(),
                description: text,
                position: None,
            }]
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_fauna_error_envelopes_and_odd_bodies() {
        let d = error_details(
            br#"{"errors":[{"position":["paginate",0],"code":"invalid ref","description":"Ref refers to undefined collection 'foo'"}]}"#,
        );
        assert_eq!(
            d,
            vec![ErrorDetail {
                code: "invalid ref".into(),
                description: "Ref refers to undefined collection 'foo'".into(),
                position: Some(vec!["paginate".into(), "0".into()]),
            }]
        );
        let d = error_details(br#"{"error":"internal server error"}"#);
        assert_eq!(d[0].code, "unexpected response");
        assert_eq!(d[0].description, r#"{"error":"internal server error"}"#);
        let err = FaunaError::Status { status: 400, details: error_details(br#"{"errors":[{"position":["paginate","documents"],"code":"invalid ref","description":"x"}]}"#) };
        assert_eq!(
            err.to_string(),
            "Fauna answered HTTP 400: invalid ref: x (at paginate.documents)"
        );
    }

    #[test]
    fn retry_lines_say_what_happened_and_when_the_next_attempt_is() {
        let refused = FaunaError::Transport {
            endpoint: "http://127.0.0.1:8443".into(),
            message: "connection refused".into(),
        };
        assert_eq!(
            retry_line(&refused, Duration::from_millis(1630), 3, 8),
            "Fauna at http://127.0.0.1:8443 is unreachable (connection refused); retrying in 1.6 s (3/8)"
        );
        let busy = FaunaError::Status {
            status: 503,
            details: vec![],
        };
        assert_eq!(
            retry_line(&busy, Duration::from_millis(200), 1, 8),
            "Fauna answered HTTP 503: no error details; retrying in 0.2 s (1/8)"
        );
    }

    /// A server that answers one request with `response`, on a free loopback port.
    fn answer_once(response: &'static str) -> String {
        use std::io::{Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        std::thread::spawn(move || {
            let (mut s, _) = listener.accept().unwrap();
            let mut buf = [0u8; 4096];
            let _ = s.read(&mut buf);
            s.write_all(response.as_bytes()).unwrap();
        });
        endpoint
    }

    #[tokio::test]
    async fn a_failed_attempt_carries_the_servers_retry_after() {
        let endpoint = answer_once(
            "HTTP/1.1 429 Too Many Requests\r\nRetry-After: 60\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        );
        let client = FaunaClient::new(ClientOptions {
            endpoint,
            secret: Secret::new("s"),
            query_timeout: Duration::from_secs(5),
            retry: RetryPolicy::default(),
        })
        .unwrap();
        let failed = client.attempt::<Value>("{}").await.err().unwrap();
        assert_eq!(failed.error.status(), Some(429));
        assert_eq!(failed.retry_after, Some(Duration::from_secs(60)));
        // What the retry then waits: the cap, not the minute asked for.
        assert_eq!(
            capped(
                &RetryPolicy::default(),
                Duration::from_millis(300),
                failed.retry_after
            ),
            Duration::from_secs(20)
        );
    }

    #[test]
    fn only_transient_failures_are_retried() {
        let status = |s| {
            FaunaError::Status {
                status: s,
                details: vec![],
            }
            .is_retryable()
        };
        for s in [408, 409, 429, 500, 502, 503, 504] {
            assert!(status(s), "{s}");
        }
        for s in [400, 401, 403, 404, 405, 413] {
            assert!(!status(s), "{s}");
        }
    }
}
