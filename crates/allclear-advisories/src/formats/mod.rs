//! Record parsers, one per source format. Each turns the text of one record file into an
//! [`Advisory`]; none touches the file system, so each can be fuzzed on its own.

use crate::model::Advisory;

pub mod friendsofphp;
pub mod osv;
pub mod rubysec;
pub mod rustsec;

/// What a record parser produces.
#[derive(Debug, Clone, PartialEq)]
pub struct Parsed {
    /// The advisory, with only the affected entries of ecosystems allclear knows.
    pub advisory: Advisory,
    /// Ecosystems of affected entries that were dropped (`Maven`, `NuGet`, …).
    pub unsupported: Vec<String>,
}

/// Collapses runs of whitespace (titles are sometimes wrapped over lines).
pub(crate) fn clean(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

pub(crate) fn non_empty(s: Option<String>) -> Option<String> {
    s.filter(|s| !s.trim().is_empty())
}
