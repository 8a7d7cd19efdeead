//! End-to-end tests of the sink module (filled in below).
