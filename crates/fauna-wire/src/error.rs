//! Errors of the wire codec.

use thiserror::Error;

/// A `@ts` or `@date` string that is malformed or out of range.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum TimeError {
    /// The text does not follow the ISO grammar the server accepts.
    #[error("'{0}' is not an ISO-8601 date-time/date the server accepts")]
    Invalid(String),
    /// The value lies outside Java's `Instant`/`LocalDate` range.
    #[error("date or time outside the supported range (years -999999999..999999999)")]
    OutOfRange,
}

/// Why wire JSON could not be decoded; `offset` is the byte position in the input.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{kind} at byte {offset}")]
pub struct DecodeError {
    /// What is wrong.
    pub kind: DecodeErrorKind,
    /// Byte offset in the input where the problem was found.
    pub offset: usize,
}

/// The kinds of [`DecodeError`].
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DecodeErrorKind {
    /// Not JSON at all (unexpected character, unterminated string, trailing data…).
    #[error("invalid JSON: {0}")]
    Syntax(&'static str),
    /// A string is not valid UTF-8 or holds an unpaired surrogate escape.
    #[error("invalid string: {0}")]
    InvalidString(&'static str),
    /// An integer literal outside the signed 64-bit range Fauna uses.
    #[error("integer {0} is outside the 64-bit range Fauna supports")]
    IntegerOutOfRange(String),
    /// A number with a fraction or exponent too large for a double.
    #[error("number {0} is too large for a double")]
    DoubleOutOfRange(String),
    /// Nesting deeper than [`crate::MAX_DEPTH`].
    #[error("nesting deeper than {0} levels")]
    TooDeep(usize),
    /// An object key starting with `@` that is not a known tag.
    #[error("unknown tag '{0}'")]
    UnknownTag(String),
    /// A known tag whose content has the wrong shape, e.g. `{"@ts": 5}`.
    #[error("malformed {tag}: {reason}")]
    MalformedTag {
        /// The tag, e.g. `@ref`.
        tag: &'static str,
        /// What is wrong with it.
        reason: String,
    },
}
