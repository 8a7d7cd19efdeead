//! One stream's read: what every strategy needs ([`CollectionExport`]), and the strategy its
//! state names — the pinned snapshot ([`super::snapshot`]), the short-retention strategy
//! ([`super::scan_catch_up`]) or incremental windows ([`super::incremental`]).

use super::committer::Committer;
use super::drain::{drain_concurrent, RotationPosition};
use super::error::ExportError;
use super::incremental::{WindowReport, WindowStrategy};
use super::observer::Observer;
use super::scan_catch_up::ScanCatchUpStrategy;
use super::snapshot::SnapshotStrategy;
use crate::config::CollectionSettings;
use crate::export::record_schema;
use crate::fauna::{decode, encode, FaunaClient, Ref, Value};
use crate::id_set::IdStore;
use crate::read::{ReadError, Reader, Retention};
use crate::state::{OwnPosition, Phase, RangePosition, Rotation, StateError, Strategy};

/// Everything one collection's read needs, whichever strategy reads it.
pub struct CollectionExport<'a> {
    /// The client.
    pub client: &'a FaunaClient,
    /// The collection's settings.
    pub settings: &'a CollectionSettings,
    /// How long the collection keeps history (a resync over a history gap chooses its
    /// strategy by it).
    pub retention: Retention,
    /// Where the run keeps id sets: the short-retention strategy keeps the stream's there,
    /// and so does a stream that tracks deletions when the store outlives the run.
    pub ids: &'a IdStore,
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
        // Outputs whose id sets are kept between runs are the ones `sync` may continue: they
        // keep the list of expiring documents too (Airbyte's full refresh, never continued,
        // keeps neither).
        self.open(committer, self.ids.kept()).await?;
        self.full(committer).await
    }

    /// Finishes the stream's full export if needed, then reads one incremental window up to
    /// now through `index` (`spec/sync.md`).
    pub async fn sync(
        &self,
        index: &str,
        committer: &mut Committer,
    ) -> Result<WindowReport, ExportError> {
        self.open(committer, true).await?;
        WindowStrategy { read: self, index }.run(committer).await
    }

    /// Starts committing the stream, with its id set when it keeps one: in a store kept
    /// between runs, when it tracks deletions or was read with the short-retention strategy;
    /// in scratch space, only during that strategy's full read (its reconciliation compares
    /// with it). `continued` when it is read (or may later be read) incrementally: with
    /// deletions tracked it then keeps the list of expiring documents.
    pub(crate) async fn open(
        &self,
        committer: &mut Committer,
        continued: bool,
    ) -> Result<(), ExportError> {
        let name = self.settings.name.as_str();
        let stream = committer.stream(name)?;
        let short_retention = stream.strategy == Strategy::ScanCatchUp;
        let tracks_deletions = self.settings.deletion_column.is_some();
        let keeps_ids = match self.ids {
            IdStore::Kept(_) => short_retention || tracks_deletions,
            IdStore::Scratch(_) => short_retention && stream.position.in_full_read(),
        };
        let ids = keeps_ids.then(|| self.ids.dir());
        let expiring = tracks_deletions && continued;
        committer
            .open_stream(name, record_schema(self.settings), ids, expiring)
            .await
    }

    /// The full export, with the strategy the stream was started with (nothing once it is
    /// done, or continued incrementally).
    pub(crate) async fn full(&self, committer: &mut Committer) -> Result<(), ExportError> {
        match self.phase(committer)? {
            Phase::Snapshot(_) => SnapshotStrategy { read: self }.run(committer).await,
            Phase::ScanCatchUp { index, .. } => {
                let index = index.as_str();
                ScanCatchUpStrategy { read: self, index }
                    .run(committer)
                    .await
            }
            Phase::Incremental(_) => Ok(()),
        }
    }

    /// The stream's committed strategy and position; a pair no strategy writes (only a state
    /// changed by hand gets here: loading refuses it) is an invalid state.
    pub(crate) fn phase(&self, committer: &Committer) -> Result<Phase, ExportError> {
        let name = self.settings.name.as_str();
        committer.stream(name)?.phase().map_err(|e| {
            ExportError::State(StateError::Invalid {
                path: "of this run".into(),
                reason: e.of_stream(name),
            })
        })
    }

    /// The committed position when it is the strategy's own (`P`), else `None`: the stream
    /// moved on to another phase.
    pub(crate) fn own<P: OwnPosition>(
        &self,
        committer: &Committer,
    ) -> Result<Option<P>, ExportError> {
        Ok(P::of(self.phase(committer)?))
    }

    /// The collection's concurrent ranges `readers` from `rotation`, committed in turns
    /// ([`drain_concurrent`]), their progress recorded as `position_of` says.
    pub(crate) async fn drain_ranges<R: Reader>(
        &self,
        committer: &mut Committer,
        readers: Vec<R>,
        rotation: Rotation,
        position_of: RotationPosition,
    ) -> Result<(), ExportError> {
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

/// The ranges split at `points`: the first from `start`, each other from its first document.
pub(crate) fn ranges(
    start: Option<String>,
    collection: &str,
    points: Vec<String>,
) -> Vec<RangePosition> {
    let mut parts = Vec::with_capacity(points.len() + 1);
    let mut cursor = start;
    for point in points {
        let next = encode(&Value::Array(vec![Value::Ref(Ref::document(
            collection, &point,
        ))]));
        parts.push(RangePosition {
            cursor: cursor.replace(next),
            until: Some(point),
            ..RangePosition::default()
        });
    }
    parts.push(RangePosition {
        cursor,
        ..RangePosition::default()
    });
    parts
}
