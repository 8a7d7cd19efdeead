//! A batch's typed columns as Arrow arrays.

use std::sync::Arc;

use arrow_array::{
    ArrayRef, BinaryArray, BooleanArray, Date32Array, Float64Array, Int64Array, ListArray,
    StringArray, StructArray, TimestampNanosecondArray,
};
use arrow_buffer::{NullBuffer, OffsetBuffer};
use arrow_schema::Field;

use crate::export::to_export_json;
use crate::fauna::{encode, RefKind, Value};
use crate::schema::{date_fits, time_fits, ColumnKind, ColumnPlan};

use super::schema::{kind_data_type, ref_fields};
use super::{route, TypedDoc, TypedError, Unplanned};

/// One Arrow array per plan column for `docs`, in plan order; `unplanned` says what to do
/// with a value the plan has no column for.
pub fn typed_arrays(
    plan: &ColumnPlan,
    docs: &[TypedDoc<'_>],
    unplanned: Unplanned,
) -> Result<Vec<ArrayRef>, TypedError> {
    let width = plan.columns().len();
    let mut columns: Vec<Vec<Option<&Value>>> = vec![Vec::with_capacity(docs.len()); width];
    let mut row = vec![None; width];
    for doc in docs {
        row.iter_mut().for_each(|c| *c = None);
        route(plan, doc.data, doc.id, unplanned, &mut row)?;
        for (col, cell) in columns.iter_mut().zip(&row) {
            col.push(*cell);
        }
    }
    plan.columns()
        .iter()
        .zip(&columns)
        .map(|(c, cells)| array_of(c.kind, cells))
        .collect()
}

/// The array of `kind` holding `cells` (a cell of another type, which routing never gives,
/// would be `null`).
fn array_of(kind: ColumnKind, cells: &[Option<&Value>]) -> Result<ArrayRef, TypedError> {
    let each = |f: &dyn Fn(&Value) -> Option<String>| -> ArrayRef {
        Arc::new(cells.iter().map(|c| c.and_then(f)).collect::<StringArray>())
    };
    Ok(match kind {
        ColumnKind::Int => Arc::new(
            cells
                .iter()
                .map(|c| c.and_then(Value::as_i64))
                .collect::<Int64Array>(),
        ),
        ColumnKind::Double => Arc::new(
            cells
                .iter()
                .map(|c| match c {
                    Some(Value::Double(d)) => Some(*d),
                    _ => None,
                })
                .collect::<Float64Array>(),
        ),
        ColumnKind::Boolean => Arc::new(
            cells
                .iter()
                .map(|c| match c {
                    Some(Value::Bool(b)) => Some(*b),
                    _ => None,
                })
                .collect::<BooleanArray>(),
        ),
        ColumnKind::String => Arc::new(
            cells
                .iter()
                .map(|c| c.and_then(Value::as_str))
                .collect::<StringArray>(),
        ),
        ColumnKind::Time => Arc::new(
            cells
                .iter()
                .map(|c| match c {
                    Some(Value::Timestamp(t)) => time_fits(t),
                    _ => None,
                })
                .collect::<TimestampNanosecondArray>()
                .with_timezone("UTC"),
        ),
        ColumnKind::Date => Arc::new(
            cells
                .iter()
                .map(|c| match c {
                    Some(Value::Date(d)) => date_fits(d),
                    _ => None,
                })
                .collect::<Date32Array>(),
        ),
        ColumnKind::Bytes => Arc::new(
            cells
                .iter()
                .map(|c| match c {
                    Some(Value::Bytes(b)) => Some(b.as_slice()),
                    _ => None,
                })
                .collect::<BinaryArray>(),
        ),
        ColumnKind::Ref => ref_array(cells)?,
        ColumnKind::List(of) => {
            let mut offsets = Vec::with_capacity(cells.len() + 1);
            let mut items: Vec<Option<&Value>> = Vec::new();
            offsets.push(0i32);
            for c in cells {
                if let Some(Value::Array(a)) = c {
                    items.extend(a.iter().map(|v| (!matches!(v, Value::Null)).then_some(v)));
                }
                let end = i32::try_from(items.len()).map_err(|_| {
                    arrow_schema::ArrowError::ComputeError("list column above 2^31 items".into())
                })?;
                offsets.push(end);
            }
            let values = array_of(of.element(), &items)?;
            let field = Arc::new(Field::new_list_field(kind_data_type(of.element()), true));
            let nulls = NullBuffer::from(cells.iter().map(Option::is_some).collect::<Vec<_>>());
            Arc::new(ListArray::try_new(
                field,
                OffsetBuffer::new(offsets.into()),
                values,
                Some(nulls),
            )?)
        }
        ColumnKind::TimeText | ColumnKind::DateText => each(&|v| {
            // The export form of a time or date is a JSON string: its text.
            serde_json::from_str::<String>(&to_export_json(v)).ok()
        }),
        ColumnKind::Array | ColumnKind::Object => each(&|v| Some(to_export_json(v))),
        ColumnKind::Set | ColumnKind::Query => each(&|v| Some(encode(v))),
    })
}

/// A ref struct column: `id`, `collection` (document refs) and `type` as in the export form.
fn ref_array(cells: &[Option<&Value>]) -> Result<ArrayRef, TypedError> {
    let mut ids = Vec::with_capacity(cells.len());
    let mut collections = Vec::with_capacity(cells.len());
    let mut types = Vec::with_capacity(cells.len());
    for c in cells {
        match c {
            Some(Value::Ref(r)) => {
                let kind = r.kind();
                ids.push(Some(r.id.as_str()));
                collections.push(match kind {
                    RefKind::Document(c) => Some(c),
                    _ => None,
                });
                types.push(Some(kind.export_type()));
            }
            _ => {
                ids.push(None);
                collections.push(None);
                types.push(None);
            }
        }
    }
    let nulls = NullBuffer::from(ids.iter().map(Option::is_some).collect::<Vec<_>>());
    Ok(Arc::new(StructArray::try_new(
        ref_fields(),
        vec![
            Arc::new(StringArray::from(ids)),
            Arc::new(StringArray::from(collections)),
            Arc::new(StringArray::from(types)),
        ],
        Some(nulls),
    )?))
}
