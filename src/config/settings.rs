//! Resolved settings: the file plus defaults, overrides and checks.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::databases::{resolve_databases, DatabaseOverrides};
use super::endpoint::parse_endpoint;
use super::error::ConfigError;
pub use super::file::HistoryGap;
use super::file::{CollectionFile, ColumnFile, ConfigFile, DeletionsFile, TopLevelKeys};
use super::keys::check_keys;
use super::{ColumnType, DETECTED_COLUMN};
use crate::fauna::Secret;
use crate::location::Location;
use crate::tree::DatabaseSelection;

/// Default page size (Airbyte's connector used 64; larger pages export much faster).
pub const DEFAULT_PAGE_SIZE: u32 = 1000;
/// Default rows per batch file.
pub const DEFAULT_BATCH_ROWS: u64 = 100_000;
/// The largest `discover_sample` (one page of documents per collection).
pub const MAX_DISCOVER_SAMPLE: u32 = 10_000;
/// Partitions read at once when the configuration does not say (`spec/config.schema.json`).
pub const DEFAULT_CONCURRENCY: u32 = 4;

/// Upper bound of `concurrency`.
pub const MAX_CONCURRENCY: u32 = 64;

/// Upper bound of `max_retries` (`spec/config.schema.json`).
pub const MAX_RETRIES_LIMIT: usize = 100;
const RESERVED: [&str; 3] = ["ref", "ts", "data"];

/// How a stream's user data becomes columns (`output.columns`, `--columns`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ColumnsMode {
    /// The `data` JSON column only (the layout before typed columns). The default: typed
    /// columns cost about three times the CPU per document for now (`spec/output-layout.md`,
    /// "Typed columns"), so they are asked for.
    #[default]
    Json,
    /// Typed columns from the wire's types beside the `data` column (Parquet only).
    Typed,
}

impl ColumnsMode {
    /// The configuration's name.
    pub fn name(self) -> &'static str {
        match self {
            ColumnsMode::Json => "json",
            ColumnsMode::Typed => "typed",
        }
    }
}

/// Output file format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutputFormat {
    /// JSON lines.
    Jsonl,
    /// Apache Parquet.
    Parquet,
}

/// Compression of JSONL files (Parquet compresses its pages with zstd).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Compression {
    /// Plain text (`.jsonl`).
    None,
    /// gzip (`.jsonl.gz`).
    Gzip,
    /// zstd (`.jsonl.zst`).
    Zstd,
}

/// An additional column, checked.
#[derive(Clone, Debug, PartialEq)]
pub struct ColumnSpec {
    /// Column name.
    pub name: String,
    /// Path from the top of the document.
    pub path: Vec<String>,
    /// Declared type.
    pub column_type: ColumnType,
    /// JSON-schema format, if given.
    pub format: Option<String>,
    /// Airbyte type, if given.
    pub airbyte_type: Option<String>,
    /// Whether a missing value fails the export.
    pub required: bool,
}

/// Everything about one collection's export.
#[derive(Clone, Debug, PartialEq)]
pub struct CollectionSettings {
    /// Collection name.
    pub name: String,
    /// The `[ts, ref]` index, if any.
    pub index: Option<String>,
    /// Whether records carry `data`.
    pub data_column: bool,
    /// Additional columns.
    pub columns: Vec<ColumnSpec>,
    /// Documents in the first page; later pages adapt (`spec/paging.md`).
    pub page_size: u32,
    /// Every page asks for `page_size` items (no adaptation).
    pub page_size_fixed: bool,
    /// The deletion column, when deletions are tracked.
    pub deletion_column: Option<String>,
    /// What an incremental read does about deletions that fell out of Fauna's history.
    pub history_gap: HistoryGap,
    /// Whether the stream's records keep their `data`'s wire JSON for typed columns (decided
    /// per run from the stream's recorded columns mode, not configured here).
    pub typed: bool,
    /// The collection's own schema contract of typed columns (`None`: the run's,
    /// [`OutputSettings::contract`]; `--contract` overrides every collection's).
    pub contract: Option<crate::schema::Contract>,
}

