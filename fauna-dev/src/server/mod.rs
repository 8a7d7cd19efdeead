//! The HTTP/1.1 transport in front of the [`Engine`](crate::engine::Engine).
//!
//! The transport owns everything the engine must not know about: routing (`/`, `/ping`, 404 and
//! 405), request-header validation, `Authorization` parsing, the 8 MiB body limit, response
//! headers (`x-txn-time`, the metric headers, `x-faunadb-build`), gzip, artificial latency and
//! fault injection. The engine receives a decoded secret and the query body and answers with a
//! status and a JSON body.
//!
//! Run it in-process:
//!
//! ```no_run
//! # async fn demo() -> Result<(), fauna_dev::server::ServerError> {
//! use std::sync::Arc;
//! use fauna_dev::engine::{Engine, EngineOptions};
//! use fauna_dev::server::{serve, ServerConfig};
//!
//! let engine = Arc::new(Engine::new(EngineOptions::default()));
//! let server = serve(ServerConfig::new().port(0), engine).await?;
//! println!("listening on {}", server.url());
//! server.shutdown().await;
//! # Ok(()) }
//! ```

pub mod auth;
pub mod cli;
mod config;
mod error;
pub mod faults;
mod gzip;
pub mod headers;
mod http;
mod query_string;
mod response;
mod serve;
mod tags;

pub use config::{ServerConfig, DEFAULT_PORT, MAX_BODY_BYTES};
pub use error::ServerError;
pub use faults::{Fault, FaultConfig};
pub use serve::{serve, RunningServer};

#[cfg(test)]
mod tests;
