//! Checking an output against its manifest: every listed file present with its size and
//! SHA-256, and no unlisted batch file.

use std::fmt;
use std::io::Read;
use std::path::Path;

use futures_util::StreamExt;
use object_store::{ObjectStore, ObjectStoreExt};
use sha2::{Digest, Sha256};

use super::checks::{id_set_object_problems, id_set_problems, rewound};
use super::owner::OWNER_FILE;
use super::store_error::StoreProblem;
use super::store_url::StoreUrl;
use super::OutputError;
use crate::sink::{parse_part_file_name, CommittedFile, SinkError, MANIFEST_FILE};
use crate::sync::State;

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

/// The result of [`verify_output`].
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
pub(crate) fn check_files(root: &Path, files: &[CommittedFile], hashes: bool) -> Vec<Problem> {
    let mut problems = Vec::new();
    for f in files {
        let path = root.join(&f.path);
        match std::fs::metadata(&path) {
            Err(_) => problems.push(Problem::Missing(f.path.clone())),
            Ok(m) if m.len() != f.bytes => problems.push(Problem::Size {
                file: f.path.clone(),
                listed: f.bytes,
                found: m.len(),
            }),
            Ok(_) if hashes && sha256_hex(&path).as_deref() != Some(f.sha256.as_str()) => {
                problems.push(Problem::Checksum(f.path.clone()))
            }
            Ok(_) => {}
        }
    }
    problems
}

fn sha256_hex(path: &Path) -> Option<String> {
    let mut file = std::fs::File::open(path).ok()?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = file.read(&mut buf).ok()?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Some(format!("{:x}", hasher.finalize()))
}

/// Verifies the output at `root` against its state (`None`: no state, or a new one): the
/// manifest holds at least the state's `manifest_len` bytes and only those are read (without
/// a state, all of it); every listed file exists with its size and SHA-256; every stream
/// directory holds no batch or temporary file the manifest does not list; the id-set files
/// the state names are in `ids_dir` with their committed length, and no committed file has a
/// sequence number the state would use again. A root with neither a manifest nor an owner
/// record is no fauna-sync output: an error, so that a mistyped `--out` never verifies.
pub fn verify_output(
    root: &Path,
    state: Option<&State>,
    ids_dir: &Path,
) -> Result<VerifyReport, OutputError> {
    let path = root.join(MANIFEST_FILE);
    let bytes = match std::fs::read(&path) {
        Ok(bytes) => Some(bytes),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(SinkError::io("read", &path, e).into()),
    };
    if bytes.is_none() && !root.join(OWNER_FILE).exists() {
        return Err(OutputError::NoOutput {
            out: root.display().to_string(),
        });
    }
    let (files, mut problems) = committed(&path.display().to_string(), bytes, state)?;
    let mut report = VerifyReport {
        files: files.len(),
        bytes: files.iter().map(|f| f.bytes).sum(),
        problems: Vec::new(),
    };
    problems.extend(check_files(root, &files, true));
    if let Some(state) = state {
        problems.extend(id_set_problems(ids_dir, state));
        problems.extend(rewound(state, &files).map(Problem::Rewound));
    }
    report.problems = problems;
    let listed: std::collections::HashSet<&str> = files.iter().map(|f| f.path.as_str()).collect();
    let mut unlisted = Vec::new();
    let entries = std::fs::read_dir(root).map_err(|e| SinkError::io("list", root, e))?;
    for dir in entries.flatten() {
        if !dir.path().is_dir() {
            continue;
        }
        let dir_name = dir.file_name().to_string_lossy().into_owned();
        let Ok(inner) = std::fs::read_dir(dir.path()) else {
            continue;
        };
        for e in inner.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            let part = parse_part_file_name(&name).is_some()
                || (name.starts_with(".part-") && name.ends_with(".tmp"));
            let rel = format!("{dir_name}/{name}");
            if part && !listed.contains(rel.as_str()) {
                unlisted.push(rel);
            }
        }
    }
    unlisted.sort();
    report
        .problems
        .extend(unlisted.into_iter().map(Problem::Unlisted));
    Ok(report)
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

