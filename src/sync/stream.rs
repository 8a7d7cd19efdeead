//! One stream's read, with the strategy its state names: the pinned snapshot here, the
//! short-retention strategy in [`super::scan_catch_up`].

use std::path::PathBuf;
use std::sync::Arc;

use super::committer::{Committer, PositionFn};
use super::error::ExportError;
use super::observer::Observer;
use super::partitions::{drain, Partition};
use super::state::{Position, Strategy};
use crate::config::CollectionSettings;
use crate::export::record_schema;
use crate::fauna::{decode, encode, FaunaClient, Value};
use crate::read::{Documents, ReadError};

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
        self.open(committer).await?;
        self.full(committer).await
    }

    /// Finishes the stream's full export if needed, then reads one incremental window up to
    /// now through `index` (`spec/sync.md`).
    pub async fn sync(
        &self,
        index: &str,
        committer: &mut Committer,
    ) -> Result<super::incremental::WindowReport, ExportError> {
        self.open(committer).await?;
        self.incremental(index, committer).await
    }

    async fn open(&self, committer: &mut Committer) -> Result<(), ExportError> {
        let name = self.settings.name.as_str();
        let stream = committer.stream(name)?;
        let keeps_ids =
            stream.strategy == Strategy::ScanCatchUp || self.settings.deletion_column.is_some();
        let ids = self.ids_dir.as_deref().filter(|_| keeps_ids);
        committer
            .open_stream(name, record_schema(self.settings), ids)
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

    /// The pinned-snapshot strategy: every page of `Documents(c)` `At(snapshot_ts)`.
    async fn pinned(&self, committer: &mut Committer) -> Result<(), ExportError> {
        let name = self.settings.name.as_str();
        let stream = committer.stream(name)?;
        let cursor = match &stream.position {
            Position::Start => None,
            Position::After { cursor } => Some(stored_cursor(name, cursor)?),
            _ => return Ok(()),
        };
        let reader = Documents {
            client: self.client,
            settings: self.settings,
            at: Some(stream.snapshot_ts),
            before_ts: None,
        };
        let position: PositionFn = Arc::new(|c: Option<&Value>| match c {
            Some(c) => Position::After { cursor: encode(c) },
            None => Position::Done,
        });
        let part = Partition {
            reader,
            start: cursor,
            position,
        };
        drain(committer, name, vec![part], Position::Done, self.observer).await
    }
}
