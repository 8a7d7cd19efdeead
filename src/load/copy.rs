//! Batch files → PostgreSQL's binary `COPY` format, for the staging table: one row per record,
//! the table's columns (from [`super::table::columns`]) then `_ord` (the record's position in
//! the file). JSONL (plain, gzip, zstd) is read line by line without building value trees
//! (`data` and object columns go through as their JSON text); Parquet a record batch at a
//! time. The file's SHA-256 and size are checked against the manifest as it is read, and its
//! record count after.

use std::borrow::Cow;
use std::collections::HashSet;
use std::fs::File;
use std::hash::{BuildHasher, RandomState};
use std::io::{self, BufRead, BufReader, Read};
use std::path::Path;

use arrow_array::cast::AsArray;
use arrow_array::types::{Date32Type, Float64Type, Int64Type, TimestampNanosecondType};
use arrow_array::{Array, BooleanArray, Float64Array, Int64Array, RecordBatch, StringArray};
use bytes::Bytes;
use serde::de::{Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;
use sha2::{Digest, Sha256};

use super::error::LoadError;
use super::table::{ColumnDef, Source};
use crate::error::ErrorKind;
use crate::export::ColumnType;
use crate::schema::{ColumnKind, ListOf};
use crate::sink::{Compression, FileFormat};

/// Bytes of COPY data handed on at a time.
pub const CHUNK_BYTES: usize = 1 << 20;

/// Microseconds from the Unix epoch to PostgreSQL's (2000-01-01).
const PG_EPOCH_US: i64 = 946_684_800_000_000;
/// Days from the Unix epoch to PostgreSQL's.
const PG_EPOCH_DAYS: i32 = 10_957;

/// What reading a file found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FileStats {
    /// Records read.
    pub rows: u64,
    /// Deletion records among them.
    pub deletions: u64,
    /// Whether an id occurs more than once (the merge then keeps the latest per id).
    pub repeated_ids: bool,
    /// The SHA-256 of the file's bytes.
    pub sha256: String,
}

/// A binary COPY stream being written.
struct Encoder {
    buf: Vec<u8>,
}

impl Encoder {
    fn new() -> Self {
        let mut buf = Vec::with_capacity(CHUNK_BYTES + (64 << 10));
        buf.extend_from_slice(b"PGCOPY\n\xff\r\n\0");
        buf.extend_from_slice(&0i32.to_be_bytes());
        buf.extend_from_slice(&0i32.to_be_bytes());
        Encoder { buf }
    }

    fn row(&mut self, fields: usize) {
        self.buf
            .extend_from_slice(&i16::try_from(fields).unwrap_or(i16::MAX).to_be_bytes());
    }

    fn null(&mut self) {
        self.buf.extend_from_slice(&(-1i32).to_be_bytes());
    }

    fn field(&mut self, bytes: &[u8]) {
        self.buf
            .extend_from_slice(&i32::try_from(bytes.len()).unwrap_or(i32::MAX).to_be_bytes());
        self.buf.extend_from_slice(bytes);
    }

    fn text(&mut self, s: &str) {
        self.field(s.as_bytes());
    }

    fn int8(&mut self, v: i64) {
        self.field(&v.to_be_bytes());
    }

    fn float8(&mut self, v: f64) {
        self.field(&v.to_be_bytes());
    }

    fn boolean(&mut self, v: bool) {
        self.field(&[u8::from(v)]);
    }

    fn timestamptz(&mut self, unix_us: i64) {
        self.int8(unix_us - PG_EPOCH_US);
    }

    fn jsonb(&mut self, json: &str) {
        self.buf.extend_from_slice(
            &i32::try_from(json.len() + 1)
                .unwrap_or(i32::MAX)
                .to_be_bytes(),
        );
        self.buf.push(1);
        self.buf.extend_from_slice(json.as_bytes());
    }

    /// Takes the bytes written so far if they fill a chunk (or `all`).
    fn take(&mut self, all: bool) -> Option<Bytes> {
        if self.buf.is_empty() || (!all && self.buf.len() < CHUNK_BYTES) {
            return None;
        }
        let next = Vec::with_capacity(if all { 0 } else { CHUNK_BYTES + (64 << 10) });
        Some(Bytes::from(std::mem::replace(&mut self.buf, next)))
    }
}

