//! Table schema: a stream's record schema becomes the columns of its table ([`columns`]), and
//! the table is created, checked and grown to match ([`ensure`]).
//!
//! A table: `id text PRIMARY KEY` (the document id), `ts timestamptz` and `ts_us bigint` (the
//! version's exact microseconds, which every merge compares), `data jsonb`, each additional
//! column typed from its declared type, and — when the stream tracks deletions — the deletion
//! column (`timestamptz`) and `deletion_detected` (`boolean`), set only on rows `--mode soft`
//! keeps. A typed output (`columns: typed`) adds each column of the stream's plan (and its
//! variants) after those, typed by [`typed_sql`]: a ref is the composite `fauna_ref` (created
//! once per target schema), a typed list an array, JSON text `jsonb`.
//!
//! fauna-sync records each table it made in `_fauna_sync_tables` with the columns it gave it,
//! so a column it made that is gone or has another type is a table changed by hand (refused,
//! never repaired silently), while a column the record schema gained is added with `ALTER
//! TABLE … ADD COLUMN`.

use std::collections::BTreeMap;

use tokio_postgres::GenericClient;

use super::error::LoadError;
use super::sql::{ident, literal, qualified};
use crate::export::{ColumnType, RecordSchema};
use crate::schema::{ColumnKind, ColumnPlan, ListOf};

/// The composite type of ref columns: `(id text, collection text, type text)`, the export
/// form's fields (`collection` for documents only).
pub const REF_TYPE: &str = "fauna_ref";

/// The longest identifier PostgreSQL keeps (longer ones are cut silently).
pub const MAX_IDENT_BYTES: usize = 63;

/// A column's SQL type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SqlType {
    /// `text`.
    Text,
    /// `bigint`.
    BigInt,
    /// `double precision`.
    Double,
    /// `boolean`.
    Boolean,
    /// `jsonb`.
    Jsonb,
    /// `timestamp with time zone`.
    Timestamptz,
    /// `date`.
    Date,
    /// `bytea`.
    Bytea,
    /// [`REF_TYPE`] in the target schema.
    Ref,
    /// An array of a typed list's elements.
    Array(ListOf),
}

impl SqlType {
    /// The type as `format_type` spells it (what the catalog says back).
    pub fn sql(self) -> &'static str {
        match self {
            SqlType::Text => "text",
            SqlType::BigInt => "bigint",
            SqlType::Double => "double precision",
            SqlType::Boolean => "boolean",
            SqlType::Jsonb => "jsonb",
            SqlType::Timestamptz => "timestamp with time zone",
            SqlType::Date => "date",
            SqlType::Bytea => "bytea",
            SqlType::Ref => REF_TYPE,
            SqlType::Array(of) => match of {
                ListOf::Int => "bigint[]",
                ListOf::Double => "double precision[]",
                ListOf::String => "text[]",
                ListOf::Boolean => "boolean[]",
                ListOf::Time => "timestamp with time zone[]",
                ListOf::Date => "date[]",
                ListOf::Bytes => "bytea[]",
            },
        }
    }

    /// The type in DDL (the ref type qualified by the target `schema`).
    pub fn ddl(self, schema: &str) -> String {
        match self {
            SqlType::Ref => qualified(schema, REF_TYPE),
            other => other.sql().to_string(),
        }
    }
}

/// The SQL type of a typed column of `kind`: times `timestamptz` (microseconds; the exact
/// nanoseconds stay in `data`), texts of times and dates `text`, JSON texts `jsonb`.
pub fn typed_sql(kind: ColumnKind) -> SqlType {
    match kind {
        ColumnKind::Int => SqlType::BigInt,
        ColumnKind::Double => SqlType::Double,
        ColumnKind::String | ColumnKind::TimeText | ColumnKind::DateText => SqlType::Text,
        ColumnKind::Boolean => SqlType::Boolean,
        ColumnKind::Time => SqlType::Timestamptz,
        ColumnKind::Date => SqlType::Date,
        ColumnKind::Bytes => SqlType::Bytea,
        ColumnKind::Ref => SqlType::Ref,
        ColumnKind::List(of) => SqlType::Array(of),
        ColumnKind::Array | ColumnKind::Object | ColumnKind::Set | ColumnKind::Query => {
            SqlType::Jsonb
        }
    }
}

