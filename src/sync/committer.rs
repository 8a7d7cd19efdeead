//! The one committer: the only code that changes or writes the state.
//!
//! Readers' pages arrive in order (partitions already joined, see [`super::drain`]); the
//! committer hands each page's records to the open batch of the output as they arrive: the
//! batch ([`Batch`]) encodes them on its own writer thread (tokio's blocking pool), fed through
//! a bounded channel of [`PAGES_IN_FLIGHT`] pages, so encoding and compression overlap with
//! reading and only the channel's backpressure makes the reader wait. When a batch is full (or
//! a phase ends) the writer finishes it (footer, `fsync`, rename), then the committer publishes
//! it to the output (manifest), then (for streams that keep one) records its ids in the
//! stream's id set, then saves the state through the checkpoint with the position of the first
//! item not committed. Of the open batch only its ids (with deletion flags, for the id set)
//! stay in memory here.
//!
//! For streams that track deletions the committer also keeps the state's list of expiring
//! documents ([`Expiring`]: ids whose latest committed version has a ttl) from the records it
//! commits, saved in the same state write as the batch; a version written at or after its
//! document's listed ttl (the document expired and was created again) is preceded by the
//! deletion record of that expiry, so every document's records stay in ts order.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::error::ExportError;
use super::expiring::{self, Expiring, Pending};
use super::observer::Observer;
use crate::export::{Deletion, Record, RecordJson, RecordSchema, TypedBatch};
use crate::fauna::Value;
use crate::id_set::{IdSet, SortedIds, Start};
use crate::output::{Batch, Checkpoint, Output, OutputError, Receipt, Sealed};
use crate::read::Page;
use crate::schema::Contract;
use crate::sink::typed::{FileSchema, TypedOutcome};
use crate::state::{Position, State, StreamState};

/// When a batch is full.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BatchLimits {
    /// Records per batch file.
    pub rows: u64,
    /// Records' JSONL size (uncompressed, newline included) per batch file; `None` = no limit.
    pub bytes: Option<u64>,
}

/// How a cursor (or the end of a phase, `None`) becomes the stream's position; the count is
/// how many of the page's items come before that cursor (all of them at the page's end).
pub type PositionFn = Arc<dyn Fn(Option<&Value>, usize) -> Position + Send + Sync>;

/// The database whose streams are being committed, in a run over a database tree
/// (`spec/trees.md`): the strategies name a stream by its collection, and the committer keeps
/// it under the stream name, `<path>/<collection>`; its records gain the database column.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DatabaseScope {
    /// What precedes a collection's name in its stream's name: `""` (the key's own database
    /// without trees) or the path and a `/`.
    pub prefix: String,
    /// The database column (name, value) records gain; `None` without trees.
    pub column: Option<(String, String)>,
    /// Databases merged (`merge_databases`): a collection's batches are files of the stream
    /// named by the collection, numbered by that stream's entry; the database's own entry keeps
    /// its position.
    pub merged: bool,
}

/// Everything the blocking side touches; moved to a blocking thread for each write.
struct Core {
    state: State,
    output: Box<dyn Output>,
    checkpoint: Box<dyn Checkpoint>,
    ids: HashMap<String, IdSet>,
}

/// Pages on their way to a batch's writer thread at most; a full channel makes the committer
/// (and so the reader) wait.
pub const PAGES_IN_FLIGHT: usize = 4;

/// What a batch's writer thread is told.
enum ToWriter {
    /// The next records of the batch.
    Records(Vec<Record>),
    /// All records were sent: finish the batch.
    Finish,
}

/// A batch being written on its writer thread; dropping `tx` without [`ToWriter::Finish`]
/// aborts it.
struct Writing {
    tx: mpsc::Sender<ToWriter>,
    task: JoinHandle<Result<Option<Sealed>, OutputError>>,
}

/// A stream's open batch.
struct Open {
    schema: Arc<RecordSchema>,
    /// Whether the stream keeps an id set (then `ids` collects the batch's ids).
    keeps_ids: bool,
    /// The batch's writer, from its first record on.
    writing: Option<Writing>,
    /// Records of the page at hand not yet sent to the writer.
    pending: Vec<Record>,
    /// The batch's ids and deletion flags (records without data), for the id set.
    ids: Vec<Record>,
    /// Deletions tracked: what the batch changes in the expiring documents.
    expiring: Option<Pending>,
    /// The database column's value (the schema's last column), in a database tree.
    database: Option<String>,
    /// The merged stream whose files the batches are (`DatabaseScope::merged`).
    group: Option<String>,
    rows: u64,
    bytes: u64,
    deletions: u64,
    detected: u64,
}

