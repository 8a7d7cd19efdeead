//! The exact wire type of a value.

use serde::{Deserialize, Serialize};

use crate::fauna::{Date, Ref, RefKind, Timestamp, Value};

/// A value's type as the v4 wire tags it (`null` is counted apart, not a type).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WireType {
    /// An integer (no `.` or `E` on the wire).
    Int,
    /// A double.
    Double,
    /// A string.
    String,
    /// A boolean.
    Boolean,
    /// `@ts`.
    Time,
    /// `@date`.
    Date,
    /// `@bytes`.
    Bytes,
    /// `@ref`.
    Ref,
    /// An object (`@obj`-escaped or not).
    Object,
    /// An array.
    Array,
    /// `@set`.
    Set,
    /// `@query`.
    Query,
}

impl WireType {
    /// The type of `v`; `None` for `null`.
    pub fn of(v: &Value) -> Option<WireType> {
        Some(match v {
            Value::Null => return None,
            Value::Bool(_) => WireType::Boolean,
            Value::Int(_) => WireType::Int,
            Value::Double(_) => WireType::Double,
            Value::String(_) => WireType::String,
            Value::Array(_) => WireType::Array,
            Value::Object(_) => WireType::Object,
            Value::Ref(_) => WireType::Ref,
            Value::Timestamp(_) => WireType::Time,
            Value::Date(_) => WireType::Date,
            Value::Bytes(_) => WireType::Bytes,
            Value::Query(_) => WireType::Query,
            Value::Set(_) => WireType::Set,
        })
    }

    /// The lowercase name used in the schema and in variant column names.
    pub fn name(self) -> &'static str {
        match self {
            WireType::Int => "int",
            WireType::Double => "double",
            WireType::String => "string",
            WireType::Boolean => "boolean",
            WireType::Time => "time",
            WireType::Date => "date",
            WireType::Bytes => "bytes",
            WireType::Ref => "ref",
            WireType::Object => "object",
            WireType::Array => "array",
            WireType::Set => "set",
            WireType::Query => "query",
        }
    }
}

/// A ref's target as the schema counts it: `document:<collection>` for a document of a user
/// collection, else the export format's ref type (`collection`, `index`, …, `unknown`).
pub fn ref_target(r: &Ref) -> String {
    match r.kind() {
        RefKind::Document(c) => format!("document:{c}"),
        other => other.export_type().to_string(),
    }
}

/// Nanoseconds since the epoch if `t` fits a typed time column: an `i64` of nanoseconds
/// (1677-09-21 to 2262-04-11) other than `i64::MIN`, `i64::MIN + 1` and `i64::MAX`, which
/// DuckDB reads as NULL, `-infinity` and `infinity` (and pandas as `NaT`).
pub fn time_fits(t: &Timestamp) -> Option<i64> {
    // In i128: before 1970 the whole seconds alone can overflow while the sum fits.
    let ns = i128::from(t.secs()) * 1_000_000_000 + i128::from(t.subsec_nanos());
    i64::try_from(ns)
        .ok()
        .filter(|ns| (i64::MIN + 2..i64::MAX).contains(ns))
}

/// Days since the epoch if `d` fits a typed date column: an `i32` (Arrow `Date32`, Parquet
/// `DATE`) other than `i32::MIN`, `i32::MIN + 1` and `i32::MAX` (DuckDB's NULL and infinities).
pub fn date_fits(d: &Date) -> Option<i32> {
    i32::try_from(d.days_since_epoch())
        .ok()
        .filter(|days| (i32::MIN + 2..i32::MAX).contains(days))
}
