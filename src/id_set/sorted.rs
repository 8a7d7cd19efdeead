//! A sorted id file read in ranges: ids one per line in Fauna's document order, found by
//! binary search over byte offsets, so a reader holds only the range it asked for.

use std::cmp::Ordering;
use std::fs::File;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use crate::durable::FileError;
use crate::export::id_order;

/// The longest id line read (Fauna ids are short; a longer line means a damaged file).
const MAX_LINE: usize = 4096;

/// An open, immutable sorted id file (or the empty set). The handle stays readable after a
/// compaction replaces and removes the file, so a reconciliation reads one consistent set.
pub struct SortedIds {
    file: Option<Mutex<File>>,
    len: u64,
    path: PathBuf,
}

impl SortedIds {
    /// The empty set.
    pub fn empty() -> Self {
        SortedIds {
            file: None,
            len: 0,
            path: PathBuf::new(),
        }
    }

    /// Opens the sorted file at `path`.
    pub fn open(path: &Path) -> Result<Self, FileError> {
        let file = File::open(path).map_err(|e| FileError::new("open", path, e))?;
        let len = file
            .metadata()
            .map_err(|e| FileError::new("inspect", path, e))?
            .len();
        Ok(SortedIds {
            file: Some(Mutex::new(file)),
            len,
            path: path.to_path_buf(),
        })
    }

    /// Up to `limit` ids, in order, starting with the first id not below `from` (all ids
    /// when `from` is `None`).
    pub fn range(&self, from: Option<&str>, limit: usize) -> Result<Vec<String>, FileError> {
        let Some(file) = &self.file else {
            return Ok(Vec::new());
        };
        let mut file = file.lock().unwrap_or_else(|p| p.into_inner());
        let start = match from {
            None => 0,
            Some(from) => self.first_not_below(&mut file, from)?,
        };
        // From there on, one buffered sequential read.
        file.seek(SeekFrom::Start(start))
            .map_err(|e| FileError::new("seek", &self.path, e))?;
        let mut reader = BufReader::new((&mut *file).take(self.len - start));
        let mut ids = Vec::new();
        let mut line = Vec::new();
        while ids.len() < limit {
            line.clear();
            let n = reader
                .read_until(b'\n', &mut line)
                .map_err(|e| FileError::new("read", &self.path, e))?;
            if n == 0 {
                break;
            }
            if line.pop() != Some(b'\n') {
                return Err(self.damaged("its last line has no newline"));
            }
            if line.len() > MAX_LINE {
                return Err(self.damaged("a line is longer than any id"));
            }
            let id = std::str::from_utf8(&line).map_err(|_| self.damaged("a line is not UTF-8"))?;
            ids.push(id.to_string());
        }
        Ok(ids)
    }

