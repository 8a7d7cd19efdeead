//! Draining readers into the committer, two ways:
//! - [`drain`]: partitions joined in partition order, each with a small read-ahead, so a slow
//!   partition holds back only its successors' commits (never their reads beyond the
//!   read-ahead) and the committed position always names one partition's exact next item.
//!   For reads whose order is a promise (a window's ts order).
//! - [`drain_concurrent`]: ranges read at once, each up to two chunks ahead, committed in
//!   turns of [`CHUNK_ITEMS`] items, so the output never depends on timing; the position
//!   records every range's next item and the rotation ([`Rotation`]).

use std::sync::Arc;

use futures_util::future::join_all;
use tokio::sync::{mpsc, Semaphore};

use super::committer::{Committer, PositionFn};
use super::error::ExportError;
use super::observer::Observer;
use super::stream::stored_cursor;
use crate::fauna::{encode, Value};
use crate::read::{Item, Page, ReadError, Reader};
use crate::state::{Position, Rotation};

/// Pages each partition may read ahead of the committer.
const READ_AHEAD: usize = 2;

/// One part of a stream: a reader, where it starts, and how its cursors become positions
/// (`None`, the end of the partition, must name the start of the next one).
pub struct Partition<R> {
    /// The reader.
    pub reader: R,
    /// Its first `after` cursor (`None` = the reader's start).
    pub start: Option<Value>,
    /// Cursor → position.
    pub position: PositionFn,
}

/// Reads every partition to its end and commits all records in partition order; then
/// records `end` as the stream's position. On an error the open batch is dropped (the
/// position stays at the last commit).
pub async fn drain<R: Reader>(
    committer: &mut Committer,
    stream: &str,
    partitions: Vec<Partition<R>>,
    end: Position,
    observer: &dyn Observer,
) -> Result<(), ExportError> {
    let mut senders = Vec::with_capacity(partitions.len());
    let mut receivers = Vec::with_capacity(partitions.len());
    let mut positions = Vec::with_capacity(partitions.len());
    for p in &partitions {
        let (tx, rx) = mpsc::channel::<Result<Page, ReadError>>(READ_AHEAD);
        senders.push(tx);
        receivers.push(rx);
        positions.push(p.position.clone());
    }
    let producers = join_all(
        partitions
            .into_iter()
            .zip(senders)
            .map(|(p, tx)| async move {
                let mut cursor = p.start;
                loop {
                    let page = p.reader.page(cursor.take()).await;
                    let next = page.as_ref().ok().and_then(|pg| pg.next.clone());
                    let last = next.is_none();
                    if tx.send(page).await.is_err() || last {
                        return;
                    }
                    cursor = next;
                }
            }),
    );
    let consumer = async {
        for (mut rx, position) in receivers.into_iter().zip(positions) {
            while let Some(page) = rx.recv().await {
                let page = page?;
                crate::crash::point("after-page");
                observer.page_read(stream, page.items.len() as u64);
                committer.accept(stream, page, &position, observer).await?;
            }
        }
        committer.finish(stream, end, observer).await
    };
    let (_, result) = tokio::join!(producers, consumer);
    if result.is_err() {
        committer.discard(stream)?;
    }
    result
}

/// Documents a range contributes per turn of a [`drain_concurrent`] read: ranges of at most
/// this many documents come out in id order, exactly as one sequential read.
pub const CHUNK_ITEMS: u64 = 1000;

/// Items a range may read ahead of its turn: two chunks, so every range reads on while the
/// others' chunks are committed.
const AHEAD_ITEMS: u32 = 2 * CHUNK_ITEMS as u32;

/// How a [`Rotation`] becomes the stream's position: the phase's end once every range is
/// done, else the strategy's position of the ranges.
#[derive(Clone)]
pub struct RotationPosition {
    end: Position,
    ranges: Arc<dyn Fn(Rotation) -> Position + Send + Sync>,
}

impl RotationPosition {
    /// `end` once every range is done, else `ranges` of the rotation.
    pub fn new(
        end: impl Into<Position>,
        ranges: impl Fn(Rotation) -> Position + Send + Sync + 'static,
    ) -> Self {
        RotationPosition {
            end: end.into(),
            ranges: Arc::new(ranges),
        }
    }

