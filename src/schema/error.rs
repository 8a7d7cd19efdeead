//! Errors of the observed schema and the column plan.

/// What went wrong, for callers that branch on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SchemaErrorKind {
    /// A stored schema or plan could not be read (bad JSON, unknown version).
    Stored,
    /// Plan options are invalid (separator characters, depth).
    Options,
    /// A plan was asked to grow with options other than its own.
    OptionsChanged,
    /// Contract `freeze` met a value the plan has no column for.
    Frozen,
}

/// An observed-schema or column-plan error.
#[derive(Debug, thiserror::Error)]
pub enum SchemaError {
    /// A stored schema or plan is not readable.
    #[error("stored {what} is not readable: {detail}")]
    Stored {
        /// `observed schema` or `column plan`.
        what: &'static str,
        /// The parser's message.
        detail: String,
    },
    /// The plan options are invalid.
    #[error("invalid typed-column options: {0}")]
    Options(String),
    /// The options differ from the plan's (a plan's names depend on them, so they are fixed).
    #[error("typed-column options changed from {was} to {now}: the column plan keeps the options it was made with")]
    OptionsChanged {
        /// The plan's options.
        was: String,
        /// The requested options.
        now: String,
    },
    /// Contract `freeze`: a value needs a column the plan does not have.
    #[error("schema contract freeze: document {id} has a {kind} value at {path}, which has no column (set the contract to evolve, or fix the document)")]
    Frozen {
        /// The document id.
        id: String,
        /// The path, as JSON.
        path: String,
        /// The column kind's tag.
        kind: &'static str,
    },
}

impl SchemaError {
    /// The error's kind.
    pub fn kind(&self) -> SchemaErrorKind {
        match self {
            SchemaError::Stored { .. } => SchemaErrorKind::Stored,
            SchemaError::Options(_) => SchemaErrorKind::Options,
            SchemaError::OptionsChanged { .. } => SchemaErrorKind::OptionsChanged,
            SchemaError::Frozen { .. } => SchemaErrorKind::Frozen,
        }
    }
}
