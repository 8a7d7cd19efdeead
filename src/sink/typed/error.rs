//! Errors of typed-column writing.

/// What went wrong, for callers that branch on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TypedErrorKind {
    /// A value has no column in the plan: the plan was not grown from a schema that observed
    /// the batch (a caller's mistake, never the data's).
    NoColumn,
    /// Arrow refused the arrays.
    Arrow,
    /// The Parquet encoder or the output failed.
    Parquet,
}

/// A typed-column writing error.
#[derive(Debug, thiserror::Error)]
pub enum TypedError {
    /// A value's column is not in the plan.
    #[error("document {id}: no {kind} column for path {path} in the column plan (grow the plan from a schema that observed this document)")]
    NoColumn {
        /// The document id.
        id: String,
        /// The path, as JSON.
        path: String,
        /// The column kind's tag.
        kind: &'static str,
    },
    /// Building Arrow arrays failed.
    #[error("cannot build typed Arrow arrays: {0}")]
    Arrow(#[from] arrow_schema::ArrowError),
    /// Writing Parquet failed.
    #[error("cannot write typed Parquet: {0}")]
    Parquet(#[from] parquet::errors::ParquetError),
}

impl TypedError {
    /// The error's kind.
    pub fn kind(&self) -> TypedErrorKind {
        match self {
            TypedError::NoColumn { .. } => TypedErrorKind::NoColumn,
            TypedError::Arrow(_) => TypedErrorKind::Arrow,
            TypedError::Parquet(_) => TypedErrorKind::Parquet,
        }
    }
}
