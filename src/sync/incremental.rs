//! Incremental sync: after the stream's full read (pinned snapshot, or scan + catch-up) at
//! `T0`, each run reads one window `[previous end + 1, T]` at snapshot `T = Now()`: the
//! changes through the `[ts, ref]` index and, when deletions are tracked, the `remove` events
//! that are deletions, merged in ts order (`spec/sync.md`); as ranges of ts read at once in
//! [`super::window_ranges`]. Then the expiry phase ([`super::ttl_expiry`]) and, over a history
//! gap ([`super::history_gap`]), the reconciliation.

use std::sync::Arc;

use super::committer::{Committer, PositionFn};
use super::drain::{drain, Partition};
use super::error::ExportError;
use super::history_gap::{Gap, NO_ID_SET};
use super::snapshot_expiry::ExpiryBudget;
use super::stream::{stored_cursor, CollectionExport};
use super::window_ranges::window_moved;
use crate::fauna::{encode, Value};
use crate::read::{now, DeletionEvents, IndexChanges, Merged, Page, ReadError, Reader};
use crate::state::{Phase, Window, WindowPosition, WindowRanges};

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

/// An incremental sync through the `[ts, ref]` index `index`, from its [`WindowPosition`].
pub(crate) struct WindowStrategy<'r> {
    /// The stream's read.
    pub read: &'r CollectionExport<'r>,
    /// The index the changes are read through.
    pub index: &'r str,
}

/// How a window's phase ended.
enum Step {
    /// Another phase of the window follows.
    Next,
    /// The window is committed up to its end.
    Synced(i64),
}

