//! Migrations: SQL files embedded in the binary, applied by sqlx's migrator on open.

use std::borrow::Cow;

use sqlx::SqlSafeStr;
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::sqlite::SqlitePool;

use crate::{Result, StoreError};

/// The newest schema this binary knows.
pub const SCHEMA_VERSION: i64 = 1;

fn migrations() -> Vec<Migration> {
    vec![Migration::new(
        1,
        Cow::Borrowed("init"),
        MigrationType::Simple,
        include_str!("../migrations/sqlite/0001_init.sql").into_sql_str(),
        false,
    )]
}

/// Refuses a database written by a newer binary, then applies what is missing.
///
/// sqlx's migrator would also refuse (an applied migration missing from the binary), but
/// with a message about a missing migration; the check first says what happened and what
/// to do.
pub async fn run(pool: &SqlitePool) -> Result<()> {
    let has_table: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations')",
    )
    .fetch_one(pool)
    .await?;
    if has_table {
        let found: Option<i64> = sqlx::query_scalar("SELECT MAX(version) FROM _sqlx_migrations")
            .fetch_one(pool)
            .await?;
        if let Some(found) = found.filter(|&found| found > SCHEMA_VERSION) {
            return Err(StoreError::NewerThanBinary {
                found,
                supported: SCHEMA_VERSION,
            });
        }
    }
    Migrator::with_migrations(migrations())
        .run(pool)
        .await
        .map_err(StoreError::Migrate)
}
