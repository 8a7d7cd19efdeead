//! Incremental sync: after the stream's full export (pinned snapshot, or scan + catch-up) at
//! `T0`, each run reads one window `[previous end + 1, T]` at snapshot `T = Now()`: the
//! changes through the `[ts, ref]` index and, when deletions are tracked, the `remove` events
//! that are deletions, merged in ts order (`spec/sync.md`).

use std::sync::Arc;

use super::committer::{Committer, PositionFn};
use super::error::ExportError;
use super::expiry::ExpiryBudget;
use super::partitions::{drain, Partition};
use super::state::Position;
use super::stream::{stored_cursor, CollectionExport};
use crate::fauna::{encode, Value};
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
        loop {
            let stream = committer.stream(name)?;
            match stream.position.clone() {
                Position::Start
                | Position::After { .. }
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
                    self.check_history(to + 1, at).await?;
                    committer
                        .update(name, move |s| {
                            s.position = Position::Window {
                                from: to + 1,
                                at,
                                cursor: None,
                            }
                        })
                        .await?;
                }
                Position::Window { from, at, cursor } => {
                    let start = cursor.map(|c| stored_cursor(name, &c)).transpose()?;
                    let changes = IndexChanges {
                        client: self.client,
                        settings: self.settings,
                        index,
                        since: from,
                        until: None,
                        at,
                    };
                    let position: PositionFn = Arc::new(move |c: Option<&Value>| match c {
                        Some(c) => Position::Window {
                            from,
                            at,
                            cursor: Some(encode(c)),
                        },
                        None => Position::Synced { to: at },
                    });
                    let end = Position::Synced { to: at };
                    let result = if self.settings.deletion_column.is_some() {
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
                            committer
                                .update(name, move |s| {
                                    s.position = Position::Window {
                                        from,
                                        at,
                                        cursor: kept,
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

    /// Deletions are seen as events, which Fauna keeps for `history_days` plus its
    /// minimum-valid-time offset: a window that starts below the collection's minimum valid
    /// time may miss some, so it is refused. The server decides (a read `At(from)` fails
    /// below it), so the check holds whatever the retention settings.
    async fn check_history(&self, from: i64, at: i64) -> Result<(), ExportError> {
        if self.settings.deletion_column.is_none() {
            return Ok(());
        }
        let name = &self.settings.name;
        let probe = crate::fauna::Expr::at(
            from,
            crate::fauna::Expr::paginate(crate::fauna::Expr::documents(
                crate::fauna::Expr::collection(name),
            ))
            .with("size", 1),
        );
        match crate::read::query(self.client, name, Some(from), &probe).await {
            Ok(_) => Ok(()),
            Err(ReadError::SnapshotExpired { .. }) => Err(ExportError::HistoryGap {
                collection: name.clone(),
                gap_minutes: (at - from) / 60_000_000,
            }),
            Err(e) => Err(e.into()),
        }
    }
}