impl CollectionSettings {
    /// Collection `name` with the built-in defaults: the `data` column, no additional columns,
    /// pages starting at [`DEFAULT_PAGE_SIZE`] and adapting, no index, no deletion tracking.
    pub fn named(name: &str) -> Self {
        CollectionSettings {
            name: name.to_string(),
            index: None,
            data_column: true,
            columns: vec![],
            page_size: DEFAULT_PAGE_SIZE,
            page_size_fixed: false,
            deletion_column: None,
            history_gap: HistoryGap::default(),
            typed: false,
            contract: None,
        }
    }
}

/// Output settings.
#[derive(Clone, Debug, PartialEq)]
pub struct OutputSettings {
    /// Output root (`--out`, `output.dir`): a directory or an object store, parsed once.
    pub out: Location,
    /// File format.
    pub format: OutputFormat,
    /// JSONL compression.
    pub compression: Compression,
    /// Rows per batch file.
    pub batch_rows: u64,
    /// A batch file is also closed once its records' uncompressed JSONL size reaches this.
    pub batch_bytes: Option<u64>,
    /// Checkpoint state file.
    pub state: PathBuf,
    /// Check every committed file's SHA-256 on start (always: presence and size).
    pub verify: bool,
    /// The columns mode asked for (`None`: not set; new streams are `json`, existing ones keep
    /// the mode their state records).
    pub columns: Option<ColumnsMode>,
    /// The schema contract of typed columns.
    pub contract: crate::schema::Contract,
    /// How new typed streams flatten and name columns; `None` where not asked (the default
    /// for a new stream; an existing stream keeps what its plan records).
    pub flatten: FlattenAsked,
}

/// The flatten options asked for (`--flatten-depth`, `--column-separator` or the config's
/// `output.flatten_depth`, `output.column_separator`), checked.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FlattenAsked {
    /// Object levels flattened into columns.
    pub depth: Option<u32>,
    /// The separator of flattened paths and variant names.
    pub separator: Option<String>,
}

/// Everything a run needs, checked.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Base URL of the Fauna endpoint.
    pub endpoint: String,
    /// The secret.
    pub secret: Secret,
    /// Per-query timeout.
    pub query_timeout: Duration,
    /// Retries per query.
    pub max_retries: usize,
    /// Partitions of one stream read at once (and the client's most requests in flight).
    pub concurrency: u32,
    /// Airbyte `discover`: documents per collection read to type `data`'s properties, labelled
    /// as a sample (0: none, `data` is an untyped object).
    pub discover_sample: u32,
    /// The collections to export; `None` = every collection the key can read, with defaults.
    pub collections: Option<Vec<CollectionSettings>>,
    /// Defaults for collections not configured explicitly.
    pub defaults: CollectionSettings,
    /// Output settings.
    pub output: OutputSettings,
    /// The databases read (the key's own by default; `spec/trees.md`).
    pub databases: DatabaseSelection,
    /// Warnings about the configuration (unknown keys, allowed insecure http); `Settings::load`
    /// has logged them.
    pub warnings: Vec<String>,
}

/// Command-line values that override the file.
#[derive(Clone, Debug, Default)]
pub struct Overrides {
    /// `--secret` or `FAUNA_SECRET`.
    pub secret: Option<Secret>,
    /// `--endpoint` (e.g. `http://127.0.0.1:8443`).
    pub endpoint: Option<String>,
    /// `--collection` (repeatable).
    pub collections: Vec<String>,
    /// `--format`.
    pub format: Option<String>,
    /// `--out`.
    pub out: Option<PathBuf>,
    /// `--page-size`.
    pub page_size: Option<u32>,
    /// `--concurrency`.
    pub concurrency: Option<u32>,
    /// `--fixed-page-size`: pin every collection's page size.
    pub fixed_page_size: bool,
    /// `--batch-rows`.
    pub batch_rows: Option<u64>,
    /// `--batch-bytes`.
    pub batch_bytes: Option<u64>,
    /// `--compression`.
    pub compression: Option<String>,
    /// `--columns`.
    pub columns: Option<String>,
    /// `--contract`.
    pub contract: Option<String>,
    /// `--flatten-depth`.
    pub flatten_depth: Option<u32>,
    /// `--column-separator`.
    pub column_separator: Option<String>,
    /// `--state`.
    pub state: Option<PathBuf>,
    /// `--verify`: check committed files' SHA-256 on start.
    pub verify: bool,
    /// `--allow-insecure-http`.
    pub allow_insecure_http: bool,
    /// `--databases`, `--include-database`, `--exclude-database`.
    pub databases: DatabaseOverrides,
}

