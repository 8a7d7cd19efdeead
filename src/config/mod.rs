//! Configuration: the JSON file (compatible with Airbyte's source-fauna), defaults, command-line
//! overrides and checks that run before any network call. Schema: `spec/config.schema.json`.

mod columns;
mod databases;
mod endpoint;
mod error;
mod file;
mod keys;
mod settings;

pub use columns::{ColumnType, DETECTED_COLUMN};
pub use databases::{DatabaseOverrides, DatabasesFile, SelectFile};
pub use endpoint::{parse_endpoint, Endpoint, EndpointProblem};
pub use error::ConfigError;
pub use file::ConfigFile;
pub use keys::{UnknownKey, KNOWN_KEYS};
pub use settings::{
    parse, CollectionSettings, ColumnSpec, ColumnsMode, Compression, FlattenAsked, HistoryGap,
    OutputFormat, OutputSettings, Overrides, Settings, DEFAULT_BATCH_ROWS, DEFAULT_PAGE_SIZE,
    MAX_RETRIES_LIMIT,
};

#[cfg(test)]
mod tests;
