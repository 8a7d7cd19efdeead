//! A strategy's pinned time falling out of the collection's history window (a snapshot
//! expiry, not a document's ttl: that is [`super::ttl_expiry`]): handled once, here, for every
//! strategy — how often it may happen before the strategy gives up, and how the committed
//! position moves to a newer time.

use super::committer::Committer;
use super::error::ExportError;
use super::stream::CollectionExport;
use crate::read::{now, ReadError};
use crate::state::{OwnPosition, Position};

/// Expiries in a row without a committed record in between that a strategy tolerates (each is
/// followed by a retry at a newer time).
const MAX_EXPIRIES: u32 = 8;

/// Counts expiries of a strategy's pinned time; progress (more committed records) resets it.
#[derive(Debug, Default)]
pub(crate) struct ExpiryBudget {
    count: u32,
    rows_at_last: Option<u64>,
}

impl ExpiryBudget {
    /// Records the expiry `e` with `rows` committed so far: `Ok` to retry at a newer time,
    /// `Err(e)` once the budget is spent.
    pub fn spend(&mut self, rows: u64, e: ExportError) -> Result<(), ExportError> {
        if self.allow(rows) {
            Ok(())
        } else {
            Err(e)
        }
    }

    /// Records an expiry with `rows` committed so far; false once the budget is spent.
    fn allow(&mut self, rows: u64) -> bool {
        self.count = if self.rows_at_last == Some(rows) {
            self.count + 1
        } else {
            1
        };
        self.rows_at_last = Some(rows);
        self.count <= MAX_EXPIRIES
    }
}

impl CollectionExport<'_> {
    /// The one handling of `error` for every strategy: anything but an expiry of the pinned
    /// time, an expiry of a phase that is not the strategy's (`P`), or one beyond the
    /// `budget`, is returned; otherwise the committed position becomes `moved(position,
    /// newer)` — `newer` the server's time now (a phase that chooses its time when it starts
    /// again ignores it) — and the caller reads on from it. `note` says (in the log) how the
    /// phase continues.
    pub(crate) async fn after_expiry<P: OwnPosition>(
        &self,
        committer: &mut Committer,
        budget: &mut ExpiryBudget,
        error: ExportError,
        note: &'static str,
        moved: impl FnOnce(P, i64) -> P,
    ) -> Result<(), ExportError> {
        let ExportError::Read(ReadError::SnapshotExpired { snapshot_ts, .. }) = &error else {
            return Err(error);
        };
        let snapshot_ts = *snapshot_ts;
        let name = self.settings.name.as_str();
        let Some(position) = self.own::<P>(committer)? else {
            return Err(error);
        };
        budget.spend(committer.stream(name)?.rows, error)?;
        let newer = now(self.client, name).await?;
        let next: Position = moved(position, newer).into();
        tracing::info!(collection = name, snapshot_ts, "{note}");
        committer.update(name, move |s| s.position = next).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_expiries_without_progress_count() {
        let mut b = ExpiryBudget::default();
        for _ in 0..MAX_EXPIRIES {
            assert!(b.allow(5));
        }
        assert!(!b.allow(5));
        assert!(b.allow(6), "progress resets the count");
    }
}
