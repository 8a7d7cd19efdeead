//! The committer's list of expiring documents: kept from the committed records only, saved
//! with the batch that changed it, and an expiry put before the version that re-creates its
//! document.

use std::sync::{Arc, Mutex};

use super::*;
use crate::export::{Deletion, Record, RecordSchema};
use crate::fauna::{encode, Value};
use crate::output::{Batch, Checkpoint, Output, OutputError, Receipt, Sealed};
use crate::read::{Item, Page};
use crate::state::{State, StateError, StreamState};
use crate::sync::Quiet;

/// A committed record as the test sees it: id, ts, deletion.
type Row = (String, i64, Option<Deletion>);

/// Batches kept in memory, each a list of rows.
#[derive(Clone, Default)]
struct Memory(Arc<Mutex<Vec<Vec<Row>>>>);

#[async_trait::async_trait]

impl Output for Memory {
    fn begin(
        &mut self,
        stream: &str,
        seq: u64,
        _: Arc<RecordSchema>,
    ) -> Result<Box<dyn Batch>, OutputError> {
        Ok(Box::new(MemoryBatch {
            stream: stream.into(),
            seq,
            rows: Vec::new(),
            to: self.0.clone(),
        }))
    }

    async fn publish(&mut self, sealed: Sealed) -> Result<Receipt, OutputError> {
        Ok(Receipt {
            stream: sealed.stream,
            seq: sealed.seq,
            rows: sealed.rows,
            bytes: 0,
            location: None,
            mark: self.0.lock().unwrap().len() as u64,
        })
    }
}

struct MemoryBatch {
    stream: String,
    seq: u64,
    rows: Vec<Row>,
    to: Arc<Mutex<Vec<Vec<Row>>>>,
}

impl Batch for MemoryBatch {
    fn write(&mut self, records: &[Record]) -> Result<(), OutputError> {
        self.rows
            .extend(records.iter().map(|r| (r.id.clone(), r.ts, r.deletion)));
        Ok(())
    }

    fn finish(self: Box<Self>) -> Result<Sealed, OutputError> {
        let rows = self.rows.len() as u64;
        self.to.lock().unwrap().push(self.rows);
        Ok(Sealed {
            stream: self.stream,
            seq: self.seq,
            rows,
            bytes: 0,
            file: None,
        })
    }
}

/// Every saved state of stream `s`.
#[derive(Clone, Default)]
struct Saved(Arc<Mutex<Vec<StreamState>>>);

#[async_trait::async_trait]

impl Checkpoint for Saved {
    async fn save(
        &mut self,
        s: &State,
        stream: &str,
        _: Option<&Receipt>,
    ) -> Result<(), StateError> {
        self.0.lock().unwrap().push(s.streams[stream].clone());
        Ok(())
    }
}

impl Saved {
    fn last(&self) -> StreamState {
        self.0.lock().unwrap().last().unwrap().clone()
    }

    /// Each save's list, as `(id, ttl)` in ttl order.
    fn lists(&self) -> Vec<Vec<(String, i64)>> {
        self.0
            .lock()
            .unwrap()
            .iter()
            .map(|s| entries(&s.expiring))
            .collect()
    }
}

fn entries(list: &Expiring) -> Vec<(String, i64)> {
    list.due(i64::MAX)
        .map(|(t, id)| (id.to_string(), t))
        .collect()
}

fn schema(deletions: bool) -> RecordSchema {
    RecordSchema {
        data_column: false,
        columns: vec![],
        deletion_column: deletions.then(|| "deleted_at".into()),
        detected_column: None,
        typed: None,
    }
}

/// A committer of stream `s` starting from `stream`, batches of `rows`.
async fn committer(stream: StreamState, rows: u64, deletions: bool) -> (Committer, Memory, Saved) {
    let mut state = State::new();
    state.streams.insert("s".into(), stream);
    let (out, saved) = (Memory::default(), Saved::default());
    let limits = BatchLimits { rows, bytes: None };
    let mut committer = Committer::new(
        state,
        Box::new(out.clone()),
        Box::new(saved.clone()),
        limits,
    );
    committer
        .open_stream("s", schema(deletions), None, deletions)
        .await
        .unwrap();
    (committer, out, saved)
}

fn version(id: &str, ts: i64, ttl: Option<i64>) -> Record {
    Record {
        id: id.into(),
        ts,
        data: None,
        columns: vec![],
        deletion: None,
        ttl,
    }
}

/// The records as one page, each item's cursor its index.
fn page(records: Vec<Record>) -> Page {
    let items = records
        .into_iter()
        .enumerate()
        .map(|(i, r)| Item {
            record: Some(r),
            cursor: Value::Int(i as i64).into(),
        })
        .collect();
    Page { items, next: None }
}

fn position() -> PositionFn {
    Arc::new(|c: Option<&Value>, _: usize| match c {
        Some(c) => Position::After { cursor: encode(c) },
        None => Position::Done,
    })
}

fn row(id: &str, ts: i64, deletion: Option<Deletion>) -> Row {
    (id.to_string(), ts, deletion)
}

fn list(e: &[(&str, i64)]) -> Vec<(String, i64)> {
    e.iter().map(|(id, t)| (id.to_string(), *t)).collect()
}

