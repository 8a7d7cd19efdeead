//! Sealed chunks of a typed batch on disk until the batch ends (`.part-<seq>.parquet.spool.tmp`
//! beside the batch's temporary file, removed with it; a crash leaves it for
//! [`crate::sink::cleanup`], which removes every `.part-*.tmp`): memory holds one chunk,
//! whatever the batch's size. Each chunk is two Arrow IPC streams, its base columns and its
//! typed cells, each after its length (u64, little endian); what each typed array means
//! stays in memory ([`SealedCells`] without its columns).

use std::fs::File;
use std::io::{self, BufReader, BufWriter, Cursor, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::{ArrayRef, RecordBatch, RecordBatchOptions};
use arrow_ipc::reader::StreamReader;
use arrow_ipc::writer::StreamWriter;
use arrow_schema::{ArrowError, Field, Schema};

use super::SealedCells;

/// The chunks of one batch; the file is removed when it is dropped.
pub(crate) struct Spill {
    out: BufWriter<File>,
    path: PathBuf,
    chunks: Vec<SealedCells>,
    buf: Vec<u8>,
}

impl Spill {
    /// Creates (or truncates) the spill file at `path`.
    pub(crate) fn create(path: &Path) -> io::Result<Self> {
        let file = File::options()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(path)?;
        Ok(Spill {
            out: BufWriter::with_capacity(1 << 20, file),
            path: path.to_path_buf(),
            chunks: Vec::new(),
            buf: Vec::new(),
        })
    }

    /// Appends a chunk: its base columns and typed cells (of the same rows).
    pub(crate) fn push(&mut self, base: &RecordBatch, mut cells: SealedCells) -> io::Result<()> {
        let columns = cells.take_columns();
        let typed = batch_of(columns, base.num_rows()).map_err(io::Error::other)?;
        for batch in [base, &typed] {
            self.buf.clear();
            let mut w = StreamWriter::try_new(&mut self.buf, batch.schema_ref())
                .map_err(io::Error::other)?;
            w.write(batch).map_err(io::Error::other)?;
            w.finish().map_err(io::Error::other)?;
            drop(w);
            self.out.write_all(&(self.buf.len() as u64).to_le_bytes())?;
            self.out.write_all(&self.buf)?;
        }
        self.chunks.push(cells);
        Ok(())
    }

    /// Reads the chunks back from the start, in order.
    pub(crate) fn read(&mut self) -> io::Result<SpillReader<'_>> {
        self.out.flush()?;
        let file = self.out.get_mut();
        file.seek(SeekFrom::Start(0))?;
        Ok(SpillReader {
            input: BufReader::with_capacity(1 << 20, file),
            chunks: std::mem::take(&mut self.chunks).into_iter(),
        })
    }
}

impl Drop for Spill {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// The chunks of a [`Spill`], in order.
pub(crate) struct SpillReader<'a> {
    input: BufReader<&'a mut File>,
    chunks: std::vec::IntoIter<SealedCells>,
}

impl SpillReader<'_> {
    /// The next chunk's base columns and typed cells, `None` after the last.
    pub(crate) fn next_chunk(&mut self) -> io::Result<Option<(RecordBatch, SealedCells)>> {
        let Some(cells) = self.chunks.next() else {
            return Ok(None);
        };
        let base = self.batch()?;
        let typed = self.batch()?;
        Ok(Some((base, cells.with_columns(typed.columns().to_vec()))))
    }

    fn batch(&mut self) -> io::Result<RecordBatch> {
        let mut len = [0u8; 8];
        self.input.read_exact(&mut len)?;
        let len = usize::try_from(u64::from_le_bytes(len)).map_err(io::Error::other)?;
        let mut bytes = vec![0u8; len];
        self.input.read_exact(&mut bytes)?;
        let mut reader =
            StreamReader::try_new(Cursor::new(bytes), None).map_err(io::Error::other)?;
        match reader.next() {
            Some(batch) => batch.map_err(io::Error::other),
            None => Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "typed batch spill: a chunk without its record batch",
            )),
        }
    }
}

/// `columns` (all of `rows` rows) as one record batch, fields named by position.
fn batch_of(columns: Vec<ArrayRef>, rows: usize) -> Result<RecordBatch, ArrowError> {
    let fields: Vec<Field> = columns
        .iter()
        .enumerate()
        .map(|(i, a)| Field::new(format!("c{i}"), a.data_type().clone(), true))
        .collect();
    RecordBatch::try_new_with_options(
        Arc::new(Schema::new(fields)),
        columns,
        &RecordBatchOptions::new().with_row_count(Some(rows)),
    )
}
