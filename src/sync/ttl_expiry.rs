//! The expiry phase of a sync window (deletions tracked). Fauna writes no event when a
//! document's ttl passes, so after a window's changes and deletions every document of the
//! stream's expiring list ([`super::Expiring`]) whose ttl is at or before the window's end gets
//! a deletion record at exactly its ttl (`spec/sync.md`, "Expiring documents").
//!
//! The phase needs no cursor of its own: each committed batch removes its entries from the
//! list in the same state write, so a resumed phase finds exactly the entries still due.

use std::sync::Arc;

use super::committer::{Committer, PositionFn};
use super::drain::{drain, Partition};
use super::error::ExportError;
use super::incremental::WindowStrategy;
use crate::export::{Deletion, Record};
use crate::fauna::Value;
use crate::read::{Item, Page, ReadError, Reader};
use crate::state::WindowPosition;

/// Deletion records per page of the phase.
const PAGE_ITEMS: usize = 1000;

/// The due entries `(ttl, id)` in order, as pages of deletion records; an item's cursor is its
/// index.
struct Due {
    entries: Vec<(i64, String)>,
    /// The stream's additional columns (null on deletion records).
    columns: usize,
}

impl Reader for Due {
    async fn page(&self, after: Option<Value>) -> Result<Page, ReadError> {
        let start = after
            .and_then(|v| v.as_i64())
            .and_then(|i| usize::try_from(i).ok())
            .unwrap_or(0)
            .min(self.entries.len());
        let end = (start + PAGE_ITEMS).min(self.entries.len());
        let items = self.entries[start..end]
            .iter()
            .zip(start..)
            .map(|((ttl, id), k)| Item {
                record: Some(Record::deletion(
                    id.clone(),
                    *ttl,
                    self.columns,
                    Deletion::Observed,
                )),
                cursor: Value::Int(i64::try_from(k).unwrap_or(i64::MAX)).into(),
            })
            .collect();
        let next =
            (end < self.entries.len()).then(|| Value::Int(i64::try_from(end).unwrap_or(i64::MAX)));
        Ok(Page { items, next })
    }
}

impl WindowStrategy<'_> {
    /// Where a window `[…, at]` goes after its changes and deletions: the expiry phase when
    /// deletions are tracked, else the reconciliation (`reconcile`) or its end.
    pub(super) fn window_end(&self, at: i64, reconcile: bool) -> WindowPosition {
        if self.read.settings.deletion_column.is_some() {
            WindowPosition::Expire { at, reconcile }
        } else if reconcile {
            WindowPosition::GapReconcile { at, cursor: None }
        } else {
            WindowPosition::Synced { to: at }
        }
    }

    /// Whether another phase follows a window's changes and deletions: the expiry phase
    /// (deletions tracked) or the reconciliation (`reconcile`).
    pub(super) fn phase_follows(&self, reconcile: bool) -> bool {
        reconcile || self.read.settings.deletion_column.is_some()
    }

    /// The expiry phase of the window ending at `at`: a deletion record at its ttl for every
    /// listed document due by `at`, in `(ttl, id)` order; then the reconciliation
    /// (`reconcile`) or [`WindowPosition::Synced`].
    pub(super) async fn expire(
        &self,
        committer: &mut Committer,
        at: i64,
        reconcile: bool,
    ) -> Result<(), ExportError> {
        let read = self.read;
        let name = read.settings.name.as_str();
        let entries: Vec<(i64, String)> = committer
            .stream(name)?
            .expiring
            .due(at)
            .map(|(ttl, id)| (ttl, id.to_string()))
            .collect();
        let end: crate::state::Position = if reconcile {
            WindowPosition::GapReconcile { at, cursor: None }
        } else {
            WindowPosition::Synced { to: at }
        }
        .into();
        let here: crate::state::Position = WindowPosition::Expire { at, reconcile }.into();
        let end_of_phase = end.clone();
        let position: PositionFn = Arc::new(move |c: Option<&Value>, _: usize| match c {
            Some(_) => here.clone(),
            None => end_of_phase.clone(),
        });
        let reader = Due {
            entries,
            columns: read.settings.columns.len(),
        };
        let part = Partition {
            reader,
            start: None,
            position,
        };
        drain(committer, name, vec![part], end, read.observer).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn due_entries_come_in_pages_resumable_at_any_item() {
        let entries: Vec<(i64, String)> = (0..2500).map(|i| (i, i.to_string())).collect();
        let due = Due {
            entries,
            columns: 2,
        };
        let first = due.page(None).await.unwrap();
        assert_eq!(first.items.len(), PAGE_ITEMS);
        assert_eq!(first.next, Some(Value::Int(1000)));
        assert_eq!(
            first.items[7].record,
            Some(Record::deletion("7".into(), 7, 2, Deletion::Observed))
        );
        let last = due.page(Some(Value::Int(2000))).await.unwrap();
        assert_eq!((last.items.len(), last.next), (500, None));
        assert_eq!(last.items[0].cursor.value(), Value::Int(2000));
        let past = due.page(Some(Value::Int(9999))).await.unwrap();
        assert_eq!((past.items.len(), past.next), (0, None));
    }
}
