//! A batch's typed columns as Arrow arrays.

use arrow_array::ArrayRef;

use crate::schema::ColumnPlan;

use super::{ChunkCells, TypedDoc, TypedError};

/// What to do with a value whose column the plan lacks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unplanned {
    /// An error ([`TypedError::NoColumn`]): the plan should have grown from these documents.
    Error,
    /// Leave it out of the typed columns (it stays in `data`): contract `discard_value`.
    Skip,
}

/// One Arrow array per plan column for `docs`, in plan order: an object the plan flattens is
/// walked into its fields, any other value goes to the column of its path and kind — the
/// path's first column if its kind matches, else the variant of that kind. `unplanned` says
/// what to do with a value the plan has no column for.
pub fn typed_arrays(
    plan: &ColumnPlan,
    docs: &[TypedDoc<'_>],
    unplanned: Unplanned,
) -> Result<Vec<ArrayRef>, TypedError> {
    let mut cells = ChunkCells::new(plan.options().flatten_depth);
    for doc in docs {
        cells.push(doc.data);
    }
    let id = |row: usize| docs.get(row).map(|d| d.id.to_string()).unwrap_or_default();
    cells.seal().arrays(plan, unplanned, &id)
}
