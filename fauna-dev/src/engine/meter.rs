//! Billing metrics of one query, computed like the real server's `QueryMetrics`: compute ops
//! = ceil(function calls / 50) (at least 1); byte read ops = per read, ceil(bytes / 4096) plus
//! one per extra partition scanned; byte write ops = per write, ceil(bytes / 1024). Storage
//! bytes are the JSON-encoded sizes of the documents and index entries read or written (the
//! real server counts its CBOR storage encoding, which is of the same order).

use std::cell::Cell;

use fauna_wire::{encode, encode_into, Object, Value};

use super::Metrics;

/// Function calls per billable compute op (`QueryMetrics.BaselineCompute`).
pub const BASELINE_COMPUTE: u64 = 50;
/// Bytes per billable read op (`QueryMetrics.BytesPerReadOp`).
pub const BYTES_PER_READ_OP: u64 = 4096;
/// Bytes per billable write op (`QueryMetrics.BytesPerWriteOp`).
pub const BYTES_PER_WRITE_OP: u64 = 1024;

/// Counters filled while a query evaluates.
#[derive(Debug, Default)]
pub struct Meter {
    calls: Cell<u64>,
    read_ops: Cell<u64>,
    bytes_read: Cell<u64>,
    write_ops: Cell<u64>,
    bytes_written: Cell<u64>,
}

fn add(c: &Cell<u64>, n: u64) {
    c.set(c.get().saturating_add(n));
}

impl Meter {
    /// One function call evaluated.
    pub fn call(&self) {
        add(&self.calls, 1);
    }

    /// One read of `bytes` over `partitions` partitions (nothing when no bytes were read).
    pub fn read(&self, bytes: u64, partitions: u64) {
        if bytes == 0 {
            return;
        }
        add(
            &self.read_ops,
            bytes.div_ceil(BYTES_PER_READ_OP) + partitions.saturating_sub(1),
        );
        add(&self.bytes_read, bytes);
    }

    /// One write of `bytes`.
    pub fn write(&self, bytes: u64) {
        add(&self.write_ops, bytes.div_ceil(BYTES_PER_WRITE_OP));
        add(&self.bytes_written, bytes);
    }

    /// The figures for the response headers.
    pub fn metrics(&self) -> Metrics {
        Metrics {
            compute_ops: self.calls.get().div_ceil(BASELINE_COMPUTE).max(1),
            byte_read_ops: self.read_ops.get(),
            byte_write_ops: self.write_ops.get(),
            storage_bytes_read: self.bytes_read.get(),
            storage_bytes_write: self.bytes_written.get(),
        }
    }
}

/// The stored size of a document version: its fields JSON-encoded, plus 8 bytes of id.
pub fn doc_bytes(fields: &Object) -> u64 {
    let inner: usize = fields
        .iter()
        .map(|(k, v)| k.len() + 4 + encode(v).len())
        .sum();
    (inner + 2 + 8) as u64
}

/// The stored size of a set entry: its covered values JSON-encoded, plus 8 bytes of id.
pub fn entry_bytes(vals: &[Value]) -> u64 {
    if vals.is_empty() {
        return 8;
    }
    let mut text = String::new();
    for v in vals {
        encode_into(&mut text, v);
    }
    (text.len() + vals.len() + 8) as u64
}
