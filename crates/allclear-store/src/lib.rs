//! The storage of `allclear serve`: accounts, sessions, projects and roles, API tokens,
//! findings with their history, and a hash-chained audit log, behind one [`Store`] API.
//!
//! The store holds no business rules: it keeps and returns data. Times are Unix seconds the
//! caller passes in (the server's clock), so every rule that depends on time is tested
//! without sleeping. SQL is written as `&'static str` with bound parameters only (sqlx 0.9
//! refuses a query built from a runtime string without an explicit `AssertSqlSafe`).
//!
//! ```
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! let dir = tempfile::tempdir().unwrap();
//! let store = allclear_store::Store::open(dir.path()).await.unwrap();
//! let owner = store.create_user("ada", true, 1_700_000_000).await.unwrap();
//! let project = store.create_project("web", "Web shop", owner, 1_700_000_000).await.unwrap();
//! assert_eq!(store.role_of(owner, project).await.unwrap(), Some(allclear_store::Role::Owner));
//! # });
//! ```

mod audit;
mod findings;
mod migrate;

use std::path::Path;
use std::str::FromStr;

use sqlx::Row;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions};

pub use audit::{AuditEntry, AuditVerdict, NewAuditEntry};
pub use findings::{
    Coverage, FindingEvent, FindingRow, IncomingFinding, IngestSummary, ProjectOverview,
    severity_rank,
};
pub use migrate::SCHEMA_VERSION;

/// The database file inside the data directory.
pub const DATABASE_FILE: &str = "allclear.db";

/// What can go wrong in the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database was written by a newer allclear (it has migrations this binary lacks).
    #[error(
        "the database is at schema version {found}, newer than this allclear supports \
         ({supported}); run the allclear release that wrote it, or a newer one"
    )]
    NewerThanBinary { found: i64, supported: i64 },
    /// Applying the migrations failed.
    #[error("could not migrate the database")]
    Migrate(#[source] sqlx::migrate::MigrateError),
    /// A query failed.
    #[error("database error")]
    Database(#[from] sqlx::Error),
    /// The data directory could not be created.
    #[error("could not create the data directory")]
    DataDir(#[source] std::io::Error),
    /// A value stored in the database is not one this binary knows (edited by hand?).
    #[error("unexpected value in the database: {0}")]
    Corrupt(String),
    /// The name is already taken.
    #[error("{0} already exists")]
    Exists(String),
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// A user's role in one project. Ordered: each role can do what the ones below it can.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    ReadOnly,
    Member,
    Manager,
    Owner,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Owner, Role::Manager, Role::Member, Role::ReadOnly];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Manager => "manager",
            Role::Member => "member",
            Role::ReadOnly => "read-only",
        }
    }
}

impl FromStr for Role {
    type Err = StoreError;
    fn from_str(text: &str) -> Result<Self> {
        Role::ALL
            .into_iter()
            .find(|role| role.as_str() == text)
            .ok_or_else(|| StoreError::Corrupt(format!("role {text:?}")))
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a session is in the sign-in flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionStage {
    /// The password was right; the second factor is still to be entered.
    SecondFactor,
    /// Signed in, but no second factor is enrolled yet: only enrolment is allowed.
    Enrol,
    /// Fully signed in.
    Full,
}

impl SessionStage {
    fn as_str(self) -> &'static str {
        match self {
            SessionStage::SecondFactor => "second-factor",
            SessionStage::Enrol => "enrol",
            SessionStage::Full => "full",
        }
    }
    fn parse(text: &str) -> Result<Self> {
        match text {
            "second-factor" => Ok(SessionStage::SecondFactor),
            "enrol" => Ok(SessionStage::Enrol),
            "full" => Ok(SessionStage::Full),
            other => Err(StoreError::Corrupt(format!("session stage {other:?}"))),
        }
    }
}

#[derive(Debug, Clone)]
pub struct User {
    pub id: i64,
    pub username: String,
    pub password_hash: Option<String>,
    pub totp_secret: Option<String>,
    pub is_admin: bool,
    pub active: bool,
    pub failed_attempts: i64,
    pub locked_until: i64,
}

#[derive(Debug, Clone)]
pub struct Session {
    pub user_id: i64,
    pub stage: SessionStage,
    pub created_at: i64,
    pub last_seen: i64,
}

#[derive(Debug, Clone)]
pub struct Project {
    pub id: i64,
    pub slug: String,
    pub name: String,
}

#[derive(Debug, Clone)]
pub struct Member {
    pub username: String,
    pub role: Role,
}

/// An API token as looked up by its hash: only valid tokens of active creators are returned.
#[derive(Debug, Clone)]
pub struct ApiToken {
    pub id: i64,
    pub project_id: i64,
    pub name: String,
    pub role: Role,
}

#[derive(Debug, Clone)]
pub struct TokenListing {
    pub id: i64,
    pub name: String,
    pub role: Role,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
}

/// The handle on the database. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Store {
    pool: SqlitePool,
    /// SQLite has one writer; a transaction that reads before it writes fails with
    /// SQLITE_BUSY instead of waiting when another transaction wrote in between, so the
    /// multi-statement write transactions of this process take turns.
    write_gate: std::sync::Arc<tokio::sync::Mutex<()>>,
}

