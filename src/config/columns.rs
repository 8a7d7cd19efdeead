//! The columns a configuration may declare: an additional column's type, and the column name
//! deletion tracking reserves. Below the records ([`crate::export`]), which use both.

use serde::Serialize;

use crate::fauna::Value;

/// The JSON-schema type declared for an additional column.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ColumnType {
    /// Text (Parquet `utf8`).
    String,
    /// 64-bit integer (Parquet `int64`).
    Integer,
    /// Double (Parquet `float64`).
    Number,
    /// Boolean (Parquet `bool`).
    Boolean,
    /// JSON object, stored as JSON text in Parquet.
    Object,
    /// JSON array, stored as JSON text in Parquet.
    Array,
}

impl ColumnType {
    /// The JSON-schema name of the type.
    pub fn name(self) -> &'static str {
        match self {
            ColumnType::String => "string",
            ColumnType::Integer => "integer",
            ColumnType::Number => "number",
            ColumnType::Boolean => "boolean",
            ColumnType::Object => "object",
            ColumnType::Array => "array",
        }
    }

    /// Whether a column of this type can hold `v` (in every output format): `null` always; a
    /// string column anything (as its export text); an object column objects and refs (their
    /// export form is an object); a number column integers and doubles.
    pub fn accepts(self, v: &Value) -> bool {
        matches!(
            (self, v),
            (_, Value::Null)
                | (ColumnType::String, _)
                | (ColumnType::Object, Value::Object(_) | Value::Ref(_))
                | (ColumnType::Array, Value::Array(_))
                | (ColumnType::Integer, Value::Int(_))
                | (ColumnType::Number, Value::Int(_) | Value::Double(_))
                | (ColumnType::Boolean, Value::Bool(_))
        )
    }
}

/// The boolean column of file outputs that tracks deletions: `true` on a deletion found by
/// reconciliation (the document was gone at the record's `ts`; it was deleted then or
/// earlier), `false` on a deletion seen as Fauna's event (at exactly that `ts`), `null` on
/// document records.
pub const DETECTED_COLUMN: &str = "deletion_detected";
