//! Sinks: batch files in JSONL or Parquet, committed atomically, plus the manifest.
//!
//! The layout, naming, manifest format, Parquet schema and commit protocol are specified in
//! `spec/output-layout.md`. In short:
//!
//! - [`BatchWriter::begin`] opens batch `seq` as a [`BatchFile`] that takes
//!   [`Record`](crate::export::Record)s as they arrive; [`BatchFile::finish`] commits it as
//!   `<root>/<stream dir>/part-<seq:08>.<ext>` (temporary name, `fsync`, rename, `fsync` of the
//!   directory) and returns its [`CommittedFile`]; [`BatchWriter::write_batch`] does all three
//!   for a batch at hand. The name depends only on stream, seq and format, so a batch redone
//!   after a crash overwrites its own orphan.
//! - The caller records the [`CommittedFile`] in its state, then calls [`write_manifest`] with
//!   the full list; [`cleanup`] removes temporary files and batch files the state does not list.
//! - [`write_file_atomically`] is the same commit protocol for small files (the checkpoint).
//!
//! Sinks know nothing of FQL: they see records and their schema only.
//!
//! ```
//! use fauna_sync::export::{ColumnType, Record, RecordSchema};
//! use fauna_sync::fauna::Value;
//! use fauna_sync::sink::{cleanup, read_manifest, write_manifest, BatchWriter, FileFormat};
//!
//! let root = tempfile::tempdir().unwrap();
//! let sink = BatchWriter::new(root.path(), FileFormat::Parquet).unwrap();
//! let schema = RecordSchema {
//!     data_column: true,
//!     columns: vec![("n".into(), ColumnType::Integer)],
//!     deletion_column: None, detected_column: None, typed: None,
//! };
//! let rec = |id: &str, ts| Record {
//!     id: id.into(), ts, data: Some((&Value::Null).into()), columns: vec![Value::Int(ts)], deletion: None, ttl: None,
//! };
//! let a = sink.write_batch("users", 1, &schema, &[rec("1", 10), rec("2", 20)]).unwrap();
//! let b = sink.write_batch("users", 2, &schema, &[rec("3", 30)]).unwrap();
//! // Batch 2 is written but not recorded in the state, e.g. because of a crash:
//! let committed = vec![a.clone()];
//! write_manifest(root.path(), &committed).unwrap();
//! let removed = cleanup(root.path(), "users", &[a.path.as_str()]).unwrap();
//! assert_eq!(removed, vec![root.path().join(&b.path)]);
//! assert_eq!(read_manifest(root.path()).unwrap(), committed);
//! ```
//!
//! # Memory usage
//! A [`BatchFile`] holds no records: JSONL writing keeps a 256 KiB buffer plus the encoder's
//! state (gzip: ~300 KiB; zstd: ~1–3 MiB at levels 1–3). Parquet writing keeps the Arrow arrays
//! of one chunk of [`WriteOptions::parquet_chunk_rows`] records (about the export JSON size of
//! those records, at most ~16 MiB of text) and the encoded pages of the open row group, closed
//! at [`WriteOptions::parquet_row_group_rows`] records or about
//! [`WriteOptions::parquet_row_group_bytes`].

mod batch;
mod batch_file;
mod cleanup;
mod error;
mod format;
mod jsonl;
mod layout;
mod manifest;
mod parquet;
pub mod typed;
mod typed_file;

#[cfg(test)]
mod tests;

pub use self::batch::{BatchWriter, CommittedFile};
pub use self::batch_file::BatchFile;
pub use self::cleanup::cleanup;
pub use self::error::SinkError;
pub use self::format::{Compression, FileFormat, UnknownFormat, WriteOptions};
pub(crate) use self::layout::is_temp_part_name;
pub use self::layout::{parse_part_file_name, part_file_name, stream_dir_name};
pub use self::manifest::{manifest_bytes, read_manifest, write_manifest, MANIFEST_FILE};
pub use self::parquet::{
    arrow_schema, schema_json, FORMAT_VERSION, FORMAT_VERSION_KEY, SCHEMA_KEY,
};
pub use crate::durable::{temp_file_name, write_file_atomically};
