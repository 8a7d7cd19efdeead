//! Checking an output against its manifest: every listed file present with its size and
//! SHA-256, and no unlisted batch file.

use std::fmt;
use std::io::Read;
use std::path::Path;

use sha2::{Digest, Sha256};

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
            let mut files = Vec::new();
            for (i, line) in bytes.split(|b| *b == b'\n').enumerate() {
                if line.iter().all(u8::is_ascii_whitespace) {
                    continue;
                }
                files.push(
                    serde_json::from_slice(line).map_err(|source| SinkError::Manifest {
                        path: path.clone(),
                        line: i + 1,
                        source,
                    })?,
                );
            }
            files
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