impl Open {
    fn new(schema: RecordSchema, keeps_ids: bool, keeps_expiring: bool) -> Self {
        let expiring = keeps_expiring.then(Pending::default);
        Open {
            schema: Arc::new(schema),
            keeps_ids,
            writing: None,
            pending: Vec::new(),
            ids: Vec::new(),
            expiring,
            database: None,
            group: None,
            rows: 0,
            bytes: 0,
            deletions: 0,
            detected: 0,
        }
    }

    /// Counts `record` into the batch and queues it for the writer.
    fn push(&mut self, record: Record) {
        self.rows += 1;
        if record.deletion.is_some() {
            self.deletions += 1;
        }
        if record.deletion == Some(Deletion::Detected) {
            self.detected += 1;
        }
        if self.keeps_ids {
            self.ids.push(Record {
                id: record.id.clone(),
                ts: record.ts,
                data: None,
                columns: Vec::new(),
                deletion: record.deletion,
                ttl: None,
            });
        }
        if let Some(expiring) = &mut self.expiring {
            expiring.record(&record);
        }
        self.pending.push(record);
    }

    /// The deletion record of the expiry that must precede `record` in the stream, if any
    /// ([`Pending::expired_before`]).
    fn expired_before(&self, committed: &Expiring, record: &Record) -> Option<Record> {
        let columns = self.schema.columns.len();
        self.expiring
            .as_ref()?
            .expired_before(committed, record, columns)
    }

    /// Forgets the batch; its writer (if any) is returned to be awaited.
    fn reset(&mut self) -> Option<Writing> {
        self.pending.clear();
        self.ids.clear();
        if let Some(expiring) = &mut self.expiring {
            expiring.take();
        }
        self.rows = 0;
        self.bytes = 0;
        self.deletions = 0;
        self.detected = 0;
        self.writing.take()
    }
}

/// What a committer committed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Totals {
    /// Batches.
    pub batches: u64,
    /// Records.
    pub rows: u64,
    /// Bytes.
    pub bytes: u64,
    /// Deletion records among the records.
    pub deletions: u64,
    /// Deletion records found by reconciliation among the deletion records.
    pub detected: u64,
    /// Typed files: values written to variant columns.
    pub variant_values: u64,
    /// Typed files: documents left out (`discard_row`) or with values left out of the typed
    /// columns (`discard_value`).
    pub discarded: u64,
}

/// The committer of one run.
pub struct Committer {
    core: Option<Core>,
    open: HashMap<String, Open>,
    /// Writers of discarded batches, still removing what they wrote.
    aborted: Vec<JoinHandle<Result<Option<Sealed>, OutputError>>>,
    limits: BatchLimits,
    totals: Totals,
    deadline: Option<std::time::Instant>,
    scope: DatabaseScope,
    /// The schema contract of typed streams.
    contract: Contract,
    /// Streams whose collection has a contract of its own.
    contracts: HashMap<String, Contract>,
}

impl Committer {
    /// A committer owning `state`, writing batches to `output` and the state to `checkpoint`.
    pub fn new(
        state: State,
        output: Box<dyn Output>,
        checkpoint: Box<dyn Checkpoint>,
        limits: BatchLimits,
    ) -> Self {
        Committer {
            core: Some(Core {
                state,
                output,
                checkpoint,
                ids: HashMap::new(),
            }),
            open: HashMap::new(),
            aborted: Vec::new(),
            limits,
            totals: Totals::default(),
            deadline: None,
            scope: DatabaseScope::default(),
            contract: Contract::default(),
            contracts: HashMap::new(),
        }
    }

    /// Stop with [`ExportError::Paused`] after the first batch committed past `deadline`.
    pub fn set_deadline(&mut self, deadline: Option<std::time::Instant>) {
        self.deadline = deadline;
    }

    /// The schema contract of streams with typed columns (default `evolve`).
    pub fn set_contract(&mut self, contract: Contract) {
        self.contract = contract;
    }

    /// The schema contract of `stream`'s typed columns, instead of the run's.
    pub fn set_stream_contract(&mut self, stream: &str, contract: Contract) {
        self.contracts.insert(stream.to_string(), contract);
    }

    /// What this committer committed so far.
    pub fn totals(&self) -> Totals {
        self.totals
    }