/// Reads `path` (a batch file of `format`, listed as `name` with `bytes` and `sha256`) and
/// hands its rows, as binary COPY data for a staging table of `columns` + `_ord`, to `send`
/// a chunk at a time; `send` returns false when the receiver is gone (reading stops).
/// `known_sha256` is the hash of a file already hashed while downloaded.
pub fn encode_file(
    path: &Path,
    name: &str,
    format: FileFormat,
    columns: &[ColumnDef],
    known_sha256: Option<&str>,
    send: &mut dyn FnMut(Bytes) -> bool,
) -> Result<FileStats, LoadError> {
    let io_err = |e: io::Error| LoadError::File {
        file: name.to_string(),
        reason: format!("cannot read it: {e}"),
        kind: match e.kind() {
            io::ErrorKind::PermissionDenied => ErrorKind::Permission,
            io::ErrorKind::NotFound => ErrorKind::State,
            _ => ErrorKind::Output,
        },
    };
    let file = File::open(path).map_err(io_err)?;
    let mut rows = Rows {
        enc: Encoder::new(),
        columns,
        name,
        ids: HashSet::new(),
        hasher: RandomState::new(),
        stats: FileStats::default(),
        stopped: false,
    };
    let sha256 = match format {
        FileFormat::Jsonl { compression } => {
            let mut hashing = Hashing {
                inner: file,
                hasher: Sha256::new(),
            };
            {
                let raw = BufReader::with_capacity(256 << 10, &mut hashing);
                let reader: Box<dyn BufRead> = match compression {
                    Compression::None => Box::new(raw),
                    Compression::Gzip => Box::new(BufReader::with_capacity(
                        256 << 10,
                        flate2::bufread::MultiGzDecoder::new(raw),
                    )),
                    Compression::Zstd => Box::new(BufReader::with_capacity(
                        256 << 10,
                        zstd::stream::read::Decoder::with_buffer(raw).map_err(io_err)?,
                    )),
                };
                read_jsonl(reader, &mut rows, send).map_err(|e| match e {
                    Stop::Io(e) => io_err(e),
                    Stop::Load(e) => e,
                })?;
            }
            if rows.stopped {
                return Ok(rows.stats);
            }
            io::copy(&mut hashing, &mut io::sink()).map_err(io_err)?;
            format!("{:x}", hashing.hasher.finalize())
        }
        FileFormat::Parquet => {
            let sha = match known_sha256 {
                Some(s) => s.to_string(),
                None => {
                    let mut hashing = Hashing {
                        inner: File::open(path).map_err(io_err)?,
                        hasher: Sha256::new(),
                    };
                    io::copy(&mut hashing, &mut io::sink()).map_err(io_err)?;
                    format!("{:x}", hashing.hasher.finalize())
                }
            };
            read_parquet(file, &mut rows, send)?;
            sha
        }
    };
    if rows.stopped {
        return Ok(rows.stats);
    }
    rows.enc.buf.extend_from_slice(&(-1i16).to_be_bytes());
    if let Some(chunk) = rows.enc.take(true) {
        send(chunk);
    }
    rows.stats.sha256 = known_sha256.map(str::to_string).unwrap_or(sha256);
    Ok(rows.stats)
}

/// A reader that hashes what passes through it.
struct Hashing<R> {
    inner: R,
    hasher: Sha256,
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
}

enum Stop {
    Io(io::Error),
    Load(LoadError),
}

/// The row writer shared by both formats.
struct Rows<'a> {
    enc: Encoder,
    columns: &'a [ColumnDef],
    name: &'a str,
    ids: HashSet<u64>,
    hasher: RandomState,
    stats: FileStats,
    stopped: bool,
}

