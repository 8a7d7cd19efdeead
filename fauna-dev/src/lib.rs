//! fauna-dev: a Fauna-compatible local server speaking the FQL v4 wire protocol.
//!
//! * [`engine`] — the database: storage with full version history, schema (collections,
//!   indexes, roles, keys), FQL v4 evaluation, sets and pagination, security. Transport-free:
//!   it takes a secret and a request body and returns a status and a JSON body.
//! * [`server`] — HTTP/1.1 transport, headers, auth header parsing, latency and fault
//!   injection, dataset seeding and persistence, the command line.
// Nothing from outside (config, network, files, state) may panic: no unwrap/expect outside tests.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

pub mod engine;
pub mod server;
