//! Function forms, grouped by concern; each file adds methods to the evaluator.

mod count;
mod db_write;
mod read;
mod refs;
mod schema_write;
mod time;
pub mod write;
