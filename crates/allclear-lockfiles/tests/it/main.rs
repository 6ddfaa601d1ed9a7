//! Integration tests: one binary, one module per concern.

mod bad_input;
mod conformance;
mod fixtures;
mod props;
