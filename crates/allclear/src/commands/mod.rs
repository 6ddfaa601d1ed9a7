//! One module per command.

pub mod db;
pub mod init;
pub mod scan;
