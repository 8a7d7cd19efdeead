//! Snowflake-style document ids: `((ms since 1336258850000) << 10 | seq) << 10 | worker`.

use std::sync::Mutex;

use super::clock::now_micros;

/// Fauna's id epoch, 2012-05-05T23:00:50Z, in milliseconds.
pub const ID_EPOCH_MS: i64 = 1_336_258_850_000;
const WORKER: i64 = 73;

/// Generates unique, roughly time-ordered, strictly increasing ids.
#[derive(Debug, Default)]
pub struct IdSource {
    last: Mutex<i64>,
}

impl IdSource {
    /// The next id.
    pub fn next(&self) -> i64 {
        let ms = (now_micros() / 1000 - ID_EPOCH_MS).max(0);
        let candidate = (ms << 20) | WORKER;
        let mut last = match self.last.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        let id = if candidate > *last {
            candidate
        } else {
            // Same millisecond (or clock went back): bump the sequence field.
            ((*last >> 10) + 1) << 10 | WORKER
        };
        *last = id;
        id
    }
}
