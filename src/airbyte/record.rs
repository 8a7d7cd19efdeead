//! One export record as the `data` of an Airbyte RECORD, in the shape the Python source-fauna
//! emitted, so a destination sees the same rows after a switch:
//! - a document version: `ref`, `ts`, `data` (`{}` for a document without one), the additional
//!   columns (values in the export form of [`ExportValue`]); no deletion column;
//! - a deletion: `ref`, `ts` and the deletion column only, holding the deletion time the way
//!   source-fauna wrote it (Python's `datetime.isoformat()` of the UTC time: no zone, six fraction
//!   digits or none).
//!
//! When deletions are tracked, every record also carries `_ab_cdc_updated_at` and
//! `_ab_cdc_deleted_at` (RFC 3339 UTC), which source-fauna did not: Airbyte's deduplicating
//! destinations delete a row only through these declared columns.

use crate::tree::DATABASE_COLUMN;
use chrono::DateTime;
use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::value::RawValue;

use crate::export::{ExportValue, Record, RecordSchema};
use crate::fauna::{Timestamp, Value};

/// Airbyte's CDC column: when the change happened (the version's or deletion's `ts`, ISO-8601).
pub const CDC_UPDATED_AT: &str = "_ab_cdc_updated_at";
/// Airbyte's CDC column: when the document was deleted (ISO-8601), null for live documents.
pub const CDC_DELETED_AT: &str = "_ab_cdc_deleted_at";

/// Whether a stream with this schema carries the CDC columns.
pub fn has_cdc_columns(schema: &RecordSchema) -> bool {
    schema.deletion_column.is_some()
}

/// The RECORD `data` object of `record`, as raw JSON in source-fauna's field order (serialized
/// once and wrapped as it is: `RawValue::from_string` would parse every record again to check it).
pub fn record_data(
    schema: &RecordSchema,
    record: &Record,
) -> Result<Box<RawValue>, serde_json::Error> {
    serde_json::value::to_raw_value(&AirbyteRecord { schema, record })
}

/// The deletion time as source-fauna wrote it: `datetime.utcfromtimestamp(ts / 1e6).isoformat()`,
/// e.g. `2022-07-22T15:40:56.881000`, or `2022-07-22T15:40:56` on a whole second. Outside
/// Python's years (1..=9999) it falls back to the RFC 3339 form.
pub fn python_isoformat(micros: i64) -> String {
    match DateTime::from_timestamp_micros(micros).map(|t| t.naive_utc()) {
        Some(t) if (1..=9999).contains(&chrono::Datelike::year(&t)) => {
            if micros.rem_euclid(1_000_000) == 0 {
                t.format("%Y-%m-%dT%H:%M:%S").to_string()
            } else {
                t.format("%Y-%m-%dT%H:%M:%S%.6f").to_string()
            }
        }
        _ => Timestamp::from_micros(micros).to_string(),
    }
}

struct AirbyteRecord<'a> {
    schema: &'a RecordSchema,
    record: &'a Record,
}

