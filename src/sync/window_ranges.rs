//! Incremental windows of more than [`CHUNK_ITEMS`] changes read as concurrent ranges of ts
//! (`concurrency` above 1): first the window's deletions in ts order, then its changes as
//! ranges of ts taking turns of [`CHUNK_ITEMS`] (`spec/sync.md`, "Partitioned windows").
//!
//! Why deletions first: a document appears once among a window's changes (the `[ts, ref]`
//! index at the window's snapshot holds its latest version), and that version is newer than
//! any deletion of the same document in the window (it was created again after). So deletions
//! first, then the changes in any order, keeps every document's records in ts order, and
//! applying a window's records in order still gives the collection as of its end.

use std::sync::Arc;

use super::committer::{Committer, PositionFn};
use super::drain::{drain, Partition, RotationPosition, CHUNK_ITEMS};
use super::error::ExportError;
use super::incremental::WindowStrategy;
use super::stream::{stored_cursor, CollectionExport};
use crate::fauna::{encode, Value};
use crate::read::{changes_exceed, DeletionEvents, IndexChanges};
use crate::state::{RangePosition, Rotation, StateError, Window, WindowPosition, WindowRanges};

impl WindowStrategy<'_> {
    /// The position a new window `[from, at]` starts at: split into ranges of ts when reading
    /// with more than one request at once and more than [`CHUNK_ITEMS`] documents changed (a
    /// smaller window is one range: its records in ts order, deletions merged).
    pub(super) async fn window_start(
        &self,
        from: i64,
        at: i64,
        reconcile: bool,
    ) -> Result<WindowPosition, ExportError> {
        let read = self.read;
        let Some(parts) = split_changes(read, self.index, from, at).await? else {
            return Ok(WindowPosition::Window(Window {
                from,
                at,
                cursor: None,
                reconcile,
            }));
        };
        Ok(WindowPosition::Ranges(WindowRanges {
            from,
            at,
            deletions: None,
            deletions_done: reconcile || read.settings.deletion_column.is_none(),
            rotation: Rotation {
                ranges: parts,
                turn: 0,
                taken: 0,
            },
            reconcile,
        }))
    }

    /// Reads a window of ranges from where it stands to its end.
    pub(super) async fn window_ranges(
        &self,
        committer: &mut Committer,
        window: WindowRanges,
    ) -> Result<(), ExportError> {
        let read = self.read;
        let name = read.settings.name.as_str();
        let WindowRanges {
            from,
            at,
            deletions,
            deletions_done,
            rotation,
            reconcile,
        } = window;
        if !deletions_done {
            let start = deletions.map(|c| stored_cursor(name, &c)).transpose()?;
            let reader = DeletionEvents {
                client: read.client,
                settings: read.settings,
                since: from,
                at,
            };
            let kept = rotation.clone();
            let position: PositionFn = Arc::new(move |c: Option<&Value>, _: usize| {
                WindowPosition::Ranges(WindowRanges {
                    from,
                    at,
                    deletions: c.map(encode),
                    deletions_done: c.is_none(),
                    rotation: kept.clone(),
                    reconcile,
                })
                .into()
            });
            let end = position(None, 0);
            let part = Partition {
                reader,
                start,
                position,
            };
            drain(committer, name, vec![part], end, read.observer).await?;
        }
        let readers = index_ranges(read, self.index, &rotation, from, at)?;
        let end = self.window_end(at, reconcile);
        let position_of = RotationPosition::new(end, move |r| {
            WindowPosition::Ranges(WindowRanges {
                from,
                at,
                deletions: None,
                deletions_done: true,
                rotation: r,
                reconcile,
            })
            .into()
        });
        read.drain_ranges(committer, readers, rotation, position_of)
            .await
    }
}