impl Settings {
    /// Reads and checks the configuration file (if any), applies the overrides and logs the
    /// warnings.
    pub fn load(path: Option<&Path>, overrides: Overrides) -> Result<Settings, ConfigError> {
        let settings = match path {
            Some(p) => {
                let bytes = std::fs::read(p).map_err(|e| {
                    ConfigError::new(
                        "--config",
                        format!("cannot read {}: {e}", p.display()),
                        "Check the path given to --config.",
                    )
                })?;
                Settings::from_slice(&bytes, overrides)?
            }
            None => resolve(ConfigFile::default(), overrides)?,
        };
        for w in &settings.warnings {
            tracing::warn!("{w}");
        }
        Ok(settings)
    }

    /// The settings of a configuration file's content and the overrides, checked; the
    /// warnings (unknown keys first) are in `warnings`, not logged.
    pub fn from_slice(bytes: &[u8], overrides: Overrides) -> Result<Settings, ConfigError> {
        let file = parse(bytes)?;
        let keys: TopLevelKeys = serde_json::from_slice(bytes).map_err(|e| {
            ConfigError::new(
                "(file)",
                e.to_string(),
                "See spec/config.schema.json for the expected shape.",
            )
        })?;
        let mut warnings: Vec<String> = check_keys(keys.0.iter().map(String::as_str))?
            .iter()
            .map(ToString::to_string)
            .collect();
        let mut settings = resolve(file, overrides)?;
        warnings.append(&mut settings.warnings);
        settings.warnings = warnings;
        Ok(settings)
    }
}

/// Parses the file's JSON, naming the field of any type error.
pub fn parse(bytes: &[u8]) -> Result<ConfigFile, ConfigError> {
    // serde reads a struct from an array too, which would name an array element as the field.
    let not_object = match serde_json::from_slice::<serde_json::Value>(bytes) {
        Ok(serde_json::Value::Object(_)) | Err(_) => None,
        Ok(serde_json::Value::Array(_)) => Some("an array"),
        Ok(serde_json::Value::String(_)) => Some("a string"),
        Ok(serde_json::Value::Number(_)) => Some("a number"),
        Ok(serde_json::Value::Bool(_)) => Some("a boolean"),
        Ok(serde_json::Value::Null) => Some("null"),
    };
    if let Some(found) = not_object {
        return Err(ConfigError::new(
            "(file)",
            format!("the file holds {found}, not a JSON object"),
            "See spec/config.schema.json for the expected shape.",
        ));
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let field = e.path().to_string();
        let field = if field == "." || field == "?" {
            "(file)".to_string()
        } else {
            field
        };
        ConfigError::new(
            field,
            e.inner().to_string(),
            "See spec/config.schema.json for the expected shape.",
        )
    })
}

fn parse_format(s: &str, field: &str) -> Result<OutputFormat, ConfigError> {
    match s {
        "jsonl" => Ok(OutputFormat::Jsonl),
        "parquet" => Ok(OutputFormat::Parquet),
        other => Err(ConfigError::new(
            field,
            format!("unknown format '{other}'"),
            "Use \"jsonl\" or \"parquet\".",
        )),
    }
}

fn parse_columns(s: &str, field: &str) -> Result<ColumnsMode, ConfigError> {
    match s {
        "json" => Ok(ColumnsMode::Json),
        "typed" => Ok(ColumnsMode::Typed),
        other => Err(ConfigError::new(
            field,
            format!("unknown columns mode '{other}'"),
            "Use \"typed\" (typed columns beside data) or \"json\" (the data column only).",
        )),
    }
}

