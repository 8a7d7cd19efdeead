//! Incremental sync: after the stream's full export (pinned snapshot, or scan + catch-up) at
//! `T0`, each run reads one window `[previous end + 1, T]` at snapshot `T = Now()`: the
//! changes through the `[ts, ref]` index and, when deletions are tracked, the `remove` events
//! that are deletions, merged in ts order (`spec/sync.md`). A window that starts before the
//! collection's history reads the changes, then reconciles: ids the output holds that are
//! not live at `T` become detected deletion records.

use std::sync::Arc;

use super::committer::{Committer, PositionFn};
use super::error::ExportError;
use super::expiry::ExpiryBudget;
use super::partitions::{drain, Partition};
use super::state::Position;
use super::stream::{stored_cursor, CollectionExport};
use super::window_parts::window_moved;
use crate::config::HistoryGap;
use crate::fauna::{encode, Expr, Value};
use crate::read::{now, DeletionEvents, IndexChanges, Merged, Page, ReadError, Reader};

/// A reader with nothing to read (deletions not tracked).
struct Nothing;

impl Reader for Nothing {
    async fn page(&self, _: Option<Value>) -> Result<Page, ReadError> {
        Ok(Page::default())
    }
}

/// What one sync of a stream did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WindowReport {
    /// The end of the window now committed (`None`: no window was read, e.g. a cursor in the
    /// future).
    pub to: Option<i64>,
}

