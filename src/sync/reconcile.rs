//! The reconciliation phase shared by the short-retention strategy and sync's history gaps:
//! the ids the output holds that are not live at a time become deletion records.

use std::sync::Arc;

use super::committer::{Committer, PositionFn};
use super::drain::{drain, Partition};
use super::error::ExportError;
use super::stream::{stored_cursor, CollectionExport};
use crate::fauna::{encode, Value};
use crate::id_set::SortedIds;
use crate::read::Vanished;
use crate::state::Position;

impl CollectionExport<'_> {
    /// Compares `exported` with the ids live at `at`, from `cursor` (a stored cursor), and
    /// commits a deletion record for each missing one; `resume` makes the position of a
    /// cursor inside the phase, `end` is the position after it.
    pub(crate) async fn reconcile(
        &self,
        committer: &mut Committer,
        exported: &SortedIds,
        at: i64,
        cursor: Option<String>,
        resume: impl Fn(Option<String>) -> Position + Send + Sync + 'static,
        end: Position,
    ) -> Result<(), ExportError> {
        let name = self.settings.name.as_str();
        let start = cursor.map(|c| stored_cursor(name, &c)).transpose()?;
        let reader = Vanished {
            client: self.client,
            settings: self.settings,
            exported,
            at,
            ranges: self.concurrency.max(1) as usize,
        };
        let end_of_phase = end.clone();
        let position: PositionFn = Arc::new(move |c: Option<&Value>, _: usize| match c {
            Some(c) => resume(Some(encode(c))),
            None => end_of_phase.clone(),
        });
        let part = Partition {
            reader,
            start,
            position,
        };
        drain(committer, name, vec![part], end, self.observer).await
    }
}