/// The flatten options asked for, checked as a plan checks them.
fn parse_flatten(
    depth: Option<u32>,
    separator: Option<String>,
    field: &str,
) -> Result<FlattenAsked, ConfigError> {
    let options = crate::schema::PlanOptions {
        flatten_depth: depth.unwrap_or(crate::schema::DEFAULT_FLATTEN_DEPTH),
        separator: separator
            .clone()
            .unwrap_or_else(|| crate::schema::DEFAULT_SEPARATOR.to_string()),
        reserved: Vec::new(),
    };
    options.validate().map_err(|e| {
        ConfigError::new(
            field,
            e.to_string(),
            "Give a depth of 0 to 8 and a separator of 1 to 4 characters of a-z, 0-9 and _ (defaults: 1 and __).",
        )
    })?;
    Ok(FlattenAsked { depth, separator })
}

fn parse_contract(s: &str, field: &str) -> Result<crate::schema::Contract, ConfigError> {
    use crate::schema::Contract;
    match s {
        "evolve" => Ok(Contract::Evolve),
        "freeze" => Ok(Contract::Freeze),
        "discard_row" => Ok(Contract::DiscardRow),
        "discard_value" => Ok(Contract::DiscardValue),
        other => Err(ConfigError::new(
            field,
            format!("unknown schema contract '{other}'"),
            "Use \"evolve\", \"freeze\", \"discard_row\" or \"discard_value\".",
        )),
    }
}

fn parse_compression(s: &str, field: &str) -> Result<Compression, ConfigError> {
    match s {
        "none" => Ok(Compression::None),
        "gzip" => Ok(Compression::Gzip),
        "zstd" => Ok(Compression::Zstd),
        other => Err(ConfigError::new(
            field,
            format!("unknown compression '{other}'"),
            "Use \"none\", \"gzip\" or \"zstd\".",
        )),
    }
}

fn check_deletions(d: &Option<DeletionsFile>, field: &str) -> Result<(), ConfigError> {
    match d {
        Some(DeletionsFile::DeletedField {
            column: Some(c), ..
        }) if c.trim().is_empty() => Err(ConfigError::new(
            format!("{field}.column"),
            "empty column name",
            "Name the deletion column (default \"deleted_at\") or leave \"column\" out.",
        )),
        _ => Ok(()),
    }
}

fn check_path(path: &Option<PathBuf>, field: &str) -> Result<(), ConfigError> {
    match path {
        Some(p) if p.as_os_str().is_empty() => Err(ConfigError::new(
            field,
            "empty path",
            "Give a path, or leave it out for the default.",
        )),
        _ => Ok(()),
    }
}

fn check_concurrency(n: u32, field: &str) -> Result<u32, ConfigError> {
    if (1..=MAX_CONCURRENCY).contains(&n) {
        return Ok(n);
    }
    Err(ConfigError::new(
        field,
        format!("{n} is outside 1..={MAX_CONCURRENCY}"),
        "Read with 1 (one request at a time) to 64 partitions at once; the default is 4.",
    ))
}

fn check_page_size(size: u32, field: &str) -> Result<u32, ConfigError> {
    if (1..=100_000).contains(&size) {
        Ok(size)
    } else {
        Err(ConfigError::new(
            field,
            format!("page size {size} is outside 1..=100000"),
            "Fauna pages hold 1 to 100000 elements; 1000 is a good start.",
        ))
    }
}

fn deletion_column(d: &Option<DeletionsFile>) -> Option<String> {
    match d {
        Some(DeletionsFile::DeletedField { column, .. }) => {
            Some(column.clone().unwrap_or_else(|| "deleted_at".into()))
        }
        _ => None,
    }
}

fn history_gap(d: &Option<DeletionsFile>) -> HistoryGap {
    match d {
        Some(DeletionsFile::DeletedField {
            history_gap: Some(g),
            ..
        }) => *g,
        _ => HistoryGap::default(),
    }
}