/// One cell of a record, before encoding.
enum Cell<'a> {
    Null,
    Text(Cow<'a, str>),
    Int(i64),
    Float(f64),
    Bool(bool),
    Json(&'a str),
    Time(i64),
    /// A value already in binary form (typed columns).
    Raw(&'a [u8]),
}

impl Rows<'_> {
    fn bad(&self, what: String) -> LoadError {
        LoadError::File {
            file: self.name.to_string(),
            reason: format!("record {}: {what}", self.stats.rows + 1),
            kind: ErrorKind::Data,
        }
    }

    /// Starts record `id`; counts it and notes a repeated id.
    fn start(&mut self, id: &str) {
        if !self.stats.repeated_ids && !self.ids.insert(self.hasher.hash_one(id)) {
            self.stats.repeated_ids = true;
        }
        self.enc.row(self.columns.len() + 1);
    }

    fn cell(&mut self, cell: Cell<'_>) {
        match cell {
            Cell::Null => self.enc.null(),
            Cell::Text(t) => self.enc.text(&t),
            Cell::Int(v) => self.enc.int8(v),
            Cell::Float(v) => self.enc.float8(v),
            Cell::Bool(v) => self.enc.boolean(v),
            Cell::Json(j) => self.enc.jsonb(j),
            Cell::Time(us) => self.enc.timestamptz(us),
            Cell::Raw(b) => self.enc.field(b),
        }
    }

    /// Ends a record: `_ord`, then hands on a full chunk.
    fn end(&mut self, deletion: bool, send: &mut dyn FnMut(Bytes) -> bool) {
        self.enc
            .int8(i64::try_from(self.stats.rows).unwrap_or(i64::MAX));
        self.stats.rows += 1;
        if deletion {
            self.stats.deletions += 1;
        }
        crate::crash::point("load-mid-copy-row");
        if let Some(chunk) = self.enc.take(false) {
            if !send(chunk) {
                self.stopped = true;
            }
        }
    }
}

/// A JSONL record's fields, in order, values as their JSON text.
struct Fields<'a>(Vec<(Cow<'a, str>, &'a RawValue)>);

impl<'de: 'a, 'a> serde::Deserialize<'de> for Fields<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Fields<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut out = Vec::with_capacity(8);
                while let Some(k) = map.next_key::<Cow<'de, str>>()? {
                    out.push((k, map.next_value::<&'de RawValue>()?));
                }
                Ok(Fields(out))
            }
        }
        d.deserialize_map(V)
    }
}

fn read_jsonl(
    mut reader: Box<dyn BufRead + '_>,
    rows: &mut Rows<'_>,
    send: &mut dyn FnMut(Bytes) -> bool,
) -> Result<(), Stop> {
    let columns = rows.columns;
    // Per table column, the index of its field in the record being read.
    let mut slots: Vec<usize> = vec![usize::MAX; columns.len()];
    let mut line = String::new();
    loop {
        line.clear();
        if reader.read_line(&mut line).map_err(Stop::Io)? == 0 {
            return Ok(());
        }
        let text = line.trim_end_matches(['\n', '\r']);
        if text.trim().is_empty() {
            continue;
        }
        let fields: Fields<'_> = serde_json::from_str(text)
            .map_err(|e| Stop::Load(rows.bad(format!("not a JSON object ({e})"))))?;
        slots.iter_mut().for_each(|s| *s = usize::MAX);
        let (mut id, mut ts): (Option<&RawValue>, Option<&RawValue>) = (None, None);
        for (f, (k, v)) in fields.0.iter().enumerate() {
            match k.as_ref() {
                "ref" => id = Some(v),
                "ts" => ts = Some(v),
                key => {
                    if let Some(i) = columns.iter().position(|c| {
                        c.name == key && !matches!(c.source, Source::Id | Source::Ts | Source::TsUs)
                    }) {
                        slots[i] = f;
                    }
                }
            }
        }
        let id: Cow<'_, str> = id
            .and_then(|v| serde_json::from_str(v.get()).ok())
            .ok_or_else(|| Stop::Load(rows.bad("no string \"ref\"".into())))?;
        let ts: i64 = ts
            .and_then(|v| v.get().parse().ok())
            .ok_or_else(|| Stop::Load(rows.bad("no integer \"ts\"".into())))?;
        rows.start(&id);
        let mut deletion = false;
        for (i, c) in columns.iter().enumerate() {
            let raw = fields
                .0
                .get(slots[i])
                .map(|(_, v)| *v)
                .filter(|v| v.get() != "null");
            let cell = match (c.source, raw) {
                (Source::Id, _) => Cell::Text(Cow::Borrowed(id.as_ref())),
                (Source::Ts, _) => Cell::Time(ts),
                (Source::TsUs, _) => Cell::Int(ts),
                // Typed columns are Parquet's only.
                (Source::Typed(_), _) | (_, None) => Cell::Null,
                (Source::Data, Some(v)) => Cell::Json(v.get()),
                (Source::Column(_, ty), Some(v)) => json_cell(ty, v.get()).ok_or_else(|| {
                    Stop::Load(rows.bad(format!(
                        "column {} ({}) holds {}",
                        c.name,
                        ty.name(),
                        v.get()
                    )))
                })?,
                (Source::DeletedAt, Some(v)) => {
                    deletion = true;
                    let text: Option<Cow<'_, str>> = serde_json::from_str(v.get()).ok();
                    Cell::Time(text.as_deref().and_then(parse_time).ok_or_else(|| {
                        Stop::Load(rows.bad(format!(
                            "column {} holds {}, not a date-time",
                            c.name,
                            v.get()
                        )))
                    })?)
                }
                (Source::Detected, Some(v)) => match v.get() {
                    "true" => Cell::Bool(true),
                    "false" => Cell::Bool(false),
                    other => {
                        return Err(Stop::Load(
                            rows.bad(format!("column {} holds {other}, not a boolean", c.name)),
                        ))
                    }
                },
            };
            rows.cell(cell);
        }
        rows.end(deletion, send);
        if rows.stopped {
            return Ok(());
        }
    }
}