/// Where a column's value comes from in a record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// The document id.
    Id,
    /// The version's ts as a timestamp.
    Ts,
    /// The version's ts in microseconds.
    TsUs,
    /// The `data` object.
    Data,
    /// Additional column `i` of the record schema, of this declared type.
    Column(usize, ColumnType),
    /// A typed column of the stream's plan (Parquet, `columns: typed`), of this kind.
    Typed(ColumnKind),
    /// The deletion column (its time).
    DeletedAt,
    /// Whether the deletion was detected by reconciliation.
    Detected,
}

/// One column of a stream's table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ColumnDef {
    /// Its name.
    pub name: String,
    /// Its type.
    pub ty: SqlType,
    /// What fills it.
    pub source: Source,
}

/// The table's columns for a record schema and, for a typed output, the stream's column plan,
/// in order. The names `id`, `ts`, `ts_us` and `data` are fauna-sync's; an additional column
/// (or deletion column) of one of those names, or any name longer than PostgreSQL keeps, is
/// refused.
pub fn columns(schema: &RecordSchema, plan: Option<&ColumnPlan>) -> Result<Vec<ColumnDef>, String> {
    let mut out = vec![
        ColumnDef {
            name: "id".into(),
            ty: SqlType::Text,
            source: Source::Id,
        },
        ColumnDef {
            name: "ts".into(),
            ty: SqlType::Timestamptz,
            source: Source::Ts,
        },
        ColumnDef {
            name: "ts_us".into(),
            ty: SqlType::BigInt,
            source: Source::TsUs,
        },
    ];
    if schema.data_column {
        out.push(ColumnDef {
            name: "data".into(),
            ty: SqlType::Jsonb,
            source: Source::Data,
        });
    }
    for (i, (name, ty)) in schema.columns.iter().enumerate() {
        let sql = match ty {
            ColumnType::String => SqlType::Text,
            ColumnType::Integer => SqlType::BigInt,
            ColumnType::Number => SqlType::Double,
            ColumnType::Boolean => SqlType::Boolean,
            ColumnType::Object | ColumnType::Array => SqlType::Jsonb,
        };
        out.push(ColumnDef {
            name: name.clone(),
            ty: sql,
            source: Source::Column(i, *ty),
        });
    }
    if let Some(name) = &schema.deletion_column {
        out.push(ColumnDef {
            name: name.clone(),
            ty: SqlType::Timestamptz,
            source: Source::DeletedAt,
        });
    }
    if let Some(name) = &schema.detected_column {
        out.push(ColumnDef {
            name: name.clone(),
            ty: SqlType::Boolean,
            source: Source::Detected,
        });
    }
    for c in plan.map(ColumnPlan::columns).unwrap_or_default() {
        out.push(ColumnDef {
            name: c.name.clone(),
            ty: typed_sql(c.kind),
            source: Source::Typed(c.kind),
        });
    }
    let mut seen = std::collections::HashSet::new();
    for c in &out {
        if c.name.is_empty() || c.name.len() > MAX_IDENT_BYTES {
            return Err(format!(
                "column {:?} cannot be a PostgreSQL column (1 to {MAX_IDENT_BYTES} bytes)",
                c.name
            ));
        }
        if c.name.contains('\0') || !seen.insert(c.name.as_str()) {
            return Err(format!(
                "column {:?} is used twice (the names id, ts, ts_us and data are the table's own; rename the additional column in the configuration)",
                c.name
            ));
        }
    }
    Ok(out)
}

/// How a table keeps deletions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Deleted documents' rows are deleted.
    Hard,
    /// Deleted documents' rows stay, with the deletion column set.
    Soft,
}

impl Mode {
    /// `hard` or `soft`.
    pub fn name(self) -> &'static str {
        match self {
            Mode::Hard => "hard",
            Mode::Soft => "soft",
        }
    }
}

/// A stream's table as this load uses it.
#[derive(Clone, Debug)]
pub struct Table {
    /// The target schema.
    pub schema: String,
    /// The table's name (the stream's).
    pub name: String,
    /// Its columns.
    pub columns: Vec<ColumnDef>,
    /// How deletions are kept.
    pub mode: Mode,
}

