//! Foreign keys from refs: `--foreign-key 'orders.data.customer -> customers'` gives table
//! `orders` a stored generated column `customer_id` — the ref's id when the value at
//! `data.customer` is a ref to a document of `customers`, else null — and a declared foreign
//! key from it to `customers (id)`, `NOT VALID` (existing rows are not checked; Fauna never
//! enforced the ref) unless `--validate-foreign-keys`.
//!
//! Fauna has no referential integrity and a sync's files interleave collections, so the keys
//! fauna-sync manages (named `fauna_sync_fk_…`) are dropped while files are applied and made
//! again after the load; a key not asked for on this run is dropped. With the JSON layout a
//! ref lives inside `data` (or an additional column of type object), hence the generated
//! column; typed columns (issue 24) will give refs their own id columns, which the key can
//! then use directly.

use tokio_postgres::Client;

use super::error::LoadError;
use super::sql::{ident, literal, qualified};
use super::table::MAX_IDENT_BYTES;

/// Prefix of the constraints fauna-sync manages.
const PREFIX: &str = "fauna_sync_fk_";

/// One `--foreign-key`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ForeignKey {
    /// The referencing table (a stream).
    pub table: String,
    /// Its column holding the ref (`data` or an additional column).
    pub column: String,
    /// The path inside that column (empty when the column itself holds the ref).
    pub path: Vec<String>,
    /// The referenced table (a stream), whose `id` the ref's id is.
    pub references: String,
}

impl ForeignKey {
    /// Parses `table.column[.path…] -> table`.
    pub fn parse(spec: &str) -> Result<ForeignKey, String> {
        let bad = |why: &str| {
            format!("--foreign-key {spec:?}: {why}; expected 'orders.data.customer -> customers'")
        };
        let (from, to) = spec.split_once("->").ok_or_else(|| bad("no '->'"))?;
        let parts: Vec<String> = from.trim().split('.').map(str::to_string).collect();
        let references = to.trim().to_string();
        if parts.len() < 2 || parts.iter().any(String::is_empty) || references.is_empty() {
            return Err(bad(
                "name a table, a column (and a path inside it), and a table",
            ));
        }
        let fk = ForeignKey {
            table: parts[0].clone(),
            column: parts[1].clone(),
            path: parts[2..].to_vec(),
            references,
        };
        if fk.constraint().len() > MAX_IDENT_BYTES {
            return Err(bad("the path is too long for a PostgreSQL name"));
        }
        Ok(fk)
    }

    /// The generated column: the path's names joined by `_`, then `_id` (`customer_id`).
    pub fn generated_column(&self) -> String {
        let names: Vec<&str> = if self.path.is_empty() {
            vec![self.column.as_str()]
        } else {
            self.path.iter().map(String::as_str).collect()
        };
        format!("{}_id", names.join("_"))
    }

    /// The constraint's name.
    pub fn constraint(&self) -> String {
        format!("{PREFIX}{}", self.generated_column())
    }

    /// The generated column's expression: the ref's id when it refers to `references`.
    fn expression(&self) -> String {
        let path = |last: &str| {
            let mut p: Vec<String> = self.path.iter().map(|s| literal(s)).collect();
            p.push(literal(last));
            format!("{} #>> ARRAY[{}]", ident(&self.column), p.join(", "))
        };
        format!(
            "CASE WHEN ({}) = {} THEN ({}) END",
            path("collection"),
            literal(&self.references),
            path("id")
        )
    }
}

/// Drops every foreign key fauna-sync manages in `schema` (before files are applied).
pub async fn drop_managed(
    client: &Client,
    schema: &str,
    keep: &[ForeignKey],
) -> Result<(), LoadError> {
    let rows = client
        .query(
            "SELECT c.conrelid::regclass::text, c.conname::text, cl.relname::text FROM pg_constraint c JOIN pg_class cl ON cl.oid = c.conrelid \
             WHERE c.contype = 'f' AND c.connamespace = to_regnamespace($1) AND starts_with(c.conname::text, $2)",
            &[&ident(schema), &PREFIX],
        )
        .await
        .map_err(|e| LoadError::db(format!("list the foreign keys of schema {schema}"), &e))?;
    for r in rows {
        let (table, name, relname): (String, String, String) = (r.get(0), r.get(1), r.get(2));
        if keep
            .iter()
            .any(|k| k.table == relname && k.constraint() == name)
        {
            continue;
        }
        client
            .batch_execute(&format!(
                "ALTER TABLE {table} DROP CONSTRAINT {}",
                ident(&name)
            ))
            .await
            .map_err(|e| LoadError::db(format!("drop foreign key {name} of {table}"), &e))?;
    }
    Ok(())
}

