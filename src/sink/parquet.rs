//! Parquet encoding: records → Arrow arrays (built directly with builders, a chunk of rows at a
//! time) → `ArrowWriter` with zstd pages and row groups bounded by bytes.

use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use ::parquet::arrow::ArrowWriter;
use ::parquet::basic::{Compression as PqCompression, ZstdLevel};
use ::parquet::file::metadata::KeyValue;
use ::parquet::file::properties::WriterProperties;
use arrow_array::builder::{BooleanBuilder, Float64Builder, Int64Builder, StringBuilder};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use serde::Serialize;

use crate::export::{ColumnType, ExportValue, Record, RecordSchema};
use crate::fauna::Value;

use super::{SinkError, WriteOptions};

/// Key of the file metadata entry holding the layout version (`"1"`).
pub const FORMAT_VERSION_KEY: &str = "fauna_sync.format_version";
/// The layout version written under [`FORMAT_VERSION_KEY`].
pub const FORMAT_VERSION: &str = "1";
/// Key of the file metadata entry holding [`schema_json`] of the record schema.
pub const SCHEMA_KEY: &str = "fauna_sync.schema";

static NULL: Value = Value::Null;

/// The Arrow schema of a stream's Parquet files: `ref` utf8 and `ts` int64 (both non-null),
/// `data` utf8 (if on), the additional columns typed from their [`ColumnType`], and the
/// deletion column utf8 and the detected-deletion column boolean (if on); all but `ref` and
/// `ts` nullable.
pub fn arrow_schema(schema: &RecordSchema) -> SchemaRef {
    let mut fields = vec![
        Field::new("ref", DataType::Utf8, false),
        Field::new("ts", DataType::Int64, false),
    ];
    if schema.data_column {
        fields.push(Field::new("data", DataType::Utf8, true));
    }
    for (name, ty) in &schema.columns {
        let dt = match ty {
            ColumnType::String | ColumnType::Object | ColumnType::Array => DataType::Utf8,
            ColumnType::Integer => DataType::Int64,
            ColumnType::Number => DataType::Float64,
            ColumnType::Boolean => DataType::Boolean,
        };
        fields.push(Field::new(name, dt, true));
    }
    if let Some(name) = &schema.deletion_column {
        fields.push(Field::new(name, DataType::Utf8, true));
    }
    if let Some(name) = &schema.detected_column {
        fields.push(Field::new(name, DataType::Boolean, true));
    }
    Arc::new(Schema::new(fields))
}

/// The record schema as stored under [`SCHEMA_KEY`], e.g.
/// `{"data_column":true,"columns":[{"name":"zip","type":"string"}],"deletion_column":null}`.
pub fn schema_json(schema: &RecordSchema) -> String {
    #[derive(Serialize)]
    struct Column<'a> {
        name: &'a str,
        #[serde(rename = "type")]
        ty: ColumnType,
    }
    #[derive(Serialize)]
    struct Meta<'a> {
        data_column: bool,
        columns: Vec<Column<'a>>,
        deletion_column: Option<&'a str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        detected_column: Option<&'a str>,
    }
    let meta = Meta {
        data_column: schema.data_column,
        columns: schema
            .columns
            .iter()
            .map(|(name, ty)| Column { name, ty: *ty })
            .collect(),
        deletion_column: schema.deletion_column.as_deref(),
        detected_column: schema.detected_column.as_deref(),
    };
    // Serializing plain structs into a String cannot fail.
    serde_json::to_string(&meta).unwrap_or_default()
}

