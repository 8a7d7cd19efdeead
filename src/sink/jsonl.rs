//! JSONL encoding: one [`RecordJson`] per line, optionally gzip- or zstd-compressed.

use std::io::{self, BufWriter, Write};
use std::path::Path;

use crate::export::{Record, RecordJson, RecordSchema};

use super::{Compression, SinkError, WriteOptions};

/// Buffer between the serializer and the encoder / file.
const BUF_BYTES: usize = 256 << 10;

/// Writes `records` as JSONL into `out`, finishing the compressed stream. `path` is only
/// used in error messages.
pub(crate) fn write_jsonl<W: Write>(
    out: W,
    path: &Path,
    compression: Compression,
    options: &WriteOptions,
    schema: &RecordSchema,
    records: &[Record],
) -> Result<(), SinkError> {
    let io_err = |e| SinkError::io("write", path, e);
    match compression {
        Compression::None => {
            let mut buf = BufWriter::with_capacity(BUF_BYTES, out);
            write_lines(&mut buf, path, schema, records)?;
            buf.flush().map_err(io_err)?;
        }
        Compression::Gzip => {
            let level = flate2::Compression::new(options.gzip_level);
            let mut buf =
                BufWriter::with_capacity(BUF_BYTES, flate2::write::GzEncoder::new(out, level));
            write_lines(&mut buf, path, schema, records)?;
            let enc = buf.into_inner().map_err(|e| io_err(e.into_error()))?;
            enc.finish().map_err(io_err)?;
        }
        Compression::Zstd => {
            let mut enc = zstd::Encoder::new(out, options.zstd_level).map_err(io_err)?;
            enc.include_checksum(true).map_err(io_err)?;
            let mut buf = BufWriter::with_capacity(BUF_BYTES, enc);
            write_lines(&mut buf, path, schema, records)?;
            let enc = buf.into_inner().map_err(|e| io_err(e.into_error()))?;
            enc.finish().map_err(io_err)?;
        }
    }
    Ok(())
}

fn write_lines<W: Write>(
    out: &mut W,
    path: &Path,
    schema: &RecordSchema,
    records: &[Record],
) -> Result<(), SinkError> {
    for record in records {
        serde_json::to_writer(&mut *out, &RecordJson { schema, record }).map_err(|e| {
            if e.is_io() {
                SinkError::io("write", path, io::Error::from(e))
            } else {
                SinkError::Json {
                    path: path.to_path_buf(),
                    source: e,
                }
            }
        })?;
        out.write_all(b"\n")
            .map_err(|e| SinkError::io("write", path, e))?;
    }
    Ok(())
}
