//! The pinned-snapshot strategy: every page of `Documents(c)` `At(snapshot_ts)`, each document
//! exactly once as of that time; with `concurrency` above 1, as that many ranges of ids read
//! at once, taking turns in the output ([`drain_concurrent`]).

use std::sync::Arc;

use super::committer::{Committer, PositionFn};
use super::drain::{drain, Partition, RotationPosition};
use super::error::ExportError;
use super::stream::{ranges, stored_cursor, CollectionExport};
use crate::fauna::{encode, Value};
use crate::read::{document_cursor_id, split_points, Documents};
use crate::state::{Rotation, SnapshotPosition};

/// A full read at the stream's pinned snapshot, from its [`SnapshotPosition`].
pub(crate) struct SnapshotStrategy<'r> {
    /// The stream's read.
    pub read: &'r CollectionExport<'r>,
}

impl SnapshotStrategy<'_> {
    /// Reads from the committed position to the end ([`SnapshotPosition::Done`]).
    pub async fn run(&self, committer: &mut Committer) -> Result<(), ExportError> {
        let read = self.read;
        let name = read.settings.name.as_str();
        let Some(position) = read.own::<SnapshotPosition>(committer)? else {
            return Ok(());
        };
        let at = committer.stream(name)?.snapshot_ts;
        let rotation = match position {
            SnapshotPosition::Done => return Ok(()),
            SnapshotPosition::Ranges(rotation) => rotation,
            SnapshotPosition::Start | SnapshotPosition::After(_) => {
                let cursor = match &position {
                    SnapshotPosition::After(cursor) => Some(stored_cursor(name, cursor)?),
                    _ => None,
                };
                let from = cursor
                    .as_ref()
                    .and_then(document_cursor_id)
                    .map(str::to_string);
                let points = split_points(
                    read.client,
                    name,
                    Some(at),
                    from.as_deref(),
                    read.concurrency,
                )
                .await?;
                if points.is_empty() {
                    return self.sequential(committer, at, cursor).await;
                }
                Rotation {
                    ranges: ranges(cursor.map(|c| encode(&c)), name, points),
                    turn: 0,
                    taken: 0,
                }
            }
        };
        let readers = rotation
            .ranges
            .iter()
            .map(|part| Documents {
                client: read.client,
                settings: read.settings,
                at: Some(at),
                before_ts: None,
                until: part.until.clone(),
            })
            .collect();
        let position_of = RotationPosition::new(SnapshotPosition::Done, |r| {
            SnapshotPosition::Ranges(r).into()
        });
        read.drain_ranges(committer, readers, rotation, position_of)
            .await
    }

    /// One range, in id order, from `cursor`.
    async fn sequential(
        &self,
        committer: &mut Committer,
        at: i64,
        cursor: Option<Value>,
    ) -> Result<(), ExportError> {
        let read = self.read;
        let reader = Documents {
            client: read.client,
            settings: read.settings,
            at: Some(at),
            before_ts: None,
            until: None,
        };
        let position: PositionFn = Arc::new(|c: Option<&Value>, _: usize| {
            match c {
                Some(c) => SnapshotPosition::After(encode(c)),
                None => SnapshotPosition::Done,
            }
            .into()
        });
        let part = Partition {
            reader,
            start: cursor,
            position,
        };
        let name = read.settings.name.as_str();
        let end = SnapshotPosition::Done.into();
        drain(committer, name, vec![part], end, read.observer).await
    }
}
