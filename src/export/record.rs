//! Export records: what one Fauna document (or deletion) becomes, ready for any sink.

use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;

use super::value::ExportValue;
use super::ExportJson;
pub use crate::config::{ColumnType, DETECTED_COLUMN};
use crate::fauna::Value;

/// A value's kind and a short preview of its export JSON, for error messages.
pub fn describe_value(v: &Value) -> String {
    const PREVIEW_CHARS: usize = 60;
    let kind = match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Int(_) => "integer",
        Value::Double(_) => "double",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
        Value::Ref(_) => "ref",
        Value::Timestamp(_) => "timestamp",
        Value::Date(_) => "date",
        Value::Bytes(_) => "bytes",
        Value::Query(_) => "query",
        Value::Set(_) => "set",
    };
    let json = super::to_export_json(v);
    let mut preview: String = json.chars().take(PREVIEW_CHARS).collect();
    if preview.len() < json.len() {
        preview.push('…');
    }
    format!("{kind} {preview}")
}

/// The columns every record of one stream has, in order: `ref`, `ts`, then `data` (unless
/// turned off), the additional columns, and the deletion column (if deletions are tracked).
#[derive(Clone, Debug, PartialEq)]
pub struct RecordSchema {
    /// Whether records carry the `data` column.
    pub data_column: bool,
    /// Additional columns: name and declared type.
    pub columns: Vec<(String, ColumnType)>,
    /// The deletion column's name, when deletions are tracked.
    pub deletion_column: Option<String>,
    /// The column telling detected deletions from observed ones (files, when deletions are
    /// tracked: [`DETECTED_COLUMN`]).
    pub detected_column: Option<String>,
    /// Typed columns (`columns: typed`): the plan the batch starts from; Parquet files add the
    /// plan's columns (grown from the batch) after the others.
    pub typed: Option<TypedBatch>,
}

/// What a typed batch starts from: the stream's column plan and schema version as committed,
/// and the contract for values the plan has no column for.
#[derive(Clone, Debug, PartialEq)]
pub struct TypedBatch {
    /// The plan as of the stream's last committed batch.
    pub plan: crate::schema::ColumnPlan,
    /// Its schema version ([`crate::state::TypedColumns::version`]).
    pub version: u64,
    /// What values without a column do.
    pub contract: crate::schema::Contract,
}

/// One exported row. Values are Fauna values; sinks render them with [`ExportValue`].
#[derive(Clone, Debug, PartialEq)]
pub struct Record {
    /// The document id (the ref's id only; the collection is the stream).
    pub id: String,
    /// The version's (or deletion's) ts, microseconds since the epoch.
    pub ts: i64,
    /// The export JSON of the document's `data` object; `None` when the column is off, absent,
    /// or on deletions.
    pub data: Option<ExportJson>,
    /// Additional column values in schema order; `Value::Null` when an optional path is missing.
    pub columns: Vec<Value>,
    /// Set on deletion records (their `ts` is the deletion's time).
    pub deletion: Option<Deletion>,
    /// The version's `ttl` in microseconds, if it has one: never written (a column that wants
    /// it selects `["ttl"]`); the committer keeps the stream's expiring documents by it.
    pub ttl: Option<i64>,
}

/// How a deletion record's deletion was known.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Deletion {
    /// Read from Fauna's delete event: `ts` is the deletion's own time.
    Observed,
    /// Found by reconciliation (the document was gone at `ts`): `ts` is an upper bound.
    Detected,
}

impl Record {
    /// A deletion record of document `id` at `ts`, with `columns` null columns.
    pub fn deletion(id: String, ts: i64, columns: usize, deletion: Deletion) -> Record {
        Record {
            id,
            ts,
            data: None,
            columns: vec![Value::Null; columns],
            deletion: Some(deletion),
            ttl: None,
        }
    }

    /// The deletion time as ISO-8601 (UTC), on deletion records.
    pub fn deleted_at(&self) -> Option<String> {
        self.deletion
            .map(|_| crate::fauna::Timestamp::from_micros(self.ts).to_string())
    }