fn resolve(file: ConfigFile, o: Overrides) -> Result<Settings, ConfigError> {
    let secret = o
        .secret
        .clone()
        .or_else(|| file.secret.clone())
        .unwrap_or_else(|| Secret::new(""));
    if secret.is_empty() {
        return Err(ConfigError::new(
            "secret",
            "no Fauna secret was given",
            "Set \"secret\" in the config file, the FAUNA_SECRET environment variable, or --secret.",
        ));
    }
    let mut warnings = Vec::new();
    let endpoint = resolve_endpoint(&file, &o, &mut warnings)?;
    let file_databases = file.databases.clone();
    let query_timeout_ms = file.query_timeout_ms.unwrap_or(60_000);
    if !(1..=600_000).contains(&query_timeout_ms) {
        return Err(ConfigError::new(
            "query_timeout_ms",
            format!("{query_timeout_ms} is outside 1..=600000"),
            "Fauna accepts query timeouts up to 600000 ms.",
        ));
    }
    let max_retries = file.max_retries.unwrap_or(8);
    if max_retries > MAX_RETRIES_LIMIT {
        return Err(ConfigError::new(
            "max_retries",
            format!("{max_retries} is outside 0..={MAX_RETRIES_LIMIT}"),
            "Use at most 100 retries; each waits up to 20 s.",
        ));
    }

    let concurrency = match o.concurrency {
        Some(n) => check_concurrency(n, "--concurrency")?,
        None => check_concurrency(
            file.concurrency.unwrap_or(DEFAULT_CONCURRENCY),
            "concurrency",
        )?,
    };

    let default_page = check_page_size(
        o.page_size
            .or(file.defaults.page_size)
            .unwrap_or(DEFAULT_PAGE_SIZE),
        if o.page_size.is_some() {
            "--page-size"
        } else {
            "defaults.page_size"
        },
    )?;
    check_deletions(&file.defaults.deletions, "defaults.deletions")?;
    let mut defaults = CollectionSettings {
        name: String::new(),
        index: None,
        data_column: file.defaults.data_column.unwrap_or(true),
        columns: vec![],
        page_size: default_page,
        page_size_fixed: o.fixed_page_size || file.defaults.page_size_fixed.unwrap_or(false),
        deletion_column: deletion_column(&file.defaults.deletions),
        history_gap: history_gap(&file.defaults.deletions),
        typed: false,
        contract: None,
    };

    let mut configured: Vec<(String, CollectionFile)> = Vec::new();
    if let Some(c) = file.collection {
        if c.name.is_some() {
            configured.push(("collection".into(), c));
        } else {
            defaults = source_fauna_defaults(c, &defaults, &o)?;
        }
    }
    for (i, c) in file.collections.into_iter().enumerate() {
        configured.push((format!("collections[{i}]"), c));
    }
    let mut seen = HashSet::new();
    let mut resolved = Vec::new();
    for (field, c) in configured {
        let name = match &c.name {
            Some(n) if n.is_empty() => {
                return Err(ConfigError::new(
                    format!("{field}.name"),
                    "empty collection name",
                    "Name the collection to export.",
                ))
            }
            Some(n) => n.clone(),
            None => {
                return Err(ConfigError::new(
                    format!("{field}.name"),
                    "missing collection name",
                    "Name each collection of \"collections\" (only \"collection\" may leave it out, to apply to every collection).",
                ))
            }
        };
        if !seen.insert(name.clone()) {
            return Err(ConfigError::new(
                format!("{field}.name"),
                format!("collection '{name}' is listed twice"),
                "List each collection once.",
            ));
        }
        resolved.push(resolve_collection(&field, c, &defaults, &o)?);
    }
    let mut wanted: Vec<&String> = Vec::new();
    for name in &o.collections {
        if name.trim().is_empty() {
            return Err(ConfigError::new(
                "--collection",
                "empty collection name",
                "Name a collection, e.g. --collection users, or leave --collection out.",
            ));
        }
        if !wanted.contains(&name) {
            wanted.push(name);
        }
    }
    let collections = if wanted.is_empty() {
        (!resolved.is_empty()).then_some(resolved)
    } else {
        let mut chosen = Vec::new();
        for name in wanted {
            match resolved.iter().find(|c| &c.name == name) {
                Some(c) => chosen.push(c.clone()),
                None => chosen.push(CollectionSettings {
                    name: name.to_string(),
                    ..defaults.clone()
                }),
            }
        }
        Some(chosen)
    };

    let out = &file.output;
    check_path(&o.out, "--out")?;
    check_path(&out.dir.as_ref().map(PathBuf::from), "output.dir")?;
    check_path(&o.state, "--state")?;
    check_path(&out.state.as_ref().map(PathBuf::from), "output.state")?;
    let (dir, dir_field) = match (o.out, &out.dir) {
        (Some(dir), _) => (dir, "--out"),
        (None, Some(dir)) => (PathBuf::from(dir), "output.dir"),
        (None, None) => (PathBuf::from("fauna-export"), "--out"),
    };
    let location = Location::parse(&dir).map_err(|e| {
        ConfigError::new(
            dir_field,
            format!("{} is no usable output ({})", e.url, e.reason),
            "Name a local directory or an object store URL.",
        )
    })?;
    let format = match (&o.format, &out.format) {
        (Some(f), _) => parse_format(f, "--format")?,
        (None, Some(f)) => parse_format(f, "output.format")?,
        (None, None) => OutputFormat::Jsonl,
    };
    let compression = match (&o.compression, &out.compression) {
        (Some(c), _) => parse_compression(c, "--compression")?,
        (None, Some(c)) => parse_compression(c, "output.compression")?,
        (None, None) => Compression::None,
    };
    if format == OutputFormat::Parquet && compression != Compression::None {
        return Err(ConfigError::new(
            "compression",
            "compression applies to JSONL only",
            "Parquet files are always zstd-compressed; drop --compression or use --format jsonl.",
        ));
    }
    let columns = match (&o.columns, &out.columns) {
        (Some(c), _) => Some(parse_columns(c, "--columns")?),
        (None, Some(c)) => Some(parse_columns(c, "output.columns")?),
        (None, None) => None,
    };
    let contract = match (&o.contract, &out.contract) {
        (Some(c), _) => parse_contract(c, "--contract")?,
        (None, Some(c)) => parse_contract(c, "output.contract")?,
        (None, None) => crate::schema::Contract::default(),
    };
    let flatten = parse_flatten(
        o.flatten_depth.or(out.flatten_depth),
        o.column_separator.clone().or(out.column_separator.clone()),
        if o.flatten_depth.is_some() || o.column_separator.is_some() {
            "--flatten-depth / --column-separator"
        } else {
            "output.flatten_depth / output.column_separator"
        },
    )?;
    let batch_rows = o
        .batch_rows
        .or(out.batch_rows)
        .unwrap_or(DEFAULT_BATCH_ROWS);
    if batch_rows == 0 {
        return Err(ConfigError::new(
            if o.batch_rows.is_some() {
                "--batch-rows"
            } else {
                "output.batch_rows"
            },
            "0 rows per batch",
            "Use a positive number, e.g. 100000.",
        ));
    }
    let batch_bytes = o.batch_bytes.or(out.batch_bytes);
    if batch_bytes == Some(0) {
        return Err(ConfigError::new(
            if o.batch_bytes.is_some() {
                "--batch-bytes"
            } else {
                "output.batch_bytes"
            },
            "0 bytes per batch",
            "Use a positive number of bytes, e.g. 268435456 (256 MiB), or leave it out.",
        ));
    }
    let state = o
        .state
        .or_else(|| out.state.as_ref().map(PathBuf::from))
        .unwrap_or_else(|| location.as_path().join("_state.json"));
    let databases = resolve_databases(file_databases, &o.databases)?;
    if databases.is_tree() {
        check_database_column(collections.as_deref().unwrap_or(&[]), &defaults)?;
    }
    let discover_sample = file.discover_sample.unwrap_or(0);
    if discover_sample > MAX_DISCOVER_SAMPLE {
        return Err(ConfigError::new(
            "discover_sample",
            format!("{discover_sample} documents is above {MAX_DISCOVER_SAMPLE}"),
            "Use 0 (no sample) to 10000; one page of that many documents is read per collection.",
        ));
    }
    Ok(Settings {
        endpoint,
        secret,
        databases,
        query_timeout: Duration::from_millis(query_timeout_ms),
        max_retries,
        concurrency,
        discover_sample,
        collections,
        defaults,
        output: OutputSettings {
            out: location,
            format,
            compression,
            batch_rows,
            batch_bytes,
            state,
            verify: o.verify,
            columns,
            contract,
            flatten,
        },
        warnings,
    })
}