/// [`check_files`] for objects: presence and size always, content with `hashes`.
pub(crate) async fn check_objects(
    store: &dyn ObjectStore,
    url: &StoreUrl,
    files: &[CommittedFile],
    hashes: bool,
) -> Result<Vec<Problem>, OutputError> {
    let mut problems = Vec::new();
    for f in files {
        let key = url.key(&f.path)?;
        let store_err = |source| OutputError::Store {
            op: "read",
            url: url.url_of(&f.path),
            source,
        };
        let meta = match store.head(&key).await {
            Ok(m) => m,
            Err(object_store::Error::NotFound { .. }) => {
                problems.push(Problem::Missing(f.path.clone()));
                continue;
            }
            Err(e) => return Err(store_err(e)),
        };
        if meta.size != f.bytes {
            problems.push(Problem::Size {
                file: f.path.clone(),
                listed: f.bytes,
                found: meta.size,
            });
            continue;
        }
        if hashes {
            let mut stream = store.get(&key).await.map_err(store_err)?.into_stream();
            let mut hasher = Sha256::new();
            while let Some(chunk) = stream.next().await {
                hasher.update(&chunk.map_err(|source| OutputError::Store {
                    op: "read",
                    url: url.url_of(&f.path),
                    source,
                })?);
            }
            if format!("{:x}", hasher.finalize()) != f.sha256 {
                problems.push(Problem::Checksum(f.path.clone()));
            }
        }
    }
    Ok(problems)
}

/// [`verify_output`] for an object-store output: the manifest object against the state, every
/// listed object present with its size and SHA-256, no batch object (`<stream dir>/part-…`)
/// the manifest does not list, and the id-set objects the state names under `ids_rel`. A prefix
/// with neither a manifest nor an owner record (`_output.json`) is no output: an error.
pub async fn verify_store(
    store: &dyn ObjectStore,
    url: &StoreUrl,
    state: Option<&State>,
    ids_rel: &str,
) -> Result<VerifyReport, OutputError> {
    let manifest_url = url.url_of(MANIFEST_FILE);
    let bytes = match store.get(&url.key(MANIFEST_FILE)?).await {
        Ok(r) => Some(
            r.bytes()
                .await
                .map_err(|source| OutputError::Store {
                    op: "read",
                    url: manifest_url.clone(),
                    source,
                })?
                .to_vec(),
        ),
        Err(e @ object_store::Error::NotFound { .. }) => {
            // A missing bucket answers not-found too: name it.
            if StoreProblem::of("read", &e) != StoreProblem::Other {
                return Err(OutputError::Store {
                    op: "read",
                    url: manifest_url,
                    source: e,
                });
            }
            None
        }
        Err(source) => {
            return Err(OutputError::Store {
                op: "read",
                url: manifest_url,
                source,
            })
        }
    };
    if bytes.is_none() {
        match store.head(&url.key(OWNER_FILE)?).await {
            Ok(_) => {}
            Err(object_store::Error::NotFound { .. }) => {
                return Err(OutputError::NoOutput {
                    out: url.to_string(),
                })
            }
            Err(source) => {
                return Err(OutputError::Store {
                    op: "read",
                    url: url.url_of(OWNER_FILE),
                    source,
                })
            }
        }
    }
    let (files, mut problems) = committed(&manifest_url, bytes, state)?;
    problems.extend(check_objects(store, url, &files, true).await?);
    if let Some(state) = state {
        problems.extend(id_set_object_problems(store, url, ids_rel, state).await?);
        problems.extend(rewound(state, &files).map(Problem::Rewound));
    }
    let mut report = VerifyReport {
        files: files.len(),
        bytes: files.iter().map(|f| f.bytes).sum(),
        problems,
    };
    let listed: std::collections::HashSet<&str> = files.iter().map(|f| f.path.as_str()).collect();
    let root = url.root_prefix();
    let mut listing = store.list(root.as_ref());
    let mut unlisted = Vec::new();
    while let Some(meta) = listing.next().await {
        let meta = meta.map_err(|source| OutputError::Store {
            op: "list",
            url: url.to_string(),
            source,
        })?;
        let Some(rel) = url.relative(&meta.location) else {
            continue;
        };
        let Some((dir, name)) = rel.split_once('/') else {
            continue;
        };
        if !dir.contains('.') && parse_part_file_name(name).is_some() && !listed.contains(rel) {
            unlisted.push(rel.to_string());
        }
    }
    unlisted.sort();
    report
        .problems
        .extend(unlisted.into_iter().map(Problem::Unlisted));
    Ok(report)
}
