//! Tests of typed-column writing.
