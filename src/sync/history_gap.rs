//! History gaps: a window that starts before the collection's history (Fauna keeps deletion
//! events for `history_days`) fails, is reconciled with the ids the output holds, or the
//! stream is read again in full, as `history_gap` says (`spec/sync.md`, "History gaps").

use super::committer::Committer;
use super::error::ExportError;
use super::incremental::WindowStrategy;
use super::strategy::full_read_strategy;
use crate::config::HistoryGap;
use crate::fauna::Expr;
use crate::read::ReadError;
use crate::state::Strategy;

impl WindowStrategy<'_> {
    /// What to do about the window `[from, at]`: nothing, or it lies over a history gap.
    /// Deletions are seen as events, which Fauna keeps for `history_days` plus its
    /// minimum-valid-time offset: below the collection's minimum valid time some may be gone.
    /// The server decides (a read `At(from)` fails below it), so the check holds whatever the
    /// retention settings. A gap fails the stream unless the collection reconciles it and its
    /// output keeps a complete id set, or it is configured to resync.
    pub(super) async fn history_gap(
        &self,
        committer: &Committer,
        from: i64,
        at: i64,
    ) -> Result<Gap, ExportError> {
        if self.read.settings.deletion_column.is_none() {
            return Ok(Gap::None);
        }
        let name = &self.read.settings.name;
        let probe = Expr::at(
            from,
            Expr::paginate(Expr::documents(Expr::collection(name))).with("size", 1),
        );
        match crate::read::query(self.read.client, name, Some(from), &probe).await {
            Ok(_) => return Ok(Gap::None),
            Err(ReadError::SnapshotExpired { .. }) => {}
            Err(e) => return Err(e.into()),
        }
        let gap_minutes = (at - from) / 60_000_000;
        match self.read.settings.history_gap {
            HistoryGap::Stop => {
                return Err(ExportError::HistoryGap {
                    collection: name.clone(),
                    gap_minutes,
                })
            }
            HistoryGap::Resync => return Ok(Gap::Resync { gap_minutes }),
            HistoryGap::Reconcile => {}
        }
        let reason = match committer.stream(name)?.ids {
            // Ids kept for this run only (Airbyte) are not what the destination holds.
            _ if !self.read.ids.kept() => Some(NO_ID_SET),
            Some(mark) if mark.complete => None,
            Some(_) => Some(INCOMPLETE_ID_SET),
            None => Some(NO_ID_SET),
        };
        if let Some(reason) = reason {
            return Err(ExportError::CannotReconcile {
                collection: name.clone(),
                gap_minutes,
                reason,
            });
        }
        tracing::warn!(
            collection = %name,
            gap_minutes,
            "The last sync is older than the collection keeps deletion events: reading the changes, then comparing the ids the output holds with those live now; each missing one gets a detected deletion record."
        );
        Ok(Gap::Reconcile)
    }

    /// Reads the stream again in full from `at` (`"history_gap": "resync"`), the last sync
    /// having been `gap_minutes` ago: its position goes back to the start of a full read at
    /// `at`, with the strategy a new stream of the collection gets; its counters, batch numbers
    /// and id set go on (later records supersede what the output holds). Deletions since the
    /// last sync are found only by the short-retention strategy's reconciliation with an id set
    /// kept between runs (the ids the output holds); otherwise they are not seen, and a warning
    /// says which.
    pub(super) async fn resync(
        &self,
        committer: &mut Committer,
        at: i64,
        gap_minutes: i64,
    ) -> Result<(), ExportError> {
        let name = self.read.settings.name.as_str();
        let (strategy, index) = full_read_strategy(
            self.read.client,
            self.read.settings,
            &self.read.retention,
            at,
            Some(self.index),
            self.read.observer,
        )
        .await?;
        let deletions = if strategy == Strategy::ScanCatchUp && self.read.ids.kept() {
            "Its reconciliation compares with the ids the output holds, so documents deleted since its last sync get deletion records"
        } else {
            "Documents deleted since its last sync are not seen as deleted: their records stay in the output"
        };
        let message = format!(
            "collection '{name}' was last synced {gap_minutes} minutes ago, longer than Fauna keeps its history: it is read again in full (\"history_gap\": \"resync\"), then incrementally from there. {deletions}"
        );
        tracing::warn!(collection = %name, gap_minutes, "{message}");
        self.read.observer.warning(name, &message)?;
        let start = strategy.start();
        committer
            .update(name, move |s| {
                s.snapshot_ts = at;
                s.position = start;
                s.strategy = strategy;
                s.index = index;
                s.consistent_at = None;
                // The id set holds the ids of earlier reads: the reconciliation must run.
                s.ids_live_since = None;
            })
            .await?;
        // The strategy may keep an id set the window did not.
        self.read.open(committer, true).await
    }
}

/// What a window's history check found.
pub(super) enum Gap {
    /// Fauna still holds the window's events.
    None,
    /// A gap the output's id set reconciles.
    Reconcile,
    /// A gap after which the stream is read again in full.
    Resync {
        /// Minutes since the last window's end.
        gap_minutes: i64,
    },
}

/// Why a gap cannot be reconciled without an id set.
pub(super) const NO_ID_SET: &str =
    "this output keeps no id set to compare with (Airbyte read keeps none: reset the stream, or set \"history_gap\": \"resync\" to read it again in full)";

/// Why a gap cannot be reconciled with an incomplete id set.
const INCOMPLETE_ID_SET: &str =
    "this output's id set was started after its first records (they were written by an earlier fauna-sync version)";
