//! A Fauna document (as `Get` returns it) → an export [`Record`].

use thiserror::Error;

use crate::config::CollectionSettings;
use crate::export::{ExportJson, Record, RecordSchema, DETECTED_COLUMN};
use crate::fauna::{PathStep, Value};

/// A document that cannot become a record.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum RecordError {
    /// A required additional column's path is missing.
    #[error("the path {path:?} does not exist in document {id} of collection '{collection}' (column '{column}' is required; mark it \"required\": false to export null instead)")]
    MissingRequired {
        /// The collection.
        collection: String,
        /// The document id.
        id: String,
        /// The column.
        column: String,
        /// Its path.
        path: Vec<String>,
    },
    /// A value does not fit its additional column's declared type.
    #[error("column '{column}' of document {id} in collection '{collection}' is declared {declared} but holds {found}; declare the column \"string\" (any value, as its export text) or fix the document")]
    TypeMismatch {
        /// The collection.
        collection: String,
        /// The document id.
        id: String,
        /// The column.
        column: String,
        /// The declared type.
        declared: &'static str,
        /// The value's kind and a preview.
        found: String,
    },
    /// The page held something that is not a document.
    #[error("collection '{collection}': expected a document with ref and ts, got {found}")]
    NotADocument {
        /// The collection.
        collection: String,
        /// What was found (shortened).
        found: String,
    },
}

/// The record schema of a collection's stream.
pub fn record_schema(settings: &CollectionSettings) -> RecordSchema {
    RecordSchema {
        data_column: settings.data_column,
        columns: settings
            .columns
            .iter()
            .map(|c| (c.name.clone(), c.column_type))
            .collect(),
        deletion_column: settings.deletion_column.clone(),
        detected_column: settings
            .deletion_column
            .as_ref()
            .map(|_| DETECTED_COLUMN.to_string()),
        typed: None,
    }
}

/// Builds the record of one document version.
pub fn document_record(doc: Value, settings: &CollectionSettings) -> Result<Record, RecordError> {
    let not_doc = |v: &Value| RecordError::NotADocument {
        collection: settings.name.clone(),
        found: format!("{v:?}").chars().take(120).collect(),
    };
    let fields = doc.as_object().ok_or_else(|| not_doc(&doc))?;
    let id = fields
        .get("ref")
        .and_then(Value::as_ref)
        .map(|r| r.id.clone())
        .ok_or_else(|| not_doc(&doc))?;
    let ts = fields
        .get("ts")
        .and_then(Value::as_i64)
        .ok_or_else(|| not_doc(&doc))?;
    let mut columns = Vec::with_capacity(settings.columns.len());
    for col in &settings.columns {
        let steps: Vec<PathStep<'_>> = col.path.iter().map(|k| PathStep::Key(k)).collect();
        match doc.select(&steps) {
            Some(v) if !col.column_type.accepts(v.value()) => {
                return Err(RecordError::TypeMismatch {
                    collection: settings.name.clone(),
                    id,
                    column: col.name.clone(),
                    declared: col.column_type.name(),
                    found: crate::export::describe_value(v.value()),
                })
            }
            Some(v) => columns.push(v.into_owned()),
            None if col.required => {
                return Err(RecordError::MissingRequired {
                    collection: settings.name.clone(),
                    id,
                    column: col.name.clone(),
                    path: col.path.clone(),
                })
            }
            None => columns.push(Value::Null),
        }
    }
    let ttl = fields.get("ttl").and_then(ttl_micros);
    let data = if settings.data_column || settings.typed {
        match doc {
            Value::Object(o) => o.get("data").map(|d| {
                let json = ExportJson::of(d);
                match settings.typed {
                    true => json.with_wire(crate::fauna::encode(d).into_bytes().into()),
                    false => json,
                }
            }),
            _ => None,
        }
    } else {
        None
    };
    Ok(Record {
        id,
        ts,
        data,
        columns,
        deletion: None,
        ttl,
    })
}

/// A document's `ttl` field in microseconds: a time Fauna can hold; anything else is no ttl.
pub fn ttl_micros(ttl: &Value) -> Option<i64> {
    match ttl {
        Value::Timestamp(t) => t.to_micros(),
        _ => None,
    }
}

