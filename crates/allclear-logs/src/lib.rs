//! Log analysis for allclear (placeholder docs, rewritten below).
pub mod ini;
pub mod pyre;
pub mod config;
pub mod date;
pub mod filter;
pub mod scan;
