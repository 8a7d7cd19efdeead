//! Sink throughput benchmark (placeholder while the sink module is written).
fn main() {}
