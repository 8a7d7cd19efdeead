//! Each stream's entry in the state before it is read: the one it resumes from when this run's
//! format and record schema are the ones it was written with, or a new one (with the strategy
//! its collection's retention calls for) — for a new stream, and for a full refresh whose
//! previous read was complete.

use super::plan::ReadMode;
use super::reading::Ready;
use crate::config::CollectionSettings;
use crate::fauna::FaunaClient;
use crate::state::{Position, RangePosition, Rotation, State, Strategy, StreamState};
use crate::sync::{full_read_strategy, ExportError, Observer};

/// Makes `state`'s entry for `r` ready to be read: kept (its format and record schema checked
/// when the destination fixes them), or new at `snapshot_ts` in `format` — with `ranges` (a
/// scale-out shard's), a pinned read of those ranges of ids only. With `tree`, the records
/// carry the database column, and the record schema says so.
pub async fn prepare(
    client: &FaunaClient,
    state: &mut State,
    r: &Ready,
    (snapshot_ts, ranges): (i64, Option<&[RangePosition]>),
    (format, fixes_schema, tree): (&str, bool, bool),
    observer: &dyn Observer,
) -> Result<(), ExportError> {
    let (s, retention) = (&r.plan, &r.retention);
    let c = &s.collection;
    let mut schema = schema_fingerprint(c);
    if tree {
        schema["database_column"] = crate::tree::DATABASE_COLUMN.into();
    }
    if let Some(group) = s.merged_into() {
        let mut merged = schema.clone();
        merged["merged_databases"] = true.into();
        merged_entry(state, group, snapshot_ts, format, &merged)?;
    }
    let name = s.name();
    let kept = state
        .streams
        .get_mut(&name)
        .filter(|entry| s.read != ReadMode::Refresh || entry.position.in_full_read());
    match kept {
        Some(entry) if !fixes_schema => {
            entry.schema = Some(schema);
            Ok(())
        }
        Some(entry) if entry.format != format => Err(ExportError::SettingsChanged {
            collection: name.clone(),
            what: "format",
            was: entry.format.clone(),
            now: format.to_string(),
        }),
        Some(entry) => match &entry.schema {
            Some(was) if *was != schema => Err(ExportError::SettingsChanged {
                collection: name.clone(),
                what: "record schema",
                was: format!("record schema {was}"),
                now: format!("record schema {schema}"),
            }),
            Some(_) => Ok(()),
            // Migrated from version 1: adopt this run's schema.
            None => {
                entry.schema = Some(schema);
                Ok(())
            }
        },
        None => {
            let mut stream = StreamState::new(snapshot_ts, format);
            stream.schema = Some(schema);
            match ranges {
                // A shard of a scale-out plan: its ranges at the plan's snapshot, whatever the
                // retention (the plan checked that the snapshot stays readable).
                Some(ranges) => {
                    stream.position = Position::Parts {
                        rotation: Rotation {
                            ranges: ranges.to_vec(),
                            turn: 0,
                            taken: 0,
                        },
                    }
                }
                None => {
                    let (strategy, index) =
                        full_read_strategy(client, c, retention, snapshot_ts, None, observer)
                            .await?;
                    stream.strategy = strategy;
                    stream.index = index;
                    // A first read: its id set will hold only ids it reads from now on.
                    if strategy == Strategy::ScanCatchUp {
                        stream.ids_live_since = Some(snapshot_ts);
                    }
                }
            }
            state.streams.insert(name, stream);
            Ok(())
        }
    }
}

/// The entry of the merged stream `group` (`merge_databases`, `spec/trees.md`): it numbers the
/// stream's files and records its format and record schema, which every database's stream of
/// the collection must share; made at the first database's turn.
fn merged_entry(
    state: &mut State,
    group: &str,
    snapshot_ts: i64,
    format: &str,
    schema: &serde_json::Value,
) -> Result<(), ExportError> {
    let changed = |what, was: String, now: String| ExportError::SettingsChanged {
        collection: group.to_string(),
        what,
        was,
        now,
    };
    match state.streams.get(group) {
        Some(entry) if entry.format != format => {
            Err(changed("format", entry.format.clone(), format.to_string()))
        }
        Some(entry) => match &entry.schema {
            Some(was) if was != schema => Err(changed(
                "record schema",
                format!("record schema {was}"),
                format!("record schema {schema}"),
            )),
            _ => Ok(()),
        },
        None => {
            let mut entry = StreamState::new(snapshot_ts, format);
            entry.schema = Some(schema.clone());
            entry.position = crate::state::Position::Done;
            state.streams.insert(group.to_string(), entry);
            Ok(())
        }
    }
}

/// The record schema settings of a collection, as recorded in the state.
pub fn schema_fingerprint(c: &CollectionSettings) -> serde_json::Value {
    let mut fingerprint = serde_json::json!({
        "data_column": c.data_column,
        "columns": c.columns.iter().map(|col| serde_json::json!({
            "name": col.name, "path": col.path, "type": col.column_type.name(),
            "required": col.required,
        })).collect::<Vec<_>>(),
        "deletion_column": c.deletion_column,
    });
    // Outputs that track deletions also say which were detected; earlier ones did not.
    if c.deletion_column.is_some() {
        fingerprint["detected_column"] = crate::export::DETECTED_COLUMN.into();
    }
    fingerprint
}
