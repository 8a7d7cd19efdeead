//! Parquet encoding: records → Arrow arrays (built directly with builders, a chunk of rows at a
//! time) → `ArrowWriter` with zstd pages and row groups bounded by rows and bytes.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use ::parquet::arrow::ArrowWriter;
use ::parquet::basic::{Compression as PqCompression, ZstdLevel};
use ::parquet::file::metadata::KeyValue;
use ::parquet::file::properties::WriterProperties;
use arrow_array::builder::{BooleanBuilder, Float64Builder, Int64Builder, StringBuilder};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use serde::Serialize;

use crate::export::{write_export_json, ColumnType, Record, RecordSchema};
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

/// A Parquet file being written into `W`: [`write`](ParquetEncoder::write) converts records
/// into Arrow arrays a chunk at a time (chunks depend only on the records' order, so the same
/// records give the same bytes however they arrive) and hands each full chunk to the encoder,
/// which closes row groups at [`WriteOptions::parquet_row_group_rows`] rows or about
/// [`WriteOptions::parquet_row_group_bytes`]; [`finish`](ParquetEncoder::finish) writes the
/// footer. After an error the encoder must be dropped.
pub(crate) struct ParquetEncoder<W: Write + Send> {
    writer: ArrowWriter<W>,
    arrow: SchemaRef,
    chunk: Chunk,
    chunk_rows: usize,
    scratch: Vec<u8>,
    /// Only used in error messages.
    path: PathBuf,
}

/// Arrow bytes (strings' text) after which a chunk is encoded even if it has fewer than
/// `parquet_chunk_rows` records: bounds the memory of a chunk of large documents.
const CHUNK_BYTES: usize = 16 << 20;

impl<W: Write + Send> ParquetEncoder<W> {
    /// Starts a file into `out`. `path` is only used in error messages.
    pub(crate) fn new(
        out: W,
        path: &Path,
        options: &WriteOptions,
        schema: &RecordSchema,
    ) -> Result<Self, SinkError> {
        let pq_err = |source| SinkError::Parquet {
            path: path.to_path_buf(),
            source,
        };
        let props = writer_properties(options, schema).map_err(pq_err)?;
        let arrow = arrow_schema(schema);
        let writer = ArrowWriter::try_new(out, arrow.clone(), Some(props)).map_err(pq_err)?;
        let chunk_rows = options.parquet_chunk_rows.max(1);
        Ok(ParquetEncoder {
            writer,
            arrow,
            chunk: Chunk::new(schema, chunk_rows),
            chunk_rows,
            scratch: Vec::with_capacity(1024),
            path: path.to_path_buf(),
        })
    }

    /// Appends `records` (of `schema`, the schema the encoder was made with).
    pub(crate) fn write(
        &mut self,
        schema: &RecordSchema,
        records: &[Record],
    ) -> Result<(), SinkError> {
        for rec in records {
            self.chunk
                .append(schema, rec, &mut self.scratch, &self.path)?;
            if self.chunk.rows >= self.chunk_rows || self.chunk.bytes >= CHUNK_BYTES {
                self.encode_chunk(schema)?;
            }
        }
        Ok(())
    }

    /// Encodes what is left, writes the footer and returns the underlying writer.
    pub(crate) fn finish(mut self, schema: &RecordSchema) -> Result<W, SinkError> {
        if self.chunk.rows > 0 {
            self.encode_chunk(schema)?;
        }
        let path = self.path;
        self.writer
            .into_inner()
            .map_err(|source| SinkError::Parquet {
                path: path.clone(),
                source,
            })
    }

    fn encode_chunk(&mut self, schema: &RecordSchema) -> Result<(), SinkError> {
        let full = std::mem::replace(&mut self.chunk, Chunk::new(schema, self.chunk_rows));
        let batch = full.finish(&self.arrow, &self.path)?;
        self.writer
            .write(&batch)
            .map_err(|source| SinkError::Parquet {
                path: self.path.clone(),
                source,
            })
    }
}

/// The writer properties of a stream's Parquet files: zstd pages, row groups bounded by rows
/// and bytes, the layout version and record schema in the file metadata.
pub(super) fn writer_properties(
    options: &WriteOptions,
    schema: &RecordSchema,
) -> Result<WriterProperties, ::parquet::errors::ParquetError> {
    let level = ZstdLevel::try_new(options.parquet_zstd_level)?;
    Ok(WriterProperties::builder()
        .set_compression(PqCompression::ZSTD(level))
        .set_max_row_group_row_count(Some(options.parquet_row_group_rows.max(1)))
        .set_max_row_group_bytes(Some(options.parquet_row_group_bytes.max(1)))
        .set_key_value_metadata(Some(vec![
            KeyValue::new(FORMAT_VERSION_KEY.to_string(), FORMAT_VERSION.to_string()),
            KeyValue::new(SCHEMA_KEY.to_string(), schema_json(schema)),
        ]))
        .build())
}

/// The Arrow builders of one chunk of records.
pub(super) struct Chunk {
    pub(super) rows: usize,
    /// Text appended to the string builders (`ref`, `data`, text columns).
    pub(super) bytes: usize,
    refs: StringBuilder,
    ts: Int64Builder,
    data: Option<StringBuilder>,
    columns: Vec<ColumnBuilder>,
    deleted: Option<StringBuilder>,
    detected: Option<BooleanBuilder>,
}