    /// On deletion records: whether the deletion was detected rather than observed.
    pub fn detected(&self) -> Option<bool> {
        self.deletion.map(|d| d == Deletion::Detected)
    }
}

/// A record paired with its schema, serializing as one JSON object (a JSONL line).
///
/// ```
/// use fauna_sync::export::{Record, RecordSchema, RecordJson};
/// use fauna_sync::fauna::Value;
/// let schema = RecordSchema { data_column: true, columns: vec![], deletion_column: None, detected_column: None, typed: None };
/// let rec = Record { id: "1".into(), ts: 5, data: Some((&Value::Null).into()), columns: vec![], deletion: None, ttl: None };
/// assert_eq!(serde_json::to_string(&RecordJson { schema: &schema, record: &rec }).unwrap(),
///            r#"{"ref":"1","ts":5,"data":null}"#);
/// ```
pub struct RecordJson<'a> {
    /// The stream's columns.
    pub schema: &'a RecordSchema,
    /// The row.
    pub record: &'a Record,
}

impl RecordJson<'_> {
    /// Appends the record's JSON object (no newline): the bytes its `Serialize` writes, in
    /// about half the time ([`super::write_export_json`]).
    pub fn write_json(&self, out: &mut Vec<u8>) {
        use super::json_text::{write_i64, write_str};
        let (schema, rec) = (self.schema, self.record);
        out.extend_from_slice(b"{\"ref\":");
        write_str(&rec.id, out);
        out.extend_from_slice(b",\"ts\":");
        write_i64(rec.ts, out);
        if schema.data_column {
            out.extend_from_slice(b",\"data\":");
            match &rec.data {
                Some(d) => out.extend_from_slice(d.as_str().as_bytes()),
                None => out.extend_from_slice(b"null"),
            }
        }
        for (i, (name, _)) in schema.columns.iter().enumerate() {
            out.push(b',');
            write_str(name, out);
            out.push(b':');
            super::write_export_json(rec.columns.get(i).unwrap_or(&Value::Null), out);
        }
        if let Some(col) = &schema.deletion_column {
            out.push(b',');
            write_str(col, out);
            out.push(b':');
            match rec.deleted_at() {
                Some(at) => write_str(&at, out),
                None => out.extend_from_slice(b"null"),
            }
        }
        if let Some(col) = &schema.detected_column {
            out.push(b',');
            write_str(col, out);
            out.push(b':');
            out.extend_from_slice(match rec.detected() {
                Some(true) => b"true",
                Some(false) => b"false",
                None => b"null",
            });
        }
        out.push(b'}');
    }
}

