//! Which column each value of a document goes to.

use crate::fauna::Value;
use crate::schema::{placement, ColumnPlan, Path, Placement, Seg};

use super::TypedError;

/// What to do with a value whose column the plan lacks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unplanned {
    /// An error ([`TypedError::NoColumn`]): the plan should have grown from these documents.
    Error,
    /// Leave it out of the typed columns (it stays in `data`): contract `discard_value`.
    Skip,
}

/// Fills `cells` (one per plan column, all `None` on entry) with the values of `data`: an
/// object the plan flattens is walked into its fields, any other value goes to the column of
/// its path and kind: the path's first column if its kind matches, else the variant of that
/// kind ([`placement`]). `null` leaves the cell `None`. `id` is only for the error.
pub fn route<'v>(
    plan: &ColumnPlan,
    data: &'v Value,
    id: &str,
    unplanned: Unplanned,
    cells: &mut [Option<&'v Value>],
) -> Result<(), TypedError> {
    if let Value::Object(fields) = data {
        for (k, v) in fields {
            place(
                plan,
                Path(vec![Seg::Key(k.clone())]),
                v,
                id,
                unplanned,
                cells,
            )?;
        }
    }
    Ok(())
}

fn place<'v>(
    plan: &ColumnPlan,
    path: Path,
    v: &'v Value,
    id: &str,
    unplanned: Unplanned,
    cells: &mut [Option<&'v Value>],
) -> Result<(), TypedError> {
    let kind = match placement(plan, &path, v) {
        Placement::Null => return Ok(()),
        Placement::Flatten => {
            if let Value::Object(fields) = v {
                for (k, child) in fields {
                    let child_path = path.child(Seg::Key(k.clone()));
                    place(plan, child_path, child, id, unplanned, cells)?;
                }
            }
            return Ok(());
        }
        Placement::Column(kind) => kind,
    };
    match (plan.column_for(&path, kind), unplanned) {
        (Some(col), _) => {
            if let Some(cell) = cells.get_mut(col) {
                *cell = Some(v);
            }
            Ok(())
        }
        (None, Unplanned::Skip) => Ok(()),
        (None, Unplanned::Error) => Err(TypedError::NoColumn {
            id: id.to_string(),
            path: path.to_json(),
            kind: kind.tag(),
        }),
    }
}
