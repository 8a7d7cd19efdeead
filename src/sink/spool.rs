//! A typed batch's records on disk until the batch ends (`.part-<seq>.parquet.spool.tmp`
//! beside the batch's temporary file, removed with it; a crash leaves it for
//! [`super::cleanup`], which removes every `.part-*.tmp`): memory stays bounded whatever the
//! batch's size.
//!
//! One record: `id`, `ts`, deletion (0 none, 1 observed, 2 detected), `data`'s export JSON and
//! wire JSON (each absent or present), then the additional columns as wire JSON; strings and
//! byte strings are length-prefixed (u32, little endian).

use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use crate::export::{Deletion, ExportJson, Record};
use crate::fauna::{decode, encode};

/// The spool of one batch; the file is removed when it is dropped.
pub(crate) struct Spool {
    out: BufWriter<File>,
    path: PathBuf,
    records: u64,
}

impl Spool {
    /// Creates (or truncates) the spool at `path`.
    pub(crate) fn create(path: &Path) -> io::Result<Self> {
        let file = File::options()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(path)?;
        Ok(Spool {
            out: BufWriter::with_capacity(1 << 20, file),
            path: path.to_path_buf(),
            records: 0,
        })
    }

    /// Appends `rec`.
    pub(crate) fn push(&mut self, rec: &Record) -> io::Result<()> {
        let w = &mut self.out;
        put(w, rec.id.as_bytes())?;
        w.write_all(&rec.ts.to_le_bytes())?;
        w.write_all(&[match rec.deletion {
            None => 0,
            Some(Deletion::Observed) => 1,
            Some(Deletion::Detected) => 2,
        }])?;
        put_opt(w, rec.data.as_ref().map(|d| d.as_str().as_bytes()))?;
        put_opt(w, rec.data.as_ref().and_then(ExportJson::wire))?;
        w.write_all(&(rec.columns.len() as u32).to_le_bytes())?;
        for c in &rec.columns {
            put(w, encode(c).as_bytes())?;
        }
        self.records += 1;
        Ok(())
    }

    /// Reads the records back from the start, in order.
    pub(crate) fn read(&mut self) -> io::Result<SpoolReader<'_>> {
        self.out.flush()?;
        let file = self.out.get_mut();
        file.seek(SeekFrom::Start(0))?;
        Ok(SpoolReader {
            input: BufReader::with_capacity(1 << 20, file),
            left: self.records,
        })
    }
}

impl Drop for Spool {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// The records of a [`Spool`], in order.
pub(crate) struct SpoolReader<'a> {
    input: BufReader<&'a mut File>,
    left: u64,
}

impl SpoolReader<'_> {
    /// The next record, `None` after the last.
    pub(crate) fn next_record(&mut self) -> io::Result<Option<Record>> {
        if self.left == 0 {
            return Ok(None);
        }
        self.left -= 1;
        let r = &mut self.input;
        let id = text(get(r)?)?;
        let ts = i64::from_le_bytes(array(r)?);
        let [deletion] = array::<1>(r)?;
        let deletion = match deletion {
            0 => None,
            1 => Some(Deletion::Observed),
            _ => Some(Deletion::Detected),
        };
        let data_text = get_opt(r)?;
        let wire = get_opt(r)?;
        let data = match data_text {
            Some(t) => {
                let json = ExportJson::from_text(text(t)?.into_boxed_str());
                Some(match wire {
                    Some(w) => json.with_wire(w.into_boxed_slice()),
                    None => json,
                })
            }
            None => None,
        };
        let n = u32::from_le_bytes(array(r)?);
        let mut columns = Vec::with_capacity(n as usize);
        for _ in 0..n {
            let bytes = get(r)?;
            columns.push(decode(&bytes).map_err(|e| bad(e.to_string()))?);
        }
        Ok(Some(Record {
            id,
            ts,
            data,
            columns,
            deletion,
            ttl: None,
        }))
    }
}

fn put(w: &mut impl Write, bytes: &[u8]) -> io::Result<()> {
    let len = u32::try_from(bytes.len()).map_err(|_| bad("a value above 4 GiB".into()))?;
    w.write_all(&len.to_le_bytes())?;
    w.write_all(bytes)
}

fn put_opt(w: &mut impl Write, bytes: Option<&[u8]>) -> io::Result<()> {
    match bytes {
        None => w.write_all(&[0]),
        Some(b) => {
            w.write_all(&[1])?;
            put(w, b)
        }
    }
}

fn array<const N: usize>(r: &mut impl Read) -> io::Result<[u8; N]> {
    let mut a = [0u8; N];
    r.read_exact(&mut a)?;
    Ok(a)
}

fn get(r: &mut impl Read) -> io::Result<Vec<u8>> {
    let len = u32::from_le_bytes(array(r)?) as usize;
    let mut v = vec![0u8; len];
    r.read_exact(&mut v)?;
    Ok(v)
}

fn get_opt(r: &mut impl Read) -> io::Result<Option<Vec<u8>>> {
    match array::<1>(r)? {
        [0] => Ok(None),
        _ => get(r).map(Some),
    }
}

fn text(bytes: Vec<u8>) -> io::Result<String> {
    String::from_utf8(bytes).map_err(|e| bad(e.to_string()))
}

fn bad(what: String) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("typed batch spool: {what}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fauna::Value;

    #[test]
    fn records_read_back_as_pushed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".part-00000001.parquet.spool.tmp");
        let mut spool = Spool::create(&path).unwrap();
        let wire = br#"{"t":{"@ts":"2024-01-02T03:04:05Z"}}"#;
        let data = decode(wire).unwrap();
        let recs = vec![
            Record {
                id: "1".into(),
                ts: 10,
                data: Some(ExportJson::of(&data).with_wire(wire.to_vec().into_boxed_slice())),
                columns: vec![Value::Int(7), Value::Null],
                deletion: None,
                ttl: Some(99),
            },
            Record::deletion("2".into(), 20, 2, Deletion::Detected),
        ];
        for r in &recs {
            spool.push(r).unwrap();
        }
        let mut back = Vec::new();
        let mut reader = spool.read().unwrap();
        while let Some(r) = reader.next_record().unwrap() {
            back.push(r);
        }
        drop(reader);
        // The ttl is never written; everything else comes back, the wire JSON included.
        assert_eq!(back[0].data.as_ref().unwrap().wire(), Some(&wire[..]));
        assert_eq!(back[0].ttl, None);
        assert_eq!(
            back,
            [
                Record {
                    ttl: None,
                    ..recs[0].clone()
                },
                recs[1].clone()
            ]
        );
        drop(spool);
        assert!(!path.exists());
    }
}
