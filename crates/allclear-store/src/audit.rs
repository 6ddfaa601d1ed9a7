//! The audit log: append-only, each entry hash-chained to the one before it.
//!
//! `hash = BLAKE3(prev_hash || JSON [id, at, actor, action, target, detail, ip])`. Editing an
//! entry breaks its own hash; deleting one breaks the next entry's `prev_hash` (and leaves a
//! gap in the ids). Someone who can write the database can also recompute the whole chain,
//! so the head hash that `verify` returns is worth keeping elsewhere (docs/decisions/0011).

use crate::{Result, Store};

/// The `prev_hash` of the first entry.
const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// An entry to append. `detail` never holds a secret: callers pass names and ids only.
#[derive(Debug, Clone)]
pub struct NewAuditEntry<'a> {
    /// Who: a username, `token:<id>`, or `-` for an anonymous request.
    pub actor: &'a str,
    /// What, as `area.verb` (`signin.failure`, `token.create`).
    pub action: &'a str,
    /// On what (a username, a project slug).
    pub target: &'a str,
    pub detail: &'a str,
    /// The client address.
    pub ip: &'a str,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    pub id: i64,
    pub at: i64,
    pub actor: String,
    pub action: String,
    pub target: String,
    pub detail: String,
    pub ip: String,
    pub prev_hash: String,
    pub hash: String,
}

/// The result of checking the chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuditVerdict {
    /// Every entry's hash matches and each links to the one before.
    Intact { entries: u64, head: String },
    /// The first entry that does not hold, and why.
    Broken { id: i64, reason: String },
}

fn entry_hash(prev_hash: &str, id: i64, at: i64, entry: &NewAuditEntry<'_>) -> String {
    let canonical = serde_json::json!([
        id,
        at,
        entry.actor,
        entry.action,
        entry.target,
        entry.detail,
        entry.ip
    ]);
    let mut hasher = blake3::Hasher::new();
    hasher.update(prev_hash.as_bytes());
    hasher.update(canonical.to_string().as_bytes());
    hasher.finalize().to_hex().to_string()
}

type AuditTuple = (
    i64,
    i64,
    String,
    String,
    String,
    String,
    String,
    String,
    String,
);

impl Store {
    /// Appends an entry to the chain.
    pub async fn audit(&self, entry: NewAuditEntry<'_>, now: i64) -> Result<()> {
        let _gate = self.write_gate.lock().await;
        let mut tx = self.pool().begin().await?;
        let last: Option<(i64, String)> =
            sqlx::query_as("SELECT id, hash FROM audit_log ORDER BY id DESC LIMIT 1")
                .fetch_optional(&mut *tx)
                .await?;
        let (id, prev_hash) = match last {
            Some((id, hash)) => (id + 1, hash),
            None => (1, GENESIS.to_owned()),
        };
        let hash = entry_hash(&prev_hash, id, now, &entry);
        sqlx::query(
            "INSERT INTO audit_log (id, at, actor, action, target, detail, ip, prev_hash, hash) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(id)
        .bind(now)
        .bind(entry.actor)
        .bind(entry.action)
        .bind(entry.target)
        .bind(entry.detail)
        .bind(entry.ip)
        .bind(&prev_hash)
        .bind(&hash)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Entries newest first, before the id `before` (keyset pagination).
    pub async fn audit_entries(&self, before: Option<i64>, limit: i64) -> Result<Vec<AuditEntry>> {
        let rows: Vec<AuditTuple> = sqlx::query_as(
            "SELECT id, at, actor, action, target, detail, ip, prev_hash, hash FROM audit_log \
             WHERE id < ? ORDER BY id DESC LIMIT ?",
        )
        .bind(before.unwrap_or(i64::MAX))
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        Ok(rows.into_iter().map(audit_from_tuple).collect())
    }

    /// Walks the whole chain from the first entry.
    pub async fn audit_verify(&self) -> Result<AuditVerdict> {
        let mut expected_prev = GENESIS.to_owned();
        let mut expected_id = 1;
        let mut entries = 0;
        let mut after = 0;
        loop {
            // Batches by keyset: memory stays flat however long the log is.
            let batch: Vec<AuditTuple> = sqlx::query_as(
                "SELECT id, at, actor, action, target, detail, ip, prev_hash, hash FROM audit_log \
                 WHERE id > ? ORDER BY id LIMIT 1000",
            )
            .bind(after)
            .fetch_all(self.pool())
            .await?;
            let Some(last) = batch.last() else { break };
            after = last.0;
            for row in batch {
                let entry = audit_from_tuple(row);
                if entry.id != expected_id {
                    return Ok(AuditVerdict::Broken {
                        id: entry.id,
                        reason: format!("entry {expected_id} is missing (deleted?)"),
                    });
                }
                if entry.prev_hash != expected_prev {
                    return Ok(AuditVerdict::Broken {
                        id: entry.id,
                        reason:
                            "does not link to the entry before it (an entry was deleted or edited)"
                                .to_owned(),
                    });
                }
                let recomputed = entry_hash(
                    &entry.prev_hash,
                    entry.id,
                    entry.at,
                    &NewAuditEntry {
                        actor: &entry.actor,
                        action: &entry.action,
                        target: &entry.target,
                        detail: &entry.detail,
                        ip: &entry.ip,
                    },
                );
                if recomputed != entry.hash {
                    return Ok(AuditVerdict::Broken {
                        id: entry.id,
                        reason: "its content does not match its hash (edited)".to_owned(),
                    });
                }
                expected_prev = entry.hash;
                expected_id += 1;
                entries += 1;
            }
        }
        Ok(AuditVerdict::Intact {
            entries,
            head: expected_prev,
        })
    }
}

fn audit_from_tuple(
    (id, at, actor, action, target, detail, ip, prev_hash, hash): AuditTuple,
) -> AuditEntry {
    AuditEntry {
        id,
        at,
        actor,
        action,
        target,
        detail,
        ip,
        prev_hash,
        hash,
    }
}
