//! The Fauna FQL v4 value model and wire codec, shared by `fauna-sync` (the client) and
//! `fauna-dev` (the local server).
//!
//! * [`Value`] — every v4 value: scalars, arrays, objects, refs, timestamps, dates, bytes, and
//!   queries and sets kept as opaque wire JSON.
//! * [`decode`] — wire JSON → `Value` (responses, stored data); [`decode_json`] — plain JSON
//!   → `Value` with no tags, for request bodies whose tags the query parser interprets.
//! * [`encode`] / [`encode_literal`] — `Value` → wire JSON in the response form and as a literal
//!   inside a request.
//! * [`Expr`] — request expressions (`{"paginate": …}` …) for building queries.
//!
//! The exact rules are those of the Fauna v4 wire protocol; see `spec/wire-format.md`.
// Nothing from outside (config, network, files, state) may panic: no unwrap/expect outside tests.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

mod decode;
mod double;
mod encode;
mod error;
pub mod expr;
mod reference;
mod time;
mod value;

pub use decode::{decode, decode_at, decode_bytes, decode_json, decode_request, MAX_DEPTH};
pub use double::java_double;
pub use encode::{
    encode, encode_into, encode_legacy_into, encode_literal, encode_literal_into, encode_ref,
    encode_ref_legacy, write_double, write_str,
};
pub use error::{DecodeError, DecodeErrorKind, TimeError};
pub use expr::Expr;
pub use reference::{Ref, RefKind, NATIVE_COLLECTIONS};
pub use time::{Date, Timestamp};
pub use value::{Object, PathStep, Selected, Value};
