//! Integration tests of allclear-secrets (one binary: see ARCHITECTURE.md).

mod accuracy;
mod gitleaks;
mod support;
