//! Two readers' items merged by record `ts`: the changes of a window and its deletions, so
//! that applying a window's records in order gives the collection as of the window's end.

use super::{Cursor, Item, Page, ReadError, Reader};
use crate::fauna::Value;

/// Items of `first` and `second` in `ts` order (on a tie, `second`'s first: deletions sort
/// before changes at one ts, as Fauna orders `remove` before `add`). An item without a record
/// sorts where it was read. The cursor is `[first's cursor, second's cursor]`, each the next
/// unconsumed item of its reader (`null` = that reader's start; `false` = exhausted).
pub struct Merged<A, B> {
    /// The changes.
    pub first: A,
    /// The deletions.
    pub second: B,
}

/// One side's page and how far it was consumed.
struct Side {
    items: std::vec::IntoIter<Item>,
    next: Option<Value>,
}

fn split(cursor: Option<Value>) -> (Option<Value>, Option<Value>, bool, bool) {
    match cursor {
        Some(Value::Array(mut pair)) if pair.len() == 2 => {
            let b = pair.pop();
            let a = pair.pop();
            let done = |v: &Option<Value>| matches!(v, Some(Value::Bool(false)));
            let (ad, bd) = (done(&a), done(&b));
            let live = |v: Option<Value>| v.filter(|v| !matches!(v, Value::Null | Value::Bool(_)));
            (live(a), live(b), ad, bd)
        }
        _ => (None, None, false, false),
    }
}

fn key(item: &Item) -> Option<i64> {
    item.record.as_ref().map(|r| r.ts)
}

impl<A: Reader, B: Reader> Reader for Merged<A, B> {
    async fn page(&self, after: Option<Value>) -> Result<Page, ReadError> {
        let (ca, cb, a_done, b_done) = split(after);
        let fetch_a = async {
            if a_done {
                Ok(Page::default())
            } else {
                self.first.page(ca).await
            }
        };
        let fetch_b = async {
            if b_done {
                Ok(Page::default())
            } else {
                self.second.page(cb).await
            }
        };
        let (pa, pb) = tokio::try_join!(fetch_a, fetch_b)?;
        let mut a = Side {
            items: pa.items.into_iter(),
            next: pa.next,
        };
        let mut b = Side {
            items: pb.items.into_iter(),
            next: pb.next,
        };
        let mut ia = a.items.next();
        let mut ib = b.items.next();
        // A side's position: its next unconsumed item's cursor, its next page, or exhausted.
        fn pos(item: &Option<Item>, next: &Option<Value>) -> Cursor {
            match (item, next) {
                (Some(i), _) => i.cursor.clone(),
                (None, Some(n)) => Cursor::Value(n.clone()),
                (None, None) => Cursor::Value(Value::Bool(false)),
            }
        }
        let mut items = Vec::new();
        loop {
            // Stop when a side's page is used up but it has more pages: its next page may hold
            // items that sort before the other side's remaining ones.
            let a_waits = ia.is_none() && a.next.is_some();
            let b_waits = ib.is_none() && b.next.is_some();
            if a_waits || b_waits || (ia.is_none() && ib.is_none()) {
                break;
            }
            let take_b = match (&ia, &ib) {
                (Some(x), Some(y)) => match (key(x), key(y)) {
                    (Some(kx), Some(ky)) => ky <= kx,
                    (None, _) => false,
                    (_, None) => true,
                },
                (None, Some(_)) => true,
                _ => false,
            };
            // The item's cursor: its own (moved, not copied) beside the other side's position.
            let (taken, other) = if take_b {
                let t = ib.take();
                ib = b.items.next();
                (t, pos(&ia, &a.next))
            } else {
                let t = ia.take();
                ia = a.items.next();
                (t, pos(&ib, &b.next))
            };
            if let Some(Item { record, cursor }) = taken {
                let pair = if take_b {
                    [other, cursor]
                } else {
                    [cursor, other]
                };
                items.push(Item {
                    record,
                    cursor: Cursor::Pair(Box::new(pair)),
                });
            }
        }
        let (na, nb) = (pos(&ia, &a.next).value(), pos(&ib, &b.next).value());
        let finished = matches!(na, Value::Bool(false)) && matches!(nb, Value::Bool(false));
        Ok(Page {
            items,
            next: (!finished).then(|| Value::Array(vec![na, nb])),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::export::Record;

    /// Records with the given ts, pages of `size`, cursor = index.
    struct List {
        ts: Vec<i64>,
        size: usize,
        tag: &'static str,
    }

    impl Reader for List {
        async fn page(&self, after: Option<Value>) -> Result<Page, ReadError> {
            let start = after.and_then(|v| v.as_i64()).unwrap_or(0) as usize;
            let end = (start + self.size).min(self.ts.len());
            let items = (start..end)
                .map(|i| Item {
                    record: Some(Record {
                        id: format!("{}{i}", self.tag),
                        ts: self.ts[i],
                        data: None,
                        columns: vec![],
                        deletion: None,
                        ttl: None,
                    }),
                    cursor: Value::Int(i as i64).into(),
                })
                .collect();
            Ok(Page {
                items,
                next: (end < self.ts.len()).then_some(Value::Int(end as i64)),
            })
        }
    }

    async fn drain(r: &Merged<List, List>, from: Option<Value>) -> (Vec<String>, Vec<Value>) {
        let (mut ids, mut cursors) = (vec![], vec![]);
        let mut c = from;
        loop {
            let p = r.page(c.take()).await.unwrap();
            for i in p.items {
                ids.push(i.record.unwrap().id);
                cursors.push(i.cursor.value());
            }
            match p.next {
                Some(n) => c = Some(n),
                None => return (ids, cursors),
            }
        }
    }

    #[tokio::test]
    async fn merges_by_ts_across_page_boundaries_and_resumes_at_any_item() {
        for (sa, sb) in [(1, 1), (2, 3), (10, 1), (3, 10)] {
            let r = Merged {
                first: List {
                    ts: vec![1, 3, 3, 7, 9, 12],
                    size: sa,
                    tag: "c",
                },
                second: List {
                    ts: vec![2, 3, 8, 20],
                    size: sb,
                    tag: "d",
                },
            };
            let (ids, cursors) = drain(&r, None).await;
            assert_eq!(
                ids,
                ["c0", "d0", "d1", "c1", "c2", "c3", "d2", "c4", "c5", "d3"],
                "pages {sa}/{sb}"
            );
            for k in 0..ids.len() {
                let (rest, _) = drain(&r, Some(cursors[k].clone())).await;
                assert_eq!(rest, ids[k..], "pages {sa}/{sb}, from item {k}");
            }
        }
    }
}