    /// The state as committed so far.
    pub fn state(&self) -> &State {
        // The core is away only during a blocking write, which `&self` cannot overlap.
        match &self.core {
            Some(c) => &c.state,
            None => unreachable_state(),
        }
    }

    /// Names streams within `scope` from now on: every stream name the committer is given is
    /// then a collection of that database.
    pub fn enter(&mut self, scope: DatabaseScope) {
        self.scope = scope;
    }

    /// The stream name of `collection` in the current scope.
    fn key(&self, collection: &str) -> String {
        format!("{}{collection}", self.scope.prefix)
    }

    /// The stream's committed entry.
    pub fn stream(&self, name: &str) -> Result<&StreamState, ExportError> {
        self.entry(&self.key(name))
    }

    /// The committed entry of the stream named `name` in full.
    fn entry(&self, name: &str) -> Result<&StreamState, ExportError> {
        self.state()
            .streams
            .get(name)
            .ok_or_else(|| ExportError::StreamMissing(name.to_string()))
    }

    /// Starts (or resumes) committing `stream` with `schema`; with `ids` (a directory), the
    /// stream keeps its id set there (opened at what the state recorded); with `expiring`, it
    /// keeps the list of its expiring documents in the state ([`Expiring`]), else it keeps
    /// none (a list left by an earlier run is dropped: no longer kept, it would go stale).
    pub async fn open_stream(
        &mut self,
        stream: &str,
        schema: RecordSchema,
        ids: Option<&Path>,
        expiring: bool,
    ) -> Result<(), ExportError> {
        let stream = &self.key(stream);
        let mut schema = schema;
        if let Some((column, _)) = &self.scope.column {
            schema
                .columns
                .push((column.clone(), crate::export::ColumnType::String));
        }
        if let Some(dir) = ids {
            let s = self.entry(stream)?;
            let recorded = s.ids;
            let start = match (s.ids, s.ids_len) {
                (Some(mark), _) => Start::Mark(mark),
                (None, Some(len)) => Start::Log(len),
                (None, None) => Start::New {
                    started: s.position != Position::Start,
                },
            };
            let set = IdSet::open(dir, stream, start)?;
            let mark = set.mark();
            self.core_mut()?.ids.insert(stream.to_string(), set);
            if recorded != Some(mark) {
                self.update_entry(stream, move |s| {
                    s.ids = Some(mark);
                    s.ids_len = None;
                })
                .await?;
            }
        }
        if !expiring && !self.entry(stream)?.expiring.is_empty() {
            self.update_entry(stream, |s| s.expiring = Expiring::default())
                .await?;
        }
        let mut open = Open::new(schema, ids.is_some(), expiring);
        open.database = self.scope.column.as_ref().map(|(_, v)| v.clone());
        if self.scope.merged {
            let collection = stream.strip_prefix(&self.scope.prefix).unwrap_or(stream);
            self.entry(collection)?;
            open.group = Some(collection.to_string());
        }
        let old = self.open.insert(stream.to_string(), open);
        if let Some(writing) = old.and_then(|mut o| o.reset()) {
            drop(writing.tx);
            self.aborted.push(writing.task);
        }
        Ok(())
    }

    /// The ids the stream's output holds, as one sorted file: merges the id set's delta
    /// (recording that in the state) and opens the result. `None` when the stream keeps no
    /// id set; an incomplete set is an error the caller words.
    pub async fn frozen_ids(&mut self, stream: &str) -> Result<Option<SortedIds>, ExportError> {
        let name = self.key(stream);
        let compacted = name.clone();
        let changed = self
            .blocking(move |core| {
                let name = compacted;
                let Some(set) = core.ids.get_mut(&name) else {
                    return Ok(None);
                };
                set.compact()?;
                let mark = set.mark();
                let s = core
                    .state
                    .streams
                    .get_mut(&name)
                    .ok_or_else(|| ExportError::StreamMissing(name.clone()))?;
                let changed = s.ids != Some(mark);
                s.ids = Some(mark);
                Ok(Some(changed))
            })
            .await?;
        let Some(changed) = changed else {
            return Ok(None);
        };
        if changed {
            self.save(&name, None).await?;
        }
        self.blocking(move |core| {
            let set = core
                .ids
                .get_mut(&name)
                .ok_or(ExportError::CommitterFailed)?;
            set.prune();
            Ok(Some(set.sorted()?))
        })
        .await
    }