/// Writes `records` as one Parquet file into `out`. `path` is only used in error messages.
pub(crate) fn write_parquet<W: Write + Send>(
    out: W,
    path: &Path,
    options: &WriteOptions,
    schema: &RecordSchema,
    records: &[Record],
) -> Result<(), SinkError> {
    let pq_err = |source| SinkError::Parquet {
        path: path.to_path_buf(),
        source,
    };
    let level = ZstdLevel::try_new(options.parquet_zstd_level).map_err(pq_err)?;
    let props = WriterProperties::builder()
        .set_compression(PqCompression::ZSTD(level))
        .set_max_row_group_row_count(None)
        .set_max_row_group_bytes(Some(options.parquet_row_group_bytes.max(1)))
        .set_key_value_metadata(Some(vec![
            KeyValue::new(FORMAT_VERSION_KEY.to_string(), FORMAT_VERSION.to_string()),
            KeyValue::new(SCHEMA_KEY.to_string(), schema_json(schema)),
        ]))
        .build();
    let arrow = arrow_schema(schema);
    let mut writer = ArrowWriter::try_new(out, arrow.clone(), Some(props)).map_err(pq_err)?;
    let mut scratch = Vec::with_capacity(1024);
    for chunk in records.chunks(options.parquet_chunk_rows.max(1)) {
        let batch = build_batch(&arrow, schema, chunk, path, &mut scratch)?;
        writer.write(&batch).map_err(pq_err)?;
    }
    writer.close().map_err(pq_err)?;
    Ok(())
}

/// Converts one chunk of records into an Arrow batch.
fn build_batch(
    arrow: &SchemaRef,
    schema: &RecordSchema,
    records: &[Record],
    path: &Path,
    scratch: &mut Vec<u8>,
) -> Result<RecordBatch, SinkError> {
    let n = records.len();
    let mut refs = StringBuilder::with_capacity(n, n * 20);
    let mut ts = Int64Builder::with_capacity(n);
    let mut data = schema
        .data_column
        .then(|| StringBuilder::with_capacity(n, n * 256));
    let mut columns: Vec<ColumnBuilder> = schema
        .columns
        .iter()
        .map(|(_, ty)| ColumnBuilder::new(*ty, n))
        .collect();
    let mut deleted = schema
        .deletion_column
        .as_ref()
        .map(|_| StringBuilder::with_capacity(n, n * 24));
    let mut detected = schema
        .detected_column
        .as_ref()
        .map(|_| BooleanBuilder::with_capacity(n));

    for rec in records {
        refs.append_value(&rec.id);
        ts.append_value(rec.ts);
        if let Some(b) = &mut data {
            match &rec.data {
                None | Some(Value::Null) => b.append_null(),
                Some(v) => append_json(b, v, scratch, path)?,
            }
        }
        for (i, ((name, ty), b)) in schema.columns.iter().zip(&mut columns).enumerate() {
            let v = rec.columns.get(i).unwrap_or(&NULL);
            if !b.append(v, scratch, path)? {
                return Err(SinkError::TypeMismatch {
                    path: path.to_path_buf(),
                    column: name.clone(),
                    id: rec.id.clone(),
                    expected: *ty,
                    found: crate::export::describe_value(v),
                });
            }
        }
        if let Some(b) = &mut deleted {
            b.append_option(rec.deleted_at());
        }
        if let Some(b) = &mut detected {
            b.append_option(rec.detected());
        }
    }

    let mut arrays: Vec<ArrayRef> = Vec::with_capacity(arrow.fields().len());
    arrays.push(Arc::new(refs.finish()));
    arrays.push(Arc::new(ts.finish()));
    if let Some(mut b) = data {
        arrays.push(Arc::new(b.finish()));
    }
    arrays.extend(columns.into_iter().map(ColumnBuilder::finish));
    if let Some(mut b) = deleted {
        arrays.push(Arc::new(b.finish()));
    }
    if let Some(mut b) = detected {
        arrays.push(Arc::new(b.finish()));
    }
    RecordBatch::try_new(arrow.clone(), arrays).map_err(|source| SinkError::Arrow {
        path: path.to_path_buf(),
        source,
    })
}

/// The builder of one additional column.
enum ColumnBuilder {
    /// `string` (any value; non-strings as their export text), `object`, `array`.
    Text(StringBuilder, ColumnType),
    Int(Int64Builder),
    Float(Float64Builder),
    Bool(BooleanBuilder),
}