impl Table {
    /// `"schema"."name"`.
    pub fn qualified(&self) -> String {
        qualified(&self.schema, &self.name)
    }

    /// `schema.name` for messages.
    pub fn shown(&self) -> String {
        format!("{}.{}", self.schema, self.name)
    }

    /// Whether the table tracks deletions.
    pub fn tracks_deletions(&self) -> bool {
        self.columns.iter().any(|c| c.source == Source::DeletedAt)
    }
}

/// The table name of a stream: the stream's own name, refused when PostgreSQL would cut it or
/// it is one of fauna-sync's bookkeeping tables.
pub fn table_name(stream: &str) -> Result<String, String> {
    if stream.len() > MAX_IDENT_BYTES || stream.contains('\0') {
        return Err(format!(
            "stream {stream:?} cannot name a PostgreSQL table (at most {MAX_IDENT_BYTES} bytes)"
        ));
    }
    if stream.starts_with("_fauna_sync_") {
        return Err(format!(
            "stream {stream:?} would clash with fauna-sync's bookkeeping tables"
        ));
    }
    Ok(stream.to_string())
}

/// Creates the table of `stream` if fauna-sync never made it, else checks that it is as
/// fauna-sync left it (columns it made present with their types, the primary key on `id`, the
/// same mode), and adds the columns `table` has that it lacks. Runs in the caller's
/// transaction.
pub async fn ensure(
    client: &impl GenericClient,
    stream: &str,
    table: &Table,
) -> Result<(), LoadError> {
    let shown = table.shown();
    let db = |what: &str| {
        let context = format!("{what} {shown}");
        move |e: tokio_postgres::Error| LoadError::db(context, &e)
    };
    let registry = qualified(&table.schema, super::bookkeeping::TABLES);
    if table.columns.iter().any(|c| c.ty == SqlType::Ref) {
        ensure_ref_type(client, &table.schema).await?;
    }
    let row = client
        .query_opt(
            &format!("SELECT table_name, mode, columns::text FROM {registry} WHERE stream = $1"),
            &[&stream],
        )
        .await
        .map_err(db("read the registry entry of"))?;
    let exists: bool = client
        .query_one("SELECT to_regclass($1) IS NOT NULL", &[&table.qualified()])
        .await
        .map_err(db("look up"))?
        .get(0);
    let Some(row) = row else {
        if exists {
            return Err(LoadError::Table {
                table: shown,
                reason: "it exists but fauna-sync did not create it; drop or rename it, or load into another --schema".into(),
            });
        }
        let defs: Vec<String> = table
            .columns
            .iter()
            .map(|c| {
                let pk = if c.source == Source::Id {
                    " PRIMARY KEY"
                } else {
                    ""
                };
                format!("{} {}{pk}", ident(&c.name), c.ty.ddl(&table.schema))
            })
            .collect();
        client
            .batch_execute(&format!(
                "CREATE TABLE {} ({})",
                table.qualified(),
                defs.join(", ")
            ))
            .await
            .map_err(db("create"))?;
        client
            .execute(
                &format!("INSERT INTO {registry} (stream, table_name, mode, columns) VALUES ($1, $2, $3, $4::text::jsonb)"),
                &[&stream, &table.name, &table.mode.name(), &columns_json(&table.columns)],
            )
            .await
            .map_err(db("register"))?;
        tracing::info!(table = %shown, mode = table.mode.name(), "Created the table.");
        return Ok(());
    };
    let (name, mode, registered): (String, String, String) = (row.get(0), row.get(1), row.get(2));
    if name != table.name {
        return Err(LoadError::Table {
            table: shown,
            reason: format!("the registry ({registry}) maps stream {stream:?} to table {name:?}"),
        });
    }
    if mode != table.mode.name() {
        return Err(LoadError::Usage(format!(
            "table {shown} was loaded with --mode {mode}; load it with --mode {mode}, or drop it (and its rows in {} and {}) to reload it with --mode {}",
            qualified(&table.schema, super::bookkeeping::LOADS),
            registry,
            table.mode.name()
        )));
    }
    if !exists {
        return Err(LoadError::Table {
            table: shown,
            reason: format!("it was dropped by hand; to load it again from the start, run DELETE FROM {registry} WHERE stream = {s}; DELETE FROM {} WHERE stream = {s};", qualified(&table.schema, super::bookkeeping::LOADS), s = literal(stream)),
        });
    }
    let registered: BTreeMap<String, String> =
        serde_json::from_str::<Vec<(String, String)>>(&registered)
            .map_err(|e| LoadError::Table {
                table: shown.clone(),
                reason: format!("its registry entry in {registry} is not fauna-sync's ({e})"),
            })?
            .into_iter()
            .collect();
    let actual: BTreeMap<String, String> = client
        .query(
            "SELECT a.attname::text, CASE WHEN t.typtype = 'c' THEN t.typname::text ELSE format_type(a.atttypid, a.atttypmod) END \
             FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid \
             WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped",
            &[&table.qualified()],
        )
        .await
        .map_err(db("read the columns of"))?
        .into_iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    for (col, ty) in &registered {
        match actual.get(col) {
            None => {
                return Err(LoadError::Table {
                    table: shown,
                    reason: format!("column {col} ({ty}) that fauna-sync created is gone (changed by hand); add it back (ALTER TABLE {} ADD COLUMN {} {ty}) or drop the table to reload it", table.qualified(), ident(col)),
                })
            }
            Some(found) if found != ty => {
                return Err(LoadError::Table {
                    table: shown,
                    reason: format!("column {col} is {found}, fauna-sync created it as {ty} (changed by hand); change it back or drop the table to reload it"),
                })
            }
            Some(_) => {}
        }
    }
    let pk: Vec<String> = client
        .query(
            "SELECT a.attname::text FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) \
             WHERE i.indrelid = to_regclass($1) AND i.indisprimary",
            &[&table.qualified()],
        )
        .await
        .map_err(db("read the primary key of"))?
        .into_iter()
        .map(|r| r.get(0))
        .collect();
    if pk != ["id"] {
        return Err(LoadError::Table {
            table: shown,
            reason: format!("its primary key is ({}) instead of (id) (changed by hand); restore PRIMARY KEY (id)", pk.join(", ")),
        });
    }
    let mut grown = false;
    for c in &table.columns {
        if registered.contains_key(&c.name) {
            continue;
        }
        match actual.get(&c.name) {
            Some(found) if found != c.ty.sql() => {
                return Err(LoadError::Table {
                    table: shown,
                    reason: format!("the output now has column {} ({}), but the table has a column of that name of type {found} that fauna-sync did not create; rename or drop it", c.name, c.ty.sql()),
                })
            }
            Some(_) => {}
            None => {
                client
                    .batch_execute(&format!(
                        "ALTER TABLE {} ADD COLUMN {} {}",
                        table.qualified(),
                        ident(&c.name),
                        c.ty.ddl(&table.schema)
                    ))
                    .await
                    .map_err(db("add a column to"))?;
                tracing::info!(table = %shown, column = %c.name, "Added a column the output's schema gained.");
            }
        }
        grown = true;
    }
    if grown {
        let mut all: Vec<ColumnDef> = table.columns.clone();
        for (col, ty) in &registered {
            if !all.iter().any(|c| &c.name == col) {
                // A column of an earlier schema stays fauna-sync's.
                all.push(ColumnDef {
                    name: col.clone(),
                    ty: sql_type(ty).unwrap_or(SqlType::Text),
                    source: Source::Data,
                });
            }
        }
        client
            .execute(
                &format!("UPDATE {registry} SET columns = $2::text::jsonb WHERE stream = $1"),
                &[&stream, &columns_json(&all)],
            )
            .await
            .map_err(db("register the new columns of"))?;
    }
    Ok(())
}