    /// Takes one page of `stream`: its records go to the open batch's writer, and every batch
    /// that fills up is committed with the position of the first item not in it.
    pub async fn accept(
        &mut self,
        stream: &str,
        page: Page,
        position: &PositionFn,
        observer: &dyn Observer,
    ) -> Result<(), ExportError> {
        let stream = &self.key(stream);
        let mut items = page.items.into_iter().enumerate().peekable();
        while let Some((i, item)) = items.next() {
            let Some(record) = item.record else { continue };
            if let Some(expiry) = self.expiry_before(stream, &record)? {
                if self.add(stream, expiry).await? {
                    // The batch ends before this item.
                    let at = position(Some(&item.cursor.value()), i);
                    self.commit_open(stream, at, observer).await?;
                }
            }
            if self.add(stream, record).await? {
                // The first item not in this batch: the page's next item, else the next page.
                let pending = match items.peek() {
                    Some((_, next)) => Some(next.cursor.value()),
                    None => page.next.clone(),
                };
                let at = position(pending.as_ref(), i + 1);
                self.commit_open(stream, at, observer).await?;
            }
        }
        self.send_pending(stream).await
    }

    /// The deletion record of the expiry that must precede `record` in `stream`, if any: the
    /// document's latest version (committed, or in the open batch) has a ttl at or before
    /// `record`'s ts.
    fn expiry_before(&self, stream: &str, record: &Record) -> Result<Option<Record>, ExportError> {
        let open = self
            .open
            .get(stream)
            .ok_or_else(|| ExportError::StreamMissing(stream.to_string()))?;
        Ok(open.expired_before(&self.entry(stream)?.expiring, record))
    }

    /// Adds `record` to the stream's open batch (opening one if needed); true when the batch
    /// is now full.
    async fn add(&mut self, stream: &str, mut record: Record) -> Result<bool, ExportError> {
        let limits = self.limits;
        if self.open_mut(stream)?.writing.is_none() {
            self.begin(stream).await?;
        }
        let open = self.open_mut(stream)?;
        if let Some(database) = &open.database {
            // The database column is the schema's last; the reader's record has the others
            // (a deletion record made here may already have a null in its place).
            let others = open.schema.columns.len().saturating_sub(1);
            record.columns.resize(others, Value::Null);
            record.columns.push(Value::String(database.clone()));
        }
        if limits.bytes.is_some() {
            open.bytes += jsonl_len(&open.schema, &record);
        }
        open.push(record);
        Ok(open.rows >= limits.rows || limits.bytes.is_some_and(|b| open.bytes >= b))
    }

    /// Ends a phase of `stream`: commits the open batch (if any) and records `end` as the
    /// position (saving the state even when no batch was open).
    pub async fn finish(
        &mut self,
        stream: &str,
        end: Position,
        observer: &dyn Observer,
    ) -> Result<(), ExportError> {
        let stream = &self.key(stream);
        if self.open_mut(stream)?.rows == 0 {
            if self.entry(stream)?.position != end {
                self.update_entry(stream, move |s| s.position = end).await?;
            }
            return Ok(());
        }
        self.commit_open(stream, end, observer).await
    }

    /// Drops the open batch of `stream` (its records are read again from the committed
    /// position); its writer removes what it wrote before the next batch begins.
    pub fn discard(&mut self, stream: &str) -> Result<(), ExportError> {
        let stream = &self.key(stream);
        if let Some(writing) = self.open_mut(stream)?.reset() {
            drop(writing.tx);
            self.aborted.push(writing.task);
        }
        Ok(())
    }

    /// Changes the stream's entry with `f` and saves the state.
    pub async fn update<F>(&mut self, stream: &str, f: F) -> Result<(), ExportError>
    where
        F: FnOnce(&mut StreamState) + Send + 'static,
    {
        let name = self.key(stream);
        self.update_entry(&name, f).await
    }

    /// [`Committer::update`] of the stream named `stream` in full.
    async fn update_entry<F>(&mut self, stream: &str, f: F) -> Result<(), ExportError>
    where
        F: FnOnce(&mut StreamState) + Send + 'static,
    {
        let name = stream.to_string();
        self.blocking(move |core| {
            let s = core
                .state
                .streams
                .get_mut(&name)
                .ok_or_else(|| ExportError::StreamMissing(name.clone()))?;
            f(s);
            Ok(())
        })
        .await?;
        self.save(stream, None).await
    }

