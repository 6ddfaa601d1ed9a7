//! Integration tests of allclear-secrets (one binary: see ARCHITECTURE.md).

mod accuracy;
mod context;
mod fixtures;
mod gitleaks;
mod limits;
mod props;
mod support;
