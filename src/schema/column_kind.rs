//! What a typed column holds.

use serde::{Deserialize, Serialize};

/// The element type of a typed list column (arrays whose elements all have this type).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ListOf {
    /// INT64 elements.
    Int,
    /// FLOAT64 elements.
    Double,
    /// UTF8 elements.
    String,
    /// BOOLEAN elements.
    Boolean,
    /// TIMESTAMP(ns, UTC) elements.
    Time,
    /// DATE elements.
    Date,
    /// BINARY elements.
    Bytes,
}

impl ListOf {
    /// Every element type, in order.
    pub const ALL: [ListOf; 7] = [
        ListOf::Int,
        ListOf::Double,
        ListOf::String,
        ListOf::Boolean,
        ListOf::Time,
        ListOf::Date,
        ListOf::Bytes,
    ];

    /// The element column kind.
    pub fn element(self) -> ColumnKind {
        match self {
            ListOf::Int => ColumnKind::Int,
            ListOf::Double => ColumnKind::Double,
            ListOf::String => ColumnKind::String,
            ListOf::Boolean => ColumnKind::Boolean,
            ListOf::Time => ColumnKind::Time,
            ListOf::Date => ColumnKind::Date,
            ListOf::Bytes => ColumnKind::Bytes,
        }
    }
}

/// A typed column's content. Each kind has a tag, used in variant names (`<col>__v_<tag>`)
/// and in the Parquet field metadata.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "of")]
pub enum ColumnKind {
    /// Integers: INT64.
    Int,
    /// Doubles: FLOAT64 (NaN and infinities included).
    Double,
    /// Strings: UTF8.
    String,
    /// Booleans: BOOLEAN.
    Boolean,
    /// `@ts` within 1677-09-21..2262-04-11: TIMESTAMP(NANOS, UTC).
    Time,
    /// `@ts` outside that range: UTF8, the export form's ISO-8601 text.
    TimeText,
    /// `@date` within `Date32`: DATE.
    Date,
    /// `@date` outside it: UTF8, ISO-8601.
    DateText,
    /// `@bytes`: BINARY.
    Bytes,
    /// `@ref`: a struct `{id, collection, type}` of UTF8 (the export form's fields).
    Ref,
    /// Arrays whose non-null elements all have one type: LIST of it.
    List(ListOf),
    /// Any other array (mixed, nested, of objects or refs): UTF8 export JSON.
    Array,
    /// An object below the flatten depth: UTF8 export JSON.
    Object,
    /// `@set`: UTF8, the compact wire JSON (as in the export form).
    Set,
    /// `@query`: UTF8, the compact wire JSON.
    Query,
}

impl ColumnKind {
    /// The tag: `int`, `double`, `string`, `boolean`, `time`, `time_text`, `date`,
    /// `date_text`, `bytes`, `ref`, `list`, `array`, `object`, `set`, `query`.
    pub fn tag(self) -> &'static str {
        match self {
            ColumnKind::Int => "int",
            ColumnKind::Double => "double",
            ColumnKind::String => "string",
            ColumnKind::Boolean => "boolean",
            ColumnKind::Time => "time",
            ColumnKind::TimeText => "time_text",
            ColumnKind::Date => "date",
            ColumnKind::DateText => "date_text",
            ColumnKind::Bytes => "bytes",
            ColumnKind::Ref => "ref",
            ColumnKind::List(_) => "list",
            ColumnKind::Array => "array",
            ColumnKind::Object => "object",
            ColumnKind::Set => "set",
            ColumnKind::Query => "query",
        }
    }

    /// Whether two kinds share a column slot at a path (one column per tag: a `list` column
    /// takes only its element type; other arrays go to `array`).
    pub fn same_slot(self, other: ColumnKind) -> bool {
        self.tag() == other.tag()
    }
}
