//! Removal of what a crash can leave in a stream directory.

use std::collections::HashSet;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use super::layout::{is_temp_part_name, parse_part_file_name, stream_dir_name};
use super::SinkError;
use crate::durable::fsync_dir;

/// Deletes, in `<root>/<stream dir>`, every temporary batch file (`.part-*.tmp`) and every
/// batch file (`part-<seq>.<ext>`) not named in `committed_names` — orphans of a crash between
/// the rename and the state write. `committed_names` holds file names (`part-00000001.jsonl`)
/// or root-relative paths ([`CommittedFile::path`](super::CommittedFile::path)). Other files
/// are left alone. Returns the removed paths, sorted; a missing directory removes nothing.
pub fn cleanup<S: AsRef<str>>(
    root: &Path,
    stream: &str,
    committed_names: &[S],
) -> Result<Vec<PathBuf>, SinkError> {
    let dir_name = stream_dir_name(stream)?;
    let dir = root.join(&dir_name);
    let entries = match fs::read_dir(&dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(SinkError::io("list", dir, e)),
    };
    let keep: HashSet<&str> = committed_names
        .iter()
        .map(|n| {
            let n = n.as_ref();
            n.strip_prefix(dir_name.as_str())
                .and_then(|rest| rest.strip_prefix('/'))
                .unwrap_or(n)
        })
        .collect();

    let mut removed = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| SinkError::io("list", &dir, e))?;
        let Ok(name) = entry.file_name().into_string() else {
            continue;
        };
        let orphan = is_temp_part_name(&name)
            || (parse_part_file_name(&name).is_some() && !keep.contains(name.as_str()));
        if !orphan {
            continue;
        }
        let is_dir = entry
            .file_type()
            .map_err(|e| SinkError::io("inspect", entry.path(), e))?
            .is_dir();
        if is_dir {
            continue;
        }
        let path = entry.path();
        match fs::remove_file(&path) {
            Ok(()) => removed.push(path),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(SinkError::io("remove", path, e)),
        }
    }
    if !removed.is_empty() {
        fsync_dir(&dir)?;
    }
    removed.sort();
    Ok(removed)
}
