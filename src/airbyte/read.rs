//! `read`: the readers, strategies and committer of `export` and `sync`, with RECORD messages
//! as the output and per-stream STATE messages as the checkpoint (`docs/airbyte.md`).
//!
//! - `full_refresh`: a full export at one snapshot; an interrupted one resumes from the
//!   snapshot cursor its last STATE carries, a finished one starts afresh.
//! - `incremental`: the first read is the full export, later reads one window each, exactly as
//!   `fauna-sync sync` (`spec/sync.md`); a stream without a `[ts, ref]` index is read in full
//!   refresh, and a LOG line says so.
//!
//! Every STATE carries the stream's own state (`super::resume`) and `sourceStats.recordCount`,
//! the records emitted for that stream since its previous STATE; every stream that completes
//! gets at least one STATE. A stream that fails for a reason of its own (its history, index,
//! documents, privileges or input state) ends INCOMPLETE and the others are read; the failed
//! streams' TRACE errors come last and the exit code is the first one's.

use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::sync::{Arc, Mutex};

use crate::config::CollectionSettings;
use crate::error::ErrorKind;
use crate::fauna::{encode, Expr, FaunaError, Timestamp, Value};
use crate::output::OutputError;
use crate::state::{Position, State, StreamState};
use crate::sync::{
    check_collection, sync_index, BatchLimits, CollectionExport, Committer, ExportError, Observer,
};

use super::catalog::ConfiguredStream;
use super::commands::ReadInputs;
use super::emit::{log, status, write, write_failed, Records, Shared, States};
use super::error::AirbyteError;
use super::input_state::{InputState, StreamInput};
use super::protocol::{
    ErrorTrace, Message, StateMessage, StreamDescriptor, StreamStatus, SyncMode, Trace,
};
use super::resume::{input_stream, state_blob, FORMAT};

/// No progress display in protocol mode (stdout carries messages only).
struct Silent;
impl Observer for Silent {}

/// Reads every configured stream; returns the exit code: 0, or the first failure's
/// (`spec/errors.md`, "One collection's failure").
pub async fn read<W: Write + Send + 'static>(inputs: ReadInputs, out: Shared<W>) -> i32 {
    match run(inputs, &out).await {
        Ok(None) => 0,
        Ok(Some(kind)) => kind.exit_code(),
        Err(e) => {
            let code = e.kind().exit_code();
            if is_broken_pipe(&e) {
                return 0;
            }
            let mut w = out.lock().unwrap_or_else(|p| p.into_inner());
            super::commands::fail(&mut w, &e).max(code)
        }
    }
}

/// The reader of stdout went away: a quiet stop.
fn is_broken_pipe(e: &AirbyteError) -> bool {
    matches!(
        e,
        AirbyteError::Read(ExportError::Output(OutputError::Stream { source, .. }))
            if source.kind() == std::io::ErrorKind::BrokenPipe
    )
}

/// Reads the streams; then one TRACE error per failed stream, naming it, as the last
/// messages: every other stream's records and STATEs reach the reader before any error,
/// whatever it does on one (a reader may stop at the first), and a failed read ends with its
/// errors, as the CDK's does. `Some(kind)`: the first failed stream's.
async fn run<W: Write + Send + 'static>(
    inputs: ReadInputs,
    out: &Shared<W>,
) -> Result<Option<ErrorKind>, AirbyteError> {
    let mut failed = Vec::new();
    let result = read_streams(inputs, out, &mut failed).await;
    if result.as_ref().is_err_and(is_broken_pipe) {
        return result.map(|()| None);
    }
    for (stream, e) in &failed {
        let error = ErrorTrace {
            message: e.to_string(),
            internal_message: None,
            failure_type: e.kind().airbyte_failure_type(),
            stream_descriptor: Some(stream.clone()),
        };
        write(
            out,
            &Message::Trace {
                trace: Trace::error(error),
            },
        )
        .map_err(write_failed)?;
    }
    result?;
    Ok(failed.first().map(|(_, e)| e.kind()))
}

/// What a stream is read with: its collection's settings and, for incremental, its index.
type Plan = (CollectionSettings, Option<String>);

