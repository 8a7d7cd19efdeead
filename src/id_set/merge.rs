//! Merging a delta of additions and removals into a sorted base, streaming the base.

use std::cmp::Ordering;
use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::Path;

use crate::durable::{AtomicFile, FileError};
use crate::export::id_order;

/// Read and write buffer of a merge: the base is copied in large blocks, not 8 KiB ones.
const IO_BUFFER: usize = 1 << 20;

/// The delta's operations, `(id, present)`, sorted in document order with the last operation
/// of each id kept.
pub(super) fn parse_delta(bytes: &[u8], path: &Path) -> Result<Vec<(String, bool)>, FileError> {
    let text = std::str::from_utf8(bytes).map_err(|_| damaged(path, "it is not UTF-8"))?;
    let mut ops = Vec::new();
    for line in text.lines() {
        let (op, id) = line.split_at_checked(1).unwrap_or(("", ""));
        let present = match op {
            "+" => true,
            "-" => false,
            _ => return Err(damaged(path, "a line is neither +id nor -id")),
        };
        ops.push((id.to_string(), present));
    }
    Ok(ops)
}

/// Writes `base` (sorted; `None` = empty) with `ops` applied (in any order; for each id the
/// last one wins) to `target`, atomically.
pub(super) fn write_base(
    base: Option<&Path>,
    mut ops: Vec<(String, bool)>,
    target: &Path,
) -> Result<(), FileError> {
    // Stable: equal ids keep their order, so the last of each run is the latest operation.
    ops.sort_by(|a, b| id_order(&a.0, &b.0));
    let mut latest: Vec<(String, bool)> = Vec::with_capacity(ops.len());
    for op in ops {
        match latest.last_mut() {
            Some(last) if id_order(&last.0, &op.0) == Ordering::Equal => *last = op,
            _ => latest.push(op),
        }
    }
    let mut file = AtomicFile::create(target)?;
    let temp = file.temp_path().to_path_buf();
    {
        let mut out = BufWriter::with_capacity(IO_BUFFER, file.writer());
        let write = |out: &mut BufWriter<_>, id: &[u8]| -> Result<(), FileError> {
            out.write_all(id)
                .and_then(|_| out.write_all(b"\n"))
                .map_err(|e| FileError::new("write", &temp, e))
        };
        let mut ops = latest.into_iter().peekable();
        if let Some(base) = base {
            let file = File::open(base).map_err(|e| FileError::new("open", base, e))?;
            let mut reader = BufReader::with_capacity(IO_BUFFER, file);
            // One buffer for every line: the base is streamed without an allocation per id.
            let mut line = Vec::new();
            loop {
                line.clear();
                let n = reader
                    .read_until(b'\n', &mut line)
                    .map_err(|e| FileError::new("read", base, e))?;
                if n == 0 {
                    break;
                }
                if line.last() == Some(&b'\n') {
                    line.pop();
                }
                let id =
                    std::str::from_utf8(&line).map_err(|_| damaged(base, "it is not UTF-8"))?;
                // Operations on ids before this one.
                while let Some((op_id, present)) =
                    ops.next_if(|(op_id, _)| id_order(op_id, id) == Ordering::Less)
                {
                    if present {
                        write(&mut out, op_id.as_bytes())?;
                    }
                }
                match ops.next_if(|(op_id, _)| id_order(op_id, id) == Ordering::Equal) {
                    Some((_, false)) => {}
                    _ => write(&mut out, id.as_bytes())?,
                }
            }
        }
        for (id, present) in ops {
            if present {
                write(&mut out, id.as_bytes())?;
            }
        }
        out.flush().map_err(|e| FileError::new("write", &temp, e))?;
    }
    file.commit()?;
    Ok(())
}

fn damaged(path: &Path, what: &str) -> FileError {
    FileError::new(
        "read",
        path,
        std::io::Error::new(std::io::ErrorKind::InvalidData, what.to_string()),
    )
}