impl Serialize for AirbyteRecord<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let (schema, rec) = (self.schema, self.record);
        let mut map = s.serialize_map(None)?;
        map.serialize_entry("ref", &rec.id)?;
        map.serialize_entry("ts", &rec.ts)?;
        match (&schema.deletion_column, &rec.deletion) {
            (Some(col), Some(_)) => {
                map.serialize_entry(col, &python_isoformat(rec.ts))?;
                // A database tree's deletion records keep the database column, half of the
                // row's key (`spec/trees.md`).
                let database = schema.columns.iter().zip(&rec.columns);
                for ((name, _), v) in database.filter(|((n, _), _)| n == DATABASE_COLUMN) {
                    map.serialize_entry(name, &ExportValue(v))?;
                }
            }
            _ => {
                if schema.data_column {
                    match &rec.data {
                        Some(d) => map.serialize_entry("data", d)?,
                        // A document without `data`: source-fauna 0.1.x selected it with a
                        // default of `{}`.
                        None => map.serialize_entry("data", &serde_json::Map::new())?,
                    }
                }
                for (i, (name, _)) in schema.columns.iter().enumerate() {
                    let v = rec.columns.get(i).unwrap_or(&Value::Null);
                    map.serialize_entry(name, &ExportValue(v))?;
                }
            }
        }
        if has_cdc_columns(schema) {
            map.serialize_entry(CDC_UPDATED_AT, &Timestamp::from_micros(rec.ts).to_string())?;
            map.serialize_entry(CDC_DELETED_AT, &rec.deleted_at())?;
        }
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::export::{ColumnType, Deletion, ExportJson};

    #[test]
    fn without_deletions_the_data_is_the_export_record() {
        let schema = RecordSchema {
            data_column: true,
            columns: vec![("zip".into(), ColumnType::String)],
            deletion_column: None,
            detected_column: None,
            typed: None,
        };
        let rec = Record {
            id: "101".into(),
            ts: 1_658_188_683_585_000,
            data: Some(ExportJson::of(&Value::Object(
                [("a".to_string(), Value::Int(1))].into_iter().collect(),
            ))),
            columns: vec![Value::from("02134")],
            deletion: None,
            ttl: None,
        };
        assert_eq!(
            record_data(&schema, &rec).unwrap().get(),
            r#"{"ref":"101","ts":1658188683585000,"data":{"a":1},"zip":"02134"}"#
        );
    }

    #[test]
    fn with_deletions_live_records_have_no_deletion_column_and_deletions_only_ref_ts_and_it() {
        let schema = RecordSchema {
            data_column: true,
            columns: vec![("zip".into(), ColumnType::String)],
            deletion_column: Some("deleted_at".into()),
            detected_column: None,
            typed: None,
        };
        let live = Record {
            id: "1".into(),
            ts: 1_658_188_683_585_123,
            data: Some(ExportJson::of(&Value::Null)),
            columns: vec![Value::Null],
            deletion: None,
            ttl: None,
        };
        assert_eq!(
            record_data(&schema, &live).unwrap().get(),
            r#"{"ref":"1","ts":1658188683585123,"data":null,"zip":null,"_ab_cdc_updated_at":"2022-07-18T23:58:03.585123Z","_ab_cdc_deleted_at":null}"#
        );
        let no_data = Record {
            data: None,
            ..live.clone()
        };
        assert_eq!(
            record_data(&schema, &no_data).unwrap().get(),
            r#"{"ref":"1","ts":1658188683585123,"data":{},"zip":null,"_ab_cdc_updated_at":"2022-07-18T23:58:03.585123Z","_ab_cdc_deleted_at":null}"#
        );
        let gone = Record {
            id: "2".into(),
            ts: 1_658_188_700_881_000,
            data: None,
            columns: vec![Value::Null],
            deletion: Some(Deletion::Observed),
            ttl: None,
        };
        assert_eq!(
            record_data(&schema, &gone).unwrap().get(),
            r#"{"ref":"2","ts":1658188700881000,"deleted_at":"2022-07-18T23:58:20.881000","_ab_cdc_updated_at":"2022-07-18T23:58:20.881Z","_ab_cdc_deleted_at":"2022-07-18T23:58:20.881Z"}"#
        );
    }

    #[test]
    fn the_deletion_time_is_pythons_isoformat() {
        assert_eq!(
            python_isoformat(1_658_188_700_881_000),
            "2022-07-18T23:58:20.881000"
        );
        assert_eq!(
            python_isoformat(1_658_188_700_000_001),
            "2022-07-18T23:58:20.000001"
        );
        assert_eq!(
            python_isoformat(1_658_188_700_000_000),
            "2022-07-18T23:58:20"
        );
        assert_eq!(python_isoformat(0), "1970-01-01T00:00:00");
        assert_eq!(python_isoformat(-1), "1969-12-31T23:59:59.999999");
        assert_eq!(
            python_isoformat(i64::MAX),
            Timestamp::from_micros(i64::MAX).to_string()
        );
    }
}
