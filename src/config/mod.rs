//! Configuration: the JSON file (compatible with Airbyte's source-fauna), defaults, command-line
//! overrides and checks that run before any network call. Schema: `spec/config.schema.json`.

mod error;
mod file;
mod settings;

pub use error::ConfigError;
pub use file::ConfigFile;
pub use settings::{
    parse, CollectionSettings, ColumnSpec, Compression, OutputFormat, OutputSettings, Overrides,
    Settings, DEFAULT_BATCH_ROWS, DEFAULT_PAGE_SIZE,
};

#[cfg(test)]
mod tests;
