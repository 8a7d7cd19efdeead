//! Tests of the observed schema and the column plan.
