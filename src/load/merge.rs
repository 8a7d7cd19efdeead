//! Staging and merge: a file's records are `COPY`ed into a temporary table, then applied to
//! the stream's table by set-based statements that touch only the staged ids.
//!
//! Rules (every statement compares `ts_us`, the version's exact microseconds):
//! - within a file, the latest record per id wins (greatest ts, then the later record);
//! - a document record is written only if the table's row is older, or absent and no newer
//!   deletion is remembered: a replayed or late file never overwrites newer data;
//! - a deletion record deletes (`--mode soft`: marks) only an older row; with `--mode hard`
//!   the deletion's ts is kept in `_fauna_sync_tombstones` while no row exists, so an older
//!   version loaded later stays deleted;
//! - an insert and a delete of one id in one file leave no row (soft: a row marked deleted
//!   that keeps the inserted data).
//!
//! Counts come back from the statements themselves (`RETURNING`), never from a scan.

use tokio_postgres::Transaction;

use super::bookkeeping::{Counts, TOMBSTONES};
use super::copy::FileStats;
use super::error::LoadError;
use super::sql::{ident, qualified};
use super::table::{Mode, Source, Table};

/// The staging table (temporary, dropped at commit).
pub const STAGE: &str = "_fauna_sync_stage";
/// The latest record per id, when a file repeats ids.
const LATEST: &str = "_fauna_sync_latest";
/// The latest document record per id (`--mode soft`, repeated ids).
const PREVIOUS: &str = "_fauna_sync_previous";

/// Creates the staging table of `table` in the transaction and returns the `COPY` statement
/// that fills it (binary format, the table's columns then `_ord`).
pub async fn stage(tx: &Transaction<'_>, table: &Table) -> Result<String, LoadError> {
    let defs: Vec<String> = table
        .columns
        .iter()
        .map(|c| format!("{} {}", ident(&c.name), c.ty.ddl(&table.schema)))
        .collect();
    tx.batch_execute(&format!(
        "CREATE TEMPORARY TABLE {STAGE} ({}, _ord bigint) ON COMMIT DROP",
        defs.join(", ")
    ))
    .await
    .map_err(|e| LoadError::db(format!("create the staging table of {}", table.shown()), &e))?;
    let names: Vec<String> = table.columns.iter().map(|c| ident(&c.name)).collect();
    Ok(format!(
        "COPY pg_temp.{STAGE} ({}, _ord) FROM STDIN (FORMAT binary)",
        names.join(", ")
    ))
}