    /// Saves the state through the checkpoint: `stream` changed, by the batch of `receipt`.
    async fn save(&mut self, stream: &str, receipt: Option<&Receipt>) -> Result<(), ExportError> {
        let core = self.core_mut()?;
        Ok(core.checkpoint.save(&core.state, stream, receipt).await?)
    }

    /// Hands the state back at the end of the run.
    pub fn into_state(self) -> State {
        match self.core {
            Some(c) => c.state,
            None => State::new(),
        }
    }

    /// Opens the stream's next batch and starts its writer thread.
    async fn begin(&mut self, stream: &str) -> Result<(), ExportError> {
        // A discarded batch of the same seq must be gone before its file is made again.
        for task in std::mem::take(&mut self.aborted) {
            let _ = task.await;
        }
        let open = self.open_mut(stream)?;
        let mut schema = open.schema.clone();
        // A merged database's batches are files of the merged stream, in its sequence.
        let name = open.group.clone().unwrap_or_else(|| stream.to_string());
        if let Some(typed) = &self.entry(stream)?.typed {
            // The batch starts from the plan as committed (the same on a resumed run).
            schema = Arc::new(RecordSchema {
                typed: Some(TypedBatch {
                    plan: typed.plan.clone(),
                    version: typed.version,
                    contract: self.contracts.get(stream).copied().unwrap_or(self.contract),
                }),
                ..(*schema).clone()
            });
        }
        let batch = self
            .blocking(move |core| {
                let seq = core
                    .state
                    .streams
                    .get(&name)
                    .ok_or_else(|| ExportError::StreamMissing(name.clone()))?
                    .next_seq;
                Ok(core.output.begin(&name, seq, schema)?)
            })
            .await?;
        let (tx, rx) = mpsc::channel(PAGES_IN_FLIGHT);
        let task = tokio::task::spawn_blocking(move || write_batch(batch, rx));
        self.open_mut(stream)?.writing = Some(Writing { tx, task });
        Ok(())
    }

    /// Sends the records queued for the stream's writer (waiting while its channel is full).
    async fn send_pending(&mut self, stream: &str) -> Result<(), ExportError> {
        let open = self.open_mut(stream)?;
        if open.pending.is_empty() {
            return Ok(());
        }
        let records = std::mem::take(&mut open.pending);
        let writing = open.writing.as_ref().ok_or(ExportError::CommitterFailed)?;
        if writing.tx.send(ToWriter::Records(records)).await.is_ok() {
            return Ok(());
        }
        // The writer stopped: it failed.
        let writing = self
            .open_mut(stream)?
            .writing
            .take()
            .ok_or(ExportError::CommitterFailed)?;
        match join(writing).await {
            Err(e) => Err(e),
            Ok(_) => Err(ExportError::CommitterFailed),
        }
    }

    async fn commit_open(
        &mut self,
        stream: &str,
        position: Position,
        observer: &dyn Observer,
    ) -> Result<(), ExportError> {
        self.send_pending(stream).await?;
        let open = self.open_mut(stream)?;
        let ids = std::mem::take(&mut open.ids);
        let expiring = open.expiring.as_mut().map(Pending::take);
        let (deletions, detected) = (open.deletions, open.detected);
        let writing = open.reset().ok_or(ExportError::CommitterFailed)?;
        // A failed send means the writer stopped; its result says why.
        let _ = writing.tx.send(ToWriter::Finish).await;
        let mut sealed = join(writing).await?.ok_or(ExportError::CommitterFailed)?;
        // The plan and schema go to the state (not to the output, which never serializes them).
        let typed = sealed
            .file
            .as_mut()
            .and_then(|f| Some((f.schema.clone()?, f.typed.take()?)));
        let receipt = self.core_mut()?.output.publish(sealed).await?;
        let name = stream.to_string();
        let (receipt, schema) = self
            .blocking(move |core| core.record(&name, receipt, typed, ids, expiring, position))
            .await?;
        if let Some(schema) = schema {
            self.totals.variant_values += schema.variant_values;
            self.totals.discarded += schema.discarded_rows + schema.discarded_values;
        }
        self.save(stream, Some(&receipt)).await?;
        if let Some(set) = self.core_mut()?.ids.get_mut(stream) {
            set.prune();
        }
        self.totals.batches += 1;
        self.totals.rows += receipt.rows;
        self.totals.bytes += receipt.bytes;
        self.totals.deletions += deletions;
        self.totals.detected += detected;
        observer.batch_committed(stream, receipt.rows, receipt.bytes);
        if self
            .deadline
            .is_some_and(|d| std::time::Instant::now() >= d)
        {
            return Err(ExportError::Paused);
        }
        Ok(())
    }

