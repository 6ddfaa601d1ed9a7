//! Integration tests of allclear-secrets (one binary: see ARCHITECTURE.md).

mod accuracy;
mod fixtures;
mod gitleaks;
mod props;
mod support;
