//! The manifest `_manifest.jsonl`: the exact list of committed files a loader may trust.

use std::collections::HashSet;
use std::fs;
use std::io;
use std::path::Path;

use super::{CommittedFile, SinkError};
use crate::durable::write_file_atomically;

/// The manifest's file name at the output root.
pub const MANIFEST_FILE: &str = "_manifest.jsonl";

/// Rewrites `<root>/_manifest.jsonl` atomically from the full list of committed files (the
/// caller's list is the source of truth): one JSON object per line, sorted by stream, then
/// seq, then file. A file listed twice is an error.
///
/// ```
/// use fauna_sync::sink::{read_manifest, write_manifest, CommittedFile, FileFormat};
/// let root = tempfile::tempdir().unwrap();
/// let f = CommittedFile { path: "users/part-00000001.parquet".into(), stream: "users".into(),
///     seq: 1, rows: 2, bytes: 3, sha256: "ab".into(), min_ts: 4, max_ts: 5,
///     format: FileFormat::Parquet, schema: None, typed: None };
/// write_manifest(root.path(), &[f.clone()]).unwrap();
/// assert_eq!(std::fs::read_to_string(root.path().join("_manifest.jsonl")).unwrap(),
///     "{\"file\":\"users/part-00000001.parquet\",\"stream\":\"users\",\"seq\":1,\"rows\":2,\
///      \"bytes\":3,\"sha256\":\"ab\",\"min_ts\":4,\"max_ts\":5,\"format\":\"parquet\"}\n");
/// assert_eq!(read_manifest(root.path()).unwrap(), vec![f]);
/// ```
pub fn write_manifest(root: &Path, files: &[CommittedFile]) -> Result<(), SinkError> {
    let out = manifest_bytes(root, files)?;
    Ok(write_file_atomically(&root.join(MANIFEST_FILE), &out)?)
}

/// The bytes [`write_manifest`] writes for `files` (`root` names the manifest in errors).
pub fn manifest_bytes(root: &Path, files: &[CommittedFile]) -> Result<Vec<u8>, SinkError> {
    let mut sorted: Vec<&CommittedFile> = files.iter().collect();
    sorted.sort_by(|a, b| {
        (a.stream.as_str(), a.seq, a.path.as_str()).cmp(&(
            b.stream.as_str(),
            b.seq,
            b.path.as_str(),
        ))
    });
    let mut seen = HashSet::with_capacity(sorted.len());
    let mut out = Vec::with_capacity(sorted.len() * 200);
    for f in sorted {
        if !seen.insert(f.path.as_str()) {
            return Err(SinkError::DuplicateManifestEntry {
                file: f.path.clone(),
            });
        }
        serde_json::to_writer(&mut out, f).map_err(|source| SinkError::Json {
            path: root.join(MANIFEST_FILE),
            source,
        })?;
        out.push(b'\n');
    }
    Ok(out)
}

/// Reads `<root>/_manifest.jsonl`; a missing manifest means no committed files (empty list).
/// Blank lines are ignored.
pub fn read_manifest(root: &Path) -> Result<Vec<CommittedFile>, SinkError> {
    let path = root.join(MANIFEST_FILE);
    let text = match fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(SinkError::io("read", path, e)),
    };
    text.lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(i, line)| {
            serde_json::from_str(line).map_err(|source| SinkError::Manifest {
                path: path.clone(),
                line: i + 1,
                source,
            })
        })
        .collect()
}