#[tokio::test]
async fn the_list_follows_the_committed_records_and_is_saved_with_their_batch() {
    let (mut c, out, saved) = committer(StreamState::new(0, "jsonl"), 2, true).await;
    let records = vec![
        version("1", 10, Some(50)),
        version("2", 11, Some(60)),
        version("3", 12, None),
        // A later version with a later ttl replaces the entry.
        version("1", 20, Some(90)),
        // A deletion removes it.
        Record::deletion("2".into(), 30, 0, Deletion::Observed),
        // A version without ttl removes it too.
        version("4", 31, Some(95)),
        version("4", 32, None),
    ];
    c.accept("s", page(records), &position(), &Quiet)
        .await
        .unwrap();
    // Three full batches are committed; the open one's changes are not in the state yet.
    assert_eq!(
        saved.lists(),
        [
            list(&[("1", 50), ("2", 60)]),
            list(&[("2", 60), ("1", 90)]),
            list(&[("1", 90), ("4", 95)]),
        ]
    );
    assert_eq!(
        entries(&c.stream("s").unwrap().expiring),
        list(&[("1", 90), ("4", 95)])
    );
    c.finish("s", Position::Done, &Quiet).await.unwrap();
    assert_eq!(saved.last().expiring, c.stream("s").unwrap().expiring);
    assert_eq!(entries(&saved.last().expiring), list(&[("1", 90)]));
    assert_eq!(out.0.lock().unwrap().len(), 4);
}

#[tokio::test]
async fn a_version_written_at_or_after_the_listed_ttl_comes_after_the_expiry() {
    let mut start = StreamState::new(0, "jsonl");
    start.expiring.set("7", Some(100));
    start.expiring.set("8", Some(100));
    let (mut c, out, saved) = committer(start, 10, true).await;
    let records = vec![
        // 8 was updated before its ttl: no expiry.
        version("8", 99, Some(300)),
        // 7 expired at 100 and was created again at 150 (with a new ttl).
        version("7", 150, Some(200)),
    ];
    c.accept("s", page(records), &position(), &Quiet)
        .await
        .unwrap();
    c.finish("s", Position::Done, &Quiet).await.unwrap();
    assert_eq!(
        *out.0.lock().unwrap(),
        [vec![
            row("8", 99, None),
            row("7", 100, Some(Deletion::Observed)),
            row("7", 150, None)
        ]]
    );
    assert_eq!(
        entries(&saved.last().expiring),
        list(&[("7", 200), ("8", 300)])
    );
    assert_eq!(c.totals().deletions, 1);
}

#[tokio::test]
async fn an_expiry_that_fills_a_batch_resumes_at_the_version_without_repeating() {
    let mut start = StreamState::new(0, "jsonl");
    start.expiring.set("7", Some(100));
    let records = || vec![version("6", 90, None), version("7", 150, None)];
    let (mut c, out, saved) = committer(start, 2, true).await;
    c.accept("s", page(records()), &position(), &Quiet)
        .await
        .unwrap();
    // The batch [6, expiry of 7] is committed at item 1 (7's version, not yet committed).
    let first = saved.last();
    assert_eq!(
        first.position,
        Position::After {
            cursor: encode(&Value::Int(1))
        }
    );
    assert!(first.expiring.is_empty());
    assert_eq!(
        out.0.lock().unwrap()[0],
        [row("6", 90, None), row("7", 100, Some(Deletion::Observed))]
    );
    // A run resumed from that state reads item 1 again: no second expiry.
    let (mut resumed, out, _) = committer(first, 2, true).await;
    let mut rest = page(records());
    rest.items.remove(0);
    resumed
        .accept("s", rest, &position(), &Quiet)
        .await
        .unwrap();
    resumed.finish("s", Position::Done, &Quiet).await.unwrap();
    assert_eq!(*out.0.lock().unwrap(), [vec![row("7", 150, None)]]);
}

#[tokio::test]
async fn a_discarded_batch_changes_nothing_in_the_list() {
    let mut start = StreamState::new(0, "jsonl");
    start.expiring.set("1", Some(50));
    let (mut c, _, saved) = committer(start, 10, true).await;
    let records = vec![version("1", 10, None), version("2", 11, Some(70))];
    c.accept("s", page(records), &position(), &Quiet)
        .await
        .unwrap();
    c.discard("s").unwrap();
    // The records are read again: the open batch saw its own changes, then forgot them.
    let again = vec![version("1", 60, None)];
    c.accept("s", page(again), &position(), &Quiet)
        .await
        .unwrap();
    c.finish("s", Position::Done, &Quiet).await.unwrap();
    assert!(saved.last().expiring.is_empty());
    assert_eq!(c.totals().deletions, 1, "1 expired at 50, before 60");
}

#[tokio::test]
async fn without_tracked_deletions_no_list_is_kept() {
    let (mut c, out, saved) = committer(StreamState::new(0, "jsonl"), 10, false).await;
    let records = vec![version("1", 10, Some(50)), version("1", 60, None)];
    c.accept("s", page(records), &position(), &Quiet)
        .await
        .unwrap();
    c.finish("s", Position::Done, &Quiet).await.unwrap();
    assert!(saved.last().expiring.is_empty());
    assert_eq!(
        *out.0.lock().unwrap(),
        [vec![row("1", 10, None), row("1", 60, None)]]
    );
}

#[tokio::test]
async fn a_stream_opened_without_the_list_drops_one_left_by_an_earlier_run() {
    // E.g. an Airbyte full refresh given an incremental read's state: the list would go stale.
    let mut start = StreamState::new(0, "jsonl");
    start.expiring.set("1", Some(50));
    let (c, _, saved) = committer(start, 10, false).await;
    assert!(c.stream("s").unwrap().expiring.is_empty());
    assert!(saved.last().expiring.is_empty());
}