/// What making the foreign keys did, one line each.
pub async fn create(
    client: &Client,
    schema: &str,
    keys: &[ForeignKey],
    validate: bool,
) -> Result<Vec<String>, LoadError> {
    let mut said = Vec::new();
    for k in keys {
        let table = qualified(schema, &k.table);
        let shown = format!("{schema}.{}", k.table);
        let db = |what: &str| {
            let context = format!("{what} ({} -> {})", shown, k.references);
            move |e: tokio_postgres::Error| LoadError::db(context, &e)
        };
        let exist = |t: &str| {
            let t = qualified(schema, t);
            async move {
                client
                    .query_one("SELECT to_regclass($1) IS NOT NULL", &[&t])
                    .await
                    .map(|r| r.get::<_, bool>(0))
            }
        };
        if !exist(&k.table).await.map_err(db("look up"))?
            || !exist(&k.references).await.map_err(db("look up"))?
        {
            said.push(format!(
                "foreign key {shown}.{} -> {}: not made yet (a table is not loaded yet)",
                k.generated_column(),
                k.references
            ));
            continue;
        }
        let column = k.generated_column();
        let found: Option<(bool,)> = client
            .query_opt(
                "SELECT attgenerated <> '' FROM pg_attribute WHERE attrelid = to_regclass($1) AND attname = $2 AND NOT attisdropped",
                &[&table, &column],
            )
            .await
            .map_err(db("look up the column of"))?
            .map(|r| (r.get(0),));
        match found {
            Some((true,)) => {}
            Some((false,)) => {
                return Err(LoadError::Usage(format!(
                    "--foreign-key: {shown} already has a column {column} that is not generated by fauna-sync; rename it"
                )))
            }
            None => {
                client
                    .batch_execute(&format!(
                        "ALTER TABLE {table} ADD COLUMN {} text GENERATED ALWAYS AS ({}) STORED",
                        ident(&column),
                        k.expression()
                    ))
                    .await
                    .map_err(db("add the generated column of"))?;
            }
        }
        let exists: bool = client
            .query_one(
                "SELECT EXISTS (SELECT 1 FROM pg_constraint WHERE conrelid = to_regclass($1) AND conname = $2)",
                &[&table, &k.constraint()],
            )
            .await
            .map_err(db("look up the foreign key of"))?
            .get(0);
        if !exists {
            client
                .batch_execute(&format!(
                    "ALTER TABLE {table} ADD CONSTRAINT {} FOREIGN KEY ({}) REFERENCES {} (id) NOT VALID",
                    ident(&k.constraint()),
                    ident(&column),
                    qualified(schema, &k.references)
                ))
                .await
                .map_err(db("declare the foreign key"))?;
        }
        let mut line = format!(
            "foreign key {shown}.{column} -> {schema}.{}(id) declared NOT VALID",
            k.references
        );
        if validate {
            match client
                .batch_execute(&format!(
                    "ALTER TABLE {table} VALIDATE CONSTRAINT {}",
                    ident(&k.constraint())
                ))
                .await
            {
                Ok(()) => {
                    line = format!(
                        "foreign key {shown}.{column} -> {schema}.{}(id) validated",
                        k.references
                    )
                }
                Err(e) => line.push_str(&format!(
                    "; validation failed, it stays NOT VALID: {}",
                    super::error::describe(&e)
                )),
            }
        }
        said.push(line);
    }
    Ok(said)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_parse_into_a_generated_column_and_a_constraint() {
        let k = ForeignKey::parse("orders.data.customer -> customers").unwrap();
        assert_eq!(
            (
                k.table.as_str(),
                k.column.as_str(),
                k.path.clone(),
                k.references.as_str()
            ),
            ("orders", "data", vec!["customer".to_string()], "customers")
        );
        assert_eq!(k.generated_column(), "customer_id");
        assert_eq!(k.constraint(), "fauna_sync_fk_customer_id");
        assert_eq!(
            k.expression(),
            "CASE WHEN (\"data\" #>> ARRAY['customer', 'collection']) = 'customers' THEN (\"data\" #>> ARRAY['customer', 'id']) END"
        );
        let col = ForeignKey::parse("orders.owner->players").unwrap();
        assert_eq!(col.generated_column(), "owner_id");
        assert_eq!(
            col.expression(),
            "CASE WHEN (\"owner\" #>> ARRAY['collection']) = 'players' THEN (\"owner\" #>> ARRAY['id']) END"
        );
        for bad in [
            "orders.data.customer",
            "orders -> c",
            "orders..x -> c",
            ".a -> b",
        ] {
            assert!(ForeignKey::parse(bad).is_err(), "{bad}");
        }
    }
}
