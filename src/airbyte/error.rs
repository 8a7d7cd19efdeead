//! Errors of the Airbyte commands, each with its [`ErrorKind`] (hence its `failure_type`).

use thiserror::Error;

use crate::config::ConfigError;
use crate::error::ErrorKind;
use crate::fauna::FaunaError;

/// Why `check`, `discover` or `read` cannot go on.
#[derive(Debug, Error)]
pub enum AirbyteError {
    /// The config file is invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// An input file (`--catalog`, `--state`) is unreadable or invalid.
    #[error("invalid {flag} file {path}: {problem}. {fix}")]
    Input {
        /// `--catalog` or `--state`.
        flag: &'static str,
        /// The file as given.
        path: String,
        /// What is wrong.
        problem: String,
        /// What to do.
        fix: &'static str,
    },
    /// What Fauna holds does not fit the config (a missing collection, an unfit index).
    #[error("{0}")]
    Mismatch(String),
    /// Fauna refused or failed a query.
    #[error("{}", fauna_message(.context, .source))]
    Fauna {
        /// What was being done, e.g. "listing the collections".
        context: String,
        /// The failure.
        source: FaunaError,
    },
    /// A command that is not available yet.
    #[error("{0}")]
    Unsupported(&'static str),
    /// A stream's read failed.
    #[error(transparent)]
    Read(#[from] crate::sync::ExportError),
}

/// A user-facing sentence for a Fauna failure: the secret's rejection says so plainly.
fn fauna_message(context: &str, e: &FaunaError) -> String {
    match e.status() {
        Some(401) => format!(
            "Fauna rejected the secret (HTTP 401 Unauthorized) while {context}. Use a valid key for this endpoint's database."
        ),
        Some(403) => format!(
            "The key lacks a privilege needed for {context} ({e}). Grant it read access or use another key."
        ),
        _ => format!("Failed while {context}: {e}"),
    }
}

impl AirbyteError {
    /// The kind of failure.
    pub fn kind(&self) -> ErrorKind {
        match self {
            AirbyteError::Config(_) | AirbyteError::Input { .. } | AirbyteError::Mismatch(_) => {
                ErrorKind::Config
            }
            AirbyteError::Fauna { source, .. } => source.kind(),
            AirbyteError::Unsupported(_) => ErrorKind::Data,
            AirbyteError::Read(e) => e.kind(),
        }
    }

    /// Whether the failure concerns one stream only (its collection, index, documents or
    /// input state), so the read reports it and goes on with the next stream
    /// ([`crate::sync::ExportError::stream_scoped`]); any other stops the read.
    pub fn stream_scoped(&self) -> bool {
        match self {
            AirbyteError::Read(e) => e.stream_scoped(),
            AirbyteError::Input { flag, .. } => *flag == "--state",
            _ => false,
        }
    }

    /// Wraps a Fauna failure with what was being done.
    pub fn fauna(context: impl Into<String>) -> impl FnOnce(FaunaError) -> AirbyteError {
        let context = context.into();
        move |source| AirbyteError::Fauna { context, source }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fauna_failures_name_the_cause_and_their_kind() {
        let status = |s| FaunaError::Status {
            status: s,
            details: vec![],
        };
        let e = AirbyteError::fauna("connecting")(status(401));
        assert_eq!(
            e.to_string(),
            "Fauna rejected the secret (HTTP 401 Unauthorized) while connecting. Use a valid key for this endpoint's database."
        );
        assert_eq!(e.kind(), ErrorKind::Auth);
        let e = AirbyteError::fauna("listing the collections")(status(503));
        assert_eq!(
            e.to_string(),
            "Failed while listing the collections: Fauna answered HTTP 503: no error details"
        );
        assert_eq!(e.kind().airbyte_failure_type(), "transient_error");
        assert_eq!(
            AirbyteError::Mismatch("x".into())
                .kind()
                .airbyte_failure_type(),
            "config_error"
        );
    }
}
