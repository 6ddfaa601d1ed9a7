//! Integration tests for allclear-logs (one binary, modules per area).

mod conformance;
mod props;
mod scan;