impl ColumnBuilder {
    fn new(ty: ColumnType, n: usize) -> Self {
        match ty {
            ColumnType::String | ColumnType::Object | ColumnType::Array => {
                ColumnBuilder::Text(StringBuilder::with_capacity(n, n * 16), ty)
            }
            ColumnType::Integer => ColumnBuilder::Int(Int64Builder::with_capacity(n)),
            ColumnType::Number => ColumnBuilder::Float(Float64Builder::with_capacity(n)),
            ColumnType::Boolean => ColumnBuilder::Bool(BooleanBuilder::with_capacity(n)),
        }
    }

    /// Appends `v`; `Ok(false)` when it does not fit the column's type.
    fn append(&mut self, v: &Value, scratch: &mut Vec<u8>, path: &Path) -> Result<bool, SinkError> {
        match (self, v) {
            (ColumnBuilder::Text(b, _), Value::Null) => b.append_null(),
            (ColumnBuilder::Int(b), Value::Null) => b.append_null(),
            (ColumnBuilder::Float(b), Value::Null) => b.append_null(),
            (ColumnBuilder::Bool(b), Value::Null) => b.append_null(),
            (ColumnBuilder::Text(b, ColumnType::String), Value::String(s)) => b.append_value(s),
            (ColumnBuilder::Text(b, ColumnType::String), v) => append_text(b, v, scratch, path)?,
            (ColumnBuilder::Text(b, ColumnType::Object), Value::Object(_) | Value::Ref(_))
            | (ColumnBuilder::Text(b, ColumnType::Array), Value::Array(_)) => {
                append_json(b, v, scratch, path)?
            }
            (ColumnBuilder::Int(b), Value::Int(i)) => b.append_value(*i),
            (ColumnBuilder::Float(b), Value::Double(d)) => b.append_value(*d),
            (ColumnBuilder::Float(b), Value::Int(i)) => b.append_value(*i as f64),
            (ColumnBuilder::Bool(b), Value::Bool(x)) => b.append_value(*x),
            _ => return Ok(false),
        }
        Ok(true)
    }

    fn finish(self) -> ArrayRef {
        match self {
            ColumnBuilder::Text(mut b, _) => Arc::new(b.finish()),
            ColumnBuilder::Int(mut b) => Arc::new(b.finish()),
            ColumnBuilder::Float(mut b) => Arc::new(b.finish()),
            ColumnBuilder::Bool(mut b) => Arc::new(b.finish()),
        }
    }
}

/// Serializes `v`'s export JSON into `scratch`.
fn export_json_into<'s>(
    v: &Value,
    scratch: &'s mut Vec<u8>,
    path: &Path,
) -> Result<&'s str, SinkError> {
    scratch.clear();
    serde_json::to_writer(&mut *scratch, &ExportValue(v)).map_err(|source| SinkError::Json {
        path: path.to_path_buf(),
        source,
    })?;
    std::str::from_utf8(scratch).map_err(|e| SinkError::Schema {
        path: path.to_path_buf(),
        reason: format!("export JSON is not UTF-8: {e}"),
    })
}

/// Appends `v`'s export JSON text.
fn append_json(
    b: &mut StringBuilder,
    v: &Value,
    scratch: &mut Vec<u8>,
    path: &Path,
) -> Result<(), SinkError> {
    b.append_value(export_json_into(v, scratch, path)?);
    Ok(())
}

/// Appends `v`'s export form as text: the string itself when the export form is a JSON string
/// (timestamps, dates, bytes, queries, sets, non-finite doubles), else the export JSON text.
fn append_text(
    b: &mut StringBuilder,
    v: &Value,
    scratch: &mut Vec<u8>,
    path: &Path,
) -> Result<(), SinkError> {
    let json = export_json_into(v, scratch, path)?;
    if json.starts_with('"') {
        let text: String = serde_json::from_str(json).map_err(|source| SinkError::Json {
            path: path.to_path_buf(),
            source,
        })?;
        b.append_value(text);
    } else {
        b.append_value(json);
    }
    Ok(())
}
