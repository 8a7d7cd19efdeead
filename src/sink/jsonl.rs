//! JSONL encoding: one [`RecordJson`] per line, optionally gzip- or zstd-compressed, written
//! as records arrive.

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use crate::export::{Record, RecordJson, RecordSchema};

use super::{Compression, SinkError, WriteOptions};

/// Buffer between the serializer and the encoder / file.
const BUF_BYTES: usize = 256 << 10;

/// A JSONL stream into `W`: [`write`](JsonlEncoder::write) appends lines,
/// [`finish`](JsonlEncoder::finish) ends the compressed stream and hands `W` back.
pub(crate) struct JsonlEncoder<W: Write> {
    out: Lines<W>,
    /// Only used in error messages.
    path: PathBuf,
}

enum Lines<W: Write> {
    Plain(BufWriter<W>),
    Gzip(BufWriter<flate2::write::GzEncoder<W>>),
    Zstd(BufWriter<zstd::Encoder<'static, W>>),
}

impl<W: Write> JsonlEncoder<W> {
    /// Starts a stream into `out`. `path` is only used in error messages.
    pub(crate) fn new(
        out: W,
        path: &Path,
        compression: Compression,
        options: &WriteOptions,
    ) -> Result<Self, SinkError> {
        let out = match compression {
            Compression::None => Lines::Plain(BufWriter::with_capacity(BUF_BYTES, out)),
            Compression::Gzip => {
                let level = flate2::Compression::new(options.gzip_level);
                Lines::Gzip(BufWriter::with_capacity(
                    BUF_BYTES,
                    flate2::write::GzEncoder::new(out, level),
                ))
            }
            Compression::Zstd => {
                let io_err = |e| SinkError::io("write", path, e);
                let mut enc = zstd::Encoder::new(out, options.zstd_level).map_err(io_err)?;
                enc.include_checksum(true).map_err(io_err)?;
                Lines::Zstd(BufWriter::with_capacity(BUF_BYTES, enc))
            }
        };
        Ok(JsonlEncoder {
            out,
            path: path.to_path_buf(),
        })
    }

    /// Appends one line per record.
    pub(crate) fn write(
        &mut self,
        schema: &RecordSchema,
        records: &[Record],
    ) -> Result<(), SinkError> {
        match &mut self.out {
            Lines::Plain(w) => write_lines(w, &self.path, schema, records),
            Lines::Gzip(w) => write_lines(w, &self.path, schema, records),
            Lines::Zstd(w) => write_lines(w, &self.path, schema, records),
        }
    }

    /// Flushes the lines, ends the compressed stream and returns the underlying writer.
    pub(crate) fn finish(self) -> Result<W, SinkError> {
        let path = self.path;
        let io_err = |e| SinkError::io("write", &path, e);
        match self.out {
            Lines::Plain(w) => w.into_inner().map_err(|e| io_err(e.into_error())),
            Lines::Gzip(w) => {
                let enc = w.into_inner().map_err(|e| io_err(e.into_error()))?;
                enc.finish().map_err(io_err)
            }
            Lines::Zstd(w) => {
                let enc = w.into_inner().map_err(|e| io_err(e.into_error()))?;
                enc.finish().map_err(io_err)
            }
        }
    }
}

fn write_lines<W: Write>(
    out: &mut W,
    path: &Path,
    schema: &RecordSchema,
    records: &[Record],
) -> Result<(), SinkError> {
    let mut line = Vec::with_capacity(1024);
    for record in records {
        line.clear();
        RecordJson { schema, record }.write_json(&mut line);
        line.push(b'\n');
        out.write_all(&line)
            .map_err(|e| SinkError::io("write", path, e))?;
    }
    Ok(())
}
