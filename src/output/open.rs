//! Opening an output for a run, once for every [`Storage`]: ownership (`_output.json`), the
//! manifest cut at the state's committed mark, the damage check, and the cleanup of what an
//! interrupted run left.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use super::checks::{id_set_problems, rewound, IdSetsAt};
use super::exclusive::ExclusiveRun;
use super::owner::{new_output_id, OwnerRecord, OWNER_FILE};
use super::storage::Storage;
use super::storage_output::StorageOutput;
use super::verify::{check_files, parse_manifest};
use super::OutputError;
use crate::sink::{
    is_temp_part_name, manifest_bytes, parse_part_file_name, stream_dir_name, BatchWriter,
    CommittedFile, FileFormat, MANIFEST_FILE,
};
use crate::state::State;

/// What opening an output found and did.
#[derive(Debug, Default)]
pub struct Opened {
    /// Files an interrupted run left behind, removed.
    pub removed: Vec<PathBuf>,
    /// Committed files, per stream, in order.
    pub committed: BTreeMap<String, Vec<CommittedFile>>,
}

/// How to open an output, beside where it is.
pub struct OpenArgs<'a> {
    /// The batch files' format.
    pub format: FileFormat,
    /// The state, as messages name it (its file or URL).
    pub state_label: &'a str,
    /// Where the id sets the state names live.
    pub ids: IdSetsAt<'a>,
    /// A state migrated from version 1: its committed files, from which the manifest is
    /// rebuilt.
    pub v1_files: Option<Vec<CommittedFile>>,
    /// This run's streams: their directories are cleaned, beside every committed stream's.
    pub streams: &'a [String],
    /// Check every committed file's SHA-256 too (always: presence and size).
    pub verify_hashes: bool,
}

/// Opens the output in `storage` for the run whose state is `state`, held by `exclusive`:
/// checks that the state owns the output (a new state adopts only an output without committed
/// files), cuts the manifest at the state's `manifest_len`, checks that every committed file
/// exists with its recorded size (and SHA-256 with `verify_hashes`), that the id-set files the
/// state names are there with their committed length, and that the state would not write a
/// committed batch again (a state set back); then removes, in the directories of `streams` and
/// of every committed stream, temporary files and batch files the manifest does not list.
/// Updates `state`'s `output_id` and `manifest_len`; the caller saves it.
pub async fn open_output(
    storage: Arc<dyn Storage>,
    exclusive: Arc<dyn ExclusiveRun>,
    state: &mut State,
    args: OpenArgs<'_>,
) -> Result<(StorageOutput, Opened), OutputError> {
    let root = storage.root();
    storage.create_root().await?;
    let owner = match storage.read(OWNER_FILE).await? {
        Some(bytes) => Some(serde_json::from_slice::<OwnerRecord>(&bytes).map_err(|e| {
            OutputError::Damaged {
                root: root.clone(),
                problems: vec![format!("{OWNER_FILE} is not an owner record ({e})")],
            }
        })?),
        None => None,
    };
    if let Some(files) = args.v1_files {
        let bytes = manifest_bytes(&root, &files)?;
        state.manifest_len = bytes.len() as u64;
        storage.write(MANIFEST_FILE, bytes).await?;
        state.output_id = owner.map(|o| o.output_id).unwrap_or_else(new_output_id);
        write_owner(storage.as_ref(), &state.output_id).await?;
    } else if state.output_id.is_empty() {
        let manifest = storage.read(MANIFEST_FILE).await?.unwrap_or_default();
        let listed = parse_manifest(&storage.name_of(MANIFEST_FILE), &manifest)?.len();
        if listed > 0 {
            return Err(OutputError::Orphaned {
                root,
                state: args.state_label.to_string(),
                files: listed,
            });
        }
        state.output_id = new_output_id();
        state.manifest_len = 0;
        write_owner(storage.as_ref(), &state.output_id).await?;
    } else {
        let found = owner.map(|o| o.output_id);
        if found.as_deref() != Some(state.output_id.as_str()) {
            return Err(OutputError::NotOwned {
                root,
                state: args.state_label.to_string(),
                expected: state.output_id.clone(),
                found: found.unwrap_or_else(|| "no owner (_output.json is missing)".into()),
            });
        }
    }
    let (manifest, bytes) = storage.open_manifest(state.manifest_len).await?;
    let files = parse_manifest(&storage.name_of(MANIFEST_FILE), &bytes)?;
    let mut problems = check_files(storage.as_ref(), &files, args.verify_hashes).await?;
    problems.extend(id_set_problems(args.ids, state).await?);
    if !problems.is_empty() {
        return Err(OutputError::Damaged {
            root,
            problems: problems.iter().map(ToString::to_string).collect(),
        });
    }
    if let Some(rewound) = rewound(state, &files) {
        return Err(OutputError::Rewound {
            root,
            state: args.state_label.to_string(),
            rewound,
        });
    }
    let (mut opened, keep) = from_committed(files, args.streams);
    for (stream, paths) in keep {
        opened
            .removed
            .extend(cleanup(storage.as_ref(), &stream, &paths).await?);
    }
    let writer = BatchWriter::new(storage.batch_dir()?, args.format)?;
    Ok((
        StorageOutput::new(storage, exclusive, manifest, writer),
        opened,
    ))
}

async fn write_owner(storage: &dyn Storage, output_id: &str) -> Result<(), OutputError> {
    let mut bytes = serde_json::to_vec(&OwnerRecord {
        output_id: output_id.to_string(),
    })
    .unwrap_or_default();
    bytes.push(b'\n');
    storage.write(OWNER_FILE, bytes).await
}

/// The committed `files` grouped by stream, and the streams whose leftovers a start cleans:
/// `streams` (this run's) and every committed one, sorted, each with the paths of its
/// committed files.
fn from_committed(
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

/// Deletes, in the directory of `stream`, every temporary batch file (`.part-*.tmp`) and every
/// batch file (`part-<seq>.<ext>`) not among `committed` (root-relative paths) — orphans of a
/// crash between the batch file and the state write. Other files are left alone. Returns the
/// removed files, sorted.
async fn cleanup(
    storage: &dyn Storage,
    stream: &str,
    committed: &[String],
) -> Result<Vec<PathBuf>, OutputError> {
    let dir = stream_dir_name(stream)?;
    let keep: std::collections::HashSet<&str> = committed
        .iter()
        .map(|p| {
            p.strip_prefix(dir.as_str())
                .and_then(|rest| rest.strip_prefix('/'))
                .unwrap_or(p)
        })
        .collect();
    let doomed: Vec<String> = storage
        .list(&dir)
        .await?
        .into_iter()
        .filter(|name| {
            is_temp_part_name(name)
                || (parse_part_file_name(name).is_some() && !keep.contains(name.as_str()))
        })
        .collect();
    if doomed.is_empty() {
        return Ok(Vec::new());
    }
    let mut removed = storage.delete(&dir, &doomed).await?;
    removed.sort();
    Ok(removed)
}

#[cfg(test)]
#[path = "open_tests.rs"]
mod tests;
