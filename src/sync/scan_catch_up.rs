//! The short-retention strategy, for collections whose history (and so a pinned snapshot)
//! lives too briefly for the export (`history_days` 0 keeps about 15 minutes).
//!
//! 1. **Scan**: `Documents(c)` in id order, each page at the time it is read (no `At`); only
//!    versions older than the start time `T0` are exported. Such a version is the document's
//!    version as of `T0`.
//! 2. **Catch-up**: the `[ts, ref]` index from `T0` on, pinned at a fresh time `T`: every
//!    document written since `T0` and live at `T`, as of `T`. If `T` falls out of the window
//!    mid-way, the phase continues from its cursor at a newer `T` (an entry that changed since
//!    moved past the cursor, so nothing is missed and no `(ref, ts)` is read twice).
//! 3. **Reconciliation**: at the same `T`, the ids live in `Documents(c)` are compared with
//!    the log of exported ids; each exported document missing at `T` gets a deletion record.
//!    If `T` expires here, another catch-up round runs from `T + 1` at a newer time.
//!
//! Guarantee (`spec/export-format.md`): every exported row is a distinct `(ref, ts)` version;
//! keeping, per ref, the row with the greatest `ts` and dropping deletion rows yields exactly
//! the collection as of `consistent_at` (the last `T`).

use std::sync::Arc;

use super::committer::{Committer, PositionFn};
use super::error::ExportError;
use super::expiry::ExpiryBudget;
use super::partitions::{drain, drain_concurrent, Partition, Rotation, RotationPosition};
use super::state::{Position, StateError};
use super::stream::{ranges, stored_cursor, CollectionExport};
use crate::fauna::{encode, Value};
use crate::id_set::SortedIds;
use crate::read::{document_cursor_id, now, split_points, Documents, IndexChanges, ReadError};