    /// Runs `f` on the core on the blocking pool and puts the core back.
    async fn blocking<T, F>(&mut self, f: F) -> Result<T, ExportError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Core) -> Result<T, ExportError> + Send + 'static,
    {
        let mut core = self.core.take().ok_or(ExportError::CommitterFailed)?;
        let (core, result) = tokio::task::spawn_blocking(move || {
            let r = f(&mut core);
            (core, r)
        })
        .await
        .map_err(|_| ExportError::CommitterFailed)?;
        self.core = Some(core);
        result
    }

    fn core_mut(&mut self) -> Result<&mut Core, ExportError> {
        self.core.as_mut().ok_or(ExportError::CommitterFailed)
    }

    fn open_mut(&mut self, stream: &str) -> Result<&mut Open, ExportError> {
        self.open
            .get_mut(stream)
            .ok_or_else(|| ExportError::StreamMissing(stream.to_string()))
    }
}

impl Core {
    /// After the output published a batch (`receipt`), and before the state is saved: the id
    /// set, then the state's entry — output, id set, state, each durable before the next.
    /// `ids` are the batch's records without their data; `expiring`, what they change in the
    /// stream's expiring documents (saved with the state).
    fn record(
        &mut self,
        stream: &str,
        receipt: Receipt,
        typed: Option<(FileSchema, Box<TypedOutcome>)>,
        ids: Vec<Record>,
        expiring: Option<Vec<(String, Option<i64>)>>,
        position: Position,
    ) -> Result<(Receipt, Option<FileSchema>), ExportError> {
        let ids = match self.ids.get_mut(stream) {
            Some(set) => Some(set.record(&ids)?),
            None => None,
        };
        crate::crash::point("after-batch-rename");
        self.state.manifest_len = receipt.mark;
        let s = self
            .state
            .streams
            .get_mut(stream)
            .ok_or_else(|| ExportError::StreamMissing(stream.to_string()))?;
        s.next_seq += 1;
        s.rows += receipt.rows;
        s.position = position;
        if ids.is_some() {
            s.ids = ids;
        }
        if let Some(changes) = expiring {
            expiring::apply(&mut s.expiring, changes);
        }
        if receipt.stream != stream {
            // A merged stream's file: its entry numbers the files, in the same state write.
            let merged = self
                .state
                .streams
                .get_mut(&receipt.stream)
                .ok_or_else(|| ExportError::StreamMissing(receipt.stream.clone()))?;
            merged.next_seq = merged.next_seq.max(receipt.seq + 1);
            merged.rows += receipt.rows;
        }
        let s = self
            .state
            .streams
            .get_mut(stream)
            .ok_or_else(|| ExportError::StreamMissing(stream.to_string()))?;
        let mut schema = None;
        if let (Some(t), Some((file, outcome))) = (&mut s.typed, typed) {
            t.version = file.version;
            t.variants = file.variants;
            t.plan = outcome.plan;
            t.observed.merge(&outcome.observed);
            schema = Some(file);
        }
        Ok((receipt, schema))
    }
}

/// A batch's writer thread: writes the records it is sent; finishes the batch when told,
/// or drops it (removing what it wrote) when the channel closes first.
fn write_batch(
    mut batch: Box<dyn Batch>,
    mut rx: mpsc::Receiver<ToWriter>,
) -> Result<Option<Sealed>, OutputError> {
    while let Some(message) = rx.blocking_recv() {
        match message {
            ToWriter::Records(records) => batch.write(&records)?,
            ToWriter::Finish => return batch.finish().map(Some),
        }
    }
    Ok(None)
}

/// Waits for a writer thread's result.
async fn join(writing: Writing) -> Result<Option<Sealed>, ExportError> {
    drop(writing.tx);
    match writing.task.await {
        Ok(result) => Ok(result?),
        Err(_) => Err(ExportError::CommitterFailed),
    }
}

/// The record's JSONL line length, newline included.
fn jsonl_len(schema: &RecordSchema, record: &Record) -> u64 {
    let mut line = Vec::new();
    RecordJson { schema, record }.write_json(&mut line);
    line.len() as u64 + 1
}

fn unreachable_state() -> &'static State {
    static EMPTY: std::sync::OnceLock<State> = std::sync::OnceLock::new();
    EMPTY.get_or_init(State::new)
}

#[cfg(test)]
#[path = "committer_tests.rs"]
mod tests;
