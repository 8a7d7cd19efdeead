//! The observed schema of a stream and the typed-column plan built from it (issue 24; not
//! wired into the run yet, `spec/export-format.md`, "Typed columns (not wired yet)").
//!
//! - [`ObservedSchema`]: every field path of every document's `data` with its exact wire types
//!   ([`WireType`]), their counts and where each first appeared ([`FirstSeen`]). Built by
//!   [`ObservedSchema::observe`]; [`ObservedSchema::merge`] is commutative and associative, so
//!   the same records give the same schema however they are partitioned or ordered. Its serde
//!   form is versioned, for the checkpoint.
//! - [`ColumnPlan`]: schema → columns (names valid in DuckDB, BigQuery, Snowflake and
//!   Postgres, [`ColumnKind`]s, variants `<col>__v_<kind>`). [`ColumnPlan::grow`] only adds
//!   columns: a column once planned keeps its name and kind.

mod bigquery;
mod column_kind;
mod contract;
mod error;
mod first_seen;
mod json_schema;
mod naming;
mod observed;
mod observer;
mod path;
mod placement;
mod plan;
mod wire_type;

#[cfg(test)]
mod tests;

pub use bigquery::bigquery_schema;
pub use column_kind::{ColumnKind, ListOf};
pub use contract::{decide, Contract, ContractDecision};
pub use error::{SchemaError, SchemaErrorKind};
pub use first_seen::FirstSeen;
pub use json_schema::record_json_schema;
pub use naming::{column_base_name, NameRules, MAX_NAME_BYTES, RESERVED_NAMES, RESERVED_PREFIXES};
pub use observed::{ObservedSchema, PathStats, TypeStats, SCHEMA_FORMAT_VERSION};
pub use observer::SchemaObserver;
pub use path::{Path, Seg};
pub use placement::{first_unplanned, placement, scalar_kind, Placement};
pub use plan::{
    ColumnPlan, PlanOptions, PlannedColumn, DEFAULT_FLATTEN_DEPTH, DEFAULT_SEPARATOR,
    MAX_FLATTEN_DEPTH,
};
pub use wire_type::{date_fits, ref_target, time_fits, WireType};