impl Store {
    /// Opens (creating it if needed) the database in `data_dir` and runs the migrations.
    pub async fn open(data_dir: &Path) -> Result<Store> {
        fs_err::create_dir_all(data_dir).map_err(StoreError::DataDir)?;
        let options = SqliteConnectOptions::new()
            .filename(data_dir.join(DATABASE_FILE))
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .foreign_keys(true)
            .busy_timeout(std::time::Duration::from_secs(10));
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options)
            .await?;
        migrate::run(&pool).await?;
        Ok(Store {
            pool,
            write_gate: Default::default(),
        })
    }

    /// Whether the database answers (for `/readyz`).
    pub async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }

    // ---- settings ----

    pub async fn setting(&self, key: &str) -> Result<Option<String>> {
        Ok(
            sqlx::query_scalar("SELECT value FROM settings WHERE key = ?")
                .bind(key)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    pub async fn set_setting(&self, key: &str, value: &str) -> Result<()> {
        sqlx::query(
            "INSERT INTO settings (key, value) VALUES (?, ?) \
             ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        )
        .bind(key)
        .bind(value)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    // ---- users ----

    /// Users that can sign in (a password set).
    pub async fn active_user_count(&self) -> Result<i64> {
        Ok(sqlx::query_scalar(
            "SELECT COUNT(*) FROM users WHERE password_hash IS NOT NULL AND active = 1",
        )
        .fetch_one(&self.pool)
        .await?)
    }

    pub async fn create_user(&self, username: &str, is_admin: bool, now: i64) -> Result<i64> {
        let result =
            sqlx::query("INSERT INTO users (username, is_admin, created_at) VALUES (?, ?, ?)")
                .bind(username)
                .bind(is_admin)
                .bind(now)
                .execute(&self.pool)
                .await;
        match result {
            Ok(done) => Ok(done.last_insert_rowid()),
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                Err(StoreError::Exists(format!("user {username:?}")))
            }
            Err(e) => Err(e.into()),
        }
    }

    pub async fn user_by_name(&self, username: &str) -> Result<Option<User>> {
        let row = sqlx::query(USER_SELECT_BY_NAME)
            .bind(username)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|row| user_from_row(&row)).transpose()
    }

    pub async fn user(&self, id: i64) -> Result<Option<User>> {
        let row = sqlx::query(USER_SELECT_BY_ID)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|row| user_from_row(&row)).transpose()
    }

    pub async fn users(&self) -> Result<Vec<User>> {
        let rows = sqlx::query(USER_SELECT_ALL).fetch_all(&self.pool).await?;
        rows.iter().map(user_from_row).collect()
    }

    pub async fn set_password(&self, user: i64, password_hash: &str) -> Result<()> {
        sqlx::query("UPDATE users SET password_hash = ? WHERE id = ?")
            .bind(password_hash)
            .bind(user)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Enrols the TOTP secret and replaces the recovery codes (given as hashes).
    pub async fn enrol_totp(
        &self,
        user: i64,
        secret: &str,
        accepted_step: i64,
        recovery_hashes: &[String],
    ) -> Result<()> {
        let _gate = self.write_gate.lock().await;
        let mut tx = self.pool.begin().await?;
        sqlx::query("UPDATE users SET totp_secret = ?, totp_last_step = ? WHERE id = ?")
            .bind(secret)
            .bind(accepted_step)
            .bind(user)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM recovery_codes WHERE user_id = ?")
            .bind(user)
            .execute(&mut *tx)
            .await?;
        for hash in recovery_hashes {
            sqlx::query("INSERT INTO recovery_codes (user_id, code_hash) VALUES (?, ?)")
                .bind(user)
                .bind(hash)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Records that the TOTP code of `step` was used. False when that step (or a later one)
    /// was already used: a replayed code.
    pub async fn accept_totp_step(&self, user: i64, step: i64) -> Result<bool> {
        let done =
            sqlx::query("UPDATE users SET totp_last_step = ? WHERE id = ? AND totp_last_step < ?")
                .bind(step)
                .bind(user)
                .bind(step)
                .execute(&self.pool)
                .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Uses a recovery code (by hash). False when it is unknown or already used.
    pub async fn use_recovery_code(&self, user: i64, code_hash: &str, now: i64) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE recovery_codes SET used_at = ? \
             WHERE user_id = ? AND code_hash = ? AND used_at IS NULL",
        )
        .bind(now)
        .bind(user)
        .bind(code_hash)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn unused_recovery_codes(&self, user: i64) -> Result<i64> {
        Ok(sqlx::query_scalar(
            "SELECT COUNT(*) FROM recovery_codes WHERE user_id = ? AND used_at IS NULL",
        )
        .bind(user)
        .fetch_one(&self.pool)
        .await?)
    }

    /// Counts a failed password or second-factor entry; after `max_failures` in a row the
    /// account is locked until `now + lock_seconds`. Returns whether it is now locked.
    pub async fn record_failure(
        &self,
        user: i64,
        now: i64,
        max_failures: i64,
        lock_seconds: i64,
    ) -> Result<bool> {
        let locked_until: i64 = sqlx::query_scalar(
            "UPDATE users SET \
               failed_attempts = failed_attempts + 1, \
               locked_until = CASE WHEN failed_attempts + 1 >= ?1 THEN ?2 + ?3 ELSE locked_until END \
             WHERE id = ?4 RETURNING locked_until",
        )
        .bind(max_failures)
        .bind(now)
        .bind(lock_seconds)
        .bind(user)
        .fetch_one(&self.pool)
        .await?;
        Ok(locked_until > now)
    }

    pub async fn clear_failures(&self, user: i64) -> Result<()> {
        sqlx::query("UPDATE users SET failed_attempts = 0, locked_until = 0 WHERE id = ?")
            .bind(user)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Deactivates or reactivates a user. Deactivation ends the user's sessions and
    /// revokes the API tokens they created, in the same transaction.
    pub async fn set_active(&self, user: i64, active: bool, now: i64) -> Result<()> {
        let _gate = self.write_gate.lock().await;
        let mut tx = self.pool.begin().await?;
        sqlx::query("UPDATE users SET active = ? WHERE id = ?")
            .bind(active)
            .bind(user)
            .execute(&mut *tx)
            .await?;
        if !active {
            sqlx::query("DELETE FROM sessions WHERE user_id = ?")
                .bind(user)
                .execute(&mut *tx)
                .await?;
            sqlx::query(
                "UPDATE api_tokens SET revoked_at = ? WHERE created_by = ? AND revoked_at IS NULL",
            )
            .bind(now)
            .bind(user)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    // ---- one-time links ----

    /// Stores a one-time link (owner setup when `user` is None), replacing any earlier
    /// owner-setup link.
    pub async fn create_invite(
        &self,
        token_hash: &str,
        user: Option<i64>,
        expires_at: i64,
    ) -> Result<()> {
        if user.is_none() {
            sqlx::query("DELETE FROM invites WHERE user_id IS NULL")
                .execute(&self.pool)
                .await?;
        }
        sqlx::query("INSERT INTO invites (token_hash, user_id, expires_at) VALUES (?, ?, ?)")
            .bind(token_hash)
            .bind(user)
            .bind(expires_at)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Looks up an unexpired one-time link: `Some(None)` for the owner setup,
    /// `Some(Some(user))` for an invitation.
    pub async fn invite(&self, token_hash: &str, now: i64) -> Result<Option<Option<i64>>> {
        let row: Option<(Option<i64>,)> =
            sqlx::query_as("SELECT user_id FROM invites WHERE token_hash = ? AND expires_at > ?")
                .bind(token_hash)
                .bind(now)
                .fetch_optional(&self.pool)
                .await?;
        Ok(row.map(|(user,)| user))
    }

    /// Uses up a one-time link. False when it was already used (a race between two tabs).
    pub async fn take_invite(&self, token_hash: &str) -> Result<bool> {
        let done = sqlx::query("DELETE FROM invites WHERE token_hash = ?")
            .bind(token_hash)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    // ---- sessions ----

    pub async fn create_session(
        &self,
        id_hash: &str,
        user: i64,
        stage: SessionStage,
        now: i64,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO sessions (id_hash, user_id, stage, created_at, last_seen) VALUES (?, ?, ?, ?, ?)",
        )
        .bind(id_hash)
        .bind(user)
        .bind(stage.as_str())
        .bind(now)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn session(&self, id_hash: &str) -> Result<Option<Session>> {
        let row: Option<(i64, String, i64, i64)> = sqlx::query_as(
            "SELECT user_id, stage, created_at, last_seen FROM sessions WHERE id_hash = ?",
        )
        .bind(id_hash)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|(user_id, stage, created_at, last_seen)| {
            Ok(Session {
                user_id,
                stage: SessionStage::parse(&stage)?,
                created_at,
                last_seen,
            })
        })
        .transpose()
    }

    pub async fn touch_session(&self, id_hash: &str, now: i64) -> Result<()> {
        sqlx::query("UPDATE sessions SET last_seen = ? WHERE id_hash = ?")
            .bind(now)
            .bind(id_hash)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn delete_session(&self, id_hash: &str) -> Result<()> {
        sqlx::query("DELETE FROM sessions WHERE id_hash = ?")
            .bind(id_hash)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Ends every session of a user ("sign out everywhere"). Returns how many.
    pub async fn delete_user_sessions(&self, user: i64) -> Result<u64> {
        let done = sqlx::query("DELETE FROM sessions WHERE user_id = ?")
            .bind(user)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }

    /// Removes sessions idle since before `idle_before` or created before `created_before`.
    pub async fn expire_sessions(&self, idle_before: i64, created_before: i64) -> Result<u64> {
        let done = sqlx::query("DELETE FROM sessions WHERE last_seen < ? OR created_at < ?")
            .bind(idle_before)
            .bind(created_before)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }

    // ---- projects and roles ----

    /// Creates a project with `owner` as its owner.
    pub async fn create_project(
        &self,
        slug: &str,
        name: &str,
        owner: i64,
        now: i64,
    ) -> Result<i64> {
        let _gate = self.write_gate.lock().await;
        let mut tx = self.pool.begin().await?;
        let inserted =
            sqlx::query("INSERT INTO projects (slug, name, created_at) VALUES (?, ?, ?)")
                .bind(slug)
                .bind(name)
                .bind(now)
                .execute(&mut *tx)
                .await;
        let id = match inserted {
            Ok(done) => done.last_insert_rowid(),
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                return Err(StoreError::Exists(format!("project {slug:?}")));
            }
            Err(e) => return Err(e.into()),
        };
        sqlx::query("INSERT INTO memberships (project_id, user_id, role) VALUES (?, ?, ?)")
            .bind(id)
            .bind(owner)
            .bind(Role::Owner.as_str())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(id)
    }

    pub async fn project_by_slug(&self, slug: &str) -> Result<Option<Project>> {
        let row: Option<(i64, String, String)> =
            sqlx::query_as("SELECT id, slug, name FROM projects WHERE slug = ?")
                .bind(slug)
                .fetch_optional(&self.pool)
                .await?;
        Ok(row.map(|(id, slug, name)| Project { id, slug, name }))
    }

    /// The user's role in the project, if any.
    pub async fn role_of(&self, user: i64, project: i64) -> Result<Option<Role>> {
        let role: Option<String> =
            sqlx::query_scalar("SELECT role FROM memberships WHERE project_id = ? AND user_id = ?")
                .bind(project)
                .bind(user)
                .fetch_optional(&self.pool)
                .await?;
        role.map(|role| role.parse()).transpose()
    }

    /// Gives a user a role in a project (replacing the previous one).
    pub async fn set_member(&self, project: i64, user: i64, role: Role) -> Result<()> {
        sqlx::query(
            "INSERT INTO memberships (project_id, user_id, role) VALUES (?, ?, ?) \
             ON CONFLICT(project_id, user_id) DO UPDATE SET role = excluded.role",
        )
        .bind(project)
        .bind(user)
        .bind(role.as_str())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn members(&self, project: i64) -> Result<Vec<Member>> {
        let rows: Vec<(String, String)> = sqlx::query_as(
            "SELECT u.username, m.role FROM memberships m JOIN users u ON u.id = m.user_id \
             WHERE m.project_id = ? ORDER BY u.username",
        )
        .bind(project)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|(username, role)| {
                Ok(Member {
                    username,
                    role: role.parse()?,
                })
            })
            .collect()
    }

    // ---- API tokens ----

    pub async fn create_token(
        &self,
        project: i64,
        name: &str,
        token_hash: &str,
        role: Role,
        created_by: i64,
        now: i64,
    ) -> Result<i64> {
        let done = sqlx::query(
            "INSERT INTO api_tokens (project_id, name, token_hash, role, created_by, created_at) \
             VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(project)
        .bind(name)
        .bind(token_hash)
        .bind(role.as_str())
        .bind(created_by)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(done.last_insert_rowid())
    }

    /// A valid token by its hash: not revoked, its creator active and still a member of the
    /// project. Its effective role is the lower of its own and its creator's current role.
    pub async fn token_by_hash(&self, token_hash: &str) -> Result<Option<ApiToken>> {
        let row: Option<(i64, i64, String, String, String)> = sqlx::query_as(
            "SELECT t.id, t.project_id, t.name, t.role, m.role FROM api_tokens t \
             JOIN users u ON u.id = t.created_by AND u.active = 1 \
             JOIN memberships m ON m.project_id = t.project_id AND m.user_id = t.created_by \
             WHERE t.token_hash = ? AND t.revoked_at IS NULL",
        )
        .bind(token_hash)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|(id, project_id, name, role, creator_role)| {
            let role: Role = role.parse()?;
            let creator_role: Role = creator_role.parse()?;
            Ok(ApiToken {
                id,
                project_id,
                name,
                role: role.min(creator_role),
            })
        })
        .transpose()
    }

    pub async fn touch_token(&self, id: i64, now: i64) -> Result<()> {
        sqlx::query("UPDATE api_tokens SET last_used_at = ? WHERE id = ?")
            .bind(now)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn tokens(&self, project: i64) -> Result<Vec<TokenListing>> {
        let rows: Vec<(i64, String, String, i64, Option<i64>)> = sqlx::query_as(
            "SELECT id, name, role, created_at, last_used_at FROM api_tokens \
             WHERE project_id = ? AND revoked_at IS NULL ORDER BY id",
        )
        .bind(project)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|(id, name, role, created_at, last_used_at)| {
                Ok(TokenListing {
                    id,
                    name,
                    role: role.parse()?,
                    created_at,
                    last_used_at,
                })
            })
            .collect()
    }

    pub(crate) fn pool(&self) -> &SqlitePool {
        &self.pool
    }
}

const USER_SELECT_BY_NAME: &str = "SELECT id, username, password_hash, totp_secret, is_admin, \
    active, failed_attempts, locked_until FROM users WHERE username = ?";
const USER_SELECT_BY_ID: &str = "SELECT id, username, password_hash, totp_secret, is_admin, \
    active, failed_attempts, locked_until FROM users WHERE id = ?";
const USER_SELECT_ALL: &str = "SELECT id, username, password_hash, totp_secret, is_admin, \
    active, failed_attempts, locked_until FROM users ORDER BY username";

fn user_from_row(row: &sqlx::sqlite::SqliteRow) -> Result<User> {
    Ok(User {
        id: row.try_get(0)?,
        username: row.try_get(1)?,
        password_hash: row.try_get(2)?,
        totp_secret: row.try_get(3)?,
        is_admin: row.try_get(4)?,
        active: row.try_get(5)?,
        failed_attempts: row.try_get(6)?,
        locked_until: row.try_get(7)?,
    })
}