/// Fauna's order of document ids: numeric ids by value (shorter digit strings first), then
/// anything else bytewise.
pub fn id_order(a: &str, b: &str) -> std::cmp::Ordering {
    let numeric = |s: &str| !s.is_empty() && s.bytes().all(|c| c.is_ascii_digit());
    match (numeric(a), numeric(b)) {
        (true, true) => {
            let (a, b) = (a.trim_start_matches('0'), b.trim_start_matches('0'));
            a.len().cmp(&b.len()).then_with(|| a.cmp(b))
        }
        (true, false) => std::cmp::Ordering::Less,
        (false, true) => std::cmp::Ordering::Greater,
        (false, false) => a.cmp(b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ColumnSpec;
    use crate::export::ColumnType;
    use crate::fauna::{decode, Ref};

    fn settings(columns: Vec<ColumnSpec>, data_column: bool) -> CollectionSettings {
        CollectionSettings {
            name: "foo".into(),
            index: None,
            data_column,
            columns,
            page_size: 10,
            page_size_fixed: false,
            deletion_column: None,
            history_gap: Default::default(),
            typed: false,
            contract: None,
        }
    }

    fn col(name: &str, path: &[&str], required: bool) -> ColumnSpec {
        ColumnSpec {
            name: name.into(),
            path: path.iter().map(|s| s.to_string()).collect(),
            column_type: ColumnType::String,
            format: None,
            airbyte_type: None,
            required,
        }
    }

    const DOC: &str = r#"{"ref":{"@ref":{"id":"101","collection":{"@ref":{"id":"foo","collection":{"@ref":{"id":"collections"}}}}}},"ts":5,"data":{"a":1,"owner":{"@ref":{"id":"7","collection":{"@ref":{"id":"players","collection":{"@ref":{"id":"collections"}}}}}}}}"#;

    #[test]
    fn selects_columns_like_fql_select() {
        let s = settings(
            vec![
                col("a", &["data", "a"], true),
                col("owner_id", &["data", "owner", "id"], true),
                col("owner_coll", &["data", "owner", "collection", "id"], true),
                col("ttl", &["ttl"], false),
            ],
            false,
        );
        let r = document_record(decode(DOC.as_bytes()).unwrap(), &s).unwrap();
        assert_eq!((r.id.as_str(), r.ts, r.data.is_none()), ("101", 5, true));
        assert_eq!(
            r.columns,
            vec![
                Value::Int(1),
                Value::from("7"),
                Value::from("players"),
                Value::Null
            ]
        );
        let _ = Ref::native("collections");
    }

    #[test]
    fn a_value_that_does_not_fit_its_declared_type_fails_in_every_format() {
        let mut c = col("a", &["data", "a"], true);
        c.column_type = ColumnType::Boolean;
        let e =
            document_record(decode(DOC.as_bytes()).unwrap(), &settings(vec![c], true)).unwrap_err();
        assert_eq!(
            e.to_string(),
            r#"column 'a' of document 101 in collection 'foo' is declared boolean but holds integer 1; declare the column "string" (any value, as its export text) or fix the document"#
        );
        // Refs fit object columns, integers number columns, anything a string column.
        let mut owner = col("owner", &["data", "owner"], true);
        owner.column_type = ColumnType::Object;
        let mut n = col("n", &["data", "a"], true);
        n.column_type = ColumnType::Number;
        let s = settings(vec![owner, n, col("s", &["data", "owner"], true)], true);
        assert!(document_record(decode(DOC.as_bytes()).unwrap(), &s).is_ok());
    }

    #[test]
    fn a_missing_required_path_names_path_document_and_collection() {
        let s = settings(vec![col("zip", &["data", "address", "zip"], true)], true);
        let e = document_record(decode(DOC.as_bytes()).unwrap(), &s).unwrap_err();
        assert_eq!(
            e.to_string(),
            r#"the path ["data", "address", "zip"] does not exist in document 101 of collection 'foo' (column 'zip' is required; mark it "required": false to export null instead)"#
        );
    }
}
