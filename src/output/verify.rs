//! Checking an output against its manifest: every listed file present with its size and
//! SHA-256, and no unlisted batch file.

use std::fmt;
use std::io::Read;
use std::path::Path;

use futures_util::StreamExt;
use object_store::{ObjectStore, ObjectStoreExt};
use sha2::{Digest, Sha256};

use super::store_url::StoreUrl;
use super::OutputError;
use crate::sink::{parse_part_file_name, read_manifest, CommittedFile, SinkError, MANIFEST_FILE};

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

/// Verifies the output at `root` against the first `manifest_len` bytes of its manifest
/// (`None` = the whole manifest): every listed file exists with its size and SHA-256, and
/// every stream directory holds no batch or temporary file the manifest does not list.
pub fn verify_output(root: &Path, manifest_len: Option<u64>) -> Result<VerifyReport, SinkError> {
    let files = match manifest_len {
        None => read_manifest(root)?,
        Some(len) => {
            let path = root.join(MANIFEST_FILE);
            let mut bytes = std::fs::read(&path).unwrap_or_default();
            bytes.truncate(len as usize);
            parse_manifest(&path.display().to_string(), &bytes)?
        }
    };
    let mut report = VerifyReport {
        files: files.len(),
        bytes: files.iter().map(|f| f.bytes).sum(),
        problems: check_files(root, &files, true),
    };
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

/// [`verify_output`] for an object-store output: the first `manifest_len` bytes of its
/// manifest object (`None` = all), every listed object present with its size and SHA-256, and
/// no batch object (`<stream dir>/part-…`) the manifest does not list.
pub async fn verify_store(
    store: &dyn ObjectStore,
    url: &StoreUrl,
    manifest_len: Option<u64>,
) -> Result<VerifyReport, OutputError> {
    let manifest_url = url.url_of(MANIFEST_FILE);
    let mut bytes = match store.get(&url.key(MANIFEST_FILE)?).await {
        Ok(r) => r
            .bytes()
            .await
            .map_err(|source| OutputError::Store {
                op: "read",
                url: manifest_url.clone(),
                source,
            })?
            .to_vec(),
        Err(object_store::Error::NotFound { .. }) => Vec::new(),
        Err(source) => {
            return Err(OutputError::Store {
                op: "read",
                url: manifest_url,
                source,
            })
        }
    };
    if let Some(len) = manifest_len {
        bytes.truncate(usize::try_from(len).unwrap_or(usize::MAX));
    }
    let files = parse_manifest(&manifest_url, &bytes)?;
    let mut report = VerifyReport {
        files: files.len(),
        bytes: files.iter().map(|f| f.bytes).sum(),
        problems: check_objects(store, url, &files, true).await?,
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
