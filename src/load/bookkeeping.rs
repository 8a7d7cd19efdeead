//! fauna-sync's own tables in the target schema:
//!
//! - `_fauna_sync_loads`: one row per loaded file — `(output_id, file)` key, stream, seq,
//!   rows, sha256 and what it changed — inserted in the transaction that applies the file, so
//!   a file is either applied and recorded or neither, and never applied twice.
//! - `_fauna_sync_tables`: the tables fauna-sync made (stream, table, mode, the columns it
//!   gave them), so a table changed by hand is told from one that grew.
//! - `_fauna_sync_tombstones`: `--mode hard` only: the ts of each deleted document whose row is
//!   gone, so an older version loaded later (a replayed or late file) cannot bring it back.
//!
//! A load holds a session advisory lock on the schema for its whole run: two loads into one
//! schema never interleave.

use std::collections::BTreeMap;

use tokio_postgres::Client;

use super::error::LoadError;
use super::sql::{ident, qualified};

/// The loaded files.
pub const LOADS: &str = "_fauna_sync_loads";
/// The tables fauna-sync made.
pub const TABLES: &str = "_fauna_sync_tables";
/// Deleted documents' last ts (`--mode hard`).
pub const TOMBSTONES: &str = "_fauna_sync_tombstones";

/// A loaded file as the target records it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Loaded {
    /// The stream.
    pub stream: String,
    /// Its SHA-256 when loaded.
    pub sha256: String,
}

/// What applying one file changed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    /// Rows inserted (documents new to the table).
    pub inserted: u64,
    /// Rows replaced by a newer version.
    pub updated: u64,
    /// Rows deleted (`--mode soft`: marked deleted).
    pub deleted: u64,
    /// Records older than (or as old as) what the table holds: nothing written.
    pub stale: u64,
}

impl Counts {
    /// Adds `other` to these.
    pub fn add(&mut self, other: Counts) {
        self.inserted += other.inserted;
        self.updated += other.updated;
        self.deleted += other.deleted;
        self.stale += other.stale;
    }
}

/// Takes the schema's advisory lock for this session, waiting up to `wait` for another load
/// to finish (or for the server to end the session of a load that was killed), else fails
/// with [`LoadError::Locked`]. Also bounds how long the server keeps a vanished client's
/// session (and so its locks): 60 s idle inside a transaction, TCP keepalives after 30 s.
pub async fn lock(
    client: &Client,
    schema: &str,
    target: &str,
    wait: std::time::Duration,
) -> Result<(), LoadError> {
    client
        .batch_execute(&format!(
            "SET idle_in_transaction_session_timeout = '60s'; SET tcp_keepalives_idle = 30; \
             SET tcp_keepalives_interval = 10; SET tcp_keepalives_count = 3; SET lock_timeout = '{}ms'",
            wait.as_millis().max(1)
        ))
        .await
        .map_err(|e| LoadError::db("set up the session", &e))?;
    let taken = client
        .batch_execute(&format!(
            "SELECT pg_advisory_lock(hashtextextended('fauna-sync load ' || {}, 0))",
            super::sql::literal(schema)
        ))
        .await;
    match taken {
        Ok(()) => {}
        Err(e) if e.code() == Some(&tokio_postgres::error::SqlState::LOCK_NOT_AVAILABLE) => {
            return Err(LoadError::Locked {
                schema: schema.to_string(),
                target: target.to_string(),
            })
        }
        Err(e) => return Err(LoadError::db("take the load's advisory lock", &e)),
    }
    client
        .batch_execute("SET lock_timeout = 0")
        .await
        .map_err(|e| LoadError::db("set up the session", &e))
}

/// Creates the schema and the bookkeeping tables where missing (each created only when it
/// does not exist, so a role without CREATE can load into what exists).
pub async fn ensure(client: &Client, schema: &str) -> Result<(), LoadError> {
    let exists: bool = client
        .query_one("SELECT to_regnamespace($1) IS NOT NULL", &[&ident(schema)])
        .await
        .map_err(|e| LoadError::db(format!("look up schema {schema}"), &e))?
        .get(0);
    if !exists {
        client
            .batch_execute(&format!("CREATE SCHEMA {}", ident(schema)))
            .await
            .map_err(|e| LoadError::db(format!("create schema {schema}"), &e))?;
    }
    let tables = [
        (
            LOADS,
            "output_id text NOT NULL, file text NOT NULL, stream text NOT NULL, seq bigint NOT NULL, \
             rows bigint NOT NULL, sha256 text NOT NULL, inserted bigint NOT NULL, updated bigint NOT NULL, \
             deleted bigint NOT NULL, stale bigint NOT NULL, loaded_at timestamptz NOT NULL DEFAULT now(), \
             PRIMARY KEY (output_id, file)",
        ),
        (
            TABLES,
            "stream text PRIMARY KEY, table_name text NOT NULL, mode text NOT NULL, columns jsonb NOT NULL, \
             created_at timestamptz NOT NULL DEFAULT now()",
        ),
        (
            TOMBSTONES,
            "stream text NOT NULL, id text NOT NULL, ts_us bigint NOT NULL, PRIMARY KEY (stream, id)",
        ),
    ];
    for (name, columns) in tables {
        let table = qualified(schema, name);
        let exists: bool = client
            .query_one("SELECT to_regclass($1) IS NOT NULL", &[&table])
            .await
            .map_err(|e| LoadError::db(format!("look up {schema}.{name}"), &e))?
            .get(0);
        if !exists {
            client
                .batch_execute(&format!("CREATE TABLE IF NOT EXISTS {table} ({columns})"))
                .await
                .map_err(|e| LoadError::db(format!("create {schema}.{name}"), &e))?;
        }
    }
    Ok(())
}

/// The files of output `output_id` the target has loaded, by file.
pub async fn loaded(
    client: &Client,
    schema: &str,
    output_id: &str,
) -> Result<BTreeMap<String, Loaded>, LoadError> {
    let rows = client
        .query(
            &format!(
                "SELECT file, stream, sha256 FROM {} WHERE output_id = $1",
                qualified(schema, LOADS)
            ),
            &[&output_id],
        )
        .await
        .map_err(|e| LoadError::db(format!("read {schema}.{LOADS}"), &e))?;
    Ok(rows
        .into_iter()
        .map(|r| {
            (
                r.get::<_, String>(0),
                Loaded {
                    stream: r.get(1),
                    sha256: r.get(2),
                },
            )
        })
        .collect())
}

/// Records a file as loaded, in the transaction that applied it.
#[allow(clippy::too_many_arguments)]
pub async fn record(
    tx: &tokio_postgres::Transaction<'_>,
    schema: &str,
    output_id: &str,
    file: &crate::sink::CommittedFile,
    counts: Counts,
) -> Result<(), LoadError> {
    let n = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
    tx.execute(
        &format!(
            "INSERT INTO {} (output_id, file, stream, seq, rows, sha256, inserted, updated, deleted, stale) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            qualified(schema, LOADS)
        ),
        &[
            &output_id,
            &file.path,
            &file.stream,
            &n(file.seq),
            &n(file.rows),
            &file.sha256,
            &n(counts.inserted),
            &n(counts.updated),
            &n(counts.deleted),
            &n(counts.stale),
        ],
    )
    .await
    .map_err(|e| LoadError::db(format!("record {} in {schema}.{LOADS}", file.path), &e))?;
    Ok(())
}