    /// The position of `rotation`.
    pub fn of(&self, rotation: Rotation) -> Position {
        match rotation.done() {
            true => self.end.clone(),
            false => (self.ranges)(rotation),
        }
    }
}

impl Rotation {
    /// Whether every range is done.
    pub fn done(&self) -> bool {
        self.ranges.iter().all(|p| p.done)
    }

    /// Counts `n` more items of range `i` (now at `cursor`; `None` = finished) and passes the
    /// turn on when its chunk is full or the range is done.
    fn advance(&mut self, i: usize, n: u64, cursor: Option<String>) {
        self.ranges[i].done = cursor.is_none();
        self.ranges[i].cursor = cursor;
        self.taken += n;
        if self.taken >= CHUNK_ITEMS || self.ranges[i].done {
            self.pass_turn();
        }
    }

    /// The turn goes to the next range not done.
    fn pass_turn(&mut self) {
        let n = self.ranges.len();
        self.taken = 0;
        for step in 1..=n {
            let j = (self.turn + step) % n;
            if !self.ranges[j].done {
                self.turn = j;
                return;
            }
        }
    }
}

/// A page a range's producer read, with the read-ahead permits it holds.
type Fetched = (u32, Result<Page, ReadError>);

/// One range's pages as the consumer sees them.
struct Lane {
    rx: mpsc::Receiver<Fetched>,
    ahead: Arc<Semaphore>,
    items: std::collections::VecDeque<Item>,
    /// The buffered page's `next` cursor and the permits it holds.
    next: Option<Value>,
    held: u32,
    /// The last page has been received.
    last: bool,
}

impl Drop for Lane {
    /// Releases a producer waiting for read-ahead room: the consumer is gone (done, or
    /// stopped by an error).
    fn drop(&mut self) {
        self.ahead.close();
    }
}

impl Lane {
    /// Buffers the next page if the buffer is empty and the range has more.
    async fn fill(&mut self) -> Result<(), ReadError> {
        while self.items.is_empty() && !self.last {
            self.ahead
                .add_permits(std::mem::take(&mut self.held) as usize);
            let Some((held, page)) = self.rx.recv().await else {
                // The producer stopped without a last page: only after a failed send.
                self.last = true;
                return Ok(());
            };
            let page = page?;
            self.held = held;
            self.last = page.next.is_none();
            self.next = page.next;
            self.items = page.items.into();
        }
        Ok(())
    }

    /// Gives back the read-ahead room of `n` items taken from the buffer (the page's room is
    /// returned with its first items: a page larger than the read-ahead held all of it).
    fn release(&mut self, n: usize) {
        let back = self.held.min(u32::try_from(n).unwrap_or(u32::MAX));
        self.held -= back;
        self.ahead.add_permits(back as usize);
    }

    /// The cursor of the range's next unread item (`None`: the range is finished).
    fn pending(&self) -> Option<Value> {
        match self.items.front() {
            Some(item) => Some(item.cursor.value()),
            None => self.next.clone(),
        }
    }
}