/// A tree run's records carry the `database` column: no configured column may take its name.
fn check_database_column(
    collections: &[CollectionSettings],
    defaults: &CollectionSettings,
) -> Result<(), ConfigError> {
    let column = crate::tree::DATABASE_COLUMN;
    for c in collections.iter().chain([defaults]) {
        let taken = c.columns.iter().any(|col| col.name == column)
            || c.deletion_column.as_deref() == Some(column);
        if taken {
            return Err(ConfigError::new(
                "databases",
                format!("collection '{}' has a column named '{column}', the column a run over several databases adds", c.name),
                "Rename that column, or read the key's own database only.",
            ));
        }
    }
    Ok(())
}

/// The endpoint from `--endpoint`, else from `scheme`, `domain` and `port`; plain http to
/// another machine needs `--allow-insecure-http` or `"allow_insecure_http": true`.
fn resolve_endpoint(
    file: &ConfigFile,
    o: &Overrides,
    warnings: &mut Vec<String>,
) -> Result<String, ConfigError> {
    let allowed = o.allow_insecure_http || file.allow_insecure_http == Some(true);
    let (endpoint, field, how_to_allow) = match &o.endpoint {
        Some(raw) => (
            parse_endpoint(raw).map_err(|p| ConfigError::new("--endpoint", p.problem, p.fix))?,
            "--endpoint",
            "pass --allow-insecure-http",
        ),
        None => {
            let scheme = file.scheme.as_deref().unwrap_or("https");
            if scheme != "http" && scheme != "https" {
                return Err(ConfigError::new(
                    "scheme",
                    format!("unknown scheme '{scheme}'"),
                    "Use \"https\" (or \"http\" for a local fauna-dev).",
                ));
            }
            let domain = file.domain.as_deref().unwrap_or("db.fauna.com");
            let host = match domain.parse::<std::net::Ipv6Addr>() {
                Ok(_) => format!("[{domain}]"),
                Err(_) => domain.to_string(),
            };
            let not_a_host = || {
                ConfigError::new(
                    "domain",
                    format!("'{domain}' is not a host name"),
                    "Give only the host, e.g. \"db.fauna.com\" or \"127.0.0.1\"; the port goes in \"port\".",
                )
            };
            if domain.is_empty()
                || (!host.starts_with('[')
                    && domain.contains(|c: char| c.is_whitespace() || ":/@?#[]\\".contains(c)))
            {
                return Err(not_a_host());
            }
            let port = file.port.unwrap_or(443);
            if port == 0 {
                return Err(ConfigError::new(
                    "port",
                    "port 0 is outside 1..=65535",
                    "Use the endpoint's port, e.g. 443.",
                ));
            }
            let endpoint =
                parse_endpoint(&format!("{scheme}://{host}:{port}")).map_err(|_| not_a_host())?;
            (
                endpoint,
                "scheme",
                "set \"allow_insecure_http\": true (or pass --allow-insecure-http)",
            )
        }
    };
    if endpoint.insecure_remote {
        if !allowed {
            let p = endpoint.insecure_problem(how_to_allow);
            return Err(ConfigError::new(field, p.problem, p.fix));
        }
        warnings.push(format!(
            "plain http to {} sends the secret unencrypted (allowed by allow_insecure_http)",
            endpoint.host
        ));
    }
    Ok(endpoint.url)
}

