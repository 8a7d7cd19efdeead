//! Draining readers into the committer: partitions of one stream are read concurrently and
//! joined in partition order, each with a small read-ahead, so a slow partition holds back
//! only its successors' commits (never their reads beyond the read-ahead) and the committed
//! position always names one partition's exact next item.

use futures_util::future::join_all;
use tokio::sync::mpsc;

use super::committer::{Committer, PositionFn};
use super::error::ExportError;
use super::observer::Observer;
use super::state::Position;
use crate::fauna::Value;
use crate::read::{Page, ReadError, Reader};

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

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    use super::*;
    use crate::export::{Record, RecordSchema};
    use crate::output::{Batch, Checkpoint, Output, OutputError, Receipt, Sealed};
    use crate::read::Item;
    use crate::sync::{Quiet, State, StateError, StreamState};

    /// Ids `from..to` in pages of 3, each page delayed by `delay_ms`.
    struct Slow {
        from: i64,
        to: i64,
        delay_ms: u64,
    }

    impl Reader for Slow {
        async fn page(&self, after: Option<Value>) -> Result<Page, ReadError> {
            tokio::time::sleep(Duration::from_millis(self.delay_ms)).await;
            let start = after.and_then(|v| v.as_i64()).unwrap_or(self.from);
            let end = (start + 3).min(self.to);
            let items = (start..end)
                .map(|i| Item {
                    record: Some(Record {
                        id: i.to_string(),
                        ts: i,
                        data: None,
                        columns: vec![],
                        deletion: None,
                    }),
                    cursor: Value::Int(i),
                })
                .collect();
            Ok(Page {
                items,
                next: (end < self.to).then_some(Value::Int(end)),
            })
        }
    }

    #[derive(Clone, Default)]
    struct Memory(Arc<Mutex<Vec<Vec<String>>>>);

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

        fn publish(&mut self, sealed: Sealed) -> Result<Receipt, OutputError> {
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

    impl Checkpoint for Saved {
        fn save(&mut self, s: &State, stream: &str, _: Option<&Receipt>) -> Result<(), StateError> {
            self.0
                .lock()
                .unwrap()
                .push(s.streams[stream].position.clone());
            Ok(())
        }
    }

    #[tokio::test]
    async fn partitions_finishing_out_of_order_are_committed_in_partition_order() {
        let mut state = State::new();
        state
            .streams
            .insert("s".into(), StreamState::new(0, "jsonl"));
        let (out, saved) = (Memory::default(), Saved::default());
        let limits = crate::sync::BatchLimits {
            rows: 4,
            bytes: None,
        };
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
        };
        committer.open_stream("s", schema, None).await.unwrap();
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
                    position: Arc::new(move |c: Option<&Value>| match (c, next_start) {
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
}
