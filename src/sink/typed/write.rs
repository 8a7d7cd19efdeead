//! One typed Parquet file from a batch.

use std::io::Write;
use std::sync::Arc;

use arrow_array::{ArrayRef, Int64Array, RecordBatch, StringArray};
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;

use crate::export::ExportJson;
use crate::fauna::Value;
use crate::schema::ColumnPlan;

use super::{typed_arrays, typed_arrow_schema, TypedError, Unplanned};

/// Rows per Arrow record batch handed to the encoder (fixed, so the bytes depend only on the
/// documents and the plan).
const CHUNK_ROWS: usize = 4096;

/// One document version as the typed writer sees it: its id, `ts` (microseconds) and the
/// decoded `data` (the wire types are needed; the record's export JSON no longer has them).
#[derive(Clone, Copy, Debug)]
pub struct TypedDoc<'a> {
    /// The document id (the `ref` column).
    pub id: &'a str,
    /// The version's timestamp in microseconds (the `ts` column).
    pub ts: i64,
    /// The document's `data`.
    pub data: &'a Value,
}

/// Writes `docs` as one Parquet file into `out`: the [`typed_arrow_schema`] of `plan` (with
/// `data` as export JSON text when `data_column`), zstd pages, and returns `out`. A value the
/// plan has no column for is an error ([`TypedError::NoColumn`]: grow the plan from a schema
/// that observed `docs` first) or, with [`Unplanned::Skip`], left to `data`. The same
/// documents and plan give the same bytes.
pub fn write_typed_parquet<W: Write + Send>(
    out: W,
    plan: &ColumnPlan,
    data_column: bool,
    unplanned: Unplanned,
    docs: &[TypedDoc<'_>],
) -> Result<W, TypedError> {
    let schema = typed_arrow_schema(plan, data_column);
    let level = ZstdLevel::try_new(3)?;
    let props = WriterProperties::builder()
        .set_compression(Compression::ZSTD(level))
        .build();
    let mut writer = ArrowWriter::try_new(out, schema.clone(), Some(props))?;
    for chunk in docs.chunks(CHUNK_ROWS) {
        let mut arrays: Vec<ArrayRef> = vec![
            Arc::new(chunk.iter().map(|d| Some(d.id)).collect::<StringArray>()),
            Arc::new(chunk.iter().map(|d| Some(d.ts)).collect::<Int64Array>()),
        ];
        if data_column {
            arrays.push(Arc::new(
                chunk
                    .iter()
                    .map(|d| Some(ExportJson::of(d.data).as_str().to_string()))
                    .collect::<StringArray>(),
            ));
        }
        arrays.extend(typed_arrays(plan, chunk, unplanned)?);
        let batch = RecordBatch::try_new(schema.clone(), arrays)?;
        writer.write(&batch)?;
    }
    Ok(writer.into_inner()?)
}