impl CollectionExport<'_> {
    /// Continues the stream incrementally through `index`: finishes its full export first if
    /// needed, then reads (or resumes) one window up to now.
    pub(crate) async fn incremental(
        &self,
        index: &str,
        committer: &mut Committer,
    ) -> Result<WindowReport, ExportError> {
        let name = self.settings.name.as_str();
        let mut budget = ExpiryBudget::default();
        // The window start whose history this run checked (a window resumed from an earlier
        // run, or continued after an expiry, is checked again: time has passed).
        let mut checked: Option<i64> = None;
        loop {
            let stream = committer.stream(name)?;
            // A window resumed (or moved on after an expiry) is checked for a history gap
            // again: time has passed.
            if let Some((from, at)) = unchecked_window(&stream.position, checked) {
                checked = Some(from);
                if self.over_history_gap(committer, from, at).await? {
                    committer
                        .update(name, |s| s.position = into_gap_window(s.position.clone()))
                        .await?;
                    continue;
                }
            }
            match stream.position.clone() {
                Position::Start
                | Position::After { .. }
                | Position::Parts { .. }
                | Position::ScanParts { .. }
                | Position::CatchUp { .. }
                | Position::Reconcile { .. } => self.full(committer).await?,
                Position::Done => {
                    // Hand-off: the full export is consistent as of its snapshot (or, for the
                    // short-retention strategy, `consistent_at`); the first window starts after.
                    let to = stream.consistent_at.unwrap_or(stream.snapshot_ts);
                    committer
                        .update(name, move |s| s.position = Position::Synced { to })
                        .await?;
                }
                Position::Synced { to } => {
                    let at = now(self.client, name).await?;
                    if at <= to {
                        tracing::warn!(
                            collection = name,
                            synced_to = to,
                            now = at,
                            "The stream's sync cursor is ahead of the server's time; nothing to read, the state is kept."
                        );
                        return Ok(WindowReport::default());
                    }
                    let reconcile = self.over_history_gap(committer, to + 1, at).await?;
                    checked = Some(to + 1);
                    let start = self.window_start(index, to + 1, at, reconcile).await?;
                    committer.update(name, move |s| s.position = start).await?;
                }
                Position::WindowParts { at, reconcile, .. } => {
                    match self.window_parts(index, committer).await {
                        Ok(()) if self.phase_follows(reconcile) => {}
                        Ok(()) => return Ok(WindowReport { to: Some(at) }),
                        Err(
                            e @ ExportError::Read(ReadError::SnapshotExpired {
                                snapshot_ts, ..
                            }),
                        ) => {
                            let stream = committer.stream(name)?;
                            budget.spend(stream.rows, e)?;
                            let next = now(self.client, name).await?;
                            let moved = window_moved(
                                stream.position.clone(),
                                next,
                                self.settings.deletion_column.is_some(),
                            );
                            tracing::info!(
                                collection = name,
                                snapshot_ts,
                                "The window's snapshot fell out of the collection's history; continuing at a newer time."
                            );
                            checked = None;
                            committer.update(name, move |s| s.position = moved).await?;
                        }
                        Err(e) => return Err(e),
                    }
                }
                Position::Window {
                    from,
                    at,
                    cursor,
                    reconcile,
                } => {
                    let start = cursor.map(|c| stored_cursor(name, &c)).transpose()?;
                    let changes = IndexChanges {
                        client: self.client,
                        settings: self.settings,
                        index,
                        since: from,
                        until: None,
                        at,
                    };
                    // Over a history gap the deletions come from the reconciliation after the
                    // changes; otherwise from the events, merged with the changes.
                    let end = self.window_end(at, reconcile);
                    let end_of_phase = end.clone();
                    let position: PositionFn =
                        Arc::new(move |c: Option<&Value>, _: usize| match c {
                            Some(c) => Position::Window {
                                from,
                                at,
                                cursor: Some(encode(c)),
                                reconcile,
                            },
                            None => end_of_phase.clone(),
                        });
                    let result = if self.settings.deletion_column.is_some() && !reconcile {
                        let deletions = DeletionEvents {
                            client: self.client,
                            settings: self.settings,
                            since: from,
                            at,
                        };
                        let reader = Merged {
                            first: changes,
                            second: deletions,
                        };
                        let part = Partition {
                            reader,
                            start,
                            position,
                        };
                        drain(committer, name, vec![part], end, self.observer).await
                    } else {
                        let reader = Merged {
                            first: changes,
                            second: Nothing,
                        };
                        let part = Partition {
                            reader,
                            start,
                            position,
                        };
                        drain(committer, name, vec![part], end, self.observer).await
                    };
                    match result {
                        Ok(()) if self.phase_follows(reconcile) => {}
                        Ok(()) => return Ok(WindowReport { to: Some(at) }),
                        Err(
                            e @ ExportError::Read(ReadError::SnapshotExpired {
                                snapshot_ts, ..
                            }),
                        ) => {
                            let stream = committer.stream(name)?;
                            budget.spend(stream.rows, e)?;
                            // Both cursors stay valid at a newer snapshot: index entries and
                            // events after them only move forward.
                            let at = now(self.client, name).await?;
                            let kept = match &stream.position {
                                Position::Window { cursor, .. } => cursor.clone(),
                                _ => None,
                            };
                            tracing::info!(
                                collection = name,
                                snapshot_ts,
                                "The window's snapshot fell out of the collection's history; continuing at a newer time."
                            );
                            checked = None;
                            committer
                                .update(name, move |s| {
                                    s.position = Position::Window {
                                        from,
                                        at,
                                        cursor: kept,
                                        reconcile,
                                    }
                                })
                                .await?;
                        }
                        Err(e) => return Err(e),
                    }
                }
                Position::Expire { at, reconcile } => {
                    self.expire(committer, at, reconcile).await?;
                    if !reconcile {
                        return Ok(WindowReport { to: Some(at) });
                    }
                }
                Position::GapReconcile { at, cursor } => {
                    match self.gap_reconcile(committer, at, cursor).await {
                        Ok(()) => return Ok(WindowReport { to: Some(at) }),
                        Err(
                            e @ ExportError::Read(ReadError::SnapshotExpired {
                                snapshot_ts, ..
                            }),
                        ) => {
                            let stream = committer.stream(name)?;
                            budget.spend(stream.rows, e)?;
                            // Everything up to `at` is committed but for deletions not yet
                            // found: read the changes since at a newer time, then compare
                            // again (ids already found are out of the set).
                            let next = now(self.client, name).await?;
                            tracing::info!(
                                collection = name,
                                snapshot_ts,
                                "The reconciliation's snapshot fell out of the collection's history; reading the changes since and comparing again at a newer time."
                            );
                            committer
                                .update(name, move |s| {
                                    s.position = Position::Window {
                                        from: at + 1,
                                        at: next,
                                        cursor: None,
                                        reconcile: true,
                                    }
                                })
                                .await?;
                        }
                        Err(e) => return Err(e),
                    }
                }
            }
        }
    }

    /// The last phase of a window over a history gap: each id the output holds that is not
    /// live at `at` becomes a detected deletion record (`spec/sync.md`, "History gaps").
    async fn gap_reconcile(
        &self,
        committer: &mut Committer,
        at: i64,
        cursor: Option<String>,
    ) -> Result<(), ExportError> {
        let name = self.settings.name.as_str();
        let exported =
            committer
                .frozen_ids(name)
                .await?
                .ok_or_else(|| ExportError::CannotReconcile {
                    collection: name.to_string(),
                    gap_minutes: 0,
                    reason: NO_ID_SET,
                })?;
        let resume = move |cursor| Position::GapReconcile { at, cursor };
        let end = Position::Synced { to: at };
        self.reconcile(committer, &exported, at, cursor, resume, end)
            .await
    }

    /// Whether the window `[from, at]` lies over a history gap that is to be reconciled.
    /// Deletions are seen as events, which Fauna keeps for `history_days` plus its
    /// minimum-valid-time offset: below the collection's minimum valid time some may be gone.
    /// The server decides (a read `At(from)` fails below it), so the check holds whatever the
    /// retention settings. A gap stops the run unless the collection reconciles it and its
    /// output keeps a complete id set.
    async fn over_history_gap(
        &self,
        committer: &Committer,
        from: i64,
        at: i64,
    ) -> Result<bool, ExportError> {
        if self.settings.deletion_column.is_none() {
            return Ok(false);
        }
        let name = &self.settings.name;
        let probe = Expr::at(
            from,
            Expr::paginate(Expr::documents(Expr::collection(name))).with("size", 1),
        );
        match crate::read::query(self.client, name, Some(from), &probe).await {
            Ok(_) => return Ok(false),
            Err(ReadError::SnapshotExpired { .. }) => {}
            Err(e) => return Err(e.into()),
        }
        let gap_minutes = (at - from) / 60_000_000;
        if self.settings.history_gap == HistoryGap::Stop {
            return Err(ExportError::HistoryGap {
                collection: name.clone(),
                gap_minutes,
            });
        }
        let reason = match committer.stream(name)?.ids {
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
        Ok(true)
    }
}

