//! Each stream's columns mode (`spec/output-layout.md`, "Typed columns"): a stream that has
//! written nothing takes the mode asked for (`json` unless `columns: typed`); one that has
//! written files keeps the mode its state records, and asking for the other is refused. So
//! with the flatten options of a typed stream's plan: a new plan takes those asked for, an
//! existing one keeps its own, and asking for others is refused.

use crate::config::{CollectionSettings, ColumnsMode, FlattenAsked};
use crate::schema::{ColumnPlan, PlanOptions};
use crate::state::{StreamState, TypedColumns};
use crate::sync::ExportError;

/// Records `entry`'s mode and says whether the stream's records keep their wire JSON for
/// typed columns. `format` is the destination's (typed columns are Parquet files' only; a
/// JSONL or Airbyte stream stays `json` unless typed was asked for explicitly, which is
/// refused).
pub fn columns_mode(
    entry: &mut StreamState,
    c: &CollectionSettings,
    asked: Option<ColumnsMode>,
    flatten: &FlattenAsked,
    format: &str,
) -> Result<bool, ExportError> {
    let changed = |was: ColumnsMode, now: ColumnsMode| ExportError::SettingsChanged {
        collection: c.name.clone(),
        what: "columns",
        was: format!("columns: {}", was.name()),
        now: format!("columns: {}", now.name()),
    };
    let fresh = entry.next_seq == 1 && entry.rows == 0;
    let recorded = match entry.typed {
        Some(_) => ColumnsMode::Typed,
        None => ColumnsMode::Json,
    };
    if !fresh {
        if let Some(typed) = &entry.typed {
            flatten_kept(c, typed.plan.options(), flatten)?;
        }
        return match asked {
            Some(now) if now != recorded => Err(changed(recorded, now)),
            _ => Ok(recorded == ColumnsMode::Typed),
        };
    }
    let mode = match (format, asked) {
        ("parquet", asked) => asked.unwrap_or_default(),
        (_, Some(ColumnsMode::Typed)) => {
            return Err(ExportError::SettingsChanged {
                collection: c.name.clone(),
                what: "columns",
                was: format!("format {format}, whose files have no typed columns"),
                now: "columns: typed (use --format parquet)".to_string(),
            })
        }
        (_, _) => ColumnsMode::Json,
    };
    match mode {
        ColumnsMode::Json => entry.typed = None,
        ColumnsMode::Typed if entry.typed.is_none() => {
            let plan = ColumnPlan::new(plan_options(c, flatten)).map_err(|e| {
                ExportError::SettingsChanged {
                    collection: c.name.clone(),
                    what: "columns",
                    was: "columns: typed".to_string(),
                    now: e.to_string(),
                }
            })?;
            entry.typed = Some(Box::new(TypedColumns::new(plan)));
        }
        ColumnsMode::Typed => {
            if let Some(typed) = &entry.typed {
                flatten_kept(c, typed.plan.options(), flatten)?;
            }
        }
    }
    Ok(mode == ColumnsMode::Typed)
}

/// The plan options of a collection: the flatten options asked for (else the defaults), with
/// its additional and deletion columns' names reserved.
fn plan_options(c: &CollectionSettings, flatten: &FlattenAsked) -> PlanOptions {
    let mut reserved: Vec<String> = c.columns.iter().map(|col| col.name.clone()).collect();
    reserved.extend(c.deletion_column.clone());
    let defaults = PlanOptions::default();
    PlanOptions {
        flatten_depth: flatten.depth.unwrap_or(defaults.flatten_depth),
        separator: flatten.separator.clone().unwrap_or(defaults.separator),
        reserved,
    }
}

/// Refuses flatten options asked for that differ from those of the stream's plan (fixed for
/// its life: its files' columns were named and flattened by them).
fn flatten_kept(
    c: &CollectionSettings,
    plan: &PlanOptions,
    asked: &FlattenAsked,
) -> Result<(), ExportError> {
    let depth = asked.depth.filter(|d| *d != plan.flatten_depth);
    let separator = asked.separator.as_ref().filter(|s| **s != plan.separator);
    if depth.is_none() && separator.is_none() {
        return Ok(());
    }
    Err(ExportError::SettingsChanged {
        collection: c.name.clone(),
        what: "flatten options",
        was: format!(
            "flatten_depth {} and column_separator {:?} (the stream's typed columns)",
            plan.flatten_depth, plan.separator
        ),
        now: format!(
            "flatten_depth {} and column_separator {:?}",
            depth.unwrap_or(plan.flatten_depth),
            separator.unwrap_or(&plan.separator)
        ),
    })
}
