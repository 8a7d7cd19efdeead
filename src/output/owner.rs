//! `_output.json`: which state owns an output root.

use serde::{Deserialize, Serialize};

/// The owner record's file name at the output root.
pub const OWNER_FILE: &str = "_output.json";

/// The owner record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OwnerRecord {
    /// The id the owning state records as `output_id`.
    pub output_id: String,
}

/// A fresh random id (128 bits from the standard library's per-process random hasher keys,
/// the time and the pid, hex).
pub fn new_output_id() -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut out = String::with_capacity(32);
    for salt in 0..2u64 {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u64(salt);
        h.write_u128(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or_default(),
        );
        h.write_u32(std::process::id());
        out.push_str(&format!("{:016x}", h.finish()));
    }
    out
}