/// Creates [`REF_TYPE`] in `schema` unless it is there (as fauna-sync made it, or refused).
async fn ensure_ref_type(client: &impl GenericClient, schema: &str) -> Result<(), LoadError> {
    let name = qualified(schema, REF_TYPE);
    let db = |what: &'static str| {
        let context = format!("{what} the type {schema}.{REF_TYPE}");
        move |e: tokio_postgres::Error| LoadError::db(context, &e)
    };
    let fields: Option<String> = client
        .query_one(
            "SELECT (SELECT string_agg(a.attname || ' ' || format_type(a.atttypid, a.atttypmod), ', ' ORDER BY a.attnum) \
             FROM pg_attribute a WHERE a.attrelid = t.typrelid AND a.attnum > 0 AND NOT a.attisdropped) \
             FROM (SELECT to_regtype($1) AS oid) r LEFT JOIN pg_type t ON t.oid = r.oid",
            &[&name],
        )
        .await
        .map_err(db("look up"))?
        .get(0);
    let want = "id text, collection text, type text";
    match fields {
        None => client
            .batch_execute(&format!(
                "CREATE TYPE {name} AS (id text, collection text, type text)"
            ))
            .await
            .map_err(db("create")),
        Some(f) if f == want => Ok(()),
        Some(f) => Err(LoadError::Table {
            table: format!("{schema}.{REF_TYPE}"),
            reason: format!("the type has fields ({f}), fauna-sync's ref columns need ({want}); drop or rename it"),
        }),
    }
}