async fn read_streams<W: Write + Send + 'static>(
    inputs: ReadInputs,
    out: &Shared<W>,
    failed: &mut Vec<(StreamDescriptor, AirbyteError)>,
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
    for note in &input.notes {
        log(out, "INFO", note.clone()).map_err(write_failed)?;
    }
    for ignored in unmatched(&input, &streams) {
        log(
            out,
            "INFO",
            format!("The input state holds a state of stream {}, which is not in the configured catalog; it is ignored.", ignored.label()),
        )
        .map_err(write_failed)?;
    }
    let mut state = State::new();
    let mut plans: Vec<Result<Plan, AirbyteError>> = Vec::with_capacity(streams.len());
    for s in &streams {
        match plan(&settings, &client, s, &input, now, &state_path, out).await {
            Ok((c, index, stream)) => {
                state.streams.insert(s.name.clone(), stream);
                plans.push(Ok((c, index)));
            }
            Err(e) if e.stream_scoped() => plans.push(Err(e)),
            Err(e) => return Err(e),
        }
    }
    let namespaces: Arc<HashMap<String, Option<String>>> = Arc::new(
        streams
            .iter()
            .map(|s| (s.name.clone(), s.namespace.clone()))
            .collect(),
    );
    let emitted = Arc::new(Mutex::new(HashSet::new()));
    let limits = BatchLimits {
        rows: settings.output.batch_rows.min(AIRBYTE_BATCH_ROWS),
        bytes: settings.output.batch_bytes,
    };
    let mut committer = Committer::new(
        state,
        Box::new(Records {
            out: out.clone(),
            namespaces: namespaces.clone(),
        }),
        Box::new(States {
            out: out.clone(),
            emitted: emitted.clone(),
            namespaces,
        }),
        limits,
    );
    for (s, plan) in streams.iter().zip(plans) {
        let stream = s.descriptor();
        let name = s.name.as_str();
        status(out, &stream, StreamStatus::Started).map_err(write_failed)?;
        let (c, index) = match plan {
            Ok(p) => p,
            Err(e) => {
                stream_failed(out, stream, e, failed)?;
                continue;
            }
        };
        if let Some(rows) = estimate(&settings, &committer, name).await {
            write(
                out,
                &Message::Trace {
                    trace: Trace::row_estimate(&stream, rows),
                },
            )
            .map_err(write_failed)?;
        }
        status(out, &stream, StreamStatus::Running).map_err(write_failed)?;
        let export = CollectionExport {
            client: &client,
            settings: &c,
            ids_dir: None,
            observer: &Silent,
            concurrency: settings.concurrency,
        };
        let result = match &index {
            Some(index) => export.sync(index, &mut committer).await.map(Some),
            None => export.run(&mut committer).await.map(|()| None),
        };
        let report = match result {
            Ok(report) => report,
            Err(e) if e.stream_scoped() => {
                // Its open batch is dropped (nothing of it was emitted); the stream's last
                // STATE is where the next read resumes.
                let _ = committer.discard(name);
                stream_failed(out, stream, e.into(), failed)?;
                continue;
            }
            Err(e) => {
                let _ = status(out, &stream, StreamStatus::Incomplete);
                return Err(e.into());
            }
        };
        let window = report.map(|r| r.to);
        if let (Some(None), Position::Synced { to }) = (window, &committer.stream(name)?.position) {
            log(
                out,
                "WARN",
                format!(
                    "stream {} is synced up to {}, which is ahead of the server's time ({} when this read began): nothing was read and its state is kept. Check the Fauna server's clock, or reset the stream if its state was edited.",
                    stream.label(),
                    Timestamp::from_micros(*to),
                    Timestamp::from_micros(now)
                ),
            )
            .map_err(write_failed)?;
        }
        let seen = emitted
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains(name);
        if !seen {
            // At least one STATE per stream, even when nothing changed.
            let blob = state_blob(name, committer.stream(name)?).unwrap_or_default();
            write(
                out,
                &Message::State {
                    state: StateMessage::stream(stream.clone(), blob, 0),
                },
            )
            .map_err(write_failed)?;
        }
        status(out, &stream, StreamStatus::Complete).map_err(write_failed)?;
    }
    let failures = match failed.len() {
        0 => String::new(),
        n => format!(
            ", {n} failed ({})",
            failed
                .iter()
                .map(|(s, _)| s.label())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    log(
        out,
        "INFO",
        format!(
            "Read {} stream(s){failures}: {} Fauna queries ({} read ops), {} retries.",
            streams.len(),
            client.queries(),
            client.read_ops(),
            client.retries()
        ),
    )
    .map_err(write_failed)?;
    Ok(())
}

/// A stream failed for a reason of its own: INCOMPLETE now, its TRACE error at the end.
fn stream_failed<W: Write>(
    out: &Shared<W>,
    stream: StreamDescriptor,
    e: AirbyteError,
    failed: &mut Vec<(StreamDescriptor, AirbyteError)>,
) -> Result<(), AirbyteError> {
    tracing::error!(stream = %stream.name, "{e} (going on with the other streams)");
    status(out, &stream, StreamStatus::Incomplete).map_err(write_failed)?;
    failed.push((stream, e));
    Ok(())
}

/// How `s` is read: its collection (checked), its index for incremental reads, and the
/// state it starts from.
async fn plan<W: Write>(
    settings: &crate::config::Settings,
    client: &crate::fauna::FaunaClient,
    s: &ConfiguredStream,
    input: &InputState,
    now: i64,
    state_path: &str,
    out: &Shared<W>,
) -> Result<(CollectionSettings, Option<String>, StreamState), AirbyteError> {
    let c = collection(settings, s);
    let previous = input_stream(&s.descriptor(), input_for(input, s), now, state_path)?;
    let retention = check_collection(client, &c).await?;
    let index = match s.sync_mode {
        SyncMode::Incremental => match sync_index(client, &c).await {
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
    Ok((c, index, stream))
}

/// The input state of `s`.
fn input_for<'a>(input: &'a InputState, s: &ConfiguredStream) -> Option<&'a StreamInput> {
    input_key(input, s).and_then(|k| input.streams.get(&k))
}

/// The input state's key `s` resumes from: its descriptor; for a stream with a namespace,
/// also source-fauna's state of its name (source-fauna named no namespace).
fn input_key(input: &InputState, s: &ConfiguredStream) -> Option<StreamDescriptor> {
    let own = s.descriptor();
    if input.streams.contains_key(&own) {
        return Some(own);
    }
    let bare = StreamDescriptor::new(s.name.as_str());
    match input.streams.get(&bare) {
        Some(StreamInput::Legacy(_)) if s.namespace.is_some() => Some(bare),
        _ => None,
    }
}

/// The streams of the input state that no configured stream resumes from.
fn unmatched<'a>(input: &'a InputState, streams: &[ConfiguredStream]) -> Vec<&'a StreamDescriptor> {
    let used: HashSet<StreamDescriptor> =
        streams.iter().filter_map(|s| input_key(input, s)).collect();
    input.streams.keys().filter(|d| !used.contains(d)).collect()
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