    /// The offset of the first line whose id is not below `from` (the file's length if none).
    fn first_not_below(&self, file: &mut File, from: &str) -> Result<u64, FileError> {
        // `P(pos)`: the first line starting at or after `pos` is not below `from` (or there is
        // none). `P` only turns from false to true as `pos` grows; find its first true.
        let (mut lo, mut hi) = (0u64, self.len);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            let start = self.line_start_from(file, mid)?;
            let holds = start >= self.len
                || id_order(&self.line_at(file, start)?.0, from) != Ordering::Less;
            if holds {
                hi = mid;
            } else {
                lo = mid + 1;
            }
        }
        self.line_start_from(file, lo)
    }

    /// The start of the first line beginning at or after `pos`.
    fn line_start_from(&self, file: &mut File, pos: u64) -> Result<u64, FileError> {
        if pos == 0 {
            return Ok(0);
        }
        // The line containing byte `pos - 1` ends at a newline at or after it.
        let mut at = pos - 1;
        let mut buf = [0u8; 256];
        loop {
            if at >= self.len {
                return Ok(self.len);
            }
            let n = self.read_at(file, at, &mut buf)?;
            if let Some(i) = buf[..n].iter().position(|&b| b == b'\n') {
                return Ok(at + i as u64 + 1);
            }
            if n == 0 {
                return Ok(self.len);
            }
            at += n as u64;
        }
    }

    /// The id of the line starting at `start`, and the start of the next line.
    fn line_at(&self, file: &mut File, start: u64) -> Result<(String, u64), FileError> {
        let mut buf = vec![0u8; 64];
        let mut line = Vec::new();
        let mut at = start;
        loop {
            let n = self.read_at(file, at, &mut buf)?;
            if n == 0 {
                // A last line without its newline: the file was cut short.
                return Err(self.damaged("its last line has no newline"));
            }
            match buf[..n].iter().position(|&b| b == b'\n') {
                Some(i) => {
                    line.extend_from_slice(&buf[..i]);
                    let id =
                        String::from_utf8(line).map_err(|_| self.damaged("a line is not UTF-8"))?;
                    return Ok((id, at + i as u64 + 1));
                }
                None => {
                    line.extend_from_slice(&buf[..n]);
                    at += n as u64;
                    if line.len() > MAX_LINE {
                        return Err(self.damaged("a line is longer than any id"));
                    }
                }
            }
        }
    }

    fn read_at(&self, file: &mut File, at: u64, buf: &mut [u8]) -> Result<usize, FileError> {
        let want = buf.len().min((self.len.saturating_sub(at)) as usize);
        file.seek(SeekFrom::Start(at))
            .map_err(|e| FileError::new("seek", &self.path, e))?;
        file.read(&mut buf[..want])
            .map_err(|e| FileError::new("read", &self.path, e))
    }

    fn damaged(&self, what: &str) -> FileError {
        FileError::new(
            "read",
            &self.path,
            std::io::Error::new(std::io::ErrorKind::InvalidData, what.to_string()),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file_of(ids: &[&str]) -> (tempfile::TempDir, SortedIds) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ids");
        let text: String = ids.iter().map(|i| format!("{i}\n")).collect();
        std::fs::write(&path, text).unwrap();
        let s = SortedIds::open(&path).unwrap();
        (dir, s)
    }

    #[test]
    fn ranges_start_at_the_first_id_not_below_from() {
        let ids: Vec<String> = (1..=500).map(|i| (i * 3).to_string()).collect();
        let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
        let (_d, s) = file_of(&refs);
        assert_eq!(s.range(None, 3).unwrap(), ["3", "6", "9"]);
        assert_eq!(s.range(Some("7"), 2).unwrap(), ["9", "12"]);
        assert_eq!(s.range(Some("9"), 2).unwrap(), ["9", "12"]);
        assert_eq!(s.range(Some("1499"), 5).unwrap(), ["1500"]);
        assert!(s.range(Some("1501"), 5).unwrap().is_empty());
        assert!(s.range(Some("zzz"), 5).unwrap().is_empty());
        assert_eq!(s.range(Some("0"), 1).unwrap(), ["3"]);
        // Every start finds itself.
        for (i, id) in ids.iter().enumerate() {
            assert_eq!(&s.range(Some(id), 1).unwrap()[0], id, "at {i}");
        }
        assert_eq!(s.range(None, 10_000).unwrap().len(), 500);
    }

    #[test]
    fn non_numeric_ids_follow_document_order() {
        let (_d, s) = file_of(&["2", "10", "a", "abc", "b"]);
        assert_eq!(s.range(Some("3"), 10).unwrap(), ["10", "a", "abc", "b"]);
        assert_eq!(s.range(Some("ab"), 10).unwrap(), ["abc", "b"]);
    }

    #[test]
    fn the_empty_set_and_a_cut_file() {
        assert!(SortedIds::empty().range(None, 5).unwrap().is_empty());
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ids");
        std::fs::write(&path, "1\n2").unwrap();
        let s = SortedIds::open(&path).unwrap();
        let e = s.range(Some("2"), 5).unwrap_err();
        assert!(e.to_string().contains("no newline"), "{e}");
    }
}
