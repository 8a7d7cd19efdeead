//! The transport-free database engine. See the crate docs.
//!
//! Interface contract with [`crate::server`] (keep it stable; extend, don't break):
//! `Engine::new(EngineOptions)`, `Engine::execute(&Request) -> Response`,
//! `Engine::load_dataset(&Path)`, `Engine::save_snapshot(&Path)`, `Engine::load_snapshot(&Path)`.

use std::path::Path;
use std::time::Duration;

/// Settings of an engine.
#[derive(Clone, Debug)]
pub struct EngineOptions {
    /// The root (admin) secret.
    pub root_secret: String,
    /// How far below `now - history_days` snapshot reads stay valid (real server: 15 minutes).
    pub mvt_offset: Duration,
    /// The length of one `history_days` day (real server: 24 hours); tests shrink it.
    pub day_length: Duration,
}

impl Default for EngineOptions {
    fn default() -> Self {
        EngineOptions {
            root_secret: "secret".into(),
            mvt_offset: Duration::from_secs(15 * 60),
            day_length: Duration::from_secs(86_400),
        }
    }
}

/// One query, as the transport hands it over.
#[derive(Clone, Debug)]
pub struct Request<'a> {
    /// The secret from the `Authorization` header (already decoded), if any.
    pub secret: Option<&'a str>,
    /// The whole request body: the query expression.
    pub body: &'a [u8],
    /// `X-Last-Seen-Txn`, validated by the transport.
    pub last_seen_txn: Option<i64>,
    /// `X-FaunaDB-API-Version`, validated by the transport (`"4"`, `"2.1"`, …).
    pub api_version: &'a str,
}

/// The engine's answer.
#[derive(Clone, Debug, PartialEq)]
pub struct Response {
    /// HTTP status.
    pub status: u16,
    /// The JSON body (`{"resource": …}` or `{"errors": […]}`).
    pub body: String,
    /// `x-txn-time`: the transaction or snapshot time in microseconds.
    pub txn_time: i64,
    /// Billing-style metrics for the `x-*-ops` headers.
    pub metrics: Metrics,
}

/// Figures for the metric response headers.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Metrics {
    /// `x-compute-ops`.
    pub compute_ops: u64,
    /// `x-byte-read-ops`.
    pub byte_read_ops: u64,
    /// `x-byte-write-ops`.
    pub byte_write_ops: u64,
    /// `x-storage-bytes-read`.
    pub storage_bytes_read: u64,
    /// `x-storage-bytes-write`.
    pub storage_bytes_write: u64,
}

/// Placeholder so the crate compiles until the engine lands.
pub struct Engine {
    _opts: EngineOptions,
}

impl Engine {
    /// A fresh, empty engine.
    pub fn new(opts: EngineOptions) -> Self {
        Engine { _opts: opts }
    }

    /// Evaluates one query.
    pub fn execute(&self, _req: &Request<'_>) -> Response {
        Response {
            status: 500,
            body: r#"{"errors":[{"code":"internal server error","description":"not implemented"}]}"#.into(),
            txn_time: 0,
            metrics: Metrics::default(),
        }
    }

    /// Loads a dataset folder (see `spec/fauna-dev-dataset.md`).
    pub fn load_dataset(&self, _dir: &Path) -> anyhow::Result<()> {
        anyhow::bail!("not implemented")
    }
}
