//! The Airbyte protocol messages a source emits, and a writer that puts one message per line on
//! stdout (flushed per line). Field names follow `airbyte_protocol.yaml`: the envelope's payload
//! keys are `spec`, `connectionStatus`, `catalog`, `record`, `state`, `trace` and `log`. The
//! types whose concept has a name of its own elsewhere in fauna-sync (a stream, a record, a
//! stream's state) keep the protocol's full name: [`AirbyteStream`], [`AirbyteRecordMessage`],
//! [`AirbyteStreamState`].

use std::io::{self, Write};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::Serialize;
use serde_json::value::RawValue;
use serde_json::Value as Json;
use thiserror::Error;

/// One `AirbyteMessage`: the `type` tag plus its payload.
#[derive(Debug, Serialize)]
#[serde(tag = "type")]
pub enum Message {
    /// `spec`'s answer.
    #[serde(rename = "SPEC")]
    Spec {
        /// The connector specification.
        spec: Spec,
    },
    /// `check`'s answer.
    #[serde(rename = "CONNECTION_STATUS")]
    ConnectionStatus {
        /// Whether the connection works, and why not.
        #[serde(rename = "connectionStatus")]
        connection_status: ConnectionStatus,
    },
    /// `discover`'s answer.
    #[serde(rename = "CATALOG")]
    Catalog {
        /// The streams.
        catalog: Catalog,
    },
    /// One record of a stream.
    #[serde(rename = "RECORD")]
    Record {
        /// The record.
        record: AirbyteRecordMessage,
    },
    /// A checkpoint.
    #[serde(rename = "STATE")]
    State {
        /// The state (always `type: STREAM`).
        state: StateMessage,
    },
    /// An error, a stream status or an estimate.
    #[serde(rename = "TRACE")]
    Trace {
        /// The trace.
        trace: Trace,
    },
    /// A log line.
    #[serde(rename = "LOG")]
    Log {
        /// The log entry.
        log: Log,
    },
}

/// `ConnectorSpecification`.
#[derive(Debug, Serialize)]
pub struct Spec {
    /// Where the user documentation lives.
    #[serde(rename = "documentationUrl")]
    pub documentation_url: String,
    /// JSON schema (draft-07) of the config.
    #[serde(rename = "connectionSpecification")]
    pub connection_specification: Json,
    /// Deprecated, still read by older platforms.
    #[serde(rename = "supportsIncremental")]
    pub supports_incremental: bool,
    /// The protocol version spoken.
    pub protocol_version: String,
}

/// `AirbyteConnectionStatus`.
#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct ConnectionStatus {
    /// `SUCCEEDED` or `FAILED`.
    pub status: Status,
    /// Why it failed (or a note on success).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// `check`'s outcome.
#[derive(Clone, Copy, Debug, Serialize, PartialEq, Eq)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Status {
    /// The config works.
    Succeeded,
    /// It does not.
    Failed,
}

/// `AirbyteCatalog`.
#[derive(Debug, Serialize, PartialEq)]
pub struct Catalog {
    /// One stream per collection.
    pub streams: Vec<AirbyteStream>,
}

/// `AirbyteStream`: a stream of the catalog.
#[derive(Debug, Serialize, PartialEq)]
pub struct AirbyteStream {
    /// The collection's name.
    pub name: String,
    /// In a database tree, the path of the collection's database (none for the key's own).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// JSON schema of the records' `data`.
    pub json_schema: Json,
    /// `full_refresh`, and `incremental` when an index allows it.
    pub supported_sync_modes: Vec<SyncMode>,
    /// Always true: the cursor is `ts`, chosen by the source.
    pub source_defined_cursor: bool,
    /// `["ts"]`.
    pub default_cursor_field: Vec<String>,
    /// `[["ref"]]`.
    pub source_defined_primary_key: Vec<Vec<String>>,
    /// A full refresh resumes from its checkpoint.
    pub is_resumable: bool,
}

/// A sync mode.
#[derive(Clone, Copy, Debug, Serialize, serde::Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum SyncMode {
    /// Read everything.
    FullRefresh,
    /// Read changes since the state.
    Incremental,
}

impl SyncMode {
    /// The protocol's name.
    pub fn as_str(self) -> &'static str {
        match self {
            SyncMode::FullRefresh => "full_refresh",
            SyncMode::Incremental => "incremental",
        }
    }
}

/// `AirbyteRecordMessage`: one record's data, on its stream.
#[derive(Debug, Serialize)]
pub struct AirbyteRecordMessage {
    /// The stream.
    pub stream: String,
    /// The stream's namespace, as the configured catalog gave it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// The record's fields (see [`super::record_data`]).
    pub data: Box<RawValue>,
    /// When it was emitted, integer milliseconds since the epoch.
    pub emitted_at: i64,
}

