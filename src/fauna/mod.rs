//! Talking to Fauna: the value model and wire codec (from the shared `fauna-wire` crate) and,
//! later, the HTTP client.

pub use fauna_wire::*;
