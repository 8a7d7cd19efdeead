//! Where one value goes under a column plan.

use super::{date_fits, time_fits, ColumnKind, ColumnPlan, ListOf, Path, Seg};
use crate::fauna::Value;

/// What becomes of a value at a path under a plan.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Placement {
    /// `null`: no column holds anything.
    Null,
    /// An object the plan flattens: its fields are placed at their own paths.
    Flatten,
    /// The column of this kind at the path (which the plan may not have yet).
    Column(ColumnKind),
}

/// The placement of `v` at `path`: a flattened object, or the kind of column it needs (a list
/// when the path has a list column every element fits, else `array` for arrays).
pub fn placement(plan: &ColumnPlan, path: &Path, v: &Value) -> Placement {
    match v {
        Value::Null => Placement::Null,
        Value::Object(_) if plan.flattens(path) => Placement::Flatten,
        Value::Array(items) => Placement::Column(match plan.list_column_of(path) {
            Some(of) if items.iter().all(|i| fits(of, i)) => ColumnKind::List(of),
            _ => ColumnKind::Array,
        }),
        other => Placement::Column(scalar_kind(other)),
    }
}

/// The first value of `data` (in key order, depth first) whose column the plan lacks.
pub fn first_unplanned(plan: &ColumnPlan, data: &Value) -> Option<(Path, ColumnKind)> {
    fn walk(plan: &ColumnPlan, path: Path, v: &Value) -> Option<(Path, ColumnKind)> {
        match placement(plan, &path, v) {
            Placement::Null => None,
            Placement::Flatten => match v {
                Value::Object(fields) => fields
                    .iter()
                    .find_map(|(k, c)| walk(plan, path.child(Seg::Key(k.clone())), c)),
                _ => None,
            },
            Placement::Column(kind) => plan
                .column_for(&path, kind)
                .is_none()
                .then_some((path, kind)),
        }
    }
    match data {
        Value::Object(fields) => fields
            .iter()
            .find_map(|(k, v)| walk(plan, Path(vec![Seg::Key(k.clone())]), v)),
        _ => None,
    }
}

/// The column kind of a value that is not an array (an object: JSON, below the flatten depth).
pub fn scalar_kind(v: &Value) -> ColumnKind {
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