/// `StreamDescriptor`: a stream is its name within its namespace (none: `None`).
#[derive(Clone, Debug, Serialize, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct StreamDescriptor {
    /// The stream's name.
    pub name: String,
    /// Its namespace, as the configured catalog (or the input state) gave it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
}

impl StreamDescriptor {
    /// The descriptor of stream `name`, without a namespace.
    pub fn new(name: impl Into<String>) -> Self {
        StreamDescriptor {
            name: name.into(),
            namespace: None,
        }
    }

    /// The stream as messages name it: `'users'`, or `'users' (namespace 'crm')`.
    pub fn label(&self) -> String {
        match &self.namespace {
            Some(ns) => format!("'{}' (namespace '{ns}')", self.name),
            None => format!("'{}'", self.name),
        }
    }
}

/// `AirbyteStateMessage` of `type: STREAM`, with `sourceStats`.
#[derive(Debug, Serialize)]
pub struct StateMessage {
    /// Always `STREAM`.
    #[serde(rename = "type")]
    pub state_type: &'static str,
    /// The stream and its state.
    pub stream: AirbyteStreamState,
    /// Records of this stream emitted since its previous STATE.
    #[serde(rename = "sourceStats")]
    pub source_stats: SourceStats,
}

impl StateMessage {
    /// A STREAM state for `stream` covering `records` records since its previous state.
    pub fn stream(stream: StreamDescriptor, stream_state: Json, records: u64) -> Self {
        StateMessage {
            state_type: "STREAM",
            stream: AirbyteStreamState {
                stream_descriptor: stream,
                stream_state,
            },
            source_stats: SourceStats {
                record_count: records as f64,
            },
        }
    }
}

/// `AirbyteStreamState`: a stream's descriptor and its state blob.
#[derive(Debug, Serialize)]
pub struct AirbyteStreamState {
    /// Which stream.
    pub stream_descriptor: StreamDescriptor,
    /// Our opaque state blob (never null).
    pub stream_state: Json,
}

/// `AirbyteStateStats`.
#[derive(Debug, Serialize)]
pub struct SourceStats {
    /// A double, as the protocol asks (`5.0`).
    #[serde(rename = "recordCount")]
    pub record_count: f64,
}

/// `AirbyteTraceMessage`.
#[derive(Debug, Serialize)]
#[serde(tag = "type")]
pub enum Trace {
    /// A failure.
    #[serde(rename = "ERROR")]
    Error {
        /// Milliseconds since the epoch.
        emitted_at: i64,
        /// What failed.
        error: ErrorTrace,
    },
    /// A stream's progress.
    #[serde(rename = "STREAM_STATUS")]
    StreamStatus {
        /// Milliseconds since the epoch.
        emitted_at: i64,
        /// The stream and its status.
        stream_status: StreamStatusTrace,
    },
    /// How much a stream will emit.
    #[serde(rename = "ESTIMATE")]
    Estimate {
        /// Milliseconds since the epoch.
        emitted_at: i64,
        /// The estimate.
        estimate: Estimate,
    },
}

impl Trace {
    /// An error trace stamped now.
    pub fn error(error: ErrorTrace) -> Self {
        Trace::Error {
            emitted_at: now_ms(),
            error,
        }
    }

    /// A stream status trace stamped now.
    pub fn stream_status(stream: &StreamDescriptor, status: StreamStatus) -> Self {
        Trace::StreamStatus {
            emitted_at: now_ms(),
            stream_status: StreamStatusTrace {
                stream_descriptor: stream.clone(),
                status,
            },
        }
    }

    /// A row estimate for `stream`, stamped now.
    pub fn row_estimate(stream: &StreamDescriptor, rows: u64) -> Self {
        Trace::Estimate {
            emitted_at: now_ms(),
            estimate: Estimate {
                name: stream.name.clone(),
                namespace: stream.namespace.clone(),
                estimate_type: "STREAM",
                row_estimate: Some(rows),
            },
        }
    }
}

/// `AirbyteErrorTraceMessage`.
#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct ErrorTrace {
    /// For the user.
    pub message: String,
    /// Technical detail.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub internal_message: Option<String>,
    /// `config_error`, `system_error` or `transient_error` (`ErrorKind::airbyte_failure_type`).
    pub failure_type: &'static str,
    /// The stream it concerns, if one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stream_descriptor: Option<StreamDescriptor>,
}

/// `AirbyteStreamStatusTraceMessage`.
#[derive(Debug, Serialize)]
pub struct StreamStatusTrace {
    /// Which stream.
    pub stream_descriptor: StreamDescriptor,
    /// Its status.
    pub status: StreamStatus,
}

