//! The export format: how Fauna values become records (`spec/export-format.md`).

mod record;
mod value;

pub use record::{describe_value, ColumnType, Record, RecordJson, RecordSchema};
pub use value::{to_export_json, ExportValue};
