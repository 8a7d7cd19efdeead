//! `read`: the readers, strategies and committer of `export` and `sync`, with RECORD messages
//! as the output and per-stream STATE messages as the checkpoint (`docs/airbyte.md`).
//!
//! - `full_refresh`: a full export at one snapshot; an interrupted one resumes from the
//!   snapshot cursor its last STATE carries, a finished one starts afresh.
//! - `incremental`: the first read is the full export, later reads one window each, exactly as
//!   `fauna-sync sync` (`spec/sync.md`); a stream without a `[ts, ref]` index is read in full
//!   refresh, and a LOG line says so.
//!
//! Every STATE carries the stream's own state (the `streams` entry of `spec/state-format.md`)
//! and `sourceStats.recordCount`, the records emitted for that stream since its previous STATE;
//! every stream gets at least one STATE.

use std::collections::HashSet;
use std::io::Write;
use std::sync::{Arc, Mutex};

use crate::config::CollectionSettings;
use crate::durable::FileError;
use crate::export::{Record, RecordSchema};
use crate::fauna::{encode, Expr, FaunaError, Value};
use crate::output::{Batch, Checkpoint, Output, OutputError, Receipt, Sealed};
use crate::sync::{
    check_collection, sync_index, BatchLimits, CollectionExport, Committer, ExportError, Observer,
    Position, State, StateError, StreamState,
};

use super::catalog::ConfiguredStream;
use super::commands::ReadInputs;
use super::error::AirbyteError;
use super::input_state::{LegacyCursor, StreamInput};
use super::protocol::{
    now_ms, Log, Message, MessageWriter, Record as RecordMessage, StateMessage, StreamStatus,
    SyncMode, Trace, WriteError,
};
use super::record::record_data;

/// The stdout all messages go through, in order.
pub type Shared<W> = Arc<Mutex<MessageWriter<W>>>;

/// The format name recorded in Airbyte streams' state.
const FORMAT: &str = "airbyte";

fn write<W: Write>(out: &Shared<W>, message: &Message) -> Result<(), WriteError> {
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

/// RECORD messages.
struct Records<W: Write> {
    out: Shared<W>,
}

impl<W: Write + Send + 'static> Output for Records<W> {
    fn begin(
        &mut self,
        stream: &str,
        seq: u64,
        schema: Arc<RecordSchema>,
    ) -> Result<Box<dyn Batch>, OutputError> {
        Ok(Box::new(BufferedRecords {
            out: self.out.clone(),
            stream: stream.to_string(),
            seq,
            schema,
            data: Vec::new(),
            bytes: 0,
        }))
    }

    fn publish(&mut self, sealed: Sealed) -> Result<Receipt, OutputError> {
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
    stream: String,
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
        for data in self.data {
            let message = Message::Record {
                record: RecordMessage {
                    stream: self.stream.clone(),
                    data,
                    emitted_at: now_ms(),
                },
            };
            write(&self.out, &message).map_err(stream_err)?;
        }
        Ok(Sealed {
            stream: self.stream,
            seq: self.seq,
            rows,
            bytes: self.bytes,
            file: None,
        })
    }
}

/// STATE messages; remembers which streams got one.
struct States<W: Write> {
    out: Shared<W>,
    emitted: Arc<Mutex<HashSet<String>>>,
}

