//! A typed Parquet batch file (`columns: typed`): the records are kept (export text and wire
//! JSON, no value trees) until the batch ends, because the file's one schema depends on every
//! record of it; then the batch's schema is observed, the contract applied, the plan grown,
//! and the file written a chunk at a time.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::{Array, RecordBatch};
use arrow_schema::{Schema, SchemaRef};
use parquet::arrow::ArrowWriter;

use super::parquet::{arrow_schema, base_arrays, writer_properties};
use super::typed::{
    typed_arrays, typed_arrow_schema, FileSchema, TypedDoc, TypedOutcome, Unplanned,
};
use super::{SinkError, WriteOptions};
use crate::export::{Record, RecordSchema, TypedBatch};
use crate::fauna::{decode, Value};
use crate::schema::{first_unplanned, Contract, ObservedSchema, SchemaError};

/// Records decoded and encoded at a time when the file is written.
const CHUNK_ROWS: usize = 4096;

static NULL: Value = Value::Null;

/// A typed Parquet file being written into `W`.
pub(crate) struct TypedEncoder<W: Write + Send> {
    out: W,
    options: WriteOptions,
    records: Vec<Record>,
    /// Only used in error messages.
    path: PathBuf,
}

impl<W: Write + Send> TypedEncoder<W> {
    /// Starts a file into `out`. `path` is only used in error messages.
    pub(crate) fn new(out: W, path: &Path, options: &WriteOptions) -> Self {
        TypedEncoder {
            out,
            options: options.clone(),
            records: Vec::new(),
            path: path.to_path_buf(),
        }
    }

    /// Keeps `records` for the file.
    pub(crate) fn write(&mut self, records: &[Record]) {
        self.records.extend_from_slice(records);
    }

    /// Observes the batch, applies the contract, grows the plan and writes the file; returns
    /// the writer, the file's schema line and the stream's typed outcome. `stream` is for the
    /// `freeze` error.
    pub(crate) fn finish(
        self,
        schema: &RecordSchema,
        typed: &TypedBatch,
        stream: &str,
    ) -> Result<(W, FileSchema, TypedOutcome), SinkError> {
        let typed_err = |source| SinkError::Typed {
            path: self.path.clone(),
            source,
        };
        // Pass 1: the contract and the batch's observed schema (each document decoded alone).
        // A stream's first typed batch always evolves: there is nothing to keep to yet.
        let contract = match typed.version {
            0 => Contract::Evolve,
            _ => typed.contract,
        };
        let mut plan = typed.plan.clone();
        let mut observed = ObservedSchema::default();
        let mut keep = vec![true; self.records.len()];
        let (mut discarded_rows, mut discarded_values) = (0, 0);
        for (i, rec) in self.records.iter().enumerate() {
            let data = wire_data(rec, &self.path)?;
            if contract != Contract::Evolve {
                if let Some((path, kind)) = first_unplanned(&plan, &data) {
                    match contract {
                        Contract::Freeze => {
                            return Err(SinkError::Frozen {
                                stream: stream.to_string(),
                                source: SchemaError::Frozen {
                                    id: rec.id.clone(),
                                    path: path.to_json(),
                                    kind: kind.tag(),
                                },
                            })
                        }
                        Contract::DiscardRow => {
                            if let Some(k) = keep.get_mut(i) {
                                *k = false;
                            }
                            discarded_rows += 1;
                            continue;
                        }
                        Contract::DiscardValue | Contract::Evolve => discarded_values += 1,
                    }
                }
            }
            if rec.deletion.is_none() {
                observed.observe(&data, rec.ts, &rec.id);
            }
        }
        if contract == Contract::Evolve {
            plan.grow(&observed);
        }
        let unplanned = match contract {
            Contract::DiscardValue => Unplanned::Skip,
            _ => Unplanned::Error,
        };
        let kept: Vec<&Record> = self
            .records
            .iter()
            .zip(&keep)
            .filter_map(|(r, k)| k.then_some(r))
            .collect();
        // Pass 2: the file.
        let base = arrow_schema(schema);
        let typed_schema = typed_arrow_schema(&plan, false);
        let mut fields: Vec<_> = base.fields().iter().cloned().collect();
        // After `ref` and `ts` (which both schemas start with).
        fields.extend(typed_schema.fields().iter().skip(2).cloned());
        let arrow: SchemaRef = Arc::new(Schema::new_with_metadata(
            fields,
            typed_schema.metadata().clone(),
        ));
        let pq_err = |source| SinkError::Parquet {
            path: self.path.clone(),
            source,
        };
        let props = writer_properties(&self.options, schema).map_err(pq_err)?;
        let mut writer =
            ArrowWriter::try_new(self.out, arrow.clone(), Some(props)).map_err(pq_err)?;
        let mut variant_values = 0u64;
        for chunk in kept.chunks(CHUNK_ROWS) {
            let owned: Vec<Record> = chunk.iter().map(|r| (*r).clone()).collect();
            let mut arrays = base_arrays(schema, &owned, &self.path)?;
            let datas = chunk
                .iter()
                .map(|r| wire_data(r, &self.path))
                .collect::<Result<Vec<_>, _>>()?;
            let docs: Vec<TypedDoc<'_>> = chunk
                .iter()
                .zip(&datas)
                .map(|(r, d)| TypedDoc {
                    id: &r.id,
                    ts: r.ts,
                    data: if r.deletion.is_some() { &NULL } else { d },
                })
                .collect();
            let typed_cols = typed_arrays(&plan, &docs, unplanned).map_err(typed_err)?;
            for (c, a) in plan.columns().iter().zip(&typed_cols) {
                if c.variant_of.is_some() {
                    variant_values += (a.len() - a.null_count()) as u64;
                }
            }
            arrays.extend(typed_cols);
            let batch =
                RecordBatch::try_new(arrow.clone(), arrays).map_err(|source| SinkError::Arrow {
                    path: self.path.clone(),
                    source,
                })?;
            writer.write(&batch).map_err(pq_err)?;
        }
        let out = writer.into_inner().map_err(pq_err)?;
        let changed = plan.columns().len() != typed.plan.columns().len();
        let file = FileSchema {
            version: typed.version + u64::from(changed),
            columns: plan.columns().len() as u64,
            variants: plan
                .columns()
                .iter()
                .filter(|c| c.variant_of.is_some())
                .count() as u64,
            variant_values,
            discarded_rows,
            discarded_values,
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