/// Why a gap cannot be reconciled without an id set.
const NO_ID_SET: &str =
    "this output keeps no id set to compare with (Airbyte read keeps none: reset the stream)";

/// Why a gap cannot be reconciled with an incomplete id set.
const INCOMPLETE_ID_SET: &str =
    "this output's id set was started after its first records (they were written by an earlier fauna-sync version)";

/// The start and end of a window not over a gap whose history this run has not checked yet.
fn unchecked_window(position: &Position, checked: Option<i64>) -> Option<(i64, i64)> {
    match position {
        Position::Window {
            from,
            at,
            reconcile: false,
            ..
        }
        | Position::WindowParts {
            from,
            at,
            reconcile: false,
            ..
        } if checked != Some(*from) => Some((*from, *at)),
        _ => None,
    }
}

/// The window continued over a history gap: the events since its start may be gone by now,
/// so its changes go on from where they stand (a sequential window's merged cursor has its
/// change part leading; nothing more is read from events) and the reconciliation after them
/// finds the deletions.
fn into_gap_window(position: Position) -> Position {
    match position {
        Position::Window {
            from, at, cursor, ..
        } => Position::Window {
            from,
            at,
            cursor,
            reconcile: true,
        },
        Position::WindowParts {
            from,
            at,
            parts,
            turn,
            taken,
            ..
        } => Position::WindowParts {
            from,
            at,
            deletions: None,
            deletions_done: true,
            parts,
            turn,
            taken,
            reconcile: true,
        },
        other => other,
    }
}
