//! The short-retention strategy, for collections whose history (and so a pinned snapshot)
//! lives too briefly for the export (`history_days` 0 keeps about 15 minutes).
//!
//! 1. **Scan**: `Documents(c)` in id order, each page at the time it is read (no `At`); only
//!    versions older than the start time `T0` are exported. Such a version is the document's
//!    version as of `T0`.
//! 2. **Catch-up**: the `[ts, ref]` index from `T0` on, pinned at a fresh time `T`: every
//!    document written since `T0` and live at `T`, as of `T`. If `T` falls out of the window
//!    mid-way, the phase continues from its cursor at a newer `T` (an entry that changed since
//!    moved past the cursor, so nothing is missed and no `(ref, ts)` is read twice). With
//!    `concurrency` above 1 and more than [`CHUNK_ITEMS`](crate::sync::CHUNK_ITEMS)
//!    documents changed since `T0`, it is read as concurrent ranges of ts
//!    ([`ScanCatchUpStrategy::catch_up_ranges`]).
//! 3. **Reconciliation**: at the same `T`, the ids live in `Documents(c)` are compared with
//!    the log of exported ids; each exported document missing at `T` gets a deletion record.
//!    If `T` expires here, another catch-up round runs from `T + 1` at a newer time. It is
//!    skipped when nothing exported can be missing: no `remove` event since `T0` while the
//!    history still reaches `T0`, and no exported document's ttl passed
//!    ([`ScanCatchUpStrategy::nothing_vanished`]).
//!
//! Guarantee (`spec/export-format.md`): every exported row is a distinct `(ref, ts)` version;
//! keeping, per ref, the row with the greatest `ts` and dropping deletion rows yields exactly
//! the collection as of `consistent_at` (the last `T`).

use std::sync::Arc;

use super::committer::{Committer, PositionFn};
use super::drain::{drain, Partition, RotationPosition};
use super::error::ExportError;
use super::snapshot_expiry::ExpiryBudget;
use super::stream::{ranges, stored_cursor, CollectionExport};
use super::window_ranges::{index_ranges, ranges_moved, split_changes};
use crate::fauna::{encode, Value};
use crate::id_set::SortedIds;
use crate::read::{
    document_cursor_id, no_removals_since, now, split_points, Documents, IndexChanges,
};
use crate::state::{Rotation, ScanPosition};

/// A full read with the short-retention strategy through the `[ts, ref]` index `index`, from
/// its [`ScanPosition`].
pub(crate) struct ScanCatchUpStrategy<'r> {
    /// The stream's read.
    pub read: &'r CollectionExport<'r>,
    /// The index the catch-up reads.
    pub index: &'r str,
}