/// Reads every range concurrently, each up to two chunks ahead, and commits them in turns of
/// [`CHUNK_ITEMS`] items, from `rotation`: the records come out in the same order however the
/// reads are timed or the run interrupted, and the position (`position_of` the rotation: its
/// end once every range is done) records every range's progress and the rotation.
/// On an error the open batch is dropped (the position stays at the last commit).
pub async fn drain_concurrent<R: Reader>(
    committer: &mut Committer,
    stream: &str,
    ranges: Vec<R>,
    rotation: Rotation,
    position_of: RotationPosition,
    observer: &dyn Observer,
) -> Result<(), ExportError> {
    let mut lanes = Vec::with_capacity(ranges.len());
    let mut producers = Vec::with_capacity(ranges.len());
    for (reader, part) in ranges.into_iter().zip(&rotation.ranges) {
        let (tx, rx) = mpsc::channel::<Fetched>(AHEAD_ITEMS as usize);
        let ahead = Arc::new(Semaphore::new(AHEAD_ITEMS as usize));
        let start = match &part.cursor {
            Some(c) => Some(stored_cursor(stream, c)?),
            None => None,
        };
        let done = part.done;
        lanes.push(Lane {
            rx,
            ahead: ahead.clone(),
            items: Default::default(),
            next: None,
            held: 0,
            last: done,
        });
        producers.push(async move {
            if done {
                return;
            }
            let mut cursor = start;
            // Room is taken before a page is asked for: for as many items as the last page
            // held, up to one chunk, so the next page is on its way as soon as the range is
            // down to its last chunk; what the page holds beyond that is settled when it comes.
            let mut expect: u32 = 1;
            loop {
                let Ok(room) = ahead.acquire_many(expect).await else {
                    return;
                };
                room.forget();
                let page = reader.page(cursor.take()).await;
                let (next, n) = match &page {
                    Ok(p) => (p.next.clone(), p.items.len()),
                    Err(_) => (None, 0),
                };
                // A page larger than the read-ahead holds all of it.
                let want = u32::try_from(n).unwrap_or(AHEAD_ITEMS).min(AHEAD_ITEMS);
                if want > expect {
                    let Ok(more) = ahead.acquire_many(want - expect).await else {
                        return;
                    };
                    more.forget();
                } else {
                    ahead.add_permits((expect - want) as usize);
                }
                if tx.send((want, page)).await.is_err() || next.is_none() {
                    return;
                }
                expect = want.clamp(1, CHUNK_ITEMS as u32);
                cursor = next;
            }
        });
    }
    let commits = &mut *committer;
    // Owns the lanes: when it stops (on an error too), the producers' sends fail and they end.
    let consumer = async move {
        let mut rotation = rotation;
        if rotation.ranges.get(rotation.turn).is_none_or(|p| p.done) {
            rotation.pass_turn();
        }
        while rotation.ranges.iter().any(|p| !p.done) {
            let i = rotation.turn;
            let lane = &mut lanes[i];
            lane.fill().await?;
            let room = (CHUNK_ITEMS - rotation.taken) as usize;
            let take = room.min(lane.items.len());
            let items: Vec<Item> = lane.items.drain(..take).collect();
            lane.release(take);
            let next = lane.pending();
            crate::crash::point("after-page");
            observer.page_read(stream, items.len() as u64);
            // A batch filled inside this chunk records the rotation at its pending item, the
            // `n`-th of the chunk.
            let before = rotation.clone();
            let of = position_of.clone();
            let position: PositionFn = Arc::new(move |c: Option<&Value>, n: usize| {
                let mut at = before.clone();
                at.advance(i, n as u64, c.map(encode));
                of.of(at)
            });
            let page = Page {
                items,
                next: next.clone(),
            };
            commits.accept(stream, page, &position, observer).await?;
            rotation.advance(i, take as u64, next.as_ref().map(encode));
        }
        commits
            .finish(stream, position_of.of(rotation), observer)
            .await
    };
    let (_, result) = tokio::join!(join_all(producers), consumer);
    if result.is_err() {
        committer.discard(stream)?;
    }
    result
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    use super::*;
    use crate::export::{Record, RecordSchema};
    use crate::output::{Batch, Checkpoint, Output, OutputError, Receipt, Sealed};
    use crate::read::Item;
    use crate::state::{RangePosition, State, StateError, StreamState};
    use crate::sync::Quiet;

    /// An export's rotation position: [`Position::Parts`], then [`Position::Done`].
    fn parts_or_done() -> RotationPosition {
        RotationPosition::new(Position::Done, |r| Position::Parts { rotation: r })
    }

    /// Ids `from..to` in pages of 3, each page delayed by `delay_ms`.
    struct Slow {
        from: i64,
        to: i64,
        delay_ms: u64,
    }

    /// Document `i` (id and ts `i`, no data) with the cursor `i`.
    fn int_item(i: i64) -> Item {
        Item {
            record: Some(Record {
                id: i.to_string(),
                ts: i,
                data: None,
                columns: vec![],
                deletion: None,
                ttl: None,
            }),
            cursor: Value::Int(i).into(),
        }
    }

    impl Reader for Slow {
        async fn page(&self, after: Option<Value>) -> Result<Page, ReadError> {
            tokio::time::sleep(Duration::from_millis(self.delay_ms)).await;
            let start = after.and_then(|v| v.as_i64()).unwrap_or(self.from);
            let end = (start + 3).min(self.to);
            let items = (start..end).map(int_item).collect();
            Ok(Page {
                items,
                next: (end < self.to).then_some(Value::Int(end)),
            })
        }
    }

    #[derive(Clone, Default)]
    struct Memory(Arc<Mutex<Vec<Vec<String>>>>);

    #[async_trait::async_trait]

    impl Output for Memory {
        fn begin(
            &mut self,
            stream: &str,
            seq: u64,
            _: Arc<RecordSchema>,
        ) -> Result<Box<dyn Batch>, OutputError> {
            Ok(Box::new(MemoryBatch(
                stream.into(),
                seq,
                Vec::new(),
                self.0.clone(),
            )))
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

    /// Stream, seq, the ids written, and where they go when finished.
    struct MemoryBatch(String, u64, Vec<String>, Arc<Mutex<Vec<Vec<String>>>>);

    impl Batch for MemoryBatch {
        fn write(&mut self, records: &[Record]) -> Result<(), OutputError> {
            self.2.extend(records.iter().map(|r| r.id.clone()));
            Ok(())
        }

        fn finish(self: Box<Self>) -> Result<Sealed, OutputError> {
            let rows = self.2.len() as u64;
            self.3.lock().unwrap().push(self.2);
            Ok(Sealed {
                stream: self.0,
                seq: self.1,
                rows,
                bytes: 0,
                file: None,
            })
        }
    }

    #[derive(Clone, Default)]
    struct Saved(Arc<Mutex<Vec<Position>>>);

    #[async_trait::async_trait]

    impl Checkpoint for Saved {
        async fn save(
            &mut self,
            s: &State,
            stream: &str,
            _: Option<&Receipt>,
        ) -> Result<(), StateError> {
            self.0
                .lock()
                .unwrap()
                .push(s.streams[stream].position.clone());
            Ok(())
        }
    }

    /// A committer of stream `s` into memory, batches of `rows`.
    async fn committer(rows: u64) -> (Committer, Memory, Saved) {
        let mut state = State::new();
        state
            .streams
            .insert("s".into(), StreamState::new(0, "jsonl"));
        let (out, saved) = (Memory::default(), Saved::default());
        let limits = crate::sync::BatchLimits { rows, bytes: None };
        let mut committer = Committer::new(
            state,
            Box::new(out.clone()),
            Box::new(saved.clone()),
            limits,
        );
        let schema = RecordSchema {
            data_column: false,
            columns: vec![],
            deletion_column: None,
            detected_column: None,
            typed: None,
        };
        committer
            .open_stream("s", schema, None, false)
            .await
            .unwrap();
        (committer, out, saved)
    }

    #[tokio::test]
    async fn partitions_finishing_out_of_order_are_committed_in_partition_order() {
        let (mut committer, out, saved) = committer(4).await;
        // Partition 0 is slow, 2 is fastest: their pages arrive in reverse order.
        let bounds = [(0, 7, 30), (7, 12, 10), (12, 14, 0)];
        let parts = bounds
            .iter()
            .enumerate()
            .map(|(i, &(from, to, delay_ms))| {
                let next_start = bounds.get(i + 1).map(|b| b.0);
                Partition {
                    reader: Slow { from, to, delay_ms },
                    start: None,
                    position: Arc::new(move |c: Option<&Value>, _: usize| match (c, next_start) {
                        (Some(c), _) => Position::After {
                            cursor: format!("{i}:{}", c.as_i64().unwrap()),
                        },
                        (None, Some(n)) => Position::After {
                            cursor: format!("{}:{n}", i + 1),
                        },
                        (None, None) => Position::Done,
                    }) as PositionFn,
                }
            })
            .collect();
        drain(&mut committer, "s", parts, Position::Done, &Quiet)
            .await
            .unwrap();
        let batches = out.0.lock().unwrap().clone();
        let ids: Vec<i64> = batches
            .iter()
            .flatten()
            .map(|i| i.parse().unwrap())
            .collect();
        assert_eq!(ids, (0..14).collect::<Vec<_>>());
        assert_eq!(
            batches.iter().map(Vec::len).collect::<Vec<_>>(),
            [4, 4, 4, 2]
        );
        // Each position names the exact next item: within partition 0, then the start of 1.
        let cursor = |s: &str| Position::After { cursor: s.into() };
        assert_eq!(
            *saved.0.lock().unwrap(),
            [cursor("0:4"), cursor("1:8"), cursor("2:12"), Position::Done]
        );
        assert_eq!(committer.state().streams["s"].rows, 14);
    }

    #[tokio::test]
    async fn ranges_take_turns_of_one_chunk_whatever_their_speed() {
        let (mut committer, out, saved) = committer(700).await;
        // The first range is the slowest; the second is shorter than a chunk.
        let bounds = [(0, 1200, 1), (1200, 1300, 0), (1300, 2500, 0)];
        let readers = bounds
            .iter()
            .map(|&(from, to, delay_ms)| Slow { from, to, delay_ms })
            .collect();
        let part = |cursor: Option<i64>| RangePosition {
            cursor: cursor.map(|c| encode(&Value::Int(c))),
            ..RangePosition::default()
        };
        let rotation = Rotation {
            ranges: vec![part(None), part(Some(1200)), part(Some(1300))],
            turn: 0,
            taken: 0,
        };
        drain_concurrent(
            &mut committer,
            "s",
            readers,
            rotation,
            parts_or_done(),
            &Quiet,
        )
        .await
        .unwrap();
        let ids: Vec<i64> = out
            .0
            .lock()
            .unwrap()
            .iter()
            .flatten()
            .map(|i| i.parse().unwrap())
            .collect();
        let want: Vec<i64> = (0..1000)
            .chain(1200..1300)
            .chain(1300..2300)
            .chain(1000..1200)
            .chain(2300..2500)
            .collect();
        assert_eq!(ids, want);
        let at = |c: [Option<i64>; 3], turn: usize, taken: u64| Position::Parts {
            rotation: Rotation {
                ranges: c
                    .iter()
                    .map(|c| RangePosition {
                        cursor: c.map(|c| encode(&Value::Int(c))),
                        done: c.is_none(),
                        ..RangePosition::default()
                    })
                    .collect(),
                turn,
                taken,
            },
        };
        assert_eq!(
            *saved.0.lock().unwrap(),
            [
                // 700 of range 0's chunk.
                at([Some(700), Some(1200), Some(1300)], 0, 700),
                // Range 0's chunk, all of range 1, 300 of range 2's chunk.
                at([Some(1000), None, Some(1600)], 2, 300),
                // Range 2's chunk just full: the turn passes back to range 0.
                at([Some(1000), None, Some(2300)], 0, 0),
                Position::Done,
            ]
        );
    }

    /// Fails on its first page.
    struct Failing;

    impl Reader for Failing {
        async fn page(&self, _: Option<Value>) -> Result<Page, ReadError> {
            tokio::time::sleep(Duration::from_millis(20)).await;
            Err(ReadError::BadPage {
                collection: "s".into(),
                detail: "broken".into(),
            })
        }
    }

    /// Ids from 0 on, forever, in pages of 1,000 read at once.
    struct Endless;

    impl Reader for Endless {
        async fn page(&self, after: Option<Value>) -> Result<Page, ReadError> {
            let start = after.and_then(|v| v.as_i64()).unwrap_or(0);
            let items = (start..start + 1000).map(int_item).collect();
            Ok(Page {
                items,
                next: Some(Value::Int(start + 1000)),
            })
        }
    }

    enum Either {
        Endless,
        Failing,
    }

    impl Reader for Either {
        async fn page(&self, after: Option<Value>) -> Result<Page, ReadError> {
            match self {
                Either::Endless => Endless.page(after).await,
                Either::Failing => Failing.page(after).await,
            }
        }
    }

    #[tokio::test]
    async fn a_failing_range_stops_the_read_while_others_wait_for_room() {
        let (mut committer, _, _) = committer(100_000).await;
        // Range 0 fills its read-ahead at once and waits for room; range 1, whose turn it is,
        // fails: the read must end (not wait for range 0 forever) with range 1's error.
        let readers = vec![Either::Endless, Either::Failing];
        let rotation = Rotation {
            ranges: vec![RangePosition::default(), RangePosition::default()],
            turn: 1,
            taken: 0,
        };
        let position_of = RotationPosition::new(Position::Done, |_| Position::Done);
        let err = drain_concurrent(&mut committer, "s", readers, rotation, position_of, &Quiet)
            .await
            .unwrap_err();
        assert!(err.to_string().contains("broken"), "{err}");
        assert_eq!(committer.state().streams["s"].rows, 0);
    }
}