/// A stream's status.
#[derive(Clone, Copy, Debug, Serialize, PartialEq, Eq)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum StreamStatus {
    /// Reading began.
    Started,
    /// The first record was emitted.
    Running,
    /// Read to the end.
    Complete,
    /// Stopped by a failure.
    Incomplete,
}

/// `AirbyteEstimateTraceMessage`.
#[derive(Debug, Serialize)]
pub struct Estimate {
    /// The stream.
    pub name: String,
    /// Its namespace.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// `STREAM`.
    #[serde(rename = "type")]
    pub estimate_type: &'static str,
    /// Expected records.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub row_estimate: Option<u64>,
}

/// `AirbyteLogMessage`.
#[derive(Debug, Serialize)]
pub struct Log {
    /// `FATAL`, `ERROR`, `WARN`, `INFO`, `DEBUG` or `TRACE`.
    pub level: &'static str,
    /// The text.
    pub message: String,
}

/// Milliseconds since the epoch, now (an integer, as `emitted_at` must be).
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// Why a message could not be written.
#[derive(Debug, Error)]
pub enum WriteError {
    /// The reader closed stdout (PyAirbyte does once it has what it wants): stop quietly.
    #[error("the reader of stdout went away (broken pipe)")]
    BrokenPipe,
    /// Any other write failure.
    #[error("cannot write to stdout: {0}")]
    Io(io::Error),
    /// A message could not be serialized (a bug).
    #[error("cannot serialize an Airbyte message: {0}")]
    Serialize(#[from] serde_json::Error),
}

impl From<io::Error> for WriteError {
    fn from(e: io::Error) -> Self {
        if e.kind() == io::ErrorKind::BrokenPipe {
            WriteError::BrokenPipe
        } else {
            WriteError::Io(e)
        }
    }
}

/// Writes messages as JSON lines, one per line, flushed after each.
pub struct MessageWriter<W: Write> {
    out: W,
    line: Vec<u8>,
}

impl<W: Write> MessageWriter<W> {
    /// Wraps `out` (stdout in the binary).
    pub fn new(out: W) -> Self {
        MessageWriter {
            out,
            line: Vec::with_capacity(1024),
        }
    }

    /// Writes `message` and a newline, then flushes.
    pub fn write(&mut self, message: &Message) -> Result<(), WriteError> {
        self.write_unflushed(message)?;
        self.flush()
    }

    /// Writes `message` and a newline without flushing: a batch's RECORDs go out with one
    /// flush after the last ([`MessageWriter::flush`]), not one write per record.
    pub fn write_unflushed(&mut self, message: &Message) -> Result<(), WriteError> {
        self.line.clear();
        serde_json::to_writer(&mut self.line, message)?;
        self.line.push(b'\n');
        self.out.write_all(&self.line)?;
        Ok(())
    }

    /// Flushes what was written.
    pub fn flush(&mut self) -> Result<(), WriteError> {
        self.out.flush()?;
        Ok(())
    }

