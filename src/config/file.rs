//! The configuration file as written (`spec/config.schema.json`), before defaults and checks.

use serde::Deserialize;

use super::ColumnType;
use crate::fauna::Secret;

/// The whole file. Unknown top-level keys are read here and checked by `super::keys`.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct ConfigFile {
    /// Host name.
    pub domain: Option<String>,
    /// Port.
    pub port: Option<u16>,
    /// `http` or `https`.
    pub scheme: Option<String>,
    /// The secret.
    pub secret: Option<Secret>,
    /// One collection (Airbyte form).
    pub collection: Option<CollectionFile>,
    /// Several collections.
    #[serde(default)]
    pub collections: Vec<CollectionFile>,
    /// Defaults for every collection.
    #[serde(default)]
    pub defaults: DefaultsFile,
    /// Query timeout in milliseconds.
    pub query_timeout_ms: Option<u64>,
    /// Retries per query.
    pub max_retries: Option<usize>,
    /// Partitions read at once per stream.
    pub concurrency: Option<u32>,
    /// Whether plain `http` to a host other than this machine is allowed.
    pub allow_insecure_http: Option<bool>,
    /// Airbyte `discover`: documents per collection sampled for typed `data` properties.
    pub discover_sample: Option<u32>,
    /// Output settings.
    #[serde(default)]
    pub output: OutputFile,
    /// Which databases of the tree (`spec/trees.md`); the key's own without it.
    pub databases: Option<super::databases::DatabasesFile>,
}

/// Settings of one collection.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CollectionFile {
    /// Collection name. Without one, `collection` is source-fauna 0.1.x's form: settings for
    /// every collection.
    #[serde(default)]
    pub name: Option<String>,
    /// The `[ts, ref]` index.
    pub index: Option<String>,
    /// Whether to export the `data` column.
    pub data_column: Option<bool>,
    /// Additional columns.
    pub additional_columns: Option<Vec<ColumnFile>>,
    /// Page size (the first page's, when adaptive).
    pub page_size: Option<u32>,
    /// Keep every page at `page_size` instead of adapting it.
    pub page_size_fixed: Option<bool>,
    /// Deletion tracking.
    pub deletions: Option<DeletionsFile>,
    /// This collection's schema contract of typed columns (else `output.contract`).
    pub contract: Option<String>,
}

/// Defaults applied to collections.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DefaultsFile {
    /// Whether to export the `data` column.
    pub data_column: Option<bool>,
    /// Page size (the first page's, when adaptive).
    pub page_size: Option<u32>,
    /// Keep every page at `page_size` instead of adapting it.
    pub page_size_fixed: Option<bool>,
    /// Deletion tracking.
    pub deletions: Option<DeletionsFile>,
}

/// Airbyte's deletion-mode object.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(tag = "deletion_mode", rename_all = "snake_case", deny_unknown_fields)]
pub enum DeletionsFile {
    /// Deleted documents are not reported.
    Ignore,
    /// Deleted documents are reported with a deletion-time column.
    DeletedField {
        /// The column's name (default `deleted_at`).
        column: Option<String>,
        /// What an incremental read does when the deletion cursor is older than Fauna's history.
        history_gap: Option<HistoryGap>,
    },
}

/// What an incremental read does when deletions since its last run may be gone from Fauna's
/// history (`spec/sync.md`, "History gaps").
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum HistoryGap {
    /// Compare the ids the output holds with those live now; the missing ones get detected
    /// deletion records. Where the output keeps no id set (Airbyte `read`), the stream fails
    /// as with `Stop`.
    #[default]
    Reconcile,
    /// Stop with an error, leaving the state as it was.
    Stop,
    /// Read the collection again in full (as a first read, at a new snapshot), then go on
    /// incrementally; deletions since the last read are not seen (Airbyte's CDC sources'
    /// "Re-sync data").
    Resync,
}

/// An additional column.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ColumnFile {
    /// Column name.
    pub name: String,
    /// Path into the document.
    pub path: Vec<String>,
    /// Declared type.
    #[serde(rename = "type")]
    pub column_type: ColumnType,
    /// JSON-schema format (kept for the Airbyte catalog).
    pub format: Option<String>,
    /// Airbyte type (kept for the Airbyte catalog).
    pub airbyte_type: Option<String>,
    /// Whether a missing path fails the export (default true, as in Airbyte).
    pub required: Option<bool>,
}

/// Output settings.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutputFile {
    /// Output root.
    pub dir: Option<String>,
    /// `jsonl` or `parquet`.
    pub format: Option<String>,
    /// `none`, `gzip` or `zstd`.
    pub compression: Option<String>,
    /// `typed` or `json` (new outputs; an existing stream keeps its recorded mode).
    pub columns: Option<String>,
    /// Schema contract of typed columns: `evolve`, `freeze`, `discard_row`, `discard_value`.
    pub contract: Option<String>,
    /// Typed columns: object levels flattened into columns (new streams; default 1).
    pub flatten_depth: Option<u32>,
    /// Typed columns: what joins a flattened path's keys and precedes `v_<type>` in variant
    /// names (new streams; default `__`).
    pub column_separator: Option<String>,
    /// Rows per batch file.
    pub batch_rows: Option<u64>,
    /// Uncompressed JSONL bytes per batch file.
    pub batch_bytes: Option<u64>,
    /// State file path.
    pub state: Option<String>,
}

/// The top-level keys of a JSON object, in file order (values are skipped).
pub struct TopLevelKeys(pub Vec<String>);

impl<'de> Deserialize<'de> for TopLevelKeys {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Keys;
        impl<'de> serde::de::Visitor<'de> for Keys {
            type Value = TopLevelKeys;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Self::Value, A::Error> {
                let mut keys = Vec::new();
                while let Some(k) = map.next_key::<String>()? {
                    map.next_value::<serde::de::IgnoredAny>()?;
                    keys.push(k);
                }
                Ok(TopLevelKeys(keys))
            }
        }
        d.deserialize_map(Keys)
    }
}