/// The window moved to the newer snapshot `next` after its snapshot expired. The
/// ranges keep their cursors (entries after them only move forward), but every range now ends
/// at the old end `at`: the documents written in `(at, next]` — their index entries have left
/// the ranges they were in — are read by a new last range `[at + 1, next]`, even when every
/// old range had already finished. The deletions between the old end and `next` are read first
/// again, so every document's records stay in ts order.
pub(crate) fn window_moved(
    window: WindowRanges,
    next: i64,
    tracks_deletions: bool,
) -> WindowRanges {
    let WindowRanges {
        from,
        at,
        deletions,
        deletions_done,
        rotation,
        reconcile,
    } = window;
    let (deletions, deletions_done) = if reconcile || !tracks_deletions {
        (None, true)
    } else if deletions_done {
        (Some(encode(&Value::Int(at + 1))), false)
    } else {
        (deletions, false)
    };
    WindowRanges {
        from,
        at: next,
        deletions,
        deletions_done,
        rotation: ranges_moved(rotation, at, next),
        reconcile,
    }
}

/// Ranges of ts pinned at `at` moved to the newer time `next`: each keeps its cursor (index
/// entries after it only move forward) but ends at `at`, and a new last range `[at + 1, next]`
/// reads the documents written since — their entries left the ranges they were in, so this
/// holds even when every old range had finished.
pub(crate) fn ranges_moved(rotation: Rotation, at: i64, next: i64) -> Rotation {
    let Rotation {
        ranges: mut parts,
        turn,
        taken,
    } = rotation;
    if next > at {
        for part in parts.iter_mut().filter(|p| p.until.is_none()) {
            part.until = Some(at.to_string());
        }
        parts.push(RangePosition {
            since: Some(at + 1),
            ..RangePosition::default()
        });
    }
    // The turn stays where it was unless that range is finished: then it goes to the
    // first range that is not (the new one, at the latest).
    let (turn, taken) = if parts.get(turn).is_some_and(|p| !p.done) {
        (turn, taken)
    } else {
        (parts.iter().position(|p| !p.done).unwrap_or(0), 0)
    };
    Rotation {
        ranges: parts,
        turn,
        taken,
    }
}

/// `[since, at]` as ranges of ts ([`ts_ranges`]) when reading with more than one request at
/// once and more than [`CHUNK_ITEMS`] documents changed in it (one page of index entries,
/// without `Get`, tells); `None`: read it as one range.
pub(crate) async fn split_changes(
    read: &CollectionExport<'_>,
    index: &str,
    since: i64,
    at: i64,
) -> Result<Option<Vec<RangePosition>>, ExportError> {
    let parts = ts_ranges(since, at, read.concurrency);
    if parts.len() < 2 {
        return Ok(None);
    }
    let name = read.settings.name.as_str();
    let items = u32::try_from(CHUNK_ITEMS).unwrap_or(u32::MAX);
    if !changes_exceed(read.client, name, index, since, at, items).await? {
        return Ok(None);
    }
    Ok(Some(parts))
}

/// One `[ts, ref]` index reader per range of `rotation`, each pinned at `at` (a range without
/// a recorded start starts at `since`).
pub(crate) fn index_ranges<'r>(
    read: &'r CollectionExport<'r>,
    index: &'r str,
    rotation: &Rotation,
    since: i64,
    at: i64,
) -> Result<Vec<IndexChanges<'r>>, ExportError> {
    let name = read.settings.name.as_str();
    let mut readers = Vec::with_capacity(rotation.ranges.len());
    for part in &rotation.ranges {
        let until = match &part.until {
            Some(u) => Some(u.parse::<i64>().map_err(|_| bad_range(name, u))?),
            None => None,
        };
        readers.push(IndexChanges {
            client: read.client,
            settings: read.settings,
            index,
            since: part.since.unwrap_or(since),
            until,
            at,
        });
    }
    Ok(readers)
}

fn bad_range(collection: &str, until: &str) -> ExportError {
    ExportError::State(StateError::Invalid {
        path: "of this run".into(),
        reason: format!(
            "stream '{collection}' records a range of ts ending at '{until}', which is not a time in microseconds"
        ),
    })
}

