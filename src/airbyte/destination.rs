//! `read`'s destination: stdout. The state a read resumes from is the input state translated
//! (`--state`: ours as emitted, source-fauna's LEGACY cursors, or none; a refused one fails its
//! stream only); the output is RECORD messages and the checkpoint STATE messages
//! (`super::emit`); id sets live in a scratch directory for the duration of the read.

use std::collections::HashSet;
use std::io::Write;
use std::sync::{Arc, Mutex};

use super::catalog::ConfiguredStream;
use super::emit::{log, stdout_failed, Namespaces, Records, Shared, States};
use super::input_state::{InputState, StreamInput};
use super::protocol::StreamDescriptor;
use super::resume::{input_stream, FORMAT};
use crate::durable::FileError;
use crate::id_set::IdStore;
use crate::run::{Begun, Destination, OpenOutput, Resumed};
use crate::state::{Position, State, Strategy};
use crate::sync::ExportError;

/// Records per STATE: Airbyte checkpoints often (the platform's default is every 10,000).
const AIRBYTE_BATCH_ROWS: u64 = 10_000;

/// stdout as a run's destination.
pub struct Stdout<W: Write> {
    /// stdout.
    pub out: Shared<W>,
    /// The input state.
    pub input: InputState,
    /// The configured streams, in catalog order.
    pub streams: Vec<ConfiguredStream>,
    /// The `--state` file as given, for messages.
    pub state_path: String,
    /// Each stream's namespace.
    pub namespaces: Namespaces,
    /// The streams that got a STATE (shared with the observer).
    pub emitted: Arc<Mutex<HashSet<String>>>,
    /// The scratch directory of the read's id sets, removed when the read ends.
    pub scratch: Option<tempfile::TempDir>,
    /// Whether the read is over a database tree (the streams' namespaces are their paths).
    pub tree: bool,
}

impl<W: Write + Send + 'static> Destination for Stdout<W> {
    fn format(&self) -> &'static str {
        FORMAT
    }

    fn fixes_schema(&self) -> bool {
        false
    }

    fn batch_rows(&self, configured: u64) -> u64 {
        configured.min(AIRBYTE_BATCH_ROWS)
    }

    async fn lock(&mut self) -> Result<(), ExportError> {
        Ok(())
    }

    async fn resume(&mut self, now: i64) -> Result<Resumed, ExportError> {
        for note in &self.input.notes {
            log(&self.out, "INFO", note.clone()).map_err(stdout_failed)?;
        }
        for ignored in unmatched(&self.input, &self.streams) {
            log(
                &self.out,
                "INFO",
                format!("The input state holds a state of stream {}, which is not in the configured catalog; it is ignored.", ignored.label()),
            )
            .map_err(stdout_failed)?;
        }
        let mut resumed = Resumed::default();
        for s in &self.streams {
            let given = input_key(&self.input, s).and_then(|k| self.input.streams.get(&k));
            match input_stream(&s.descriptor(), given, now, &self.state_path) {
                Ok(Some(stream)) => {
                    if stream.strategy == Strategy::ScanCatchUp
                        && stream.position != Position::Start
                        && stream.position.in_full_read()
                    {
                        log(&self.out, "WARN", resumed_without_ids(s)).map_err(stdout_failed)?;
                    }
                    resumed.state.streams.insert(s.key(self.tree), stream);
                }
                Ok(None) => {}
                Err(e) => resumed
                    .refused
                    .push((s.key(self.tree), ExportError::InputState(e.to_string()))),
            }
        }
        Ok(resumed)
    }

    async fn open_output(
        &mut self,
        _: &mut State,
        _: &[String],
    ) -> Result<OpenOutput, ExportError> {
        Ok(OpenOutput {
            output: Box::new(Records {
                out: self.out.clone(),
                namespaces: self.namespaces.clone(),
            }),
            removed: Vec::new(),
        })
    }

    async fn begin(&mut self, _: &State) -> Result<Begun, ExportError> {
        let scratch = tempfile::Builder::new()
            .prefix("fauna-sync-ids-")
            .tempdir()
            .map_err(|e| FileError::new("create", std::env::temp_dir(), e))?;
        let ids = IdStore::Scratch(scratch.path().to_path_buf());
        self.scratch = Some(scratch);
        Ok(Begun {
            ids,
            checkpoint: Box::new(States {
                out: self.out.clone(),
                emitted: self.emitted.clone(),
                namespaces: self.namespaces.clone(),
            }),
        })
    }

    async fn release(&mut self) {
        self.scratch = None;
    }
}

/// Why a short-retention full read resumed from an earlier read may keep deleted documents.
fn resumed_without_ids(s: &ConfiguredStream) -> String {
    format!(
        "stream {} resumes a full read by scan and catch-up that an earlier read began; the ids that read emitted were kept for that read only, so a document it emitted and that was deleted since keeps its row in the destination. Reset the stream to read it again from the start",
        s.descriptor().label()
    )
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
