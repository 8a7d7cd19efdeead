//! Column names valid in DuckDB, BigQuery, Snowflake and Postgres.
//!
//! A name is lowercase ASCII letters, digits and `_`, starts with a letter or `_`, and has at
//! most [`MAX_NAME_BYTES`] bytes (Postgres' limit; BigQuery allows 300, Snowflake 255). Such a
//! name means the same column in all four whether quoted or not (Snowflake upper-cases and
//! Postgres lower-cases unquoted names; BigQuery and DuckDB ignore case), except SQL keywords,
//! which need quotes as any name does.

use std::collections::BTreeSet;

use sha2::{Digest, Sha256};

/// The longest name, in bytes (Postgres' `NAMEDATALEN - 1`).
pub const MAX_NAME_BYTES: usize = 63;

/// Names the record columns and the loaders use: a field of that name gets a `_` appended.
pub const RESERVED_NAMES: [&str; 7] = [
    "ref",
    "ts",
    "data",
    "deletion_detected",
    "_ab_cdc_updated_at",
    "_ab_cdc_deleted_at",
    "_ab_cdc_lsn",
];

/// Prefixes BigQuery refuses (`_table_`, `_file_`, `_partition`, `_row_timestamp`, `__root__`,
/// `_colidentifier`) and those of Airbyte's and fauna-sync's own columns: a name starting with
/// one gets an `f` prepended.
pub const RESERVED_PREFIXES: [&str; 8] = [
    "_table_",
    "_file_",
    "_partition",
    "_row_timestamp",
    "__root__",
    "_colidentifier",
    "_airbyte_",
    "_fauna_sync",
];

/// The names already taken in one stream's files, and the extra reserved names (the deletion
/// column's). Hands out each name once.
#[derive(Clone, Debug, Default)]
pub struct NameRules {
    taken: BTreeSet<String>,
    reserved: BTreeSet<String>,
}

impl NameRules {
    /// Rules with `extra_reserved` (e.g. the configured deletion column) besides
    /// [`RESERVED_NAMES`], and `taken` names already used by planned columns.
    pub fn new<'a>(
        extra_reserved: impl IntoIterator<Item = &'a str>,
        taken: impl IntoIterator<Item = &'a str>,
    ) -> Self {
        let mut reserved: BTreeSet<String> = RESERVED_NAMES.iter().map(|s| s.to_string()).collect();
        reserved.extend(extra_reserved.into_iter().map(str::to_ascii_lowercase));
        NameRules {
            taken: taken.into_iter().map(str::to_string).collect(),
            reserved,
        }
    }

    /// A valid, unused name from `candidate` (already a [`column_base_name`] or a variant of
    /// one): a reserved name gets `_` appended, a reserved prefix an `f` prepended, a name
    /// too long is cut with a hash of `identity` (the original path and kind, so two long
    /// paths never meet), and a taken name gets `_2`, `_3`, … The name is then taken.
    pub fn claim(&mut self, candidate: &str, identity: &str) -> String {
        let mut name = candidate.to_string();
        while self.reserved.contains(&name) {
            name.push('_');
        }
        if RESERVED_PREFIXES.iter().any(|p| name.starts_with(p)) {
            name.insert(0, 'f');
        }
        if name.len() > MAX_NAME_BYTES {
            let hash = hex8(identity);
            name = format!("{}_{hash}", cut(&name, MAX_NAME_BYTES - 9));
        }
        let mut unique = name.clone();
        let mut n = 2u64;
        while self.taken.contains(&unique) || self.reserved.contains(&unique) {
            let suffix = format!("_{n}");
            unique = format!("{}{suffix}", cut(&name, MAX_NAME_BYTES - suffix.len()));
            n += 1;
        }
        self.taken.insert(unique.clone());
        unique
    }
}

/// The base name of a column for a path of keys: each key lower-cased, every character other than
/// `a-z`, `0-9`, `_` replaced by `_` (an empty key is `_`), keys joined by `separator`, and a
/// `_` prepended if the result starts with a digit. Different paths can give the same base
/// (`a.b` and `a__b`, `Name` and `name`): [`NameRules::claim`] makes names unique.
pub fn column_base_name(keys: &[&str], separator: &str) -> String {
    let mut name = String::new();
    for (i, key) in keys.iter().enumerate() {
        if i > 0 {
            name.push_str(separator);
        }
        if key.is_empty() {
            name.push('_');
        }
        for c in key.chars() {
            let c = c.to_ascii_lowercase();
            name.push(
                if c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' {
                    c
                } else {
                    '_'
                },
            );
        }
    }
    if name.starts_with(|c: char| c.is_ascii_digit()) {
        name.insert(0, '_');
    }
    name
}

/// The first `max` bytes of an ASCII name.
fn cut(name: &str, max: usize) -> &str {
    name.get(..max.min(name.len())).unwrap_or(name)
}

/// The first 8 hex digits of SHA-256 of `text`.
fn hex8(text: &str) -> String {
    let digest = Sha256::digest(text.as_bytes());
    digest.iter().take(4).map(|b| format!("{b:02x}")).collect()
}