impl CollectionExport<'_> {
    /// The short-retention strategy through the `[ts, ref]` index `index`: runs (or resumes)
    /// the three phases.
    pub(crate) async fn scan_catch_up(
        &self,
        index: &str,
        committer: &mut Committer,
    ) -> Result<(), ExportError> {
        let name = self.settings.name.as_str();
        let mut budget = ExpiryBudget::default();
        loop {
            let stream = committer.stream(name)?;
            let since_start = stream.snapshot_ts;
            let position = stream.position.clone();
            let outcome = match position {
                Position::Done
                | Position::Window { .. }
                | Position::WindowParts { .. }
                | Position::GapReconcile { .. }
                | Position::Expire { .. }
                | Position::Synced { .. } => return Ok(()),
                Position::Parts { .. } => {
                    return Err(ExportError::State(StateError::Invalid {
                        path: "of this run".into(),
                        reason: format!(
                            "stream '{name}' records partitioned progress, which only the pinned-snapshot strategy writes, but names the short-retention strategy"
                        ),
                    }))
                }
                Position::ScanParts { parts, turn, taken } => {
                    let rotation = Rotation { parts, turn, taken };
                    self.scan_parts(committer, since_start, rotation).await
                }
                Position::Start | Position::After { .. } => {
                    let cursor = match &position {
                        Position::After { cursor } => Some(stored_cursor(name, cursor)?),
                        _ => None,
                    };
                    let from = cursor
                        .as_ref()
                        .and_then(document_cursor_id)
                        .map(str::to_string);
                    // Read at read time: the ranges end by id order, so a split point deleted
                    // before its predecessor reaches it still ends that range in place.
                    let points =
                        split_points(self.client, name, None, from.as_deref(), self.concurrency)
                            .await?;
                    crate::crash::point("scan-start");
                    if points.is_empty() {
                        self.scan(committer, since_start, cursor).await
                    } else {
                        let rotation = Rotation {
                            parts: ranges(cursor.map(|c| encode(&c)), name, points),
                            turn: 0,
                            taken: 0,
                        };
                        self.scan_parts(committer, since_start, rotation).await
                    }
                }
                Position::CatchUp { since, at, cursor } => {
                    let at = match at {
                        Some(at) => at,
                        None => {
                            let t = now(self.client, name).await?;
                            let kept = cursor.clone();
                            committer
                                .update(name, move |s| {
                                    s.position = Position::CatchUp {
                                        since,
                                        at: Some(t),
                                        cursor: kept,
                                    }
                                })
                                .await?;
                            t
                        }
                    };
                    let cursor = cursor.map(|c| stored_cursor(name, &c)).transpose()?;
                    let reader = IndexChanges {
                        client: self.client,
                        settings: self.settings,
                        index,
                        since,
                        until: None,
                        at,
                    };
                    let end = Position::Reconcile { at, cursor: None };
                    let end_of_phase = end.clone();
                    let position: PositionFn = Arc::new(move |c: Option<&Value>, _: usize| match c {
                        Some(c) => Position::CatchUp {
                            since,
                            at: Some(at),
                            cursor: Some(encode(c)),
                        },
                        None => end_of_phase.clone(),
                    });
                    let part = Partition {
                        reader,
                        start: cursor,
                        position,
                    };
                    drain(committer, name, vec![part], end, self.observer).await
                }
                Position::Reconcile { at, cursor } => {
                    let exported = committer
                        .frozen_ids(name)
                        .await?
                        .unwrap_or_else(SortedIds::empty);
                    let resume = move |cursor| Position::Reconcile { at, cursor };
                    let result = self
                        .reconcile(committer, &exported, at, cursor, resume, Position::Done)
                        .await;
                    if result.is_ok() {
                        committer
                            .update(name, move |s| s.consistent_at = Some(at))
                            .await?;
                    }
                    result
                }
            };
            match outcome {
                Ok(()) => {}
                Err(e @ ExportError::Read(ReadError::SnapshotExpired { snapshot_ts, .. })) => {
                    let stream = committer.stream(name)?;
                    budget.spend(stream.rows, e)?;
                    let next = match stream.position.clone() {
                        // Continue the catch-up from its cursor at a newer time.
                        Position::CatchUp { since, cursor, .. } => Position::CatchUp {
                            since,
                            at: None,
                            cursor,
                        },
                        // Everything written up to `at` is exported; catch up on what came after.
                        Position::Reconcile { at, .. } => Position::CatchUp {
                            since: at + 1,
                            at: None,
                            cursor: None,
                        },
                        other => other,
                    };
                    tracing::info!(
                        collection = name,
                        snapshot_ts,
                        "The pinned time fell out of the collection's history window; continuing at a newer time."
                    );
                    committer.update(name, move |s| s.position = next).await?;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// The scan as one range, in id order from `cursor`: versions older than `t0` exported.
    async fn scan(
        &self,
        committer: &mut Committer,
        t0: i64,
        cursor: Option<Value>,
    ) -> Result<(), ExportError> {
        let reader = Documents {
            client: self.client,
            settings: self.settings,
            at: None,
            before_ts: Some(t0),
            until: None,
        };
        let end = scan_end(t0);
        let end_of_scan = end.clone();
        let position: PositionFn = Arc::new(move |c: Option<&Value>, _: usize| match c {
            Some(c) => Position::After { cursor: encode(c) },
            None => end_of_scan.clone(),
        });
        let part = Partition {
            reader,
            start: cursor,
            position,
        };
        let name = self.settings.name.as_str();
        drain(committer, name, vec![part], end, self.observer).await
    }

    /// The scan as concurrent ranges of ids ([`drain_concurrent`]), from `rotation`: each page
    /// read at the time it is read, versions older than `t0` exported, the ranges committed in
    /// turns and recorded as [`Position::ScanParts`].
    async fn scan_parts(
        &self,
        committer: &mut Committer,
        t0: i64,
        rotation: Rotation,
    ) -> Result<(), ExportError> {
        let readers = rotation
            .parts
            .iter()
            .map(|part| Documents {
                client: self.client,
                settings: self.settings,
                at: None,
                before_ts: Some(t0),
                until: part.until.clone(),
            })
            .collect();
        let end = scan_end(t0);
        let position_of: RotationPosition = Arc::new(move |r: Rotation| {
            if r.done() {
                end.clone()
            } else {
                Position::ScanParts {
                    parts: r.parts,
                    turn: r.turn,
                    taken: r.taken,
                }
            }
        });
        let name = self.settings.name.as_str();
        drain_concurrent(
            committer,
            name,
            readers,
            rotation,
            position_of,
            self.observer,
        )
        .await
    }
}

/// The position after the scan: the catch-up from the scan's start `t0`, its time not chosen.
fn scan_end(t0: i64) -> Position {
    Position::CatchUp {
        since: t0,
        at: None,
        cursor: None,
    }
}