    /// The underlying writer.
    pub fn into_inner(self) -> W {
        self.out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn line(m: &Message) -> String {
        let mut w = MessageWriter::new(Vec::new());
        w.write(m).unwrap();
        String::from_utf8(w.into_inner()).unwrap()
    }

    #[test]
    fn messages_have_the_protocol_shape() {
        let status = Message::ConnectionStatus {
            connection_status: ConnectionStatus {
                status: Status::Failed,
                message: Some("no".into()),
            },
        };
        assert_eq!(
            line(&status),
            "{\"type\":\"CONNECTION_STATUS\",\"connectionStatus\":{\"status\":\"FAILED\",\"message\":\"no\"}}\n"
        );
        let state = Message::State {
            state: StateMessage::stream(StreamDescriptor::new("users"), json!({"v": 1}), 5),
        };
        assert_eq!(
            line(&state),
            "{\"type\":\"STATE\",\"state\":{\"type\":\"STREAM\",\"stream\":{\"stream_descriptor\":{\"name\":\"users\"},\"stream_state\":{\"v\":1}},\"sourceStats\":{\"recordCount\":5.0}}}\n"
        );
        let record = Message::Record {
            record: AirbyteRecordMessage {
                stream: "users".into(),
                namespace: None,
                data: RawValue::from_string("{\"ref\":\"1\"}".into()).unwrap(),
                emitted_at: 1_700_000_000_123,
            },
        };
        assert_eq!(
            line(&record),
            "{\"type\":\"RECORD\",\"record\":{\"stream\":\"users\",\"data\":{\"ref\":\"1\"},\"emitted_at\":1700000000123}}\n"
        );
        // A stream with a namespace names it in every message about the stream.
        let crm = StreamDescriptor {
            name: "users".into(),
            namespace: Some("crm".into()),
        };
        let record = Message::Record {
            record: AirbyteRecordMessage {
                stream: "users".into(),
                namespace: Some("crm".into()),
                data: RawValue::from_string("{}".into()).unwrap(),
                emitted_at: 1,
            },
        };
        assert_eq!(
            line(&record),
            "{\"type\":\"RECORD\",\"record\":{\"stream\":\"users\",\"namespace\":\"crm\",\"data\":{},\"emitted_at\":1}}\n"
        );
        let state = Message::State {
            state: StateMessage::stream(crm.clone(), json!({}), 0),
        };
        assert_eq!(
            line(&state),
            "{\"type\":\"STATE\",\"state\":{\"type\":\"STREAM\",\"stream\":{\"stream_descriptor\":{\"name\":\"users\",\"namespace\":\"crm\"},\"stream_state\":{}},\"sourceStats\":{\"recordCount\":0.0}}}\n"
        );
        assert_eq!(crm.label(), "'users' (namespace 'crm')");
        let trace = Message::Trace {
            trace: Trace::StreamStatus {
                emitted_at: 7,
                stream_status: StreamStatusTrace {
                    stream_descriptor: StreamDescriptor::new("users"),
                    status: StreamStatus::Incomplete,
                },
            },
        };
        assert_eq!(
            line(&trace),
            "{\"type\":\"TRACE\",\"trace\":{\"type\":\"STREAM_STATUS\",\"emitted_at\":7,\"stream_status\":{\"stream_descriptor\":{\"name\":\"users\"},\"status\":\"INCOMPLETE\"}}}\n"
        );
        let error = Message::Trace {
            trace: Trace::Error {
                emitted_at: 8,
                error: ErrorTrace {
                    message: "bad".into(),
                    internal_message: None,
                    failure_type: "config_error",
                    stream_descriptor: None,
                },
            },
        };
        assert_eq!(
            line(&error),
            "{\"type\":\"TRACE\",\"trace\":{\"type\":\"ERROR\",\"emitted_at\":8,\"error\":{\"message\":\"bad\",\"failure_type\":\"config_error\"}}}\n"
        );
        let estimate = Message::Trace {
            trace: Trace::Estimate {
                emitted_at: 9,
                estimate: Estimate {
                    name: "users".into(),
                    namespace: None,
                    estimate_type: "STREAM",
                    row_estimate: Some(12),
                },
            },
        };
        assert_eq!(
            line(&estimate),
            "{\"type\":\"TRACE\",\"trace\":{\"type\":\"ESTIMATE\",\"emitted_at\":9,\"estimate\":{\"name\":\"users\",\"type\":\"STREAM\",\"row_estimate\":12}}}\n"
        );
        let log = Message::Log {
            log: Log {
                level: "INFO",
                message: "hi".into(),
            },
        };
        assert_eq!(
            line(&log),
            "{\"type\":\"LOG\",\"log\":{\"level\":\"INFO\",\"message\":\"hi\"}}\n"
        );
    }

    /// A writer whose reader went away.
    struct ClosedPipe;

    impl Write for ClosedPipe {
        fn write(&mut self, _: &[u8]) -> io::Result<usize> {
            Err(io::Error::from(io::ErrorKind::BrokenPipe))
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    /// Counts flushes.
    #[derive(Default)]
    struct Flushes(Vec<u8>, usize);

    impl Write for Flushes {
        fn write(&mut self, b: &[u8]) -> io::Result<usize> {
            self.0.extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            self.1 += 1;
            Ok(())
        }
    }

    #[test]
    fn a_broken_pipe_is_its_own_error_and_every_line_is_flushed() {
        let log = Message::Log {
            log: Log {
                level: "INFO",
                message: "x".into(),
            },
        };
        let err = MessageWriter::new(ClosedPipe).write(&log).unwrap_err();
        assert!(matches!(err, WriteError::BrokenPipe), "{err:?}");
        let mut w = MessageWriter::new(Flushes::default());
        w.write(&log).unwrap();
        w.write(&log).unwrap();
        let out = w.into_inner();
        assert_eq!(out.1, 2);
        assert_eq!(String::from_utf8(out.0).unwrap().lines().count(), 2);
        // A batch: three lines, one flush.
        let mut w = MessageWriter::new(Flushes::default());
        for _ in 0..3 {
            w.write_unflushed(&log).unwrap();
        }
        w.flush().unwrap();
        let out = w.into_inner();
        assert_eq!(out.1, 1);
        assert_eq!(String::from_utf8(out.0).unwrap().lines().count(), 3);
    }
}
