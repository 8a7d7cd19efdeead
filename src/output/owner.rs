//! `_output.json`: which state owns an output root.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::durable::{write_file_atomically, FileError};

/// The owner record's file name at the output root.
pub const OWNER_FILE: &str = "_output.json";

/// The owner record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OwnerRecord {
    /// The id the owning state records as `output_id`.
    pub output_id: String,
}

impl OwnerRecord {
    /// Reads the record; `None` when the output has none yet.
    pub fn read(root: &Path) -> Result<Option<OwnerRecord>, FileError> {
        let path = root.join(OWNER_FILE);
        match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map(Some).map_err(|e| {
                FileError::new(
                    "read",
                    &path,
                    std::io::Error::new(std::io::ErrorKind::InvalidData, e),
                )
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(FileError::new("read", path, e)),
        }
    }

    /// Writes the record atomically.
    pub fn write(&self, root: &Path) -> Result<(), FileError> {
        let mut bytes = serde_json::to_vec(self).unwrap_or_default();
        bytes.push(b'\n');
        write_file_atomically(&root.join(OWNER_FILE), &bytes)
    }
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