/// Applies the staged records of `stream` to `table`; `stats` says what the file held.
pub async fn merge(
    tx: &Transaction<'_>,
    stream: &str,
    table: &Table,
    stats: &FileStats,
    context: &str,
) -> Result<Counts, LoadError> {
    let db = |e: tokio_postgres::Error| LoadError::db(context.to_string(), &e);
    let deletion = table
        .columns
        .iter()
        .find(|c| c.source == Source::DeletedAt)
        .map(|c| ident(&c.name));
    let order = "ORDER BY id, ts_us DESC, _ord DESC";
    // The planner learns how few (or many) rows were staged: with the estimate of a fresh
    // table it would hash-join a small batch against a sequential scan of the whole table.
    // Only `id` is sampled (cheap; `data` is never analyzed).
    tx.batch_execute(&format!("ANALYZE pg_temp.{STAGE} (id)"))
        .await
        .map_err(db)?;
    // The latest record per id, and how many of them are documents and deletions.
    let (source, docs, deletions) = if stats.repeated_ids {
        tx.batch_execute(&format!(
            "CREATE TEMPORARY TABLE {LATEST} ON COMMIT DROP AS SELECT DISTINCT ON (id) * FROM pg_temp.{STAGE} {order}"
        ))
        .await
        .map_err(db)?;
        tx.batch_execute(&format!("ANALYZE pg_temp.{LATEST} (id)"))
            .await
            .map_err(db)?;
        let (docs, deletions) = match &deletion {
            Some(del) => {
                let row = tx
                    .query_one(
                        &format!("SELECT count(*) FILTER (WHERE {del} IS NULL), count(*) FILTER (WHERE {del} IS NOT NULL) FROM pg_temp.{LATEST}"),
                        &[],
                    )
                    .await
                    .map_err(db)?;
                (row.get::<_, i64>(0), row.get::<_, i64>(1))
            }
            None => (
                tx.query_one(&format!("SELECT count(*) FROM pg_temp.{LATEST}"), &[])
                    .await
                    .map_err(db)?
                    .get::<_, i64>(0),
                0,
            ),
        };
        (format!("pg_temp.{LATEST}"), docs, deletions)
    } else {
        let n = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
        (
            format!("pg_temp.{STAGE}"),
            n(stats.rows - stats.deletions),
            n(stats.deletions),
        )
    };
    let target = table.qualified();
    let all: Vec<String> = table.columns.iter().map(|c| ident(&c.name)).collect();
    let set: Vec<String> = table
        .columns
        .iter()
        .filter(|c| c.source != Source::Id)
        .map(|c| format!("{0} = excluded.{0}", ident(&c.name)))
        .collect();
    let upsert_tail = format!(
        "ON CONFLICT (id) DO UPDATE SET {} WHERE {target}.ts_us < excluded.ts_us",
        set.join(", ")
    );
    let count = |v: i64| u64::try_from(v).unwrap_or(0);
    let mut counts = Counts::default();
    match (&deletion, table.mode) {
        (None, _) => {
            // No deletions: documents only.
            let row = tx
                .query_one(
                    &format!(
                        "WITH u AS (INSERT INTO {target} ({cols}) SELECT {cols} FROM {source} {upsert_tail} RETURNING (xmax = 0) AS inserted) \
                         SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) FROM u",
                        cols = all.join(", ")
                    ),
                    &[],
                )
                .await
                .map_err(db)?;
            counts.inserted = count(row.get(0));
            counts.updated = count(row.get(1));
            counts.stale = count(docs) - counts.inserted - counts.updated;
        }
        (Some(del), Mode::Hard) => {
            let tomb = qualified(&table.schema, TOMBSTONES);
            let deleted: i64 = tx
                .query_one(
                    &format!(
                        "WITH d AS (DELETE FROM {target} t USING {source} s WHERE t.id = s.id AND s.{del} IS NOT NULL AND t.ts_us < s.ts_us RETURNING 1) \
                         SELECT count(*) FROM d"
                    ),
                    &[],
                )
                .await
                .map_err(db)?
                .get(0);
            crate::crash::point("load-mid-merge");
            let remembered: i64 = tx
                .query_one(
                    &format!(
                        "WITH k AS (INSERT INTO {tomb} (stream, id, ts_us) \
                         SELECT $1, s.id, s.ts_us FROM {source} s WHERE s.{del} IS NOT NULL AND NOT EXISTS (SELECT 1 FROM {target} t WHERE t.id = s.id) \
                         ON CONFLICT (stream, id) DO UPDATE SET ts_us = excluded.ts_us WHERE {tomb}.ts_us < excluded.ts_us RETURNING 1) \
                         SELECT count(*) FROM k"
                    ),
                    &[&stream],
                )
                .await
                .map_err(db)?
                .get(0);
            let row = tx
                .query_one(
                    &format!(
                        "WITH u AS (INSERT INTO {target} ({cols}) SELECT {cols} FROM {source} s WHERE s.{del} IS NULL \
                         AND NOT EXISTS (SELECT 1 FROM {tomb} k WHERE k.stream = $1 AND k.id = s.id AND k.ts_us >= s.ts_us) \
                         {upsert_tail} RETURNING (xmax = 0) AS inserted) \
                         SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) FROM u",
                        cols = all.join(", ")
                    ),
                    &[&stream],
                )
                .await
                .map_err(db)?;
            tx.execute(
                &format!(
                    "DELETE FROM {tomb} k USING {source} s WHERE k.stream = $1 AND k.id = s.id AND s.{del} IS NULL AND k.ts_us < s.ts_us"
                ),
                &[&stream],
            )
            .await
            .map_err(db)?;
            counts.inserted = count(row.get(0));
            counts.updated = count(row.get(1));
            counts.deleted = count(deleted);
            counts.stale = (count(docs) - counts.inserted - counts.updated)
                + count(deletions).saturating_sub(count(remembered));
        }
        (Some(del), Mode::Soft) => {
            // A deletion keeps the row's last data: the file's latest document of that id if
            // it is newer than the row, else the row's own.
            let previous = stats.repeated_ids;
            if previous {
                tx.batch_execute(&format!(
                    "CREATE TEMPORARY TABLE {PREVIOUS} ON COMMIT DROP AS SELECT DISTINCT ON (id) * FROM pg_temp.{STAGE} WHERE {del} IS NULL {order}"
                ))
                .await
                .map_err(db)?;
            }
            let values: Vec<String> = table
                .columns
                .iter()
                .map(|c| {
                    let n = ident(&c.name);
                    match c.source {
                        Source::Data | Source::Column(..) | Source::Typed(_) if previous => format!(
                            "CASE WHEN s.{del} IS NULL THEN s.{n} WHEN p.id IS NOT NULL AND (t.id IS NULL OR p.ts_us > t.ts_us) THEN p.{n} ELSE t.{n} END"
                        ),
                        Source::Data | Source::Column(..) | Source::Typed(_) => {
                            format!("CASE WHEN s.{del} IS NULL THEN s.{n} ELSE t.{n} END")
                        }
                        _ => format!("s.{n}"),
                    }
                })
                .collect();
            let join = if previous {
                format!(" LEFT JOIN pg_temp.{PREVIOUS} p ON p.id = s.id")
            } else {
                String::new()
            };
            let row = tx
                .query_one(
                    &format!(
                        "WITH u AS (INSERT INTO {target} ({cols}) SELECT {values} FROM {source} s LEFT JOIN {target} t ON t.id = s.id{join} \
                         {upsert_tail} RETURNING (xmax = 0) AS inserted, {del} IS NOT NULL AS deleted) \
                         SELECT count(*) FILTER (WHERE inserted AND NOT deleted), count(*) FILTER (WHERE NOT inserted AND NOT deleted), count(*) FILTER (WHERE deleted) FROM u",
                        cols = all.join(", "),
                        values = values.join(", ")
                    ),
                    &[],
                )
                .await
                .map_err(db)?;
            counts.inserted = count(row.get(0));
            counts.updated = count(row.get(1));
            counts.deleted = count(row.get(2));
            counts.stale = (count(docs) + count(deletions))
                .saturating_sub(counts.inserted + counts.updated + counts.deleted);
        }
    }
    Ok(counts)
}
