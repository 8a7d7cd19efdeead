//! A typed Parquet batch file (`columns: typed`). The file's one schema depends on every
//! record of the batch, so records are observed and checked against the contract as they
//! arrive, and each record's `data` is decoded once into [`ChunkCells`] (a chunk of rows at a
//! time, sealed into Arrow arrays by the slot — path and kind — each value needs, and kept in
//! a [`Spill`] on disk); when the batch ends the plan grows from what was observed and each
//! chunk's slots, read back, become the plan's columns.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::{Array, RecordBatch, StringArray};
use arrow_schema::{Schema, SchemaRef};
use parquet::arrow::ArrowWriter;

use super::parquet::{arrow_schema, writer_properties, Chunk};
use super::typed::{typed_arrow_schema, ChunkCells, FileSchema, Spill, TypedOutcome, Unplanned};
use super::{SinkError, WriteOptions};
use crate::export::{Record, RecordSchema, TypedBatch};
use crate::fauna::{decode, Value};
use crate::schema::{first_unplanned, Contract, SchemaError, SchemaObserver};

/// Rows per chunk (and per Arrow batch handed to the Parquet encoder).
const CHUNK_ROWS: usize = 4096;
/// Wire and text bytes after which a chunk ends even if it has fewer rows.
const CHUNK_BYTES: usize = 16 << 20;

/// A typed Parquet file being written into `W`.
pub(crate) struct TypedEncoder<W: Write + Send> {
    out: W,
    options: WriteOptions,
    typed: TypedBatch,
    /// The contract in force: a stream's first typed batch always evolves.
    contract: Contract,
    /// The base columns (`ref`, `ts`, `data`, …) and typed values of the open chunk.
    base: Chunk,
    /// The base columns' Arrow schema (the same for every chunk).
    base_schema: SchemaRef,
    cells: ChunkCells,
    bytes: usize,
    scratch: Vec<u8>,
    spill: Spill,
    observed: SchemaObserver,
    discarded_rows: u64,
    discarded_values: u64,
    stream: String,
    /// Only used in error messages.
    path: PathBuf,
}

impl<W: Write + Send> TypedEncoder<W> {
    /// Starts a file into `out` (whose temporary file is `path`; the spill goes beside it).
    pub(crate) fn new(
        out: W,
        path: &Path,
        options: &WriteOptions,
        schema: &RecordSchema,
        typed: &TypedBatch,
        stream: &str,
    ) -> Result<Self, SinkError> {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let spill_name = match name.strip_suffix(".tmp") {
            Some(stem) => format!("{stem}.spool.tmp"),
            None => format!("{name}.spool.tmp"),
        };
        let spill_path = path.with_file_name(spill_name);
        let spill =
            Spill::create(&spill_path).map_err(|e| SinkError::io("create", &spill_path, e))?;
        let contract = match typed.version {
            0 => Contract::Evolve,
            _ => typed.contract,
        };
        Ok(TypedEncoder {
            out,
            options: options.clone(),
            typed: typed.clone(),
            contract,
            base: Chunk::new(schema, CHUNK_ROWS),
            base_schema: arrow_schema(schema),
            cells: ChunkCells::new(typed.plan.options().flatten_depth),
            bytes: 0,
            scratch: Vec::with_capacity(1024),
            spill,
            observed: SchemaObserver::default(),
            discarded_rows: 0,
            discarded_values: 0,
            stream: stream.to_string(),
            path: path.to_path_buf(),
        })
    }

    /// Observes `records` and applies the contract (`freeze`: an error naming the first value
    /// without a column; `discard_row`: the record is left out), then gathers their values.
    pub(crate) fn write(
        &mut self,
        schema: &RecordSchema,
        records: &[Record],
    ) -> Result<(), SinkError> {
        for rec in records {
            let data = wire_data(rec, &self.path)?;
            if self.contract != Contract::Evolve {
                if let Some((path, kind)) = first_unplanned(&self.typed.plan, &data) {
                    match self.contract {
                        Contract::Freeze => {
                            return Err(SinkError::Frozen {
                                stream: self.stream.clone(),
                                source: SchemaError::Frozen {
                                    id: rec.id.clone(),
                                    path: path.to_json(),
                                    kind: kind.tag(),
                                },
                            })
                        }
                        Contract::DiscardRow => {
                            self.discarded_rows += 1;
                            continue;
                        }
                        Contract::DiscardValue | Contract::Evolve => self.discarded_values += 1,
                    }
                }
            }
            if rec.deletion.is_none() {
                self.observed.observe(&data, rec.ts, &rec.id);
                self.cells.push(&data);
            } else {
                self.cells.push(&Value::Null);
            }
            self.base
                .append(schema, rec, &mut self.scratch, &self.path)?;
            self.bytes += rec
                .data
                .as_ref()
                .and_then(|d| d.wire())
                .map_or(0, <[u8]>::len);
            if self.base.rows >= CHUNK_ROWS || self.base.bytes + self.bytes >= CHUNK_BYTES {
                self.seal_chunk(schema)?;
            }
        }
        Ok(())
    }

