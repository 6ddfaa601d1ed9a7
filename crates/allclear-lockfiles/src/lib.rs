//! Lockfile and manifest parsers that list every package with its file and line.
