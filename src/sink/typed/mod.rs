//! Typed Parquet columns from a [`ColumnPlan`](crate::schema::ColumnPlan) (`columns: typed`,
//! `spec/export-format.md`, "Typed columns").
//!
//! [`ChunkCells`] gathers each document's values by the path and kind they need (a flattened
//! object's fields at their own paths) until the plan is known, when [`SealedCells::arrays`]
//! puts each into the plan's column (a value whose type is not the path's first column's into
//! its variant); [`typed_arrays`] does both for a batch, [`typed_arrow_schema`] gives the Arrow
//! schema with each field's original path in its metadata, and [`write_typed_parquet`]
//! writes one Parquet file of a batch.

mod arrays;
mod cells;
mod error;
mod outcome;
mod schema;
mod spill;
mod write;

#[cfg(test)]
mod tests;

pub use arrays::{typed_arrays, Unplanned};
pub(crate) use cells::{ChunkCells, SealedCells};
pub use error::{TypedError, TypedErrorKind};
pub use outcome::{FileSchema, TypedOutcome};
pub use schema::{
    kind_data_type, typed_arrow_schema, KIND_KEY, PATH_KEY, PLAN_KEY, VARIANT_OF_KEY,
};
pub(crate) use spill::Spill;
pub use write::{write_typed_parquet, TypedDoc};
