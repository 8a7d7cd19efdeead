//! Batch files in a local directory: `<root>/<stream>/part-<seq>.<ext>` committed atomically,
//! each listed by one line appended to `<root>/_manifest.jsonl` (`spec/output-layout.md`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::checks::{id_set_problems, rewound};
use super::owner::{new_output_id, OwnerRecord};
use super::verify::check_files;
use super::{Batch, Output, OutputError, Receipt, Sealed};
use crate::durable::{create_dir_durable, AppendLog, RESUME_FROM};
use crate::export::{Record, RecordSchema};
use crate::id_set::id_set_dir;
use crate::sink::{
    cleanup, read_manifest, write_manifest, BatchFile, BatchWriter, CommittedFile, FileFormat,
    SinkError, MANIFEST_FILE,
};
use crate::sync::State;

/// The files output of one run.
pub struct FilesOutput {
    writer: BatchWriter,
    manifest: AppendLog,
}

/// What opening an output found and did.
#[derive(Debug, Default)]
pub struct Opened {
    /// Files an interrupted run left behind, removed.
    pub removed: Vec<PathBuf>,
    /// Committed files, per stream, in order.
    pub committed: BTreeMap<String, Vec<CommittedFile>>,
}

impl Opened {
    /// The committed `files` grouped by stream, and the streams whose leftovers a start
    /// cleans: `streams` (this run's) and every committed one, sorted, each with the paths of
    /// its committed files.
    pub(crate) fn from_committed(
        files: Vec<CommittedFile>,
        streams: &[String],
    ) -> (Opened, Vec<(String, Vec<String>)>) {
        let mut opened = Opened::default();
        for f in files {
            opened
                .committed
                .entry(f.stream.clone())
                .or_default()
                .push(f);
        }
        let mut names: Vec<&String> = streams.iter().collect();
        names.extend(opened.committed.keys());
        names.sort();
        names.dedup();
        let keep = names
            .into_iter()
            .map(|stream| {
                let paths = opened
                    .committed
                    .get(stream)
                    .map(|fs| fs.iter().map(|f| f.path.clone()).collect())
                    .unwrap_or_default();
                (stream.clone(), paths)
            })
            .collect();
        (opened, keep)
    }
}

impl FilesOutput {
    /// Opens `root` for the run whose state is `state`, kept in the file `state_path`:
    /// checks that the state owns the output (a new state adopts only an output without
    /// committed files), drops manifest lines beyond the state's `manifest_len`, checks that
    /// every committed file exists with its recorded size (and SHA-256 with `verify_hashes`),
    /// that the id-set files the state names are there with their committed length, and that
    /// the state would not write a committed batch again (a state set back), and removes, in
    /// the directories of `streams` and of every committed stream, temporary files and batch
    /// files the manifest does not list. A state migrated from version 1
    /// passes its file list as `v1_files`: the manifest is rebuilt from it. Updates `state`'s
    /// `output_id` and `manifest_len`; the caller saves it.
    pub fn open(
        root: &Path,
        format: FileFormat,
        state: &mut State,
        state_path: &Path,
        v1_files: Option<Vec<CommittedFile>>,
        streams: &[String],
        verify_hashes: bool,
    ) -> Result<(FilesOutput, Opened), OutputError> {
        if root.exists() && !root.is_dir() {
            return Err(OutputError::NotADirectory(root.to_path_buf()));
        }
        let state_label = state_path.display().to_string();
        create_dir_durable(root)?;
        let owner = OwnerRecord::read(root)?;
        let manifest_path = root.join(MANIFEST_FILE);
        if let Some(files) = v1_files {
            write_manifest(root, &files)?;
            state.manifest_len = std::fs::metadata(&manifest_path)
                .map_err(|e| SinkError::io("inspect", &manifest_path, e))?
                .len();
            state.output_id = owner.map(|o| o.output_id).unwrap_or_else(new_output_id);
            OwnerRecord {
                output_id: state.output_id.clone(),
            }
            .write(root)?;
        } else if state.output_id.is_empty() {
            let listed = read_manifest(root)?.len();
            if listed > 0 {
                return Err(OutputError::Orphaned {
                    root: root.to_path_buf(),
                    state: state_label.clone(),
                    files: listed,
                });
            }
            state.output_id = new_output_id();
            state.manifest_len = 0;
            OwnerRecord {
                output_id: state.output_id.clone(),
            }
            .write(root)?;
        } else {
            let found = owner.map(|o| o.output_id);
            if found.as_deref() != Some(state.output_id.as_str()) {
                return Err(OutputError::NotOwned {
                    root: root.to_path_buf(),
                    state: state_label.clone(),
                    expected: state.output_id.clone(),
                    found: found.unwrap_or_else(|| "no owner (_output.json is missing)".into()),
                });
            }
        }
        // A manifest shorter than the state recorded is damage; failing to open it is not.
        let manifest = AppendLog::open(&manifest_path, state.manifest_len).map_err(|e| {
            if e.op == RESUME_FROM {
                OutputError::Damaged {
                    root: root.to_path_buf(),
                    problems: vec![e.to_string()],
                }
            } else {
                OutputError::from(e)
            }
        })?;
        let files = read_manifest(root)?;
        let mut problems = check_files(root, &files, verify_hashes);
        problems.extend(id_set_problems(&id_set_dir(state_path), state));
        if !problems.is_empty() {
            return Err(OutputError::Damaged {
                root: root.to_path_buf(),
                problems: problems.iter().map(ToString::to_string).collect(),
            });
        }
        if let Some(rewound) = rewound(state, &files) {
            return Err(OutputError::Rewound {
                root: root.to_path_buf(),
                state: state_label,
                rewound,
            });
        }
        let (mut opened, keep) = Opened::from_committed(files, streams);
        for (stream, paths) in keep {
            opened.removed.extend(cleanup(root, &stream, &paths)?);
        }
        let writer = BatchWriter::new(root, format)?;
        Ok((FilesOutput { writer, manifest }, opened))
    }
}

impl Output for FilesOutput {
    fn begin(
        &mut self,
        stream: &str,
        seq: u64,
        schema: Arc<RecordSchema>,
    ) -> Result<Box<dyn Batch>, OutputError> {
        Ok(Box::new(self.writer.begin(stream, seq, schema)?))
    }

    fn publish(&mut self, sealed: Sealed) -> Result<Receipt, OutputError> {
        let file = sealed_file(sealed)?;
        let mut line = serde_json::to_vec(&file).map_err(|source| SinkError::Json {
            path: self.manifest.path().to_path_buf(),
            source,
        })?;
        line.push(b'\n');
        let mark = self.manifest.append(&line)?;
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

/// A batch file is an output's batch: finishing commits the file under its final name.
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
pub(super) fn sealed_file(sealed: Sealed) -> Result<CommittedFile, OutputError> {
    sealed.file.ok_or(OutputError::NoFile {
        stream: sealed.stream,
        seq: sealed.seq,
    })
}