fn resolve_collection(
    field: &str,
    c: CollectionFile,
    defaults: &CollectionSettings,
    o: &Overrides,
) -> Result<CollectionSettings, ConfigError> {
    let page_size_fixed =
        o.fixed_page_size || c.page_size_fixed.unwrap_or(defaults.page_size_fixed);
    let page_size = match (o.page_size, c.page_size) {
        (Some(p), _) => check_page_size(p, "--page-size")?,
        (None, Some(p)) => check_page_size(p, &format!("{field}.page_size"))?,
        (None, None) => defaults.page_size,
    };
    check_deletions(&c.deletions, &format!("{field}.deletions"))?;
    // `--contract` is the run's, for every collection.
    let contract = match (&o.contract, &c.contract) {
        (None, Some(c)) => Some(parse_contract(c, &format!("{field}.contract"))?),
        _ => None,
    };
    let (deletion_column, gap) = match &c.deletions {
        Some(_) => (deletion_column(&c.deletions), history_gap(&c.deletions)),
        None => (defaults.deletion_column.clone(), defaults.history_gap),
    };
    let mut names: HashSet<String> = HashSet::new();
    let mut columns = Vec::new();
    for (i, col) in c
        .additional_columns
        .unwrap_or_default()
        .into_iter()
        .enumerate()
    {
        columns.push(check_column(
            &format!("{field}.additional_columns[{i}]"),
            col,
            &mut names,
        )?);
    }
    if let Some(d) = &deletion_column {
        if RESERVED.contains(&d.as_str()) || names.contains(d) || d == DETECTED_COLUMN {
            return Err(ConfigError::new(
                format!("{field}.deletions.column"),
                format!("the deletion column '{d}' clashes with another column"),
                format!("Pick a name that is not ref, ts, data, {DETECTED_COLUMN} or an additional column."),
            ));
        }
        if names.contains(DETECTED_COLUMN) {
            return Err(ConfigError::new(
                format!("{field}.additional_columns"),
                format!("the column name '{DETECTED_COLUMN}' is taken by deletion tracking"),
                "Rename that additional column.",
            ));
        }
    }
    Ok(CollectionSettings {
        name: c.name.unwrap_or_default(),
        index: c.index.filter(|i| !i.is_empty()),
        data_column: c.data_column.unwrap_or(defaults.data_column),
        columns,
        page_size,
        page_size_fixed,
        deletion_column,
        history_gap: gap,
        typed: false,
        contract,
    })
}