impl Chunk {
    pub(super) fn new(schema: &RecordSchema, n: usize) -> Self {
        Chunk {
            rows: 0,
            bytes: 0,
            refs: StringBuilder::with_capacity(n, n * 20),
            ts: Int64Builder::with_capacity(n),
            data: schema
                .data_column
                .then(|| StringBuilder::with_capacity(n, n * 256)),
            columns: schema
                .columns
                .iter()
                .map(|(_, ty)| ColumnBuilder::new(*ty, n))
                .collect(),
            deleted: schema
                .deletion_column
                .as_ref()
                .map(|_| StringBuilder::with_capacity(n, n * 24)),
            detected: schema
                .detected_column
                .as_ref()
                .map(|_| BooleanBuilder::with_capacity(n)),
        }
    }

    /// Appends one record; on a type mismatch the chunk is left inconsistent (the caller
    /// drops the file).
    pub(super) fn append(
        &mut self,
        schema: &RecordSchema,
        rec: &Record,
        scratch: &mut Vec<u8>,
        path: &Path,
    ) -> Result<(), SinkError> {
        self.refs.append_value(&rec.id);
        self.bytes += rec.id.len();
        self.ts.append_value(rec.ts);
        if let Some(b) = &mut self.data {
            match &rec.data {
                Some(d) if !d.is_null() => {
                    b.append_value(d.as_str());
                    self.bytes += d.as_str().len();
                }
                _ => b.append_null(),
            }
        }
        for (i, ((name, ty), b)) in schema.columns.iter().zip(&mut self.columns).enumerate() {
            let v = rec.columns.get(i).unwrap_or(&NULL);
            match b.append(v, scratch, path)? {
                Some(n) => self.bytes += n,
                None => {
                    return Err(SinkError::TypeMismatch {
                        path: path.to_path_buf(),
                        column: name.clone(),
                        id: rec.id.clone(),
                        expected: *ty,
                        found: crate::export::describe_value(v),
                    })
                }
            }
        }
        if let Some(b) = &mut self.deleted {
            b.append_option(rec.deleted_at());
        }
        if let Some(b) = &mut self.detected {
            b.append_option(rec.detected());
        }
        self.rows += 1;
        Ok(())
    }

    /// The chunk as an Arrow batch.
    pub(super) fn finish(self, arrow: &SchemaRef, path: &Path) -> Result<RecordBatch, SinkError> {
        let Chunk {
            mut refs,
            mut ts,
            data,
            columns,
            deleted,
            detected,
            ..
        } = self;
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

    /// Appends `v`; `Ok(Some(text bytes))`, or `Ok(None)` when it does not fit the column's
    /// type.
    fn append(
        &mut self,
        v: &Value,
        scratch: &mut Vec<u8>,
        path: &Path,
    ) -> Result<Option<usize>, SinkError> {
        let n = match (self, v) {
            (ColumnBuilder::Text(b, _), Value::Null) => {
                b.append_null();
                0
            }
            (ColumnBuilder::Int(b), Value::Null) => {
                b.append_null();
                0
            }
            (ColumnBuilder::Float(b), Value::Null) => {
                b.append_null();
                0
            }
            (ColumnBuilder::Bool(b), Value::Null) => {
                b.append_null();
                0
            }
            (ColumnBuilder::Text(b, ColumnType::String), Value::String(s)) => {
                b.append_value(s);
                s.len()
            }
            (ColumnBuilder::Text(b, ColumnType::String), v) => append_text(b, v, scratch, path)?,
            (ColumnBuilder::Text(b, ColumnType::Object), Value::Object(_) | Value::Ref(_))
            | (ColumnBuilder::Text(b, ColumnType::Array), Value::Array(_)) => {
                append_json(b, v, scratch, path)?
            }
            (ColumnBuilder::Int(b), Value::Int(i)) => {
                b.append_value(*i);
                0
            }
            (ColumnBuilder::Float(b), Value::Double(d)) => {
                b.append_value(*d);
                0
            }
            (ColumnBuilder::Float(b), Value::Int(i)) => {
                b.append_value(*i as f64);
                0
            }
            (ColumnBuilder::Bool(b), Value::Bool(x)) => {
                b.append_value(*x);
                0
            }
            _ => return Ok(None),
        };
        Ok(Some(n))
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
    write_export_json(v, scratch);
    std::str::from_utf8(scratch).map_err(|e| SinkError::Schema {
        path: path.to_path_buf(),
        reason: format!("export JSON is not UTF-8: {e}"),
    })
}

/// Appends `v`'s export JSON text; returns its length.
fn append_json(
    b: &mut StringBuilder,
    v: &Value,
    scratch: &mut Vec<u8>,
    path: &Path,
) -> Result<usize, SinkError> {
    let json = export_json_into(v, scratch, path)?;
    b.append_value(json);
    Ok(json.len())
}

/// Appends `v`'s export form as text: the string itself when the export form is a JSON string
/// (timestamps, dates, bytes, queries, sets, non-finite doubles), else the export JSON text.
/// Returns the text's length.
fn append_text(
    b: &mut StringBuilder,
    v: &Value,
    scratch: &mut Vec<u8>,
    path: &Path,
) -> Result<usize, SinkError> {
    let json = export_json_into(v, scratch, path)?;
    if json.starts_with('"') {
        let text: String = serde_json::from_str(json).map_err(|source| SinkError::Json {
            path: path.to_path_buf(),
            source,
        })?;
        let n = text.len();
        b.append_value(text);
        Ok(n)
    } else {
        b.append_value(json);
        Ok(json.len())
    }
}
