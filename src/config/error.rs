//! Configuration errors: which field, what is wrong, how to fix it.

use thiserror::Error;

/// An invalid configuration, found before any network call.
#[derive(Debug, Error, PartialEq, Eq)]
#[error("invalid configuration: `{field}`: {problem}. {fix}")]
pub struct ConfigError {
    /// The field, as a path (`collections[1].page_size`).
    pub field: String,
    /// What is wrong.
    pub problem: String,
    /// What to do.
    pub fix: String,
}

impl ConfigError {
    /// Builds an error.
    pub fn new(
        field: impl Into<String>,
        problem: impl Into<String>,
        fix: impl Into<String>,
    ) -> Self {
        ConfigError {
            field: field.into(),
            problem: problem.into(),
            fix: fix.into(),
        }
    }
}