    fn seal_chunk(&mut self, schema: &RecordSchema) -> Result<(), SinkError> {
        let base = std::mem::replace(&mut self.base, Chunk::new(schema, CHUNK_ROWS));
        let cells = std::mem::replace(
            &mut self.cells,
            ChunkCells::new(self.typed.plan.options().flatten_depth),
        );
        self.bytes = 0;
        let batch = base.finish(&self.base_schema, &self.path)?;
        self.spill
            .push(&batch, cells.seal())
            .map_err(|e| SinkError::io("write", &self.path, e))
    }

    /// Grows the plan and writes the file; returns the writer, the file's schema line and the
    /// stream's typed outcome.
    pub(crate) fn finish(
        mut self,
        schema: &RecordSchema,
    ) -> Result<(W, FileSchema, TypedOutcome), SinkError> {
        if self.base.rows > 0 {
            self.seal_chunk(schema)?;
        }
        let observed = std::mem::take(&mut self.observed).finish();
        let mut plan = self.typed.plan.clone();
        if self.contract == Contract::Evolve {
            plan.grow(&observed);
        }
        let unplanned = match self.contract {
            Contract::DiscardValue => Unplanned::Skip,
            _ => Unplanned::Error,
        };
        let typed_schema = typed_arrow_schema(&plan, false);
        let mut fields: Vec<_> = self.base_schema.fields().iter().cloned().collect();
        // After the base columns (both schemas start with `ref` and `ts`).
        fields.extend(typed_schema.fields().iter().skip(2).cloned());
        let arrow: SchemaRef = Arc::new(Schema::new_with_metadata(
            fields,
            typed_schema.metadata().clone(),
        ));
        let path = self.path.clone();
        let pq_err = |source| SinkError::Parquet {
            path: path.clone(),
            source,
        };
        let props = writer_properties(&self.options, schema).map_err(pq_err)?;
        let mut writer =
            ArrowWriter::try_new(self.out, arrow.clone(), Some(props)).map_err(pq_err)?;
        let mut variant_values = 0u64;
        let mut chunks = self
            .spill
            .read()
            .map_err(|e| SinkError::io("read", &path, e))?;
        while let Some((base, cells)) = chunks
            .next_chunk()
            .map_err(|e| SinkError::io("read", &path, e))?
        {
            let refs = base
                .column(0)
                .as_any()
                .downcast_ref::<StringArray>()
                .cloned();
            let id = |row: usize| {
                refs.as_ref()
                    .filter(|r| row < r.len())
                    .map(|r| r.value(row).to_string())
                    .unwrap_or_default()
            };
            let typed_cols =
                cells
                    .arrays(&plan, unplanned, &id)
                    .map_err(|source| SinkError::Typed {
                        path: path.clone(),
                        source,
                    })?;
            for (c, a) in plan.columns().iter().zip(&typed_cols) {
                if c.variant_of.is_some() {
                    variant_values += (a.len() - a.null_count()) as u64;
                }
            }
            let mut arrays = base.columns().to_vec();
            arrays.extend(typed_cols);
            let batch =
                RecordBatch::try_new(arrow.clone(), arrays).map_err(|source| SinkError::Arrow {
                    path: path.clone(),
                    source,
                })?;
            writer.write(&batch).map_err(pq_err)?;
        }
        let out = writer.into_inner().map_err(pq_err)?;
        let changed = plan.columns().len() != self.typed.plan.columns().len();
        let file = FileSchema {
            version: self.typed.version + u64::from(changed),
            columns: plan.columns().len() as u64,
            variants: plan
                .columns()
                .iter()
                .filter(|c| c.variant_of.is_some())
                .count() as u64,
            variant_values,
            discarded_rows: self.discarded_rows,
            discarded_values: self.discarded_values,
        };
        Ok((out, file, TypedOutcome { plan, observed }))
    }
}

/// The record's `data` decoded from its wire JSON (`null` for a deletion or a document
/// without `data`); a record whose `data` lacks its wire JSON cannot have typed columns.
fn wire_data(rec: &Record, path: &Path) -> Result<Value, SinkError> {
    let Some(data) = &rec.data else {
        return Ok(Value::Null);
    };
    let Some(wire) = data.wire() else {
        return Err(SinkError::Schema {
            path: path.to_path_buf(),
            reason: format!(
                "document {} came without its wire JSON; typed columns need the wire types",
                rec.id
            ),
        });
    };
    decode(wire).map_err(|e| SinkError::Schema {
        path: path.to_path_buf(),
        reason: format!(
            "document {}: its data's wire JSON does not decode: {e}",
            rec.id
        ),
    })
}
