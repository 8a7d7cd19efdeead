//! One batch file being written: records go to its encoder as they arrive; finishing it
//! commits it atomically under its final name.

use std::io::{self, Write};
use std::sync::Arc;

use crate::durable::AtomicFile;
use crate::export::{Record, RecordSchema};

use super::jsonl::JsonlEncoder;
use super::parquet::ParquetEncoder;
use super::typed_file::TypedEncoder;
use super::{CommittedFile, FileFormat, SinkError};

/// An open batch file, written under its temporary name (`.part-<seq>.<ext>.tmp`). Memory
/// stays bounded whatever the batch's size: the encoder's buffers only (see the
/// [module docs](super)). [`finish`](BatchFile::finish) commits it; dropping it unfinished
/// removes the temporary file.
pub struct BatchFile {
    encoder: Encoder,
    schema: Arc<RecordSchema>,
    /// `<stream dir>/part-<seq>.<ext>`.
    rel_path: String,
    stream: String,
    seq: u64,
    format: FileFormat,
    rows: u64,
    ts: Option<(i64, i64)>,
}

enum Encoder {
    Jsonl(Box<JsonlEncoder<Temp>>),
    Parquet(Box<ParquetEncoder<Temp>>),
    Typed(Box<TypedEncoder<Temp>>),
}

/// The temporary file as a writer the encoders own.
struct Temp(AtomicFile);

impl Write for Temp {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.writer().write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.writer().flush()
    }
}

impl BatchFile {
    /// Opens `file` (created by the caller in its stream directory) for batch `seq` of
    /// `stream`.
    pub(crate) fn new(
        file: AtomicFile,
        rel_path: String,
        stream: &str,
        seq: u64,
        format: FileFormat,
        options: &super::WriteOptions,
        schema: Arc<RecordSchema>,
    ) -> Result<Self, SinkError> {
        let temp = file.temp_path().to_path_buf();
        let encoder = match format {
            FileFormat::Jsonl { compression } => Encoder::Jsonl(Box::new(JsonlEncoder::new(
                Temp(file),
                &temp,
                compression,
                options,
            )?)),
            FileFormat::Parquet => match &schema.typed {
                Some(typed) => Encoder::Typed(Box::new(TypedEncoder::new(
                    Temp(file),
                    &temp,
                    options,
                    &schema,
                    typed,
                    stream,
                )?)),
                None => Encoder::Parquet(Box::new(ParquetEncoder::new(
                    Temp(file),
                    &temp,
                    options,
                    &schema,
                )?)),
            },
        };
        Ok(BatchFile {
            encoder,
            schema,
            rel_path,
            stream: stream.to_string(),
            seq,
            format,
            rows: 0,
            ts: None,
        })
    }

    /// Records written so far.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Encodes `records` after those written before. Crash point `mid-batch` (after each
    /// call): the file holds part of the batch under its temporary name. After an error the
    /// file must be dropped.
    pub fn write(&mut self, records: &[Record]) -> Result<(), SinkError> {
        match &mut self.encoder {
            Encoder::Jsonl(e) => e.write(&self.schema, records)?,
            Encoder::Parquet(e) => e.write(&self.schema, records)?,
            Encoder::Typed(e) => e.write(&self.schema, records)?,
        }
        for r in records {
            self.ts = Some(match self.ts {
                None => (r.ts, r.ts),
                Some((lo, hi)) => (lo.min(r.ts), hi.max(r.ts)),
            });
        }
        self.rows += records.len() as u64;
        crate::crash::point("mid-batch");
        Ok(())
    }

    /// Ends the encoding (Parquet: the footer), then `fsync`, rename into place, `fsync` of
    /// the directory. A batch without records is an error (and leaves nothing). Crash point
    /// `mid-batch` once more before the `fsync`.
    pub fn finish(self) -> Result<CommittedFile, SinkError> {
        let Some((min_ts, max_ts)) = self.ts else {
            return Err(SinkError::EmptyBatch {
                stream: self.stream,
                seq: self.seq,
            });
        };
        let mut rows = self.rows;
        let (Temp(file), schema, typed) = match self.encoder {
            Encoder::Jsonl(e) => (e.finish()?, None, None),
            Encoder::Parquet(e) => (e.finish(&self.schema)?, None, None),
            Encoder::Typed(e) => {
                let (out, schema, outcome) = e.finish(&self.schema)?;
                rows -= schema.discarded_rows;
                (out, Some(schema), Some(Box::new(outcome)))
            }
        };
        crate::crash::point("mid-batch");
        let digest = file.commit()?;
        Ok(CommittedFile {
            path: self.rel_path,
            stream: self.stream,
            seq: self.seq,
            rows,
            bytes: digest.bytes,
            sha256: digest.sha256,
            min_ts,
            max_ts,
            format: self.format,
            schema,
            typed,
        })
    }
}