/// A JSON value of an additional column as a cell of its declared type.
fn json_cell(ty: ColumnType, json: &str) -> Option<Cell<'_>> {
    Some(match ty {
        ColumnType::String => {
            if json.starts_with('"') {
                Cell::Text(serde_json::from_str::<Cow<'_, str>>(json).ok()?)
            } else {
                // A non-string value in a string column is its export text (as in Parquet).
                Cell::Text(Cow::Borrowed(json))
            }
        }
        ColumnType::Integer => Cell::Int(json.parse().ok()?),
        ColumnType::Number => match json {
            "\"NaN\"" => Cell::Float(f64::NAN),
            "\"Infinity\"" => Cell::Float(f64::INFINITY),
            "\"-Infinity\"" => Cell::Float(f64::NEG_INFINITY),
            n => Cell::Float(n.parse().ok()?),
        },
        ColumnType::Boolean => match json {
            "true" => Cell::Bool(true),
            "false" => Cell::Bool(false),
            _ => return None,
        },
        ColumnType::Object | ColumnType::Array => Cell::Json(json),
    })
}

/// An ISO-8601 date-time (the deletion column) as Unix microseconds.
fn parse_time(text: &str) -> Option<i64> {
    chrono::DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|t| t.timestamp_micros())
}

fn read_parquet(
    file: File,
    rows: &mut Rows<'_>,
    send: &mut dyn FnMut(Bytes) -> bool,
) -> Result<(), LoadError> {
    let name = rows.name.to_string();
    let pq = |e: &dyn std::fmt::Display| LoadError::File {
        file: name.clone(),
        reason: format!("cannot read it as Parquet: {e}"),
        kind: ErrorKind::Data,
    };
    let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
        .map_err(|e| pq(&e))?
        .with_batch_size(4096)
        .build()
        .map_err(|e| pq(&e))?;
    for batch in reader {
        let batch = batch.map_err(|e| pq(&e))?;
        write_batch(&batch, rows, send)?;
        if rows.stopped {
            return Ok(());
        }
    }
    Ok(())
}

