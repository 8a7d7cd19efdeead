//! One export record as the `data` of an Airbyte RECORD: exactly the export form
//! ([`RecordJson`]: `ref`, `ts`, `data`, the additional columns, the deletion column), plus
//! `_ab_cdc_updated_at` and `_ab_cdc_deleted_at` when deletions are tracked, so Airbyte's
//! deduplicating destinations delete the rows of deleted documents.

use serde_json::value::RawValue;

use crate::export::{Record, RecordJson, RecordSchema};
use crate::fauna::Timestamp;

/// Airbyte's CDC column: when the change happened (the version's or deletion's `ts`, ISO-8601).
pub const CDC_UPDATED_AT: &str = "_ab_cdc_updated_at";
/// Airbyte's CDC column: when the document was deleted (ISO-8601), null for live documents.
pub const CDC_DELETED_AT: &str = "_ab_cdc_deleted_at";

/// Whether a stream with this schema carries the CDC columns.
pub fn has_cdc_columns(schema: &RecordSchema) -> bool {
    schema.deletion_column.is_some()
}

/// The RECORD `data` object of `record`, as raw JSON in the export's column order.
pub fn record_data(
    schema: &RecordSchema,
    record: &Record,
) -> Result<Box<RawValue>, serde_json::Error> {
    let mut text = serde_json::to_string(&RecordJson { schema, record })?;
    if has_cdc_columns(schema) && text.ends_with('}') {
        text.pop();
        text.push_str(",\"");
        text.push_str(CDC_UPDATED_AT);
        text.push_str("\":");
        text.push_str(&serde_json::to_string(
            &Timestamp::from_micros(record.ts).to_string(),
        )?);
        text.push_str(",\"");
        text.push_str(CDC_DELETED_AT);
        text.push_str("\":");
        text.push_str(&serde_json::to_string(&record.deleted_at)?);
        text.push('}');
    }
    RawValue::from_string(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::export::ColumnType;
    use crate::fauna::Value;

    #[test]
    fn without_deletions_the_data_is_the_export_record() {
        let schema = RecordSchema {
            data_column: true,
            columns: vec![("zip".into(), ColumnType::String)],
            deletion_column: None,
            detected_column: None,
        };
        let rec = Record {
            id: "101".into(),
            ts: 1_658_188_683_585_000,
            data: Some(Value::Object(
                [("a".to_string(), Value::Int(1))].into_iter().collect(),
            )),
            columns: vec![Value::from("02134")],
            deleted_at: None,
            detected: false,
        };
        assert_eq!(
            record_data(&schema, &rec).unwrap().get(),
            r#"{"ref":"101","ts":1658188683585000,"data":{"a":1},"zip":"02134"}"#
        );
    }

    #[test]
    fn with_deletions_the_cdc_columns_follow() {
        let schema = RecordSchema {
            data_column: true,
            columns: vec![],
            deletion_column: Some("deleted_at".into()),
            detected_column: None,
        };
        let live = Record {
            id: "1".into(),
            ts: 1_658_188_683_585_123,
            data: Some(Value::Null),
            columns: vec![],
            deleted_at: None,
            detected: false,
        };
        assert_eq!(
            record_data(&schema, &live).unwrap().get(),
            r#"{"ref":"1","ts":1658188683585123,"data":null,"deleted_at":null,"_ab_cdc_updated_at":"2022-07-18T23:58:03.585123Z","_ab_cdc_deleted_at":null}"#
        );
        let gone = Record {
            id: "2".into(),
            ts: 1_658_188_700_000_000,
            data: None,
            columns: vec![],
            deleted_at: Some("2022-07-18T23:58:20Z".into()),
            detected: false,
        };
        assert_eq!(
            record_data(&schema, &gone).unwrap().get(),
            r#"{"ref":"2","ts":1658188700000000,"data":null,"deleted_at":"2022-07-18T23:58:20Z","_ab_cdc_updated_at":"2022-07-18T23:58:20Z","_ab_cdc_deleted_at":"2022-07-18T23:58:20Z"}"#
        );
    }
}
