//! The export format: how Fauna values become records (`spec/export-format.md`).

mod document;
mod export_json;
mod json_text;
mod record;
mod transcode;
mod value;

pub use document::{document_record, id_order, record_schema, ttl_micros, RecordError};

pub use export_json::ExportJson;
pub use json_text::write_export_json;
pub use record::{
    describe_value, ColumnType, Deletion, Record, RecordJson, RecordSchema, TypedBatch,
    DETECTED_COLUMN,
};
pub(crate) use transcode::plain_string_end;
pub use transcode::transcode_at;
pub use value::{to_export_json, ExportValue};
