//! A stream's typed-column record in the state (`columns: typed`): the column plan its files
//! were written with and the schema observed so far, saved with each committed batch so a
//! resumed run or the next sync makes exactly the same column decisions.

use serde::{Deserialize, Serialize};

use crate::schema::{ColumnPlan, ObservedSchema};

/// The typed columns of a stream as of its last committed batch.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TypedColumns {
    /// The schema version: 0 before the first column, then one more each time a batch added
    /// columns. Each manifest line of a typed file names the version it was written with.
    pub version: u64,
    /// The column plan the latest file was written with (it only grows).
    pub plan: ColumnPlan,
    /// Every path and wire type of the committed records' `data` (counts, first seen).
    pub observed: ObservedSchema,
    /// Variant columns in the plan (columns for a path's second and later types).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub variants: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl TypedColumns {
    /// A stream that has written nothing yet, planned with `plan` (empty).
    pub fn new(plan: ColumnPlan) -> Self {
        TypedColumns {
            version: 0,
            plan,
            observed: ObservedSchema::default(),
            variants: 0,
        }
    }
}