/// `[from, at]` in up to `n` ranges of ts of equal span; the last reaches the window's end.
fn ts_ranges(from: i64, at: i64, n: u32) -> Vec<RangePosition> {
    let span = i128::from(at) - i128::from(from) + 1;
    let mut starts: Vec<i64> = vec![from];
    for k in 1..i128::from(n.max(1)) {
        let b = i128::from(from) + span * k / i128::from(n);
        if let Ok(b) = i64::try_from(b) {
            if starts.last().is_some_and(|&p| b > p) && b <= at {
                starts.push(b);
            }
        }
    }
    let mut parts = Vec::with_capacity(starts.len());
    for (i, &since) in starts.iter().enumerate() {
        parts.push(RangePosition {
            since: Some(since),
            until: starts.get(i + 1).map(|next| (next - 1).to_string()),
            ..RangePosition::default()
        });
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bounds(parts: &[RangePosition]) -> Vec<(Option<i64>, Option<String>)> {
        parts.iter().map(|p| (p.since, p.until.clone())).collect()
    }

    #[test]
    fn a_window_splits_into_ranges_of_equal_span_reaching_its_end() {
        assert_eq!(
            bounds(&ts_ranges(100, 199, 4)),
            [
                (Some(100), Some("124".to_string())),
                (Some(125), Some("149".to_string())),
                (Some(150), Some("174".to_string())),
                (Some(175), None)
            ]
        );
        assert_eq!(
            bounds(&ts_ranges(5, 6, 4)),
            [(Some(5), Some("5".to_string())), (Some(6), None)]
        );
        assert_eq!(bounds(&ts_ranges(5, 5, 4)), [(Some(5), None)]);
        assert_eq!(bounds(&ts_ranges(5, 900, 1)), [(Some(5), None)]);
    }

    fn window(parts: Vec<RangePosition>, turn: usize, taken: u64, reconcile: bool) -> WindowRanges {
        WindowRanges {
            from: 100,
            at: 199,
            deletions: None,
            deletions_done: true,
            rotation: Rotation {
                ranges: parts,
                turn,
                taken,
            },
            reconcile,
        }
    }

    #[test]
    fn a_moved_window_reads_the_new_deletions_first_and_the_new_changes_in_a_new_range() {
        let parts = ts_ranges(100, 199, 2);
        let changes = window(parts.clone(), 1, 7, false);
        let mut bounded = parts.clone();
        bounded[1].until = Some("199".into());
        bounded.push(RangePosition {
            since: Some(200),
            ..RangePosition::default()
        });
        assert_eq!(
            window_moved(changes.clone(), 300, true),
            WindowRanges {
                from: 100,
                at: 300,
                deletions: Some("200".into()),
                deletions_done: false,
                rotation: Rotation {
                    ranges: bounded,
                    turn: 1,
                    taken: 7,
                },
                reconcile: false,
            }
        );
        // Without tracked deletions there is nothing to read first.
        assert!(window_moved(changes, 300, false).deletions_done);
    }

    #[test]
    fn a_moved_window_whose_ranges_had_all_finished_still_reads_the_new_span() {
        let mut parts = ts_ranges(100, 199, 2);
        for p in &mut parts {
            p.done = true;
            p.cursor = Some("x".into());
        }
        let finished = window(parts, 1, 0, true);
        let WindowRanges { rotation, at, .. } = window_moved(finished, 300, true);
        let Rotation {
            ranges: parts,
            turn,
            taken,
        } = rotation;
        assert_eq!(at, 300);
        assert_eq!(
            bounds(&parts),
            [
                (Some(100), Some("149".to_string())),
                (Some(150), Some("199".to_string())),
                (Some(200), None)
            ]
        );
        assert!(parts[0].done && parts[1].done && !parts[2].done);
        assert_eq!((turn, taken), (2, 0));
    }
}