impl Serialize for RecordJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let (schema, rec) = (self.schema, self.record);
        let mut map = s.serialize_map(None)?;
        map.serialize_entry("ref", &rec.id)?;
        map.serialize_entry("ts", &rec.ts)?;
        if schema.data_column {
            match &rec.data {
                Some(d) => map.serialize_entry("data", d)?,
                None => map.serialize_entry("data", &())?,
            }
        }
        for (i, (name, _)) in schema.columns.iter().enumerate() {
            let v = rec.columns.get(i).unwrap_or(&Value::Null);
            map.serialize_entry(name, &ExportValue(v))?;
        }
        if let Some(col) = &schema.deletion_column {
            map.serialize_entry(col, &rec.deleted_at())?;
        }
        if let Some(col) = &schema.detected_column {
            map.serialize_entry(col, &rec.detected())?;
        }
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fauna::decode;

    /// The record's line, checked to be the same from `write_json` and from `Serialize`.
    fn both(r: RecordJson) -> String {
        let mut written = Vec::new();
        r.write_json(&mut written);
        let serialized = serde_json::to_string(&r).unwrap();
        assert_eq!(String::from_utf8(written).unwrap(), serialized);
        serialized
    }

    #[test]
    fn worked_example_of_the_export_format_as_a_whole_record() {
        let doc = decode(concat!(
            r#"{"ref":{"@ref":{"id":"101","collection":{"@ref":{"id":"foo","collection":{"@ref":{"id":"collections"}}}}}},"ts":1658188683585000,"#,
            r#""data":{"owner":{"@ref":{"id":"7","collection":{"@ref":{"id":"players","collection":{"@ref":{"id":"collections"}}}}}},"#,
            r#""blob":{"@bytes":"aGVsbG8gd29ybGQ="},"seen":{"@ts":"2022-07-18T23:58:03.585Z"},"born":{"@date":"2012-02-01"},"#,
            r#""fn":{"@query":{"api_version":"4","lambda":"x","expr":{"var":"x"}}},"all":{"@ref":{"id":"collections"}}}}"#
        ).as_bytes())
        .unwrap();
        let fields = doc.as_object().unwrap();
        let rec = Record {
            id: fields["ref"].as_ref().unwrap().id.clone(),
            ts: fields["ts"].as_i64().unwrap(),
            data: fields.get("data").map(ExportJson::of),
            columns: vec![],
            deletion: None,
            ttl: None,
        };
        let schema = RecordSchema {
            data_column: true,
            columns: vec![],
            deletion_column: None,
            detected_column: None,
            typed: None,
        };
        assert_eq!(
            both(RecordJson {
                schema: &schema,
                record: &rec
            }),
            concat!(
                r#"{"ref":"101","ts":1658188683585000,"data":{"owner":{"id":"7","collection":"players","type":"document"},"#,
                r#""blob":"aGVsbG8gd29ybGQ=","seen":"2022-07-18T23:58:03.585Z","born":"2012-02-01","#,
                r#""fn":"{\"@query\":{\"api_version\":\"4\",\"lambda\":\"x\",\"expr\":{\"var\":\"x\"}}}","#,
                r#""all":{"id":"collections","type":"unknown"}}}"#
            )
        );
    }

    #[test]
    fn columns_and_deletions_follow_the_schema() {
        let schema = RecordSchema {
            data_column: false,
            columns: vec![
                ("zip".into(), ColumnType::String),
                ("n".into(), ColumnType::Integer),
            ],
            deletion_column: Some("deleted_at".into()),
            detected_column: None,
            typed: None,
        };
        let live = Record {
            id: "1".into(),
            ts: 10,
            data: None,
            columns: vec![Value::from("02134"), Value::Null],
            deletion: None,
            ttl: None,
        };
        let gone = Record {
            id: "2".into(),
            ts: 11,
            data: None,
            columns: vec![],
            deletion: Some(Deletion::Observed),
            ttl: None,
        };
        let line = |r: &Record| {
            both(RecordJson {
                schema: &schema,
                record: r,
            })
        };
        assert_eq!(
            line(&live),
            r#"{"ref":"1","ts":10,"zip":"02134","n":null,"deleted_at":null}"#
        );
        assert_eq!(
            line(&gone),
            r#"{"ref":"2","ts":11,"zip":null,"n":null,"deleted_at":"1970-01-01T00:00:00.000011Z"}"#
        );
    }

    #[test]
    fn the_detected_column_is_null_on_documents_and_tells_deletions_apart() {
        let schema = RecordSchema {
            data_column: false,
            columns: vec![],
            deletion_column: Some("deleted_at".into()),
            detected_column: Some(DETECTED_COLUMN.into()),
            typed: None,
        };
        let rec = |deleted: bool, detected: bool| Record {
            id: "1".into(),
            ts: 10,
            data: None,
            columns: vec![],
            deletion: deleted.then_some(if detected {
                Deletion::Detected
            } else {
                Deletion::Observed
            }),
            // Carried for the committer, never written.
            ttl: Some(99),
        };
        let line = |r: &Record| {
            both(RecordJson {
                schema: &schema,
                record: r,
            })
        };
        assert_eq!(
            line(&rec(false, false)),
            r#"{"ref":"1","ts":10,"deleted_at":null,"deletion_detected":null}"#
        );
        assert_eq!(
            line(&rec(true, false)),
            r#"{"ref":"1","ts":10,"deleted_at":"1970-01-01T00:00:00.000010Z","deletion_detected":false}"#
        );
        assert_eq!(
            line(&rec(true, true)),
            r#"{"ref":"1","ts":10,"deleted_at":"1970-01-01T00:00:00.000010Z","deletion_detected":true}"#
        );
    }
}
