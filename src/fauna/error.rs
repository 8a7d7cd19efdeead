//! Errors of the Fauna client, typed by what a caller can do about them.

use thiserror::Error;

/// One entry of a Fauna `{"errors":[…]}` body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ErrorDetail {
    /// Fauna's error code, e.g. `invalid ref`, `permission denied`.
    pub code: String,
    /// Fauna's description.
    pub description: String,
    /// Path to the failing sub-expression, for query errors (`["paginate","documents"]`).
    pub position: Option<Vec<String>>,
}

/// Why a query did not produce a result.
#[derive(Debug, Error)]
pub enum FaunaError {
    /// The server answered with an error status and body.
    #[error("Fauna answered HTTP {status}: {}", describe(.details))]
    Status {
        /// HTTP status.
        status: u16,
        /// The errors in the body (empty if the body was not Fauna's envelope).
        details: Vec<ErrorDetail>,
    },
    /// The request did not complete for a reason that may pass (connection refused or reset,
    /// timeout, a temporary DNS failure).
    #[error("could not reach Fauna at {endpoint}: {message}")]
    Transport {
        /// The endpoint (no secret in it).
        endpoint: String,
        /// What happened.
        message: String,
    },
    /// The request cannot succeed until the endpoint is changed (a host name that does not
    /// resolve, https to a plain-http port, an invalid certificate).
    #[error("cannot connect to Fauna at {endpoint}: {problem}. {fix}")]
    Connect {
        /// The endpoint (no secret in it).
        endpoint: String,
        /// What is wrong.
        problem: String,
        /// What to do.
        fix: String,
    },
    /// A success response whose body was not a Fauna response.
    #[error("Fauna's response could not be read: {0}")]
    InvalidResponse(String),
}

fn describe(details: &[ErrorDetail]) -> String {
    if details.is_empty() {
        return "no error details".into();
    }
    details
        .iter()
        .map(|d| match &d.position {
            Some(p) if !p.is_empty() => {
                format!("{}: {} (at {})", d.code, d.description, p.join("."))
            }
            _ => format!("{}: {}", d.code, d.description),
        })
        .collect::<Vec<_>>()
        .join("; ")
}

impl FaunaError {
    /// Whether retrying the same read may succeed: 408, 409, 429, 500, 502, 503, 504 and
    /// transient transport failures. 400, 401, 403, 404 and `Connect` failures are final.
    pub fn is_retryable(&self) -> bool {
        match self {
            FaunaError::Status { status, .. } => {
                matches!(status, 408 | 409 | 429 | 500 | 502 | 503 | 504)
            }
            FaunaError::Transport { .. } => true,
            FaunaError::Connect { .. } | FaunaError::InvalidResponse(_) => false,
        }
    }

    /// Whether a smaller page may succeed where this failed: a query time out (503
    /// `time out`), 408, a client-side timeout, or 413 (`request too large`).
    pub fn is_too_large(&self) -> bool {
        match self {
            FaunaError::Status {
                status: 408 | 413, ..
            } => true,
            FaunaError::Status { status: 503, .. } => self.code() == Some("time out"),
            FaunaError::Transport { message, .. } => message == "timed out",
            _ => false,
        }
    }

    /// Whether Fauna said it is overloaded: 429, or 503 "too many pending requests".
    pub fn is_overload(&self) -> bool {
        match self {
            FaunaError::Status { status: 429, .. } => true,
            FaunaError::Status {
                status: 503,
                details,
            } => details.iter().any(|d| {
                d.description
                    .to_ascii_lowercase()
                    .contains("too many pending")
            }),
            _ => false,
        }
    }

    /// The HTTP status, if the server answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            FaunaError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The kind of failure (`crate::error::ErrorKind`): 401 is auth, 403 permission, retryable
    /// statuses and transient transport failures transient, 400/404 and permanent connection
    /// failures config (a wrong name, index or endpoint), a response that is not Fauna's
    /// protocol data.
    pub fn kind(&self) -> crate::error::ErrorKind {
        use crate::error::ErrorKind;
        match self {
            FaunaError::Status { status: 401, .. } => ErrorKind::Auth,
            FaunaError::Status { status: 403, .. } => ErrorKind::Permission,
            e if e.is_retryable() => ErrorKind::Transient,
            FaunaError::Status { .. } | FaunaError::Connect { .. } => ErrorKind::Config,
            FaunaError::Transport { .. } => ErrorKind::Transient,
            FaunaError::InvalidResponse(_) => ErrorKind::Data,
        }
    }

    /// The first error code, if the server sent one.
    pub fn code(&self) -> Option<&str> {
        match self {
            FaunaError::Status { details, .. } => details.first().map(|d| d.code.as_str()),
            _ => None,
        }
    }
}
