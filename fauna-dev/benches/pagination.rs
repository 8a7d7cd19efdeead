//! Pagination throughput benchmark (written below).
fn main() {}