impl<W: Write + Send> Checkpoint for States<W> {
    fn save(
        &mut self,
        state: &State,
        changed: &str,
        receipt: Option<&Receipt>,
    ) -> Result<(), StateError> {
        let blob = state
            .streams
            .get(changed)
            .map(serde_json::to_value)
            .transpose()
            .map_err(|e| StateError::Invalid {
                path: "STATE message".into(),
                reason: e.to_string(),
            })?
            .unwrap_or(serde_json::Value::Null);
        let message = Message::State {
            state: StateMessage::stream(changed, blob, receipt.map_or(0, |r| r.rows)),
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

/// No progress display in protocol mode (stdout carries messages only).
struct Silent;
impl Observer for Silent {}

fn status<W: Write>(out: &Shared<W>, stream: &str, s: StreamStatus) -> Result<(), WriteError> {
    write(
        out,
        &Message::Trace {
            trace: Trace::stream_status(stream, s),
        },
    )
}

fn log<W: Write>(out: &Shared<W>, level: &'static str, message: String) -> Result<(), WriteError> {
    write(
        out,
        &Message::Log {
            log: Log { level, message },
        },
    )
}

/// A stream's state from its input: ours as saved, source-fauna's translated, or new.
fn input_stream(
    name: &str,
    input: Option<&StreamInput>,
    snapshot_ts: i64,
    path: &str,
) -> Result<Option<StreamState>, AirbyteError> {
    match input {
        None => Ok(None),
        Some(StreamInput::State(json)) => serde_json::from_value::<StreamState>(json.clone())
            .map(Some)
            .map_err(|e| AirbyteError::Input {
                flag: "--state",
                path: path.to_string(),
                problem: format!("the state of stream '{name}' is not one fauna-sync wrote ({e})"),
                fix: "Reset the stream's state (or remove it from the state file) to read it from the start",
            }),
        Some(StreamInput::Legacy(c)) => Ok(legacy(c, snapshot_ts)),
    }
}

/// source-fauna's cursor as a position: an interrupted full refresh resumes at its page; an
/// incremental cursor continues from its `ts` (the entries at exactly that `ts` are read again:
/// at least once at the switch, and destinations deduplicate by `ref`).
fn legacy(c: &LegacyCursor, snapshot_ts: i64) -> Option<StreamState> {
    let mut s = StreamState::new(snapshot_ts, FORMAT);
    if let Some(full) = &c.full_sync {
        s.snapshot_ts = full.ts;
        s.position = match &full.after {
            Some(after) => Position::After {
                cursor: encode(after),
            },
            None => Position::Start,
        };
        return Some(s);
    }
    let ts = [&c.updates, &c.removes]
        .into_iter()
        .flatten()
        .filter_map(|p| p.ts)
        .min()?;
    s.position = Position::Synced { to: ts - 1 };
    Some(s)
}

/// Reads every configured stream; returns the exit code.
pub async fn read<W: Write + Send + 'static>(inputs: ReadInputs, out: Shared<W>) -> i32 {
    match run(inputs, &out).await {
        Ok(()) => 0,
        Err(e) => {
            let code = e.kind().exit_code();
            let quiet = matches!(
                &e,
                AirbyteError::Read(ExportError::Output(OutputError::Stream { source, .. }))
                    if source.kind() == std::io::ErrorKind::BrokenPipe
            );
            if quiet {
                return 0;
            }
            let mut w = out.lock().unwrap_or_else(|p| p.into_inner());
            super::commands::fail(&mut w, &e).max(code)
        }
    }
}

async fn run<W: Write + Send + 'static>(
    inputs: ReadInputs,
    out: &Shared<W>,
) -> Result<(), AirbyteError> {
    let ReadInputs {
        settings,
        streams,
        state: input,
        state_path,
    } = inputs;
    let client = crate::sync::client(&settings)?;
    let now = match client.query(&Expr::to_micros(Expr::now())).await {
        Ok(Value::Int(t)) => t,
        Ok(other) => {
            return Err(AirbyteError::fauna("reading the server's time")(
                FaunaError::InvalidResponse(format!("ToMicros(Now()) gave {}", encode(&other))),
            ))
        }
        Err(e) => return Err(AirbyteError::fauna("reading the server's time")(e)),
    };
    let mut state = State::new();
    let mut plan: Vec<(CollectionSettings, Option<String>)> = Vec::new();
    for s in &streams {
        let c = collection(&settings, s);
        let retention = check_collection(&client, &c).await?;
        let index = match s.sync_mode {
            SyncMode::Incremental => match sync_index(&client, &c).await {
                Ok(i) => Some(i),
                Err(ExportError::NoIndex { problem, .. }) => {
                    let _ = log(
                        out,
                        "WARN",
                        format!("stream '{}' is read in full refresh: incremental needs a [ts, ref] index ({problem})", s.name),
                    );
                    None
                }
                Err(e) => return Err(e.into()),
            },
            _ => None,
        };
        let previous = input_stream(&s.name, input.get(&s.name), now, &state_path)?;
        let stream = match (previous, &index) {
            // Incremental: continue wherever the stream stands.
            (Some(p), Some(_)) => p,
            // Full refresh: resume an interrupted one; a finished one starts afresh.
            (Some(p), None)
                if matches!(
                    p.position,
                    Position::Start | Position::After { .. } | Position::Parts { .. }
                ) =>
            {
                p
            }
            _ => {
                let mut fresh = StreamState::new(now, FORMAT);
                // Airbyte mode keeps no files: the short-retention strategy (whose id log
                // lives beside a state file) is not used; warn when the snapshot may expire.
                if retention.window_secs().is_some_and(|w| w < 24 * 3600) {
                    let _ = log(
                        out,
                        "WARN",
                        format!("collection '{}' keeps history briefly: its full refresh must finish within that window (export or sync to files use a scan and catch-up instead)", c.name),
                    );
                }
                fresh.schema = Some(crate::sync::schema_fingerprint(&c));
                fresh
            }
        };
        state.streams.insert(s.name.clone(), stream);
        plan.push((c, index));
    }
    let emitted = Arc::new(Mutex::new(HashSet::new()));
    let limits = BatchLimits {
        rows: settings.output.batch_rows.min(AIRBYTE_BATCH_ROWS),
        bytes: settings.output.batch_bytes,
    };
    let mut committer = Committer::new(
        state,
        Box::new(Records { out: out.clone() }),
        Box::new(States {
            out: out.clone(),
            emitted: emitted.clone(),
        }),
        limits,
    );
    for (c, index) in &plan {
        let name = c.name.as_str();
        status(out, name, StreamStatus::Started).map_err(write_failed)?;
        if let Some(rows) = estimate(&settings, &committer, name).await {
            write(
                out,
                &Message::Trace {
                    trace: Trace::row_estimate(name, rows),
                },
            )
            .map_err(write_failed)?;
        }
        status(out, name, StreamStatus::Running).map_err(write_failed)?;
        let stream = CollectionExport {
            client: &client,
            settings: c,
            ids_dir: None,
            observer: &Silent,
            concurrency: settings.concurrency,
        };
        let result = match index {
            Some(index) => stream.sync(index, &mut committer).await.map(|_| ()),
            None => stream.run(&mut committer).await,
        };
        if let Err(e) = result {
            let _ = status(out, name, StreamStatus::Incomplete);
            return Err(e.into());
        }
        let seen = emitted
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains(name);
        if !seen {
            // At least one STATE per stream, even when nothing changed.
            let blob = serde_json::to_value(committer.stream(name)?).unwrap_or_default();
            write(
                out,
                &Message::State {
                    state: StateMessage::stream(name, blob, 0),
                },
            )
            .map_err(write_failed)?;
        }
        status(out, name, StreamStatus::Complete).map_err(write_failed)?;
    }
    log(
        out,
        "INFO",
        format!(
            "Read {} stream(s): {} Fauna queries ({} read ops), {} retries.",
            plan.len(),
            client.queries(),
            client.read_ops(),
            client.retries()
        ),
    )
    .map_err(write_failed)?;
    Ok(())
}

/// How long a document count may take to be worth an ESTIMATE.
const COUNT_BUDGET: std::time::Duration = std::time::Duration::from_secs(2);

/// The records a full read of `stream` is expected to emit, when Fauna counts them within
/// [`COUNT_BUDGET`] (the server stops counting then): documents at the stream's snapshot,
/// less those already emitted. `None` for incremental windows (their size is unknown) and
/// when the count is not cheap.
async fn estimate(
    settings: &crate::config::Settings,
    committer: &Committer,
    stream: &str,
) -> Option<u64> {
    let s = committer.stream(stream).ok()?;
    if !matches!(s.position, Position::Start | Position::After { .. }) {
        return None;
    }
    let client = crate::fauna::FaunaClient::new(crate::fauna::ClientOptions {
        endpoint: settings.endpoint.clone(),
        secret: settings.secret.clone(),
        query_timeout: COUNT_BUDGET,
        retry: crate::fauna::RetryPolicy {
            max_retries: 0,
            ..crate::fauna::RetryPolicy::default()
        },
    })
    .ok()?;
    let q = Expr::at(
        s.snapshot_ts,
        Expr::count(Expr::documents(Expr::collection(stream))),
    );
    match tokio::time::timeout(COUNT_BUDGET * 2, client.query(&q)).await {
        Ok(Ok(Value::Int(n))) => u64::try_from(n).ok().map(|n| n.saturating_sub(s.rows)),
        _ => None,
    }
}

/// Records per STATE: Airbyte checkpoints often (the platform's default is every 10,000).
const AIRBYTE_BATCH_ROWS: u64 = 10_000;

fn write_failed(e: WriteError) -> AirbyteError {
    AirbyteError::Read(ExportError::Output(OutputError::Stream {
        what: "messages to stdout",
        source: io_error(e),
    }))
}

/// The configured settings of the stream's collection, or the defaults.
fn collection(settings: &crate::config::Settings, s: &ConfiguredStream) -> CollectionSettings {
    settings
        .collections
        .as_ref()
        .and_then(|cs| cs.iter().find(|c| c.name == s.name).cloned())
        .unwrap_or_else(|| CollectionSettings {
            name: s.name.clone(),
            ..settings.defaults.clone()
        })
}
