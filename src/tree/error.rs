//! Errors of database trees.

use crate::fauna::FaunaError;

/// Why a database tree could not be named or walked.
#[derive(Debug, thiserror::Error)]
pub enum TreeError {
    /// A database path that Fauna could not have (config or state).
    #[error("database path '{path}' is not valid: {reason}")]
    BadPath {
        /// The path as given.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// A named database that the key cannot reach (it does not exist, or the key may not
    /// scope a secret to it).
    #[error("database '{path}' cannot be read with the key (Fauna: {source}); check the name (names are case-sensitive) and that the key is an admin key of a database above it")]
    Unreachable {
        /// The database.
        path: String,
        /// Fauna's answer.
        source: FaunaError,
    },
    /// Listing databases failed for a reason that is not the key's privileges.
    #[error("listing the child databases of '{path}': {source}")]
    Listing {
        /// The database.
        path: String,
        /// Fauna's answer.
        source: FaunaError,
    },
}