/// `[[name, type], …]` as the registry keeps it.
fn columns_json(columns: &[ColumnDef]) -> String {
    let pairs: Vec<(&str, &str)> = columns
        .iter()
        .map(|c| (c.name.as_str(), c.ty.sql()))
        .collect();
    serde_json::to_string(&pairs).unwrap_or_else(|_| "[]".into())
}

fn sql_type(name: &str) -> Option<SqlType> {
    [
        SqlType::Text,
        SqlType::BigInt,
        SqlType::Double,
        SqlType::Boolean,
        SqlType::Jsonb,
        SqlType::Timestamptz,
        SqlType::Date,
        SqlType::Bytea,
        SqlType::Ref,
    ]
    .into_iter()
    .chain(ListOf::ALL.map(SqlType::Array))
    .find(|t| t.sql() == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_schema_becomes_typed_columns() {
        let schema = RecordSchema {
            data_column: true,
            columns: vec![
                ("label".into(), ColumnType::String),
                ("n".into(), ColumnType::Integer),
                ("score".into(), ColumnType::Number),
                ("ok".into(), ColumnType::Boolean),
                ("owner".into(), ColumnType::Object),
                ("tags".into(), ColumnType::Array),
            ],
            deletion_column: Some("deleted_at".into()),
            detected_column: Some("deletion_detected".into()),
            typed: None,
        };
        let cols: Vec<(String, &str)> = columns(&schema, None)
            .unwrap()
            .into_iter()
            .map(|c| (c.name, c.ty.sql()))
            .collect();
        let want = [
            ("id", "text"),
            ("ts", "timestamp with time zone"),
            ("ts_us", "bigint"),
            ("data", "jsonb"),
            ("label", "text"),
            ("n", "bigint"),
            ("score", "double precision"),
            ("ok", "boolean"),
            ("owner", "jsonb"),
            ("tags", "jsonb"),
            ("deleted_at", "timestamp with time zone"),
            ("deletion_detected", "boolean"),
        ];
        assert_eq!(
            cols,
            want.iter()
                .map(|(n, t)| (n.to_string(), *t))
                .collect::<Vec<_>>()
        );
    }

    #[test]
    fn clashing_and_overlong_names_are_refused() {
        let mut schema = RecordSchema {
            data_column: true,
            columns: vec![("ts_us".into(), ColumnType::Integer)],
            deletion_column: None,
            detected_column: None,
            typed: None,
        };
        assert!(columns(&schema, None)
            .unwrap_err()
            .contains("\"ts_us\" is used twice"));
        schema.columns = vec![("x".repeat(64), ColumnType::Integer)];
        assert!(columns(&schema, None)
            .unwrap_err()
            .contains("1 to 63 bytes"));
        assert!(table_name(&"t".repeat(64)).is_err());
        assert!(table_name("_fauna_sync_loads").is_err());
        assert_eq!(table_name("orders").unwrap(), "orders");
    }
}
