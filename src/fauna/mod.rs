//! Talking to Fauna: the value model and wire codec (from the shared `fauna-wire` crate), the
//! HTTP client, its errors, and secrets that never print themselves.

pub mod backoff;
mod client;
mod error;
pub mod limiter;
pub mod pacing;
mod secret;
mod transport;

pub use client::{ClientOptions, FaunaClient, Measured, ResponseBody, RetryPolicy};
pub use error::{ErrorDetail, FaunaError};
pub use fauna_wire::*;
pub use secret::Secret;
pub use transport::{classify, TransportFailure};
