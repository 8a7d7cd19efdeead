//! `read`: the run of `export` and `sync` (`crate::run`) with stdout as its destination
//! (`super::destination`: the input state translated, RECORD messages, STATE messages) and its
//! events as Airbyte messages (`super::observer`), `docs/airbyte.md`.
//!
//! - `full_refresh`: a full read (one snapshot, or for collections that keep history briefly,
//!   scan, catch-up and reconciliation); an interrupted one resumes from its last STATE, a
//!   finished one starts afresh.
//! - `incremental`: the first read is the full export, later reads one window each, exactly as
//!   `fauna-sync sync` (`spec/sync.md`); a stream without a `[ts, ref]` index is read in full
//!   refresh, and a LOG line says so.
//!
//! A stream that fails for a reason of its own (its history, index, documents, privileges or
//! input state) ends INCOMPLETE and the others are read; the failed streams' TRACE errors come
//! last and the exit code is the first one's.

use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::sync::{Arc, Mutex};

use crate::config::{CollectionSettings, Settings};
use crate::error::ErrorKind;
use crate::output::OutputError;
use crate::run::{run_with, Plan, ReadMode, StreamPlan};
use crate::sync::ExportError;
use crate::tree::DatabasePath;

use super::catalog::ConfiguredStream;
use super::commands::ReadInputs;
use super::destination::Stdout;
use super::emit::{write, write_failed, Shared};
use super::error::AirbyteError;
use super::observer::Statuses;
use super::protocol::{ErrorTrace, Message, SyncMode, Trace};

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
    let ReadInputs {
        settings,
        streams,
        state: input,
        state_path,
    } = inputs;
    let tree = settings.databases.is_tree();
    super::discover::refuse_merged(&settings)?;
    let mut keys = HashSet::new();
    if let Some(s) = streams.iter().find(|s| !keys.insert(s.key(tree))) {
        return Err(AirbyteError::Config(crate::config::ConfigError::new(
            "catalog",
            format!("stream '{}' is listed twice (namespaces tell streams apart only in a read over a database tree)", s.name),
            "List each stream once.",
        )));
    }
    if let Some(s) = streams.iter().find(|s| tree && s.database().is_none()) {
        return Err(AirbyteError::Config(crate::config::ConfigError::new(
            "catalog",
            format!(
                "stream '{}' has namespace {:?}, which is no database path",
                s.name,
                s.namespace.as_deref().unwrap_or_default()
            ),
            "In a read over a database tree, each stream's namespace is its database's path as discover gave it (none for the key's own database).",
        )));
    }
    let namespaces = Arc::new(
        streams
            .iter()
            .map(|s| (s.key(tree), s.namespace.clone()))
            .collect::<HashMap<_, _>>(),
    );
    let emitted = Arc::new(Mutex::new(HashSet::new()));
    let plan = Plan {
        streams: Some(streams.iter().map(|s| stream_plan(&settings, s)).collect()),
        read: ReadMode::Refresh,
        max_duration: None,
        pinned: None,
    };
    let observer = Statuses {
        out: out.clone(),
        namespaces: namespaces.clone(),
        emitted: emitted.clone(),
        failed: Mutex::new(Vec::new()),
        streams: streams.len(),
    };
    let destination = Stdout {
        out: out.clone(),
        input,
        streams,
        state_path,
        namespaces,
        emitted,
        scratch: None,
        tree,
    };
    let result = run_with(&settings, &plan, destination, &observer).await;
    let failed = observer.take_failed();
    // Stream failures were reported as they happened; any other error is the read's own.
    let error = match result {
        Ok(_) | Err(ExportError::StreamsFailed(_)) => None,
        Err(e) if e.stream_scoped() && !failed.is_empty() => None,
        Err(e) => Some(AirbyteError::Read(e)),
    };
    let error = match error {
        Some(e) if is_broken_pipe(&e) => return Err(e),
        other => other,
    };
    for f in &failed {
        let error = ErrorTrace {
            message: f.message.clone(),
            internal_message: None,
            failure_type: f.kind.airbyte_failure_type(),
            stream_descriptor: Some(f.stream.clone()),
        };
        write(
            out,
            &Message::Trace {
                trace: Trace::error(error),
            },
        )
        .map_err(write_failed)?;
    }
    match error {
        Some(e) => Err(e),
        None => Ok(failed.first().map(|f| f.kind)),
    }
}

/// How a configured stream is read: its collection's settings (configured, or the defaults)
/// and its sync mode (incremental falls back to a full refresh without a `[ts, ref]` index).
fn stream_plan(settings: &Settings, s: &ConfiguredStream) -> StreamPlan {
    let collection = settings
        .collections
        .as_ref()
        .and_then(|cs| cs.iter().find(|c| c.name == s.name).cloned())
        .unwrap_or_else(|| CollectionSettings {
            name: s.name.clone(),
            ..settings.defaults.clone()
        });
    let read = match s.sync_mode {
        SyncMode::Incremental => ReadMode::Incremental { or_refresh: true },
        SyncMode::FullRefresh => ReadMode::Refresh,
    };
    // A tree's namespaces are database paths (the catalog's checks refused any other).
    let database = match settings.databases.is_tree() {
        true => s.database().unwrap_or_default(),
        false => DatabasePath::root(),
    };
    StreamPlan {
        collection,
        read,
        database,
        merged: false,
    }
}
