//! Typed Parquet columns from a [`ColumnPlan`](crate::schema::ColumnPlan) (issue 24; not wired
//! into the run yet, `spec/export-format.md`, "Typed columns (not wired yet)").
//!
//! [`route`] puts each document's values into the plan's columns (a flattened object's
//! fields into their own columns, a value whose type is not the column's into its variant),
//! [`typed_arrays`] turns a batch into Arrow arrays, [`typed_arrow_schema`] gives the Arrow
//! schema with each field's original path in its metadata, and [`write_typed_parquet`]
//! writes one Parquet file of a batch.

mod arrays;
mod error;
mod outcome;
mod route;
mod schema;
mod write;

#[cfg(test)]
mod tests;

pub use arrays::typed_arrays;
pub use error::{TypedError, TypedErrorKind};
pub use outcome::{FileSchema, TypedOutcome};
pub use route::{route, Unplanned};
pub use schema::{
    kind_data_type, typed_arrow_schema, KIND_KEY, PATH_KEY, PLAN_KEY, VARIANT_OF_KEY,
};
pub use write::{write_typed_parquet, TypedDoc};
