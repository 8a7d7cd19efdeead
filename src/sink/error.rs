//! The one error type of the sink layer.

use std::io;
use std::path::PathBuf;

use crate::export::ColumnType;

/// Everything that can go wrong while writing or reading sink files. Every variant names the
/// file (or stream) concerned and what failed.
#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    /// A file-system operation failed.
    #[error("cannot {op} {}: {source}{}", path.display(), crate::error::refused_hint(source))]
    Io {
        /// What was being done (`create`, `write`, `fsync`, `rename`, …).
        op: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// The Parquet encoder failed.
    #[error("cannot write Parquet file {}: {source}", path.display())]
    Parquet {
        /// The file being written.
        path: PathBuf,
        /// The underlying error.
        source: parquet::errors::ParquetError,
    },
    /// Building Arrow arrays failed.
    #[error("cannot build Arrow batch for {}: {source}", path.display())]
    Arrow {
        /// The file being written.
        path: PathBuf,
        /// The underlying error.
        source: arrow_schema::ArrowError,
    },
    /// A column value does not fit the column's declared type.
    #[error(
        "{}: column `{column}` of document {id} is declared {} but holds {found}",
        path.display(),
        column_type_name(*.expected)
    )]
    TypeMismatch {
        /// The file being written.
        path: PathBuf,
        /// The column's name.
        column: String,
        /// The document id.
        id: String,
        /// The declared type.
        expected: ColumnType,
        /// What the value is, with a short preview of its export JSON.
        found: String,
    },
    /// The record schema cannot be written (e.g. two columns share a name).
    #[error("invalid record schema for {}: {reason}", path.display())]
    Schema {
        /// The file that was to be written.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A stream name cannot be turned into a directory name.
    #[error("invalid stream name {stream:?}: {reason}")]
    InvalidStream {
        /// The stream (collection) name.
        stream: String,
        /// What is wrong.
        reason: &'static str,
    },
    /// A batch without records was passed; it would have no `min_ts`/`max_ts`.
    #[error("batch {seq} of stream {stream:?} has no records")]
    EmptyBatch {
        /// The stream.
        stream: String,
        /// The batch sequence number.
        seq: u64,
    },
    /// A write option is out of range.
    #[error("invalid sink option {option}: {reason}")]
    InvalidOption {
        /// The option's name.
        option: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// Serializing a JSONL line failed for a reason other than I/O.
    #[error("cannot serialize a record of {}: {source}", path.display())]
    Json {
        /// The file being written.
        path: PathBuf,
        /// The underlying error.
        source: serde_json::Error,
    },
    /// A manifest line is not a valid entry.
    #[error("invalid manifest {} line {line}: {source}", path.display())]
    Manifest {
        /// The manifest file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// The parse error.
        source: serde_json::Error,
    },
    /// Typed columns could not be written.
    #[error("cannot write typed columns of {}: {source}", path.display())]
    Typed {
        /// The file being written.
        path: PathBuf,
        /// The underlying error.
        source: super::typed::TypedError,
    },
    /// Schema contract `freeze`: the batch would change the stream's typed columns.
    #[error("{source} (stream {stream:?}; the batch was not committed)")]
    Frozen {
        /// The stream.
        stream: String,
        /// Names the document, path and type.
        source: crate::schema::SchemaError,
    },
    /// The same file was listed twice for the manifest.
    #[error("file {file} is listed twice in the manifest")]
    DuplicateManifestEntry {
        /// The root-relative path.
        file: String,
    },
}

impl From<crate::durable::FileError> for SinkError {
    fn from(e: crate::durable::FileError) -> Self {
        SinkError::Io {
            op: e.op,
            path: e.path,
            source: e.source,
        }
    }
}

impl SinkError {
    /// An [`SinkError::Io`] for `path`.
    pub(crate) fn io(op: &'static str, path: impl Into<PathBuf>, source: io::Error) -> Self {
        SinkError::Io {
            op,
            path: path.into(),
            source,
        }
    }
}

/// The lowercase name of a column type, as in the schema.
pub(crate) fn column_type_name(t: ColumnType) -> &'static str {
    t.name()
}