impl ScanCatchUpStrategy<'_> {
    /// Runs (or resumes) the three phases to the end ([`ScanPosition::Done`]).
    pub async fn run(&self, committer: &mut Committer) -> Result<(), ExportError> {
        let read = self.read;
        let name = read.settings.name.as_str();
        let mut budget = ExpiryBudget::default();
        loop {
            let Some(position) = read.own::<ScanPosition>(committer)? else {
                return Ok(());
            };
            let t0 = committer.stream(name)?.snapshot_ts;
            let outcome = match position {
                ScanPosition::Done => return Ok(()),
                ScanPosition::Ranges(rotation) => self.scan_ranges(committer, t0, rotation).await,
                ScanPosition::Start => self.scan(committer, t0, None).await,
                ScanPosition::After(cursor) => {
                    let cursor = stored_cursor(name, &cursor)?;
                    self.scan(committer, t0, Some(cursor)).await
                }
                ScanPosition::CatchUp { since, at, cursor } => {
                    self.catch_up(committer, since, at, cursor).await
                }
                ScanPosition::CatchUpRanges {
                    since,
                    at,
                    rotation,
                } => self.catch_up_ranges(committer, since, at, rotation).await,
                ScanPosition::Reconcile { at, cursor } => {
                    self.reconcile(committer, at, cursor).await
                }
            };
            let Err(e) = outcome else { continue };
            let note = "The pinned time fell out of the collection's history window; continuing at a newer time.";
            // Ranges of ts move to the server's time now at once (their new last range ends
            // there); every other phase chooses its time when it starts again.
            read.after_expiry(committer, &mut budget, e, note, |position, newer| {
                match position {
                    // Continue the catch-up from its cursor at a newer time.
                    ScanPosition::CatchUp { since, cursor, .. } => ScanPosition::CatchUp {
                        since,
                        at: None,
                        cursor,
                    },
                    ScanPosition::CatchUpRanges {
                        since,
                        at,
                        rotation,
                    } => ScanPosition::CatchUpRanges {
                        since,
                        at: newer,
                        rotation: ranges_moved(rotation, at, newer),
                    },
                    // Everything written up to `at` is exported; catch up on what came after.
                    ScanPosition::Reconcile { at, .. } => ScanPosition::CatchUp {
                        since: at + 1,
                        at: None,
                        cursor: None,
                    },
                    other => other,
                }
            })
            .await?;
        }
    }

    /// The scan from `cursor` (a stored one, or the collection's start): split into ranges of
    /// ids read at once when `concurrency` is above 1, else one range in id order.
    async fn scan(
        &self,
        committer: &mut Committer,
        t0: i64,
        cursor: Option<Value>,
    ) -> Result<(), ExportError> {
        let read = self.read;
        let name = read.settings.name.as_str();
        let from = cursor
            .as_ref()
            .and_then(document_cursor_id)
            .map(str::to_string);
        // Read at read time: the ranges end by id order, so a split point deleted before its
        // predecessor reaches it still ends that range in place.
        let points =
            split_points(read.client, name, None, from.as_deref(), read.concurrency).await?;
        crate::crash::point("scan-start");
        if points.is_empty() {
            return self.scan_sequential(committer, t0, cursor).await;
        }
        let rotation = Rotation {
            ranges: ranges(cursor.map(|c| encode(&c)), name, points),
            turn: 0,
            taken: 0,
        };
        self.scan_ranges(committer, t0, rotation).await
    }

    /// The catch-up: the index from `since` at `at` (chosen now, and recorded, when `None`),
    /// from `cursor`. A catch-up starting afresh (no cursor of an earlier time) with more
    /// than [`CHUNK_ITEMS`](crate::sync::CHUNK_ITEMS) changes and `concurrency` above 1 is
    /// read as ranges of ts instead; the chosen position is recorded before anything is read
    /// (crash point `catch-up-start`).
    async fn catch_up(
        &self,
        committer: &mut Committer,
        since: i64,
        at: Option<i64>,
        cursor: Option<String>,
    ) -> Result<(), ExportError> {
        let read = self.read;
        let name = read.settings.name.as_str();
        let at = match at {
            Some(at) => at,
            None => {
                let t = now(read.client, name).await?;
                let parts = match cursor {
                    None => split_changes(read, self.index, since, t).await?,
                    Some(_) => None,
                };
                if let Some(parts) = parts {
                    let rotation = Rotation {
                        ranges: parts,
                        turn: 0,
                        taken: 0,
                    };
                    let chosen = ScanPosition::CatchUpRanges {
                        since,
                        at: t,
                        rotation: rotation.clone(),
                    };
                    committer
                        .update(name, move |s| s.position = chosen.into())
                        .await?;
                    crate::crash::point("catch-up-start");
                    return self.catch_up_ranges(committer, since, t, rotation).await;
                }
                let chosen = ScanPosition::CatchUp {
                    since,
                    at: Some(t),
                    cursor: cursor.clone(),
                };
                committer
                    .update(name, move |s| s.position = chosen.into())
                    .await?;
                crate::crash::point("catch-up-start");
                t
            }
        };
        let cursor = cursor.map(|c| stored_cursor(name, &c)).transpose()?;
        let reader = IndexChanges {
            client: read.client,
            settings: read.settings,
            index: self.index,
            since,
            until: None,
            at,
        };
        let position: PositionFn = Arc::new(move |c: Option<&Value>, _: usize| {
            match c {
                Some(c) => ScanPosition::CatchUp {
                    since,
                    at: Some(at),
                    cursor: Some(encode(c)),
                },
                None => ScanPosition::Reconcile { at, cursor: None },
            }
            .into()
        });
        let part = Partition {
            reader,
            start: cursor,
            position,
        };
        let end = ScanPosition::Reconcile { at, cursor: None }.into();
        drain(committer, name, vec![part], end, read.observer).await
    }

    /// The catch-up as concurrent ranges of ts ([`drain_concurrent`]), from `rotation`: the
    /// index from `since` pinned at `at`, the ranges committed in turns and recorded as
    /// [`ScanPosition::CatchUpRanges`]; once every range is done, the reconciliation at `at`.
    ///
    /// Why ranges of ts are safe here, without the deletions-first phase of a window
    /// ([`super::window_ranges`]): the index at `at` holds each document's latest version
    /// once, so disjoint ranges read every document once; and that version (`ts >= since`:
    /// the scan's start, or after an earlier round's time) is newer than anything exported
    /// of it before (the scan's versions have `ts < since`), so the greatest `ts` per ref is
    /// its version as of `at` whatever order the ranges come out in. The catch-up reads no
    /// deletions (the reconciliation finds them), so no record's order depends on another's.
    /// Moved to a newer time ([`ranges_moved`]), this holds still: an entry past a range's
    /// cursor that changed since is read by the new last range; one before it was read at its
    /// older version, a distinct `(ref, ts)`.
    async fn catch_up_ranges(
        &self,
        committer: &mut Committer,
        since: i64,
        at: i64,
        rotation: Rotation,
    ) -> Result<(), ExportError> {
        let read = self.read;
        let readers = index_ranges(read, self.index, &rotation, since, at)?;
        let position_of =
            RotationPosition::new(ScanPosition::Reconcile { at, cursor: None }, move |r| {
                ScanPosition::CatchUpRanges {
                    since,
                    at,
                    rotation: r,
                }
                .into()
            });
        read.drain_ranges(committer, readers, rotation, position_of)
            .await
    }

    /// The reconciliation at `at` from `cursor`; once done, the output is consistent at `at`.
    /// Started afresh, it is skipped when nothing can have vanished since the scan began
    /// ([`Self::nothing_vanished`]).
    async fn reconcile(
        &self,
        committer: &mut Committer,
        at: i64,
        cursor: Option<String>,
    ) -> Result<(), ExportError> {
        let read = self.read;
        let name = read.settings.name.as_str();
        if cursor.is_none() && self.nothing_vanished(committer, at).await? {
            tracing::info!(
                collection = %name,
                "No document was deleted since the scan began and no exported one's ttl has passed: nothing to reconcile."
            );
            return committer
                .update(name, move |s| {
                    s.position = ScanPosition::Done.into();
                    s.consistent_at = Some(at);
                    s.ids_live_since = None;
                })
                .await;
        }
        let exported = committer
            .frozen_ids(name)
            .await?
            .unwrap_or_else(SortedIds::empty);
        let resume = move |cursor| ScanPosition::Reconcile { at, cursor }.into();
        read.reconcile(
            committer,
            &exported,
            at,
            cursor,
            resume,
            ScanPosition::Done.into(),
        )
        .await?;
        committer
            .update(name, move |s| {
                s.consistent_at = Some(at);
                s.ids_live_since = None;
            })
            .await
    }

    /// Whether no exported document can be missing at `at`. When the id set holds only this
    /// full read's ids (`ids_live_since`, its start `T0`; not over a resync's earlier ids),
    /// each was live when its page was read, at or after `T0`, so it can be gone at `at` only
    /// through a `remove` event since `T0` or a ttl passing, of which Fauna writes no event.
    /// So: no exported document's ttl has passed by `at` (the committed expiring list;
    /// streams that track no deletions keep none, and their reconciliation only warns), and
    /// Fauna's events show no `remove` since `T0`, read while the history still reached `T0`
    /// ([`no_removals_since`]).
    async fn nothing_vanished(&self, committer: &Committer, at: i64) -> Result<bool, ExportError> {
        let read = self.read;
        let name = read.settings.name.as_str();
        let stream = committer.stream(name)?;
        let Some(t0) = stream.ids_live_since else {
            return Ok(false);
        };
        if stream.expiring.due(at).next().is_some() {
            return Ok(false);
        }
        Ok(no_removals_since(read.client, name, t0, at).await?)
    }

    /// The scan as one range, in id order from `cursor`: versions older than `t0` exported.
    async fn scan_sequential(
        &self,
        committer: &mut Committer,
        t0: i64,
        cursor: Option<Value>,
    ) -> Result<(), ExportError> {
        let read = self.read;
        let reader = Documents {
            client: read.client,
            settings: read.settings,
            at: None,
            before_ts: Some(t0),
            until: None,
        };
        let position: PositionFn = Arc::new(move |c: Option<&Value>, _: usize| {
            match c {
                Some(c) => ScanPosition::After(encode(c)),
                None => scan_end(t0),
            }
            .into()
        });
        let part = Partition {
            reader,
            start: cursor,
            position,
        };
        let name = read.settings.name.as_str();
        let end = scan_end(t0).into();
        drain(committer, name, vec![part], end, read.observer).await
    }

    /// The scan as concurrent ranges of ids ([`drain_concurrent`]), from `rotation`: each page
    /// read at the time it is read, versions older than `t0` exported, the ranges committed in
    /// turns and recorded as [`ScanPosition::Ranges`].
    async fn scan_ranges(
        &self,
        committer: &mut Committer,
        t0: i64,
        rotation: Rotation,
    ) -> Result<(), ExportError> {
        let read = self.read;
        let readers = rotation
            .ranges
            .iter()
            .map(|part| Documents {
                client: read.client,
                settings: read.settings,
                at: None,
                before_ts: Some(t0),
                until: part.until.clone(),
            })
            .collect();
        let position_of = RotationPosition::new(scan_end(t0), |r| ScanPosition::Ranges(r).into());
        read.drain_ranges(committer, readers, rotation, position_of)
            .await
    }
}

/// The position after the scan: the catch-up from the scan's start `t0`, its time not chosen.
fn scan_end(t0: i64) -> ScanPosition {
    ScanPosition::CatchUp {
        since: t0,
        at: None,
        cursor: None,
    }
}
