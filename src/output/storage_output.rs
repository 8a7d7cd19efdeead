//! The output of batch files (`spec/output-layout.md`) on any [`Storage`]: each batch is
//! encoded by the sink as its records arrive, then published — the run's hold on the output
//! confirmed, the file placed under its final name, one line added to the manifest.

use std::path::PathBuf;
use std::sync::Arc;

use async_trait::async_trait;

use super::exclusive::ExclusiveRun;
use super::storage::{Manifest, Storage};
use super::{Batch, Output, OutputError, Receipt, Sealed};
use crate::export::{Record, RecordSchema};
use crate::sink::{BatchFile, BatchWriter, CommittedFile, SinkError, MANIFEST_FILE};

/// The output of one run, opened by [`super::open_output`].
pub struct StorageOutput {
    storage: Arc<dyn Storage>,
    exclusive: Arc<dyn ExclusiveRun>,
    manifest: Box<dyn Manifest>,
    writer: BatchWriter,
}

impl StorageOutput {
    pub(super) fn new(
        storage: Arc<dyn Storage>,
        exclusive: Arc<dyn ExclusiveRun>,
        manifest: Box<dyn Manifest>,
        writer: BatchWriter,
    ) -> Self {
        StorageOutput {
            storage,
            exclusive,
            manifest,
            writer,
        }
    }
}

#[async_trait]
impl Output for StorageOutput {
    fn begin(
        &mut self,
        stream: &str,
        seq: u64,
        schema: Arc<RecordSchema>,
    ) -> Result<Box<dyn Batch>, OutputError> {
        Ok(Box::new(self.writer.begin(stream, seq, schema)?))
    }

    async fn publish(&mut self, sealed: Sealed) -> Result<Receipt, OutputError> {
        let file = sealed_file(sealed)?;
        self.exclusive.confirm().await?;
        self.storage.place(&file).await?;
        let mut line = serde_json::to_vec(&file).map_err(|source| SinkError::Json {
            path: PathBuf::from(self.storage.name_of(MANIFEST_FILE)),
            source,
        })?;
        line.push(b'\n');
        let mark = self.manifest.append(line).await?;
        Ok(Receipt {
            stream: file.stream,
            seq: file.seq,
            rows: file.rows,
            bytes: file.bytes,
            location: Some(file.path),
            mark,
        })
    }
}

/// A batch file is an output's batch: finishing commits the file under its final name (in the
/// batch directory).
impl Batch for BatchFile {
    fn write(&mut self, records: &[Record]) -> Result<(), OutputError> {
        Ok(BatchFile::write(self, records)?)
    }

    fn finish(self: Box<Self>) -> Result<Sealed, OutputError> {
        let file = BatchFile::finish(*self)?;
        Ok(Sealed {
            stream: file.stream.clone(),
            seq: file.seq,
            rows: file.rows,
            bytes: file.bytes,
            file: Some(file),
        })
    }
}

/// The file of a batch a [`BatchFile`] sealed.
fn sealed_file(sealed: Sealed) -> Result<CommittedFile, OutputError> {
    sealed.file.ok_or(OutputError::NoFile {
        stream: sealed.stream,
        seq: sealed.seq,
    })
}
