//! The log of document ids a stream has exported, kept beside the state file for strategies
//! that must later tell which exported documents were deleted (`spec/state-format.md`).
//!
//! One id per line, appended and fsynced with every batch, before the state that records the
//! log's committed length; a resumed run truncates whatever a crash appended beyond it.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::export::Record;
use crate::sink::SinkError;

/// An append-only id log.
pub struct EmittedIds {
    path: PathBuf,
    file: File,
    len: u64,
}

fn io(op: &'static str, path: &Path, source: std::io::Error) -> SinkError {
    SinkError::Io {
        op,
        path: path.to_path_buf(),
        source,
    }
}

/// Where the log of `stream` lives for the state file `state`: `<state>.ids/<stream>.ids`.
pub fn emitted_ids_path(state: &Path, stream: &str) -> PathBuf {
    let mut dir = state.as_os_str().to_owned();
    dir.push(".ids");
    PathBuf::from(dir).join(format!("{stream}.ids"))
}

impl EmittedIds {
    /// Opens the log at its committed length `committed` (bytes), dropping anything beyond.
    pub fn open(path: PathBuf, committed: u64) -> Result<Self, SinkError> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| io("create", dir, e))?;
        }
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(&path)
            .map_err(|e| io("open", &path, e))?;
        let on_disk = file.metadata().map_err(|e| io("stat", &path, e))?.len();
        if on_disk < committed {
            return Err(io(
                "resume from",
                &path,
                std::io::Error::other(format!(
                    "the id log holds {on_disk} bytes but the state recorded {committed}; it was truncated or replaced — delete the state and the output to export again"
                )),
            ));
        }
        file.set_len(committed)
            .map_err(|e| io("truncate", &path, e))?;
        Ok(EmittedIds {
            path,
            file,
            len: committed,
        })
    }

    /// Appends the records' ids durably; returns the log's new committed length.
    pub fn append<'r>(
        &mut self,
        records: impl Iterator<Item = &'r Record>,
    ) -> Result<u64, SinkError> {
        let mut buf = Vec::new();
        for r in records {
            buf.extend_from_slice(r.id.as_bytes());
            buf.push(b'\n');
        }
        use std::io::{Seek, SeekFrom};
        self.file
            .seek(SeekFrom::Start(self.len))
            .map_err(|e| io("seek", &self.path, e))?;
        self.file
            .write_all(&buf)
            .map_err(|e| io("write", &self.path, e))?;
        self.file
            .sync_data()
            .map_err(|e| io("fsync", &self.path, e))?;
        self.len += buf.len() as u64;
        Ok(self.len)
    }

    /// Every id logged so far, sorted in Fauna's document order and without repeats.
    pub fn sorted_ids(&self) -> Result<Vec<String>, SinkError> {
        let text = std::fs::read_to_string(&self.path).map_err(|e| io("read", &self.path, e))?;
        let committed = text.get(..self.len as usize).unwrap_or(&text);
        let mut ids: Vec<String> = committed.lines().map(str::to_string).collect();
        ids.sort_by(|a, b| id_order(a, b));
        ids.dedup();
        Ok(ids)
    }
}

/// Fauna's order of document ids: numeric ids by value (shorter digit strings first), then
/// anything else bytewise.
pub fn id_order(a: &str, b: &str) -> std::cmp::Ordering {
    let numeric = |s: &str| !s.is_empty() && s.bytes().all(|c| c.is_ascii_digit());
    match (numeric(a), numeric(b)) {
        (true, true) => {
            let (a, b) = (a.trim_start_matches('0'), b.trim_start_matches('0'));
            a.len().cmp(&b.len()).then_with(|| a.cmp(b))
        }
        (true, false) => std::cmp::Ordering::Less,
        (false, true) => std::cmp::Ordering::Greater,
        (false, false) => a.cmp(b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(id: &str) -> Record {
        Record {
            id: id.into(),
            ts: 1,
            data: None,
            columns: vec![],
            deleted_at: None,
        }
    }

    #[test]
    fn a_reopened_log_drops_what_the_state_never_recorded() {
        let dir = tempfile::tempdir().unwrap();
        let path = emitted_ids_path(&dir.path().join("state.json"), "users");
        let mut log = EmittedIds::open(path.clone(), 0).unwrap();
        let committed = log.append([rec("20"), rec("3")].iter()).unwrap();
        assert_eq!(committed, 5);
        log.append([rec("100")].iter()).unwrap();
        drop(log);
        let log = EmittedIds::open(path.clone(), committed).unwrap();
        assert_eq!(log.sorted_ids().unwrap(), vec!["3", "20"]);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "20\n3\n");
    }

    #[test]
    fn a_log_shorter_than_the_state_says_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.ids");
        let e = EmittedIds::open(path, 10).err().unwrap();
        assert!(e.to_string().contains("the state recorded 10"), "{e}");
    }

    #[test]
    fn ids_sort_in_document_order() {
        let mut ids = vec!["10", "9", "100", "b", "a", "2"];
        ids.sort_by(|a, b| id_order(a, b));
        assert_eq!(ids, vec!["2", "9", "10", "100", "a", "b"]);
    }
}
