//! What `read` writes to stdout: RECORD messages as the committer's output (a batch's records
//! are emitted when it is finished, so a dropped batch emits nothing), STATE messages as its
//! checkpoint, and the stream statuses and LOG lines around them. Every message about a
//! stream names its namespace when the configured catalog gave one.

use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::sync::{Arc, Mutex};

use crate::durable::FileError;
use crate::export::{Record, RecordSchema};
use crate::output::{Batch, Checkpoint, Output, OutputError, Receipt, Sealed};
use crate::state::{State, StateError};
use crate::sync::ExportError;

use super::error::AirbyteError;
use super::protocol::{
    now_ms, AirbyteRecordMessage, Log, Message, MessageWriter, StateMessage, StreamDescriptor,
    StreamStatus, Trace, WriteError,
};
use super::record::record_data;
use super::resume::state_blob;

/// The stdout all messages go through, in order.
pub type Shared<W> = Arc<Mutex<MessageWriter<W>>>;

/// Each configured stream's namespace, by stream name (names are unique in a catalog).
pub type Namespaces = Arc<HashMap<String, Option<String>>>;

/// Writes one message.
pub fn write<W: Write>(out: &Shared<W>, message: &Message) -> Result<(), WriteError> {
    let mut w = out.lock().unwrap_or_else(|p| p.into_inner());
    w.write(message)
}

fn io_error(e: WriteError) -> std::io::Error {
    match e {
        WriteError::BrokenPipe => std::io::Error::from(std::io::ErrorKind::BrokenPipe),
        WriteError::Io(e) => e,
        WriteError::Serialize(e) => std::io::Error::other(e),
    }
}

/// A failed write of a message, as the output's error (a broken pipe stays recognisable).
pub fn stdout_failed(e: WriteError) -> OutputError {
    OutputError::Stream {
        what: "messages to stdout",
        source: io_error(e),
    }
}

/// A failed write of a message, as the read's error.
pub fn write_failed(e: WriteError) -> AirbyteError {
    AirbyteError::Read(ExportError::Output(stdout_failed(e)))
}

/// A stream status trace.
pub fn status<W: Write>(
    out: &Shared<W>,
    stream: &StreamDescriptor,
    s: StreamStatus,
) -> Result<(), WriteError> {
    write(
        out,
        &Message::Trace {
            trace: Trace::stream_status(stream, s),
        },
    )
}

/// A LOG message.
pub fn log<W: Write>(
    out: &Shared<W>,
    level: &'static str,
    message: String,
) -> Result<(), WriteError> {
    write(
        out,
        &Message::Log {
            log: Log { level, message },
        },
    )
}

/// The descriptor of `stream` (the run's name), with its namespace: a stream of a database
/// tree (`<path>/<collection>`, its namespace the path) is named by its collection.
pub fn descriptor(namespaces: &Namespaces, stream: &str) -> StreamDescriptor {
    let namespace = namespaces.get(stream).cloned().flatten();
    let name = namespace
        .as_deref()
        .and_then(|ns| stream.strip_prefix(ns)?.strip_prefix('/'))
        .unwrap_or(stream);
    StreamDescriptor {
        name: name.to_string(),
        namespace,
    }
}

/// RECORD messages.
pub struct Records<W: Write> {
    /// stdout.
    pub out: Shared<W>,
    /// The streams' namespaces.
    pub namespaces: Namespaces,
}

#[async_trait::async_trait]

impl<W: Write + Send + 'static> Output for Records<W> {
    fn begin(
        &mut self,
        stream: &str,
        seq: u64,
        schema: Arc<RecordSchema>,
    ) -> Result<Box<dyn Batch>, OutputError> {
        Ok(Box::new(BufferedRecords {
            out: self.out.clone(),
            stream: descriptor(&self.namespaces, stream),
            seq,
            schema,
            data: Vec::new(),
            bytes: 0,
        }))
    }

    async fn publish(&mut self, sealed: Sealed) -> Result<Receipt, OutputError> {
        Ok(Receipt {
            stream: sealed.stream,
            seq: sealed.seq,
            rows: sealed.rows,
            bytes: sealed.bytes,
            location: None,
            mark: 0,
        })
    }
}

/// One batch of RECORD messages: each record's `data` is serialized as it arrives and kept
/// (the batch may still be dropped and read again, so nothing is emitted before the batch is
/// finished); finishing emits them in order.
struct BufferedRecords<W: Write> {
    out: Shared<W>,
    stream: StreamDescriptor,
    seq: u64,
    schema: Arc<RecordSchema>,
    data: Vec<Box<serde_json::value::RawValue>>,
    bytes: u64,
}

fn stream_err(e: WriteError) -> OutputError {
    OutputError::Stream {
        what: "RECORD messages to stdout",
        source: io_error(e),
    }
}

impl<W: Write + Send> Batch for BufferedRecords<W> {
    fn write(&mut self, records: &[Record]) -> Result<(), OutputError> {
        for r in records {
            let data =
                record_data(&self.schema, r).map_err(|e| stream_err(WriteError::Serialize(e)))?;
            self.bytes += data.get().len() as u64;
            self.data.push(data);
        }
        Ok(())
    }

    fn finish(self: Box<Self>) -> Result<Sealed, OutputError> {
        let rows = self.data.len() as u64;
        // One lock and one flush for the batch: its RECORDs stay together on stdout, and the
        // process's output buffer takes them as they come.
        let mut out = self.out.lock().unwrap_or_else(|p| p.into_inner());
        for data in self.data {
            let message = Message::Record {
                record: AirbyteRecordMessage {
                    stream: self.stream.name.clone(),
                    namespace: self.stream.namespace.clone(),
                    data,
                    emitted_at: now_ms(),
                },
            };
            out.write_unflushed(&message).map_err(stream_err)?;
        }
        out.flush().map_err(stream_err)?;
        drop(out);
        Ok(Sealed {
            stream: self.stream.name,
            seq: self.seq,
            rows,
            bytes: self.bytes,
            file: None,
        })
    }
}

/// STATE messages; remembers which streams got one.
pub struct States<W: Write> {
    /// stdout.
    pub out: Shared<W>,
    /// The streams that got a STATE.
    pub emitted: Arc<Mutex<HashSet<String>>>,
    /// The streams' namespaces.
    pub namespaces: Namespaces,
}

#[async_trait::async_trait]

impl<W: Write + Send> Checkpoint for States<W> {
    async fn save(
        &mut self,
        state: &State,
        changed: &str,
        receipt: Option<&Receipt>,
    ) -> Result<(), StateError> {
        let blob = state
            .streams
            .get(changed)
            .map(|s| state_blob(changed, s))
            .transpose()
            .map_err(|e| StateError::Invalid {
                path: "STATE message".into(),
                reason: e.to_string(),
            })?
            .unwrap_or(serde_json::Value::Null);
        let message = Message::State {
            state: StateMessage::stream(
                descriptor(&self.namespaces, changed),
                blob,
                receipt.map_or(0, |r| r.rows),
            ),
        };
        write(&self.out, &message)
            .map_err(|e| StateError::Write(FileError::new("write", "stdout", io_error(e))))?;
        self.emitted
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(changed.to_string());
        Ok(())
    }
}
