//! The export format: how Fauna values become records (`spec/export-format.md`).

mod value;

pub use value::{to_export_json, ExportValue};