/// source-fauna 0.1.x's `collection` without a name: its settings (page size, deletions, data
/// column, additional columns) apply to every collection, each a stream, and records carry the
/// document's `ttl` as 0.1.x's did (an optional string column, unless the form lists its own
/// additional columns).
fn source_fauna_defaults(
    c: CollectionFile,
    defaults: &CollectionSettings,
    o: &Overrides,
) -> Result<CollectionSettings, ConfigError> {
    if c.index.is_some() {
        return Err(ConfigError::new(
            "collection.index",
            "an index for a collection without a name",
            "Name the collection (\"name\") or leave \"index\" out: each collection's [ts, ref] index is found by itself.",
        ));
    }
    let own_columns = c.additional_columns.is_some();
    let mut settings = resolve_collection("collection", c, defaults, o)?;
    if !own_columns {
        if settings.deletion_column.as_deref() == Some("ttl") {
            return Err(ConfigError::new(
                "collection.deletions.column",
                "the deletion column 'ttl' clashes with the ttl column of this form",
                "Pick another name for the deletion column.",
            ));
        }
        settings.columns.push(ColumnSpec {
            name: "ttl".into(),
            path: vec!["ttl".into()],
            column_type: ColumnType::String,
            format: Some("date-time".into()),
            airbyte_type: None,
            required: false,
        });
    }
    Ok(settings)
}

fn check_column(
    field: &str,
    c: ColumnFile,
    names: &mut HashSet<String>,
) -> Result<ColumnSpec, ConfigError> {
    if c.name.is_empty() || RESERVED.contains(&c.name.as_str()) {
        return Err(ConfigError::new(
            format!("{field}.name"),
            format!("'{}' is reserved or empty", c.name),
            "Additional columns cannot be named ref, ts or data.",
        ));
    }
    if !names.insert(c.name.clone()) {
        return Err(ConfigError::new(
            format!("{field}.name"),
            format!("column '{}' is declared twice", c.name),
            "Give each additional column a distinct name.",
        ));
    }
    if c.path.is_empty() {
        return Err(ConfigError::new(
            format!("{field}.path"),
            "empty path",
            "Give a path from the top of the document, e.g. [\"data\", \"customer\", \"zip\"].",
        ));
    }
    Ok(ColumnSpec {
        name: c.name,
        path: c.path,
        column_type: c.column_type,
        format: c.format,
        airbyte_type: c.airbyte_type,
        required: c.required.unwrap_or(true),
    })
}
