//! The column plan as a BigQuery schema file (`bq load --schema`), for typed Parquet files.

use serde_json::{json, Value as Json};

use super::{ColumnKind, ColumnPlan};

/// The BigQuery schema of a typed file: `ref` STRING and `ts` INT64 (REQUIRED), `data` JSON
/// (if `data_column`), then each plan column NULLABLE with its path as description: INT64,
/// FLOAT64, STRING, BOOL, TIMESTAMP (BigQuery keeps microseconds: nanoseconds are cut there,
/// never in the file), DATE, BYTES, RECORD (refs), REPEATED (lists; BigQuery has no null
/// elements, so load lists with nulls as JSON); JSON-text kinds are STRING.
pub fn bigquery_schema(plan: &ColumnPlan, data_column: bool) -> Json {
    let mut fields = vec![
        json!({"name": "ref", "type": "STRING", "mode": "REQUIRED"}),
        json!({"name": "ts", "type": "INT64", "mode": "REQUIRED"}),
    ];
    if data_column {
        fields.push(json!({"name": "data", "type": "JSON", "mode": "NULLABLE"}));
    }
    for c in plan.columns() {
        let (ty, mode) = match c.kind {
            ColumnKind::List(of) => (bigquery_type(of.element()), "REPEATED"),
            other => (bigquery_type(other), "NULLABLE"),
        };
        let mut field = json!({
            "name": c.name,
            "type": ty,
            "mode": mode,
            "description": format!("data path {}", c.path),
        });
        if c.kind == ColumnKind::Ref {
            field["fields"] = json!([
                {"name": "id", "type": "STRING", "mode": "NULLABLE"},
                {"name": "collection", "type": "STRING", "mode": "NULLABLE"},
                {"name": "type", "type": "STRING", "mode": "NULLABLE"},
            ]);
        }
        fields.push(field);
    }
    Json::Array(fields)
}

fn bigquery_type(kind: ColumnKind) -> &'static str {
    match kind {
        ColumnKind::Int => "INT64",
        ColumnKind::Double => "FLOAT64",
        ColumnKind::Boolean => "BOOL",
        ColumnKind::Time => "TIMESTAMP",
        ColumnKind::Date => "DATE",
        ColumnKind::Bytes => "BYTES",
        ColumnKind::Ref => "RECORD",
        ColumnKind::String
        | ColumnKind::TimeText
        | ColumnKind::DateText
        | ColumnKind::List(_)
        | ColumnKind::Array
        | ColumnKind::Object
        | ColumnKind::Set
        | ColumnKind::Query => "STRING",
    }
}
