//! How a full read of a collection is done, chosen when it starts (a new stream, a full refresh
//! started afresh, a resync over a history gap) and kept in the state so a resumed read keeps it.

use super::error::ExportError;
use super::observer::Observer;
use crate::config::CollectionSettings;
use crate::fauna::FaunaClient;
use crate::read::{ts_ref_index, Retention};
use crate::state::Strategy;

/// History windows shorter than this get the short-retention strategy.
const SHORT_RETENTION_SECS: i64 = 24 * 3600;

/// The strategy of a full read of `c` starting at `snapshot_ts`, and the `[ts, ref]` index it
/// reads through. A collection that keeps history for less than a day is read with the
/// short-retention strategy through its `[ts, ref]` index (`known`, when the caller has one at
/// hand, else the configured one or the first fitting one); without such an index it is read at
/// a pinned snapshot, with a warning that names the fix.
pub async fn full_read_strategy(
    client: &FaunaClient,
    c: &CollectionSettings,
    retention: &Retention,
    snapshot_ts: i64,
    known: Option<&str>,
    observer: &dyn Observer,
) -> Result<(Strategy, Option<String>), ExportError> {
    let window = match retention.window_secs() {
        Some(w) if w < SHORT_RETENTION_SECS => w,
        _ => return Ok((Strategy::Snapshot, None)),
    };
    let index = match known {
        Some(index) => Some(index.to_string()),
        None => match ts_ref_index(client, &c.name, c.index.as_deref()).await {
            Ok(found) => found,
            Err(e) if c.index.is_some() => {
                return Err(ExportError::Fauna {
                    context: format!(
                        "reading the index '{}' of collection '{}'",
                        c.index.as_deref().unwrap_or_default(),
                        c.name
                    ),
                    source: e,
                })
            }
            Err(e) => {
                tracing::debug!(collection = %c.name, %e, "Could not list indexes.");
                None
            }
        },
    };
    match (index, &c.index) {
        (Some(index), _) => {
            tracing::info!(
                collection = %c.name,
                index = %index,
                window_secs = window,
                "The collection keeps history for only {} minutes: exporting with a scan, a catch-up through the index and a reconciliation of deletions instead of one pinned snapshot (spec/export-format.md).",
                window / 60
            );
            Ok((Strategy::ScanCatchUp, Some(index)))
        }
        (None, Some(configured)) => Err(ExportError::BadIndex {
            collection: c.name.clone(),
            index: configured.clone(),
        }),
        (None, None) => {
            let message = format!(
                "Collection '{}' keeps history for only {} minutes and has no index with values [ts, ref]: every page is read at the run's snapshot, so the export must finish within that window (resumes included). Create one — CreateIndex({{name: \"{}_by_ts\", source: Collection(\"{}\"), values: [{{field: [\"ts\"]}}, {{field: [\"ref\"]}}]}}) — or raise history_days.",
                c.name,
                window / 60,
                c.name,
                c.name
            );
            tracing::warn!(collection = %c.name, snapshot_ts, window_secs = window, "{message}");
            observer.warning(&c.name, &message)?;
            Ok((Strategy::Snapshot, None))
        }
    }
}