impl WindowStrategy<'_> {
    /// Finishes the stream's full read first if needed, then reads (or resumes) one window up
    /// to now.
    pub async fn run(&self, committer: &mut Committer) -> Result<WindowReport, ExportError> {
        let read = self.read;
        let name = read.settings.name.as_str();
        let mut budget = ExpiryBudget::default();
        // The window start whose history this run checked (a window resumed from an earlier
        // run, or continued after an expiry, is checked again: time has passed).
        let mut checked: Option<i64> = None;
        loop {
            let position = match read.phase(committer)? {
                Phase::Incremental(position) => position,
                full if full.exported() => {
                    // Hand-off: the full read is consistent as of its snapshot (or, for the
                    // short-retention strategy, `consistent_at`); the first window starts after.
                    let stream = committer.stream(name)?;
                    let to = stream.consistent_at.unwrap_or(stream.snapshot_ts);
                    let synced = WindowPosition::Synced { to }.into();
                    committer.update(name, move |s| s.position = synced).await?;
                    continue;
                }
                _ => {
                    read.full(committer).await?;
                    continue;
                }
            };
            if let Some((from, at)) = unchecked_window(&position, checked) {
                checked = Some(from);
                match self.history_gap(committer, from, at).await? {
                    Gap::None => {}
                    Gap::Reconcile => {
                        let over_gap = into_gap_window(position).into();
                        committer
                            .update(name, move |s| s.position = over_gap)
                            .await?;
                        continue;
                    }
                    Gap::Resync { gap_minutes } => {
                        let at = now(read.client, name).await?;
                        self.resync(committer, at, gap_minutes).await?;
                        continue;
                    }
                }
            }
            let step = match position {
                WindowPosition::Synced { to } => {
                    if !self.start_window(committer, to, &mut checked).await? {
                        return Ok(WindowReport::default());
                    }
                    continue;
                }
                WindowPosition::Ranges(window) => {
                    let (at, reconcile) = (window.at, window.reconcile);
                    let read_ranges = self.window_ranges(committer, window).await;
                    self.after_changes(read_ranges, at, reconcile)
                }
                WindowPosition::Window(window) => {
                    let (at, reconcile) = (window.at, window.reconcile);
                    let read_window = self.window(committer, window).await;
                    self.after_changes(read_window, at, reconcile)
                }
                WindowPosition::Expire { at, reconcile } => {
                    self.expire(committer, at, reconcile).await?;
                    Ok(if reconcile {
                        Step::Next
                    } else {
                        Step::Synced(at)
                    })
                }
                WindowPosition::GapReconcile { at, cursor } => self
                    .gap_reconcile(committer, at, cursor)
                    .await
                    .map(|()| Step::Synced(at)),
            };
            let error = match step {
                Ok(Step::Next) => continue,
                Ok(Step::Synced(at)) => return Ok(WindowReport { to: Some(at) }),
                Err(e) => e,
            };
            let tracks_deletions = read.settings.deletion_column.is_some();
            let note = "The window's snapshot fell out of the collection's history; continuing at a newer time.";
            read.after_expiry(
                committer,
                &mut budget,
                error,
                note,
                move |position, newer| moved(position, newer, tracks_deletions),
            )
            .await?;
            checked = None;
        }
    }

    /// Starts the window after `to` at the server's time now, over a history gap if there is
    /// one (or resyncs the stream); false when that time is not past `to` (nothing to read).
    /// `checked` becomes the start of the window whose history was checked.
    async fn start_window(
        &self,
        committer: &mut Committer,
        to: i64,
        checked: &mut Option<i64>,
    ) -> Result<bool, ExportError> {
        let read = self.read;
        let name = read.settings.name.as_str();
        let at = now(read.client, name).await?;
        if at <= to {
            tracing::warn!(
                collection = name,
                synced_to = to,
                now = at,
                "The stream's sync cursor is ahead of the server's time; nothing to read, the state is kept."
            );
            return Ok(false);
        }
        let reconcile = match self.history_gap(committer, to + 1, at).await? {
            Gap::None => false,
            Gap::Reconcile => true,
            Gap::Resync { gap_minutes } => {
                self.resync(committer, at, gap_minutes).await?;
                return Ok(true);
            }
        };
        *checked = Some(to + 1);
        let start = self.window_start(to + 1, at, reconcile).await?.into();
        committer.update(name, move |s| s.position = start).await?;
        Ok(true)
    }

    /// What follows a window's changes (and deletions), read with `result`.
    fn after_changes(
        &self,
        result: Result<(), ExportError>,
        at: i64,
        reconcile: bool,
    ) -> Result<Step, ExportError> {
        result?;
        Ok(if self.phase_follows(reconcile) {
            Step::Next
        } else {
            Step::Synced(at)
        })
    }

    /// A window read as one sequence: its changes through the index and, unless it lies over
    /// a history gap (then the reconciliation after the changes finds the deletions), its
    /// deletion events, merged in ts order.
    async fn window(&self, committer: &mut Committer, window: Window) -> Result<(), ExportError> {
        let read = self.read;
        let name = read.settings.name.as_str();
        let Window {
            from,
            at,
            cursor,
            reconcile,
        } = window;
        let start = cursor.map(|c| stored_cursor(name, &c)).transpose()?;
        let changes = IndexChanges {
            client: read.client,
            settings: read.settings,
            index: self.index,
            since: from,
            until: None,
            at,
        };
        let end = self.window_end(at, reconcile);
        let end_of_phase = end.clone();
        let position: PositionFn = Arc::new(move |c: Option<&Value>, _: usize| match c {
            Some(c) => WindowPosition::Window(Window {
                from,
                at,
                cursor: Some(encode(c)),
                reconcile,
            })
            .into(),
            None => end_of_phase.clone().into(),
        });
        let end = end.into();
        if read.settings.deletion_column.is_some() && !reconcile {
            let deletions = DeletionEvents {
                client: read.client,
                settings: read.settings,
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
            drain(committer, name, vec![part], end, read.observer).await
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
            drain(committer, name, vec![part], end, read.observer).await
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
        let read = self.read;
        let name = read.settings.name.as_str();
        let exported =
            committer
                .frozen_ids(name)
                .await?
                .ok_or_else(|| ExportError::CannotReconcile {
                    collection: name.to_string(),
                    gap_minutes: 0,
                    reason: NO_ID_SET,
                })?;
        let resume = move |cursor| WindowPosition::GapReconcile { at, cursor }.into();
        let end = WindowPosition::Synced { to: at }.into();
        read.reconcile(committer, &exported, at, cursor, resume, end)
            .await
    }
}

/// The position a window phase continues at after its snapshot expired, at the newer time
/// `next`:
/// - a window read as one sequence goes on from its cursor: index entries and events after it
///   only move forward;
/// - a window read as ranges moves as [`window_moved`] says;
/// - a reconciliation: everything up to its time is committed but for deletions not yet found,
///   so the changes since are read at a newer time, then the ids compared again (ids already
///   found are out of the set).
fn moved(position: WindowPosition, next: i64, tracks_deletions: bool) -> WindowPosition {
    match position {
        WindowPosition::Window(w) => WindowPosition::Window(Window { at: next, ..w }),
        WindowPosition::Ranges(w) => {
            WindowPosition::Ranges(window_moved(w, next, tracks_deletions))
        }
        WindowPosition::GapReconcile { at, .. } => WindowPosition::Window(Window {
            from: at + 1,
            at: next,
            cursor: None,
            reconcile: true,
        }),
        other => other,
    }
}

/// The start and end of a window not over a gap whose history this run has not checked yet.
fn unchecked_window(position: &WindowPosition, checked: Option<i64>) -> Option<(i64, i64)> {
    let (from, at) = match position {
        WindowPosition::Window(Window {
            from,
            at,
            reconcile: false,
            ..
        })
        | WindowPosition::Ranges(WindowRanges {
            from,
            at,
            reconcile: false,
            ..
        }) => (*from, *at),
        _ => return None,
    };
    (checked != Some(from)).then_some((from, at))
}

/// The window continued over a history gap: the events since its start may be gone by now,
/// so its changes go on from where they stand (a sequential window's merged cursor has its
/// change part leading; nothing more is read from events) and the reconciliation after them
/// finds the deletions.
fn into_gap_window(position: WindowPosition) -> WindowPosition {
    match position {
        WindowPosition::Window(w) => WindowPosition::Window(Window {
            reconcile: true,
            ..w
        }),
        WindowPosition::Ranges(w) => WindowPosition::Ranges(WindowRanges {
            deletions: None,
            deletions_done: true,
            reconcile: true,
            ..w
        }),
        other => other,
    }
}
