//! What a typed batch file records about its schema.

use serde::{Deserialize, Serialize};

use crate::schema::{ColumnPlan, ObservedSchema};

/// The schema of one typed file, on its manifest line (`"schema":{…}`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileSchema {
    /// The stream's schema version the file was written with; files of one version have the
    /// same columns, and a later version's columns start with an earlier one's.
    pub version: u64,
    /// Typed columns in the file (besides `ref`, `ts`, `data` and the deletion columns).
    pub columns: u64,
    /// Variant columns among them (`<col>__v_<type>`).
    #[serde(default)]
    pub variants: u64,
    /// Values the batch had variants for: values in a variant column rather than their path's
    /// first one.
    #[serde(default)]
    pub variant_values: u64,
    /// `discard_row`: documents left out of the file.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub discarded_rows: u64,
    /// `discard_value`: documents with values left out of the typed columns (kept in `data`).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub discarded_values: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// The stream's typed columns after a batch: what the committer saves with it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TypedOutcome {
    /// The plan the file was written with.
    pub plan: ColumnPlan,
    /// What the file's records' `data` held (the kept records only).
    pub observed: ObservedSchema,
}
