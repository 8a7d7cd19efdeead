//! The batch writer: opens batch files under one output root (or writes a whole batch in one
//! call) and commits them atomically.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::typed::{FileSchema, TypedOutcome};

use crate::export::{Record, RecordSchema};

use super::batch_file::BatchFile;
use super::layout::{part_file_name, stream_dir_name};
use super::{FileFormat, SinkError, WriteOptions};
use crate::durable::{create_dir_durable, AtomicFile};

/// A batch file that is complete and durable under its final name. Stored in the state file
/// and, one per line, in the manifest (where `path` is spelled `file`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommittedFile {
    /// Path relative to the output root, `/`-separated: `<stream dir>/part-<seq>.<ext>`.
    #[serde(rename = "file")]
    pub path: String,
    /// The stream (collection) name, unescaped.
    pub stream: String,
    /// The batch sequence number.
    pub seq: u64,
    /// Records in the file.
    pub rows: u64,
    /// Size of the file in bytes.
    pub bytes: u64,
    /// Lowercase hex SHA-256 of the file's bytes.
    pub sha256: String,
    /// Smallest record `ts` (microseconds since the epoch).
    pub min_ts: i64,
    /// Largest record `ts`.
    pub max_ts: i64,
    /// The file's format.
    pub format: FileFormat,
    /// Typed files: which schema the file has (absent for the `data` JSON layout).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<FileSchema>,
    /// Typed files: the stream's plan and the batch's observed schema, for the state (never
    /// serialized).
    #[serde(skip)]
    pub typed: Option<Box<TypedOutcome>>,
}

impl CommittedFile {
    /// The file name within its stream directory (`part-00000001.jsonl`).
    pub fn file_name(&self) -> &str {
        self.path.rsplit('/').next().unwrap_or(&self.path)
    }
}

/// Writes batch files of one format under one output root.
///
/// ```
/// use fauna_sync::export::{Record, RecordSchema};
/// use fauna_sync::fauna::Value;
/// use fauna_sync::sink::{BatchWriter, Compression, FileFormat};
///
/// let root = tempfile::tempdir().unwrap();
/// let sink = BatchWriter::new(root.path(), FileFormat::Jsonl { compression: Compression::None }).unwrap();
/// let schema = RecordSchema { data_column: true, columns: vec![], deletion_column: None, detected_column: None, typed: None };
/// let records = vec![Record { id: "1".into(), ts: 5, data: Some((&Value::Null).into()), columns: vec![], deletion: None, ttl: None }];
/// let file = sink.write_batch("users", 1, &schema, &records).unwrap();
/// assert_eq!(file.path, "users/part-00000001.jsonl");
/// assert_eq!((file.rows, file.min_ts, file.max_ts), (1, 5, 5));
/// assert_eq!(std::fs::read_to_string(root.path().join(&file.path)).unwrap(),
///            "{\"ref\":\"1\",\"ts\":5,\"data\":null}\n");
/// ```
#[derive(Clone, Debug)]
pub struct BatchWriter {
    root: PathBuf,
    format: FileFormat,
    options: WriteOptions,
}

impl BatchWriter {
    /// A writer with the default [`WriteOptions`].
    pub fn new(root: impl Into<PathBuf>, format: FileFormat) -> Result<Self, SinkError> {
        Self::with_options(root, format, WriteOptions::default())
    }

    /// A writer with explicit options (validated here).
    pub fn with_options(
        root: impl Into<PathBuf>,
        format: FileFormat,
        options: WriteOptions,
    ) -> Result<Self, SinkError> {
        options.validate()?;
        Ok(BatchWriter {
            root: root.into(),
            format,
            options,
        })
    }

    /// The output root.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The format of the files written.
    pub fn format(&self) -> FileFormat {
        self.format
    }

    /// Opens batch `seq` of `stream` as `<root>/<stream dir>/part-<seq:08>.<ext>`, written
    /// under a temporary name until [`BatchFile::finish`]. Checks the stream name and the
    /// schema before creating anything.
    pub fn begin(
        &self,
        stream: &str,
        seq: u64,
        schema: Arc<RecordSchema>,
    ) -> Result<BatchFile, SinkError> {
        let dir_name = stream_dir_name(stream)?;
        let name = part_file_name(seq, self.format);
        let dir = self.root.join(&dir_name);
        let target = dir.join(&name);
        check_schema(&schema, &target)?;
        create_dir_durable(&dir)?;
        let file = AtomicFile::create(&target)?;
        BatchFile::new(
            file,
            format!("{dir_name}/{name}"),
            stream,
            seq,
            self.format,
            &self.options,
            schema,
        )
    }

    /// Writes `records` as one batch file ([`begin`](BatchWriter::begin), write, finish):
    /// under a temporary name first, then `fsync`, rename into place, `fsync` of the
    /// directory. Rewriting the same `seq` with the same records yields identical bytes. On
    /// error no temporary file is left and an existing file of that name is untouched.
    pub fn write_batch(
        &self,
        stream: &str,
        seq: u64,
        schema: &RecordSchema,
        records: &[Record],
    ) -> Result<CommittedFile, SinkError> {
        if records.is_empty() {
            return Err(SinkError::EmptyBatch {
                stream: stream.to_string(),
                seq,
            });
        }
        let mut file = self.begin(stream, seq, Arc::new(schema.clone()))?;
        file.write(records)?;
        file.finish()
    }
}

/// Rejects schemas whose column names collide (they would make duplicate JSON keys or
/// Parquet columns).
fn check_schema(schema: &RecordSchema, target: &Path) -> Result<(), SinkError> {
    let mut seen: HashSet<&str> = HashSet::from(["ref", "ts"]);
    if schema.data_column {
        seen.insert("data");
    }
    let names = schema
        .columns
        .iter()
        .map(|(n, _)| n.as_str())
        .chain(schema.deletion_column.as_deref());
    for name in names {
        if !seen.insert(name) {
            return Err(SinkError::Schema {
                path: target.to_path_buf(),
                reason: format!("column name `{name}` is used twice"),
            });
        }
    }
    Ok(())
}
