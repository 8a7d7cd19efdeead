//! The log of document ids a stream has exported, kept beside the state file for strategies
//! that must later tell which exported documents were deleted (`spec/state-format.md`).
//!
//! One id per line, appended and fsynced with every batch, before the state that records the
//! log's committed length; a resumed run truncates whatever a crash appended beyond it.

use std::path::{Path, PathBuf};

use crate::durable::{AppendLog, FileError};
use crate::export::{id_order, Record};

/// An append-only id log.
pub struct EmittedIds {
    log: AppendLog,
}

/// Where the log of `stream` lives for the state file `state`: `<state>.ids/<stream>.ids`.
pub fn emitted_ids_path(state: &Path, stream: &str) -> PathBuf {
    let mut dir = state.as_os_str().to_owned();
    dir.push(".ids");
    PathBuf::from(dir).join(format!("{stream}.ids"))
}

impl EmittedIds {
    /// Opens the log at its committed length `committed` (bytes), dropping anything beyond.
    pub fn open(path: PathBuf, committed: u64) -> Result<Self, FileError> {
        Ok(EmittedIds {
            log: AppendLog::open(path, committed)?,
        })
    }

    /// Appends the records' ids durably; returns the log's new committed length.
    pub fn append<'r>(
        &mut self,
        records: impl Iterator<Item = &'r Record>,
    ) -> Result<u64, FileError> {
        let mut buf = Vec::new();
        for r in records {
            buf.extend_from_slice(r.id.as_bytes());
            buf.push(b'\n');
        }
        self.log.append(&buf)
    }

    /// Every id logged so far, sorted in Fauna's document order and without repeats.
    pub fn sorted_ids(&self) -> Result<Vec<String>, FileError> {
        let bytes = self.log.read_committed()?;
        let text = String::from_utf8_lossy(&bytes);
        let mut ids: Vec<String> = text.lines().map(str::to_string).collect();
        ids.sort_by(|a, b| id_order(a, b));
        ids.dedup();
        Ok(ids)
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
        assert!(e.to_string().contains("the checkpoint recorded 10"), "{e}");
    }

    #[test]
    fn ids_sort_in_document_order() {
        let mut ids = vec!["10", "9", "100", "b", "a", "2"];
        ids.sort_by(|a, b| id_order(a, b));
        assert_eq!(ids, vec!["2", "9", "10", "100", "a", "b"]);
    }
}
