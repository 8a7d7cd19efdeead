//! The commit loop every reader shares: pages of items in, batch files out, each batch
//! committed (file, emitted-id log, state, manifest) before the next, with the stream's
//! position always naming the exact first item not yet committed.

use std::future::Future;
use std::path::Path;

use super::emitted::EmittedIds;
use super::full::{ExportError, Observer};
use super::state::{Position, State, StreamState};
use crate::export::{Record, RecordJson, RecordSchema};
use crate::fauna::Value;
use crate::sink::{write_manifest, BatchWriter};

/// One item of a page: the record it yields (`None` when it is read but not exported) and the
/// cursor that starts a page exactly at it.
pub(crate) struct Item {
    /// The record, if the item is exported.
    pub record: Option<Record>,
    /// An `after` cursor (inclusive) that starts at this item.
    pub cursor: Value,
}

/// One page: its items in order and the cursor of the next page (`None` on the last).
pub(crate) struct Page {
    /// The items.
    pub items: Vec<Item>,
    /// The next page's `after` cursor.
    pub next: Option<Value>,
}

/// When a batch is full.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BatchLimits {
    /// Records per batch file.
    pub rows: u64,
    /// Records' JSONL size (uncompressed, newline included) per batch file; `None` = no limit.
    pub bytes: Option<u64>,
}

/// Commits batches of one stream.
pub(crate) struct Batches<'a> {
    /// The stream (collection) name.
    pub name: &'a str,
    /// The stream's columns.
    pub schema: &'a RecordSchema,
    /// Where batch files go.
    pub sink: &'a BatchWriter,
    /// When a batch is full.
    pub limits: BatchLimits,
    /// The state file.
    pub state_path: &'a Path,
    /// Progress hooks.
    pub observer: &'a dyn Observer,
    /// The log of exported ids, for strategies that reconcile deletions.
    pub emitted: Option<&'a mut EmittedIds>,
}

/// The stream's entry in `state`, which the run created before any reader started.
pub(crate) fn stream_mut<'s>(
    state: &'s mut State,
    name: &str,
) -> Result<&'s mut StreamState, ExportError> {
    state
        .streams
        .get_mut(name)
        .ok_or_else(|| ExportError::BadPage {
            collection: name.to_string(),
            detail: "the stream vanished from the state".into(),
        })
}

impl Batches<'_> {
    /// Reads pages with `fetch` from `cursor` on and commits every record. After each commit the
    /// stream's position is `position(Some(c))`, `c` being the cursor of the first uncommitted
    /// item, or `position(None)` once the last page is committed (also set, and saved, when
    /// the last page is empty).
    pub async fn drain<F, Fut, P>(
        &mut self,
        state: &mut State,
        mut cursor: Option<Value>,
        mut fetch: F,
        position: P,
    ) -> Result<(), ExportError>
    where
        F: FnMut(Option<Value>) -> Fut,
        Fut: Future<Output = Result<Page, ExportError>>,
        P: Fn(Option<&Value>) -> Position,
    {
        let mut buf: Vec<Record> = Vec::new();
        let mut buf_bytes: u64 = 0;
        loop {
            let page = fetch(cursor.take()).await?;
            crate::sync::crash_point("after-page");
            self.observer.page_read(self.name, page.items.len() as u64);
            let mut items = page.items.into_iter().peekable();
            while let Some(item) = items.next() {
                let Some(record) = item.record else { continue };
                if self.limits.bytes.is_some() {
                    buf_bytes += self.jsonl_len(&record);
                }
                buf.push(record);
                if self.full(buf.len(), buf_bytes) {
                    // The first item not in this batch: the page's next item, else the next page.
                    let pending = match items.peek() {
                        Some(next) => Some(&next.cursor),
                        None => page.next.as_ref(),
                    };
                    self.commit(state, std::mem::take(&mut buf), pending, &position)?;
                    buf_bytes = 0;
                }
            }
            match page.next {
                // Records still buffered wait for the next page; a crash before they are
                // committed resumes at the first of them (the position of the last commit).
                Some(next) => cursor = Some(next),
                None => {
                    if !buf.is_empty() {
                        self.commit(state, std::mem::take(&mut buf), None, &position)?;
                    }
                    let stream = stream_mut(state, self.name)?;
                    let end = position(None);
                    if stream.position != end {
                        stream.position = end;
                        state.save(self.state_path)?;
                    }
                    return Ok(());
                }
            }
        }
    }

    fn full(&self, rows: usize, bytes: u64) -> bool {
        rows as u64 >= self.limits.rows || self.limits.bytes.is_some_and(|b| bytes >= b)
    }

    /// The record's JSONL line length, newline included.
    fn jsonl_len(&self, record: &Record) -> u64 {
        let mut counter = ByteCounter(0);
        let json = RecordJson {
            schema: self.schema,
            record,
        };
        // Serializing export values into a counter cannot fail.
        let _ = serde_json::to_writer(&mut counter, &json);
        counter.0 + 1
    }

    /// Commits `batch` as the stream's next file; the position becomes the cursor of `pending`
    /// (the first record not in this batch) or, when none is pending, the end of the phase.
    fn commit<P>(
        &mut self,
        state: &mut State,
        records: Vec<Record>,
        pending: Option<&Value>,
        position: &P,
    ) -> Result<(), ExportError>
    where
        P: Fn(Option<&Value>) -> Position,
    {
        let stream = stream_mut(state, self.name)?;
        let file = self
            .sink
            .write_batch(self.name, stream.next_seq, self.schema, &records)?;
        self.observer
            .batch_committed(self.name, file.rows, file.bytes);
        if let Some(ids) = self.emitted.as_deref_mut() {
            stream.ids_len = Some(ids.append(records.iter().filter(|r| r.deleted_at.is_none()))?);
        }
        stream.next_seq += 1;
        stream.rows += file.rows;
        stream.files.push(file);
        stream.position = position(pending);
        crate::sync::crash_point("after-batch-rename");
        state.save(self.state_path)?;
        write_manifest(self.sink.root(), &state.committed_files())?;
        Ok(())
    }
}

/// Counts bytes written.
struct ByteCounter(u64);

impl std::io::Write for ByteCounter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 += buf.len() as u64;
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
