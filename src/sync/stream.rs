//! One stream's read, with the strategy its state names: the pinned snapshot here, the
//! short-retention strategy in [`super::scan_catch_up`].

use std::path::PathBuf;
use std::sync::Arc;

use super::committer::{Committer, PositionFn};
use super::error::ExportError;
use super::observer::Observer;
use super::partitions::{drain, drain_concurrent, parts_or_done, Partition, Rotation};
use super::state::{PartPosition, Position, Strategy};
use crate::config::CollectionSettings;
use crate::export::record_schema;
use crate::fauna::{decode, encode, FaunaClient, Ref, Value};
use crate::read::{document_cursor_id, split_points, Documents, ReadError};

/// Everything one collection's read needs, whichever strategy reads it.
pub struct CollectionExport<'a> {
    /// The client.
    pub client: &'a FaunaClient,
    /// The collection's settings.
    pub settings: &'a CollectionSettings,
    /// Where the stream's id set lives (`None`: the output keeps none, e.g. Airbyte mode).
    /// Kept when deletions are tracked and by the short-retention strategy.
    pub ids_dir: Option<PathBuf>,
    /// Progress hooks.
    pub observer: &'a dyn Observer,
    /// Ranges of a pinned-snapshot export read at once (1 = one page at a time, in id order).
    pub concurrency: u32,
}

/// Decodes a cursor stored in the state.
pub(crate) fn stored_cursor(collection: &str, cursor: &str) -> Result<Value, ExportError> {
    decode(cursor.as_bytes()).map_err(|e| {
        ExportError::Read(ReadError::BadPage {
            collection: collection.to_string(),
            detail: format!("stored cursor unreadable: {e}"),
        })
    })
}

impl CollectionExport<'_> {
    /// Reads the collection from wherever the committed state says it stands.
    pub async fn run(&self, committer: &mut Committer) -> Result<(), ExportError> {
        // Outputs that keep an id set are the ones `sync` may continue: they keep the list of
        // expiring documents too (Airbyte's full refresh, never continued, keeps neither).
        self.open(committer, self.ids_dir.is_some()).await?;
        self.full(committer).await
    }

    /// Finishes the stream's full export if needed, then reads one incremental window up to
    /// now through `index` (`spec/sync.md`).
    pub async fn sync(
        &self,
        index: &str,
        committer: &mut Committer,
    ) -> Result<super::incremental::WindowReport, ExportError> {
        self.open(committer, true).await?;
        self.incremental(index, committer).await
    }

    /// Opens the stream in the committer; `continued` when `sync` reads (or may later read)
    /// it incrementally: with deletions tracked it then keeps the list of expiring documents.
    async fn open(&self, committer: &mut Committer, continued: bool) -> Result<(), ExportError> {
        let name = self.settings.name.as_str();
        let stream = committer.stream(name)?;
        let tracks_deletions = self.settings.deletion_column.is_some();
        let keeps_ids = stream.strategy == Strategy::ScanCatchUp || tracks_deletions;
        let ids = self.ids_dir.as_deref().filter(|_| keeps_ids);
        let expiring = tracks_deletions && continued;
        committer
            .open_stream(name, record_schema(self.settings), ids, expiring)
            .await
    }

    /// The full export, with the strategy the stream was started with.
    pub(crate) async fn full(&self, committer: &mut Committer) -> Result<(), ExportError> {
        let stream = committer.stream(&self.settings.name)?;
        match (stream.strategy, stream.index.clone()) {
            (Strategy::ScanCatchUp, Some(index)) => self.scan_catch_up(&index, committer).await,
            _ => self.pinned(committer).await,
        }
    }

    /// The pinned-snapshot strategy: every page of `Documents(c)` `At(snapshot_ts)`; with
    /// `concurrency` above 1, as that many ranges of ids read at once.
    async fn pinned(&self, committer: &mut Committer) -> Result<(), ExportError> {
        let name = self.settings.name.as_str();
        let stream = committer.stream(name)?;
        let at = stream.snapshot_ts;
        let rotation = match &stream.position {
            Position::Parts { parts, turn, taken } => Rotation {
                parts: parts.clone(),
                turn: *turn,
                taken: *taken,
            },
            Position::Start | Position::After { .. } => {
                let cursor = match &stream.position {
                    Position::After { cursor } => Some(stored_cursor(name, cursor)?),
                    _ => None,
                };
                let from = cursor
                    .as_ref()
                    .and_then(document_cursor_id)
                    .map(str::to_string);
                let points = split_points(
                    self.client,
                    name,
                    Some(at),
                    from.as_deref(),
                    self.concurrency,
                )
                .await?;
                if points.is_empty() {
                    return self.sequential(committer, at, cursor).await;
                }
                Rotation {
                    parts: ranges(cursor.map(|c| encode(&c)), name, points),
                    turn: 0,
                    taken: 0,
                }
            }
            _ => return Ok(()),
        };
        let readers = rotation
            .parts
            .iter()
            .map(|part| Documents {
                client: self.client,
                settings: self.settings,
                at: Some(at),
                before_ts: None,
                until: part.until.clone(),
            })
            .collect();
        drain_concurrent(
            committer,
            name,
            readers,
            rotation,
            parts_or_done(),
            self.observer,
        )
        .await
    }

    /// One range, in id order, from `cursor`.
    async fn sequential(
        &self,
        committer: &mut Committer,
        at: i64,
        cursor: Option<Value>,
    ) -> Result<(), ExportError> {
        let reader = Documents {
            client: self.client,
            settings: self.settings,
            at: Some(at),
            before_ts: None,
            until: None,
        };
        let position: PositionFn = Arc::new(|c: Option<&Value>, _: usize| match c {
            Some(c) => Position::After { cursor: encode(c) },
            None => Position::Done,
        });
        let part = Partition {
            reader,
            start: cursor,
            position,
        };
        let name = self.settings.name.as_str();
        drain(committer, name, vec![part], Position::Done, self.observer).await
    }
}

/// The ranges split at `points`: the first from `start`, each other from its first document.
pub(crate) fn ranges(
    start: Option<String>,
    collection: &str,
    points: Vec<String>,
) -> Vec<PartPosition> {
    let mut parts = Vec::with_capacity(points.len() + 1);
    let mut cursor = start;
    for point in points {
        let next = encode(&Value::Array(vec![Value::Ref(Ref::document(
            collection, &point,
        ))]));
        parts.push(PartPosition {
            cursor: cursor.replace(next),
            until: Some(point),
            ..PartPosition::default()
        });
    }
    parts.push(PartPosition {
        cursor,
        ..PartPosition::default()
    });
    parts
}
