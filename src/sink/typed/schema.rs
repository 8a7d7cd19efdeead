//! The Arrow schema of a typed file.

use std::collections::HashMap;
use std::sync::Arc;

use arrow_schema::{DataType, Field, Fields, Schema, SchemaRef, TimeUnit};

use crate::schema::{ColumnKind, ColumnPlan, ListOf};

/// Field metadata key: the column's original path below `data`, as JSON (`["addr","city"]`).
pub const PATH_KEY: &str = "fauna_sync.path";
/// Field metadata key: the column kind's tag (`int`, `time`, `list<int>`, …).
pub const KIND_KEY: &str = "fauna_sync.kind";
/// Field metadata key of a variant: the name of its path's first column.
pub const VARIANT_OF_KEY: &str = "fauna_sync.variant_of";
/// File metadata key: the column plan's JSON.
pub const PLAN_KEY: &str = "fauna_sync.column_plan";

/// The Arrow type of a column kind.
pub fn kind_data_type(kind: ColumnKind) -> DataType {
    match kind {
        ColumnKind::Int => DataType::Int64,
        ColumnKind::Double => DataType::Float64,
        ColumnKind::Boolean => DataType::Boolean,
        ColumnKind::Time => DataType::Timestamp(TimeUnit::Nanosecond, Some("UTC".into())),
        ColumnKind::Date => DataType::Date32,
        ColumnKind::Bytes => DataType::Binary,
        ColumnKind::Ref => DataType::Struct(ref_fields()),
        ColumnKind::List(of) => DataType::List(Arc::new(Field::new_list_field(
            kind_data_type(of.element()),
            true,
        ))),
        ColumnKind::String
        | ColumnKind::TimeText
        | ColumnKind::DateText
        | ColumnKind::Array
        | ColumnKind::Object
        | ColumnKind::Set
        | ColumnKind::Query => DataType::Utf8,
    }
}

/// A ref column's fields: the export form's `id`, `collection` (documents only) and `type`.
pub(super) fn ref_fields() -> Fields {
    Fields::from(vec![
        Field::new("id", DataType::Utf8, true),
        Field::new("collection", DataType::Utf8, true),
        Field::new("type", DataType::Utf8, true),
    ])
}

fn kind_label(kind: ColumnKind) -> String {
    match kind {
        ColumnKind::List(of) => format!("list<{}>", list_tag(of)),
        other => other.tag().to_string(),
    }
}

fn list_tag(of: ListOf) -> &'static str {
    of.element().tag()
}

/// `ref` utf8 and `ts` int64 (non-null), `data` utf8 (the lossless export JSON, if
/// `data_column`), then the plan's columns in plan order, all nullable, each with its path,
/// kind and (variants) first column in the field metadata, and the plan in the schema
/// metadata.
pub fn typed_arrow_schema(plan: &ColumnPlan, data_column: bool) -> SchemaRef {
    let mut fields = vec![
        Field::new("ref", DataType::Utf8, false),
        Field::new("ts", DataType::Int64, false),
    ];
    if data_column {
        fields.push(Field::new("data", DataType::Utf8, true));
    }
    for c in plan.columns() {
        let mut meta = HashMap::from([
            (PATH_KEY.to_string(), c.path.to_json()),
            (KIND_KEY.to_string(), kind_label(c.kind)),
        ]);
        if let Some(first) = &c.variant_of {
            meta.insert(VARIANT_OF_KEY.to_string(), first.clone());
        }
        fields.push(Field::new(&c.name, kind_data_type(c.kind), true).with_metadata(meta));
    }
    let meta = HashMap::from([(PLAN_KEY.to_string(), plan.to_json())]);
    Arc::new(Schema::new(fields).with_metadata(meta))
}
