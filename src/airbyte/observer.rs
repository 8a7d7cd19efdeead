//! `read`'s view of the run: each stream's STARTED, its ESTIMATE (before its records), RUNNING,
//! then COMPLETE (after at least one STATE) or INCOMPLETE; warnings as LOG messages of level
//! WARN; the closing LOG. The failed streams are kept for their TRACE errors, which `read`
//! writes last.

use std::collections::HashSet;
use std::io::Write;
use std::sync::{Arc, Mutex};

use super::emit::{descriptor, log, status, stdout_failed, write, Namespaces, Shared};
use super::protocol::{Message, StateMessage, StreamDescriptor, StreamStatus, Trace};
use super::resume::state_blob;
use crate::error::ErrorKind;
use crate::fauna::Timestamp;
use crate::output::OutputError;
use crate::sync::{ExportError, Observer, StreamEnd, Summary};

/// A stream that failed for a reason of its own.
#[derive(Clone, Debug)]
pub struct Failed {
    /// The stream.
    pub stream: StreamDescriptor,
    /// The failure's kind (its `failure_type`, and the exit code of the first).
    pub kind: ErrorKind,
    /// What failed and what to do.
    pub message: String,
}

/// The Airbyte messages of a run's events.
pub struct Statuses<W: Write> {
    /// stdout.
    pub out: Shared<W>,
    /// Each stream's namespace.
    pub namespaces: Namespaces,
    /// The streams that got a STATE (shared with the checkpoint).
    pub emitted: Arc<Mutex<HashSet<String>>>,
    /// The streams that failed, in the order they were reported (catalog order).
    pub failed: Mutex<Vec<Failed>>,
    /// The configured streams.
    pub streams: usize,
}

impl<W: Write> Statuses<W> {
    fn status(&self, stream: &str, s: StreamStatus) -> Result<(), OutputError> {
        status(&self.out, &descriptor(&self.namespaces, stream), s).map_err(stdout_failed)
    }

    /// The failed streams, taken.
    pub fn take_failed(&self) -> Vec<Failed> {
        std::mem::take(&mut *self.failed.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

impl<W: Write + Send + 'static> Observer for Statuses<W> {
    fn wants_total(&self) -> bool {
        true
    }

    fn total_first(&self) -> bool {
        true
    }

    fn total_known(&self, collection: &str, total: u64, done: u64) {
        let stream = descriptor(&self.namespaces, collection);
        let message = Message::Trace {
            trace: Trace::row_estimate(&stream, total.saturating_sub(done)),
        };
        // A failed write shows at the next message.
        let _ = write(&self.out, &message);
    }

    fn stream_started(&self, stream: &str) -> Result<(), OutputError> {
        self.status(stream, StreamStatus::Started)
    }

    fn stream_reading(&self, stream: &str) -> Result<(), OutputError> {
        self.status(stream, StreamStatus::Running)
    }

    fn stream_failed(&self, stream: &str, error: &ExportError) -> Result<(), OutputError> {
        self.status(stream, StreamStatus::Incomplete)?;
        self.failed
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(Failed {
                stream: descriptor(&self.namespaces, stream),
                kind: error.kind(),
                message: error.to_string(),
            });
        Ok(())
    }

    fn stream_stopped(&self, stream: &str) {
        let _ = self.status(stream, StreamStatus::Incomplete);
    }

    fn stream_done(&self, stream: &str, end: &StreamEnd<'_>) -> Result<(), OutputError> {
        let described = descriptor(&self.namespaces, stream);
        if let Some(to) = end.ahead_of_server {
            let message = format!(
                "stream {} is synced up to {}, which is ahead of the server's time ({} when this read began): nothing was read and its state is kept. Check the Fauna server's clock, or reset the stream if its state was edited.",
                described.label(),
                Timestamp::from_micros(to),
                Timestamp::from_micros(end.run_time)
            );
            log(&self.out, "WARN", message).map_err(stdout_failed)?;
        }
        let seen = self
            .emitted
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains(stream);
        if !seen {
            // At least one STATE per stream, even when nothing changed.
            let blob = state_blob(stream, end.state).unwrap_or_default();
            let message = Message::State {
                state: StateMessage::stream(described.clone(), blob, 0),
            };
            write(&self.out, &message).map_err(stdout_failed)?;
        }
        self.status(stream, StreamStatus::Complete)
    }

    fn warning(&self, _stream: &str, message: &str) -> Result<(), OutputError> {
        log(&self.out, "WARN", message.to_string()).map_err(stdout_failed)
    }

    fn run_done(&self, summary: &Summary) -> Result<(), OutputError> {
        let failed = self.failed.lock().unwrap_or_else(|p| p.into_inner());
        let failures = match failed.len() {
            0 => String::new(),
            n => format!(
                ", {n} failed ({})",
                failed
                    .iter()
                    .map(|f| f.stream.label())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        };
        let message = format!(
            "Read {} stream(s){failures}: {} Fauna queries ({} read ops), {} retries.",
            self.streams, summary.queries, summary.read_ops, summary.retries
        );
        drop(failed);
        log(&self.out, "INFO", message).map_err(stdout_failed)
    }
}
