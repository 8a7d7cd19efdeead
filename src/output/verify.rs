//! Checking an output against its manifest: every listed file present with its size and
//! SHA-256, and no unlisted batch file.

use std::fmt;

use super::checks::{id_set_problems, rewound, IdSetsAt};
use super::owner::OWNER_FILE;
use super::storage::Storage;
use super::OutputError;
use crate::sink::{
    is_temp_part_name, parse_part_file_name, CommittedFile, SinkError, MANIFEST_FILE,
};
use crate::state::State;

/// One problem found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Problem {
    /// A listed file is missing.
    Missing(String),
    /// A listed file has another size.
    Size {
        /// The file.
        file: String,
        /// The manifest's size.
        listed: u64,
        /// The size on disk.
        found: u64,
    },
    /// A listed file's content changed.
    Checksum(String),
    /// A batch file the manifest does not list.
    Unlisted(String),
    /// The manifest is shorter than the state's committed length (or missing: 0 bytes).
    ManifestShort {
        /// Its length.
        found: u64,
        /// The state's `manifest_len`.
        committed: u64,
    },
    /// A committed file's sequence number is one the state would write again.
    Rewound(super::checks::Rewound),
    /// An id-set file the state names is missing.
    IdSetMissing {
        /// The file (path or URL).
        file: String,
        /// Its stream.
        stream: String,
    },
    /// An id-set delta is shorter than the state's committed length.
    IdSetShort {
        /// The file (path or URL).
        file: String,
        /// Its length.
        found: u64,
        /// The state's `delta_len`.
        committed: u64,
    },
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::Missing(p) => write!(f, "{p} is missing"),
            Problem::Size {
                file,
                listed,
                found,
            } => write!(f, "{file} has {found} bytes, the manifest says {listed}"),
            Problem::Checksum(p) => write!(f, "{p} does not match its SHA-256 (changed)"),
            Problem::Unlisted(p) => write!(f, "{p} is not listed in the manifest"),
            Problem::ManifestShort { found, committed } => write!(
                f,
                "{MANIFEST_FILE} has {found} bytes, the state committed {committed}"
            ),
            Problem::Rewound(r) => match r.next_seq {
                Some(n) => write!(
                    f,
                    "{} (batch {} of stream '{}') is committed, but the state's next batch of '{}' is {n}: the state was set back",
                    r.file, r.seq, r.stream, r.stream
                ),
                None => write!(
                    f,
                    "{} (stream '{}') is committed, but the state has no entry for '{}'",
                    r.file, r.stream, r.stream
                ),
            },
            Problem::IdSetMissing { file, stream } => write!(
                f,
                "{file} is missing (the id set of stream '{stream}' that the state names: the ids its output holds, which deletion reconciliation reads)"
            ),
            Problem::IdSetShort {
                file,
                found,
                committed,
            } => write!(
                f,
                "{file} has {found} bytes, the state committed {committed} (the id set was truncated or replaced)"
            ),
        }
    }
}

/// The result of [`verify`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct VerifyReport {
    /// Files listed and checked.
    pub files: usize,
    /// Bytes hashed.
    pub bytes: u64,
    /// Problems, in manifest order, then unlisted files by name.
    pub problems: Vec<Problem>,
}

/// Checks listed files: presence and size always, content with `hashes`.
pub(crate) async fn check_files(
    storage: &dyn Storage,
    files: &[CommittedFile],
    hashes: bool,
) -> Result<Vec<Problem>, OutputError> {
    let mut problems = Vec::new();
    for f in files {
        match storage.size(&f.path).await? {
            None => problems.push(Problem::Missing(f.path.clone())),
            Some(found) if found != f.bytes => problems.push(Problem::Size {
                file: f.path.clone(),
                listed: f.bytes,
                found,
            }),
            Some(_)
                if hashes
                    && storage.sha256(&f.path).await?.as_deref() != Some(f.sha256.as_str()) =>
            {
                problems.push(Problem::Checksum(f.path.clone()))
            }
            Some(_) => {}
        }
    }
    Ok(problems)
}

/// Verifies the output in `storage` against its state (`None`: no state, or a new one): the
/// manifest holds at least the state's `manifest_len` bytes and only those are read (without
/// a state, all of it); every listed file exists with its size and SHA-256; every stream
/// directory holds no batch or temporary file the manifest does not list; the id-set files
/// the state names are where `ids` says with their committed length, and no committed file
/// has a sequence number the state would use again. A root with neither a manifest nor an
/// owner record is no fauna-sync output: an error, so that a mistyped `--out` never verifies.
pub async fn verify(
    storage: &dyn Storage,
    state: Option<&State>,
    ids: IdSetsAt<'_>,
) -> Result<VerifyReport, OutputError> {
    let bytes = storage.read(MANIFEST_FILE).await?;
    if bytes.is_none() && storage.size(OWNER_FILE).await?.is_none() {
        return Err(OutputError::NoOutput {
            out: storage.root().display().to_string(),
        });
    }
    let (files, mut problems) = committed(&storage.name_of(MANIFEST_FILE), bytes, state)?;
    problems.extend(check_files(storage, &files, true).await?);
    if let Some(state) = state {
        problems.extend(id_set_problems(ids, state).await?);
        problems.extend(rewound(state, &files).map(Problem::Rewound));
    }
    let listed: std::collections::HashSet<&str> = files.iter().map(|f| f.path.as_str()).collect();
    let mut unlisted: Vec<String> = storage
        .list_stream_files()
        .await?
        .into_iter()
        .filter(|rel| {
            let name = rel.rsplit('/').next().unwrap_or_default();
            let part = parse_part_file_name(name).is_some() || is_temp_part_name(name);
            part && !listed.contains(rel.as_str())
        })
        .collect();
    unlisted.sort();
    problems.extend(unlisted.into_iter().map(Problem::Unlisted));
    Ok(VerifyReport {
        files: files.len(),
        bytes: files.iter().map(|f| f.bytes).sum(),
        problems,
    })
}

/// The committed files of a manifest's `bytes` (`None`: there is no manifest): its first
/// `manifest_len` bytes when the state records them — a shorter manifest is a problem — else
/// all of them.
fn committed(
    manifest: &str,
    bytes: Option<Vec<u8>>,
    state: Option<&State>,
) -> Result<(Vec<CommittedFile>, Vec<Problem>), SinkError> {
    let mut bytes = bytes.unwrap_or_default();
    let mut problems = Vec::new();
    if let Some(len) = state.map(|s| s.manifest_len).filter(|l| *l > 0) {
        if (bytes.len() as u64) < len {
            problems.push(Problem::ManifestShort {
                found: bytes.len() as u64,
                committed: len,
            });
        }
        bytes.truncate(usize::try_from(len).unwrap_or(usize::MAX));
    }
    Ok((parse_manifest(manifest, &bytes)?, problems))
}

/// Parses manifest bytes (blank lines ignored); `url` names the manifest in errors.
pub(crate) fn parse_manifest(url: &str, bytes: &[u8]) -> Result<Vec<CommittedFile>, SinkError> {
    let mut files = Vec::new();
    for (i, line) in bytes.split(|b| *b == b'\n').enumerate() {
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        files.push(
            serde_json::from_slice(line).map_err(|source| SinkError::Manifest {
                path: url.into(),
                line: i + 1,
                source,
            })?,
        );
    }
    Ok(files)
}
