//! Databases that were read before and are gone now (`spec/trees.md`, "A deleted database"):
//! each of their streams is reported, and where the stream tracks deletions and its id set is
//! kept between runs, every document its output still holds gets a deletion record.

use std::sync::Arc;

use super::databases::scope;
use crate::config::{CollectionSettings, Settings};
use crate::export::{record_schema, Deletion, Record};
use crate::fauna::Value;
use crate::id_set::IdStore;
use crate::read::{Item, Page};
use crate::state::State;
use crate::sync::{Committer, ExportError, Observer, PositionFn, StreamSummary};
use crate::tree::{split_stream_name, DatabasePath, Tree};

/// Ids read from a stream's id set at a time.
const IDS_PER_PAGE: usize = 1000;

/// The streams of `state` whose database the run selects but discovery no longer found (not
/// below a database whose children could not be listed): (stream, database, collection).
pub fn gone_streams(
    settings: &Settings,
    state: &State,
    tree: &Tree,
) -> Vec<(String, DatabasePath, String)> {
    state
        .streams
        .keys()
        .filter_map(|name| {
            let (path, collection) = split_stream_name(name)?;
            let gone = !path.is_root()
                && settings.databases.keeps(&path)
                && !tree.databases.contains(&path)
                && !tree.unlisted.iter().any(|(u, _)| path.within(u));
            gone.then(|| (name.clone(), path, collection.to_string()))
        })
        .collect()
}

/// Reports each gone stream and, where it can, writes a deletion record (at `now`, detected:
/// the database was gone by then) of every document its id set holds.
pub async fn delete_gone(
    settings: &Settings,
    gone: &[(String, DatabasePath, String)],
    ids: &IdStore,
    committer: &mut Committer,
    now: i64,
    observer: &dyn Observer,
) -> Result<Vec<StreamSummary>, ExportError> {
    let mut summaries = Vec::new();
    for (name, path, collection) in gone {
        let c = collection_settings(settings, collection);
        let tracked = c.deletion_column.is_some() && matches!(ids, IdStore::Kept(_));
        committer.enter(scope(settings, path));
        let keeps_ids = committer.stream(collection)?.ids.is_some();
        if !(tracked && keeps_ids) {
            let message = format!("database '{path}' is gone: stream '{name}' is no longer read; its rows stay in the output (deletions are not tracked for it)");
            tracing::warn!(collection = %name, "{message}");
            observer.warning(name, &message)?;
            continue;
        }
        let before = committer.totals();
        let deleted = delete_all(committer, &c, ids, now, observer).await?;
        let after = committer.totals();
        if deleted > 0 {
            let message = format!("database '{path}' is gone: stream '{name}' gets a deletion record for each of its {deleted} document(s)");
            tracing::warn!(collection = %name, "{message}");
            observer.warning(name, &message)?;
        }
        summaries.push(StreamSummary {
            name: name.clone(),
            changed: 0,
            deleted,
            detected: deleted,
            files: after.batches - before.batches,
            seconds: 0.0,
            synced_to: None,
            variant_values: after.variant_values - before.variant_values,
            discarded: after.discarded - before.discarded,
        });
    }
    committer.enter(Default::default());
    Ok(summaries)
}

/// Deletion records of every id in the stream's id set; the stream's position is kept.
async fn delete_all(
    committer: &mut Committer,
    c: &CollectionSettings,
    ids: &IdStore,
    now: i64,
    observer: &dyn Observer,
) -> Result<u64, ExportError> {
    let name = c.name.as_str();
    committer
        .open_stream(name, record_schema(c), Some(ids.dir()), false)
        .await?;
    let Some(set) = committer.frozen_ids(name).await? else {
        return Ok(0);
    };
    let position = committer.stream(name)?.position.clone();
    let at = position.clone();
    let position_fn: PositionFn = Arc::new(move |_, _| at.clone());
    let columns = record_schema(c).columns.len();
    let mut deleted = 0;
    let mut from: Option<String> = None;
    loop {
        let mut page_ids = set.range(from.as_deref(), IDS_PER_PAGE + 1)?;
        if from.is_some() && page_ids.first() == from.as_ref() {
            page_ids.remove(0);
        }
        page_ids.truncate(IDS_PER_PAGE);
        let Some(last) = page_ids.last().cloned() else {
            break;
        };
        deleted += page_ids.len() as u64;
        let items = page_ids
            .into_iter()
            .map(|id| Item {
                cursor: Value::String(id.clone()).into(),
                record: Some(Record::deletion(id, now, columns, Deletion::Detected)),
            })
            .collect();
        let page = Page { items, next: None };
        committer.accept(name, page, &position_fn, observer).await?;
        from = Some(last);
    }
    committer.finish(name, position, observer).await?;
    Ok(deleted)
}

/// The settings of `collection`: configured, else the defaults.
fn collection_settings(settings: &Settings, collection: &str) -> CollectionSettings {
    settings
        .collections
        .as_ref()
        .and_then(|cs| cs.iter().find(|c| c.name == collection).cloned())
        .unwrap_or_else(|| CollectionSettings {
            name: collection.to_string(),
            ..settings.defaults.clone()
        })
}
