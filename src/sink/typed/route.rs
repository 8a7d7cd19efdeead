//! Which column each value of a document goes to.

use crate::fauna::Value;
use crate::schema::{date_fits, time_fits, ColumnKind, ColumnPlan, ListOf, Path, Seg};

use super::TypedError;

/// Fills `cells` (one per plan column, all `None` on entry) with the values of `data`: an
/// object the plan flattens is walked into its fields, any other value goes to the column of
/// its path and kind: the path's first column if its kind matches, else the variant of that
/// kind. `null` leaves the cell `None`. `id` is only for the error.
pub fn route<'v>(
    plan: &ColumnPlan,
    data: &'v Value,
    id: &str,
    cells: &mut [Option<&'v Value>],
) -> Result<(), TypedError> {
    if let Value::Object(fields) = data {
        for (k, v) in fields {
            place(plan, Path(vec![Seg::Key(k.clone())]), v, id, cells)?;
        }
    }
    Ok(())
}

fn place<'v>(
    plan: &ColumnPlan,
    path: Path,
    v: &'v Value,
    id: &str,
    cells: &mut [Option<&'v Value>],
) -> Result<(), TypedError> {
    let kind = match v {
        Value::Null => return Ok(()),
        Value::Object(fields) if plan.flattens(&path) => {
            for (k, child) in fields {
                place(plan, path.child(Seg::Key(k.clone())), child, id, cells)?;
            }
            return Ok(());
        }
        Value::Array(items) => match list_column(plan, &path) {
            Some(of) if items.iter().all(|i| fits(of, i)) => ColumnKind::List(of),
            _ => ColumnKind::Array,
        },
        other => scalar_kind(other),
    };
    let col = plan
        .column_for(&path, kind)
        .ok_or_else(|| TypedError::NoColumn {
            id: id.to_string(),
            path: path.to_json(),
            kind: kind.tag(),
        })?;
    if let Some(cell) = cells.get_mut(col) {
        *cell = Some(v);
    }
    Ok(())
}

/// The element type of `path`'s list column, if it has one.
fn list_column(plan: &ColumnPlan, path: &Path) -> Option<ListOf> {
    let col = plan.column_for(path, ColumnKind::List(ListOf::Int))?;
    match plan.columns().get(col)?.kind {
        ColumnKind::List(of) => Some(of),
        _ => None,
    }
}

/// The column kind of a value that is not an array (objects: JSON, below the flatten depth).
pub(super) fn scalar_kind(v: &Value) -> ColumnKind {
    match v {
        Value::Int(_) => ColumnKind::Int,
        Value::Double(_) => ColumnKind::Double,
        Value::String(_) => ColumnKind::String,
        Value::Bool(_) => ColumnKind::Boolean,
        Value::Timestamp(t) if time_fits(t).is_some() => ColumnKind::Time,
        Value::Timestamp(_) => ColumnKind::TimeText,
        Value::Date(d) if date_fits(d).is_some() => ColumnKind::Date,
        Value::Date(_) => ColumnKind::DateText,
        Value::Bytes(_) => ColumnKind::Bytes,
        Value::Ref(_) => ColumnKind::Ref,
        Value::Set(_) => ColumnKind::Set,
        Value::Query(_) => ColumnKind::Query,
        Value::Object(_) => ColumnKind::Object,
        Value::Array(_) | Value::Null => ColumnKind::Array,
    }
}

/// Whether an array element fits a list of `of` (`null` always does).
fn fits(of: ListOf, item: &Value) -> bool {
    matches!(item, Value::Null) || scalar_kind(item) == of.element()
}