/// The typed arrays of one record batch, per table column.
enum Col<'a> {
    Missing,
    Str(&'a StringArray),
    I64(&'a Int64Array),
    F64(&'a Float64Array),
    Bool(&'a BooleanArray),
    Typed(&'a dyn Array, ColumnKind),
}

fn write_batch(
    batch: &RecordBatch,
    rows: &mut Rows<'_>,
    send: &mut dyn FnMut(Bytes) -> bool,
) -> Result<(), LoadError> {
    let columns = rows.columns;
    let bad_type = |col: &str| LoadError::File {
        file: rows.name.to_string(),
        reason: format!("column {col} has an unexpected Parquet type"),
        kind: ErrorKind::Data,
    };
    let get = |name: &str| batch.column_by_name(name);
    let refs = get("ref")
        .and_then(|a| a.as_any().downcast_ref::<StringArray>())
        .ok_or_else(|| bad_type("ref"))?;
    let ts = get("ts")
        .and_then(|a| a.as_any().downcast_ref::<Int64Array>())
        .ok_or_else(|| bad_type("ts"))?;
    let mut cols = Vec::with_capacity(columns.len());
    for c in columns {
        let arr = match c.source {
            Source::Id | Source::Ts | Source::TsUs => None,
            _ => get(&c.name),
        };
        let col = match arr {
            None => Col::Missing,
            Some(a) => {
                let any = a.as_any();
                let typed = match c.source {
                    Source::Typed(kind) => Some(Col::Typed(a.as_ref(), kind)),
                    Source::Column(_, ColumnType::Integer) => any.downcast_ref().map(Col::I64),
                    Source::Column(_, ColumnType::Number) => any.downcast_ref().map(Col::F64),
                    Source::Column(_, ColumnType::Boolean) | Source::Detected => {
                        any.downcast_ref().map(Col::Bool)
                    }
                    _ => any.downcast_ref().map(Col::Str),
                };
                typed.ok_or_else(|| bad_type(&c.name))?
            }
        };
        cols.push(col);
    }
    let mut scratch = Vec::new();
    for r in 0..batch.num_rows() {
        if refs.is_null(r) || ts.is_null(r) {
            return Err(rows.bad("null ref or ts".into()));
        }
        let (id, t) = (refs.value(r), ts.value(r));
        rows.start(id);
        let mut deletion = false;
        for (c, col) in columns.iter().zip(&cols) {
            let cell = match (c.source, col) {
                (Source::Id, _) => Cell::Text(Cow::Borrowed(id)),
                (Source::Ts, _) => Cell::Time(t),
                (Source::TsUs, _) => Cell::Int(t),
                (_, Col::Missing) => Cell::Null,
                (_, Col::Str(a)) if a.is_null(r) => Cell::Null,
                (_, Col::I64(a)) if a.is_null(r) => Cell::Null,
                (_, Col::F64(a)) if a.is_null(r) => Cell::Null,
                (_, Col::Bool(a)) if a.is_null(r) => Cell::Null,
                (_, Col::Typed(a, _)) if a.is_null(r) => Cell::Null,
                (_, Col::Typed(a, kind)) => {
                    scratch.clear();
                    typed_value(&mut scratch, *a, *kind, r)
                        .ok_or_else(|| bad_type(&format!("{} ({})", c.name, kind.tag())))?;
                    Cell::Raw(&scratch)
                }
                (Source::DeletedAt, Col::Str(a)) => {
                    deletion = true;
                    Cell::Time(parse_time(a.value(r)).ok_or_else(|| {
                        rows.bad(format!(
                            "column {} holds {:?}, not a date-time",
                            c.name,
                            a.value(r)
                        ))
                    })?)
                }
                (Source::Data, Col::Str(a))
                | (Source::Column(_, ColumnType::Object | ColumnType::Array), Col::Str(a)) => {
                    Cell::Json(a.value(r))
                }
                (_, Col::Str(a)) => Cell::Text(Cow::Borrowed(a.value(r))),
                (_, Col::I64(a)) => Cell::Int(a.value(r)),
                (_, Col::F64(a)) => Cell::Float(a.value(r)),
                (_, Col::Bool(a)) => Cell::Bool(a.value(r)),
            };
            rows.cell(cell);
        }
        rows.end(deletion, send);
        if rows.stopped {
            return Ok(());
        }
    }
    Ok(())
}

/// The binary value (without its length) of row `r` of a typed column of `kind`, not null;
/// `None` when the array is not of the kind's Arrow type. A time keeps its microseconds
/// (rounded toward the past; the exact nanoseconds stay in `data`).
fn typed_value(out: &mut Vec<u8>, a: &dyn Array, kind: ColumnKind, r: usize) -> Option<()> {
    match kind {
        ColumnKind::Int => {
            out.extend_from_slice(&a.as_primitive_opt::<Int64Type>()?.value(r).to_be_bytes())
        }
        ColumnKind::Double => {
            out.extend_from_slice(&a.as_primitive_opt::<Float64Type>()?.value(r).to_be_bytes())
        }
        ColumnKind::Boolean => out.push(u8::from(a.as_boolean_opt()?.value(r))),
        ColumnKind::String | ColumnKind::TimeText | ColumnKind::DateText => {
            out.extend_from_slice(a.as_string_opt::<i32>()?.value(r).as_bytes())
        }
        ColumnKind::Array | ColumnKind::Object | ColumnKind::Set | ColumnKind::Query => {
            out.push(1);
            out.extend_from_slice(a.as_string_opt::<i32>()?.value(r).as_bytes());
        }
        ColumnKind::Time => {
            let ns = a.as_primitive_opt::<TimestampNanosecondType>()?.value(r);
            out.extend_from_slice(&(ns.div_euclid(1000) - PG_EPOCH_US).to_be_bytes());
        }
        ColumnKind::Date => {
            let days = a.as_primitive_opt::<Date32Type>()?.value(r);
            out.extend_from_slice(&days.checked_sub(PG_EPOCH_DAYS)?.to_be_bytes());
        }
        ColumnKind::Bytes => out.extend_from_slice(a.as_binary_opt::<i32>()?.value(r)),
        ColumnKind::Ref => {
            // A composite: its field count, then per field its type's OID and value.
            let s = a.as_struct_opt()?;
            out.extend_from_slice(&3i32.to_be_bytes());
            for field in ["id", "collection", "type"] {
                out.extend_from_slice(&oid(ListOf::String).to_be_bytes());
                match s.column_by_name(field) {
                    Some(f) if !f.is_null(r) => element(out, f.as_ref(), ColumnKind::String, r)?,
                    _ => out.extend_from_slice(&(-1i32).to_be_bytes()),
                }
            }
        }
        ColumnKind::List(of) => {
            // An array: dimensions, whether a null is in it, the element OID, per dimension
            // its length and lower bound, then the elements.
            let items = a.as_list_opt::<i32>()?.value(r);
            let n = i32::try_from(items.len()).ok()?;
            out.extend_from_slice(&i32::from(n > 0).to_be_bytes());
            out.extend_from_slice(&i32::from(items.null_count() > 0).to_be_bytes());
            out.extend_from_slice(&oid(of).to_be_bytes());
            if n > 0 {
                out.extend_from_slice(&n.to_be_bytes());
                out.extend_from_slice(&1i32.to_be_bytes());
            }
            for j in 0..items.len() {
                if items.is_null(j) {
                    out.extend_from_slice(&(-1i32).to_be_bytes());
                } else {
                    element(out, items.as_ref(), of.element(), j)?;
                }
            }
        }
    }
    Some(())
}

/// A non-null element of a composite or array: its length, then its value.
fn element(out: &mut Vec<u8>, a: &dyn Array, kind: ColumnKind, r: usize) -> Option<()> {
    let at = out.len();
    out.extend_from_slice(&0i32.to_be_bytes());
    typed_value(out, a, kind, r)?;
    let len = i32::try_from(out.len() - at - 4).ok()?;
    out[at..at + 4].copy_from_slice(&len.to_be_bytes());
    Some(())
}

/// The type OID of a list's elements (PostgreSQL's fixed OIDs of built-in types).
fn oid(of: ListOf) -> i32 {
    match of {
        ListOf::Int => 20,
        ListOf::Double => 701,
        ListOf::String => 25,
        ListOf::Boolean => 16,
        ListOf::Time => 1184,
        ListOf::Date => 1082,
        ListOf::Bytes => 17,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::export::RecordSchema;

    fn decode(bytes: &[u8]) -> Vec<Vec<Option<Vec<u8>>>> {
        assert_eq!(&bytes[..11], b"PGCOPY\n\xff\r\n\0");
        let mut at = 19;
        let mut out = Vec::new();
        loop {
            let n = i16::from_be_bytes([bytes[at], bytes[at + 1]]);
            at += 2;
            if n == -1 {
                assert_eq!(at, bytes.len());
                return out;
            }
            let mut row = Vec::new();
            for _ in 0..n {
                let len = i32::from_be_bytes(bytes[at..at + 4].try_into().unwrap());
                at += 4;
                if len < 0 {
                    row.push(None);
                } else {
                    row.push(Some(bytes[at..at + len as usize].to_vec()));
                    at += len as usize;
                }
            }
            out.push(row);
        }
    }

    #[test]
    fn jsonl_records_become_binary_rows_and_the_file_is_hashed() {
        let schema = RecordSchema {
            data_column: true,
            columns: vec![
                ("label".into(), ColumnType::String),
                ("n".into(), ColumnType::Integer),
                ("x".into(), ColumnType::Number),
            ],
            deletion_column: Some("deleted_at".into()),
            detected_column: Some("deletion_detected".into()),
            typed: None,
        };
        let columns = super::super::table::columns(&schema, None).unwrap();
        let text = concat!(
            "{\"ref\":\"1\",\"ts\":946684800000001,\"data\":{\"a\":[1,2.5]},\"label\":\"q\\\"\",\"n\":7,\"x\":\"NaN\",\"deleted_at\":null,\"deletion_detected\":null}\n",
            "{\"ref\":\"1\",\"ts\":946684800000002,\"data\":null,\"label\":{\"id\":\"3\"},\"n\":null,\"x\":1.5,\"deleted_at\":\"2000-01-01T00:00:00.000002Z\",\"deletion_detected\":true}\n",
        );
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("part-00000001.jsonl");
        std::fs::write(&path, text).unwrap();
        let mut out = Vec::new();
        let stats = encode_file(
            &path,
            "s/part-00000001.jsonl",
            FileFormat::Jsonl {
                compression: Compression::None,
            },
            &columns,
            None,
            &mut |b| {
                out.extend_from_slice(&b);
                true
            },
        )
        .unwrap();
        assert_eq!(
            stats,
            FileStats {
                rows: 2,
                deletions: 1,
                repeated_ids: true,
                sha256: format!("{:x}", Sha256::digest(text.as_bytes())),
            }
        );
        let rows = decode(&out);
        let int = |v: i64| Some(v.to_be_bytes().to_vec());
        let jsonb = |s: &str| Some([&[1u8][..], s.as_bytes()].concat());
        assert_eq!(
            rows[0],
            vec![
                Some(b"1".to_vec()),
                int(1),
                int(946684800000001),
                jsonb("{\"a\":[1,2.5]}"),
                Some(b"q\"".to_vec()),
                int(7),
                Some(f64::NAN.to_be_bytes().to_vec()),
                None,
                None,
                int(0),
            ]
        );
        assert_eq!(
            rows[1],
            vec![
                Some(b"1".to_vec()),
                int(2),
                int(946684800000002),
                None,
                Some(b"{\"id\":\"3\"}".to_vec()),
                None,
                Some(1.5f64.to_be_bytes().to_vec()),
                int(2),
                Some(vec![1]),
                int(1),
            ]
        );
    }

    #[test]
    fn a_record_of_the_wrong_shape_names_the_file_and_the_record() {
        let schema = RecordSchema {
            data_column: true,
            columns: vec![("n".into(), ColumnType::Integer)],
            deletion_column: None,
            detected_column: None,
            typed: None,
        };
        let columns = super::super::table::columns(&schema, None).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.jsonl");
        std::fs::write(
            &path,
            "{\"ref\":\"1\",\"ts\":1,\"data\":{},\"n\":1}\n{\"ref\":\"2\",\"ts\":2,\"data\":{},\"n\":\"x\"}\n",
        )
        .unwrap();
        let e = encode_file(
            &path,
            "s/f.jsonl",
            FileFormat::Jsonl {
                compression: Compression::None,
            },
            &columns,
            None,
            &mut |_| true,
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "s/f.jsonl: record 2: column n (integer) holds \"x\""
        );
        assert_eq!(e.kind(), ErrorKind::Data);
    }
}
