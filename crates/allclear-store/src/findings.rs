//! Reports in, findings out: de-duplication by fingerprint and each finding's history.

use sqlx::Row;

use crate::{Result, Store, StoreError};

/// One finding of an incoming report, already validated by the caller.
#[derive(Debug, Clone)]
pub struct IncomingFinding {
    pub fingerprint: String,
    pub rule: String,
    pub severity: String,
    pub title: String,
    pub path: String,
    pub line: Option<i64>,
    /// The finding as reported (JSON), shown on its page.
    pub data: String,
}

/// What a report covered, which decides what its silence means: an open finding absent
/// from the report is fixed only if the report checked the finding's area (the rule id's
/// part before the first dot: `deps`, `secrets`, `restricted`, …).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Coverage {
    /// Parts went unchecked (errors, a staged-only scan, no coverage given): nothing is
    /// marked fixed.
    Partial,
    /// These areas were checked in full.
    Areas(Vec<String>),
}

/// What an ingestion changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct IngestSummary {
    pub report_id: i64,
    /// Seen for the first time.
    pub new: u64,
    /// Were fixed, are back.
    pub reopened: u64,
    /// Were open, still are.
    pub unchanged: u64,
    /// Were open, absent from this report.
    pub fixed: u64,
}

#[derive(Debug, Clone)]
pub struct FindingRow {
    pub id: i64,
    pub source: String,
    pub fingerprint: String,
    pub rule: String,
    pub severity: String,
    pub severity_rank: i64,
    pub title: String,
    pub path: String,
    pub line: Option<i64>,
    pub data: String,
    pub first_seen: i64,
    pub last_seen: i64,
    pub fixed_at: Option<i64>,
}

#[derive(Debug, Clone)]
pub struct FindingEvent {
    pub at: i64,
    pub kind: String,
}

/// One project's state for the overview.
#[derive(Debug, Clone)]
pub struct ProjectOverview {
    pub slug: String,
    pub name: String,
    pub role: crate::Role,
    /// Open findings per severity rank (index 0 = info … 4 = critical).
    pub open_by_rank: [i64; 5],
    /// When the last report came in, if any.
    pub last_report_at: Option<i64>,
    /// Whether the last report was partial (parts of the scan failed).
    pub last_report_partial: bool,
}

/// The rank of a severity name (higher is worse); None for an unknown name.
pub fn severity_rank(severity: &str) -> Option<i64> {
    match severity {
        "info" => Some(0),
        "low" => Some(1),
        "medium" => Some(2),
        "high" => Some(3),
        "critical" => Some(4),
        _ => None,
    }
}

fn finding_from_row(row: &sqlx::sqlite::SqliteRow) -> Result<FindingRow> {
    Ok(FindingRow {
        id: row.try_get(0)?,
        source: row.try_get(1)?,
        fingerprint: row.try_get(2)?,
        rule: row.try_get(3)?,
        severity: row.try_get(4)?,
        severity_rank: row.try_get(5)?,
        title: row.try_get(6)?,
        path: row.try_get(7)?,
        line: row.try_get(8)?,
        data: row.try_get(9)?,
        first_seen: row.try_get(10)?,
        last_seen: row.try_get(11)?,
        fixed_at: row.try_get(12)?,
    })
}

impl Store {
    /// Records a report of `source` (a repository or host) for the project. Findings are
    /// matched by fingerprint within (project, source): new ones are opened, fixed ones that
    /// come back are reopened, and open ones absent from the report are marked fixed when
    /// the report covered their area (see [`Coverage`]).
    pub async fn ingest(
        &self,
        project: i64,
        source: &str,
        findings: &[IncomingFinding],
        covered: &Coverage,
        now: i64,
    ) -> Result<IngestSummary> {
        let partial = matches!(covered, Coverage::Partial);
        let _gate = self.write_gate.lock().await;
        let mut tx = self.pool().begin().await?;
        let report_id = sqlx::query(
            "INSERT INTO reports (project_id, source, received_at, findings, partial) VALUES (?, ?, ?, ?, ?)",
        )
        .bind(project)
        .bind(source)
        .bind(now)
        .bind(i64::try_from(findings.len()).unwrap_or(i64::MAX))
        .bind(partial)
        .execute(&mut *tx)
        .await?
        .last_insert_rowid();
        let mut summary = IngestSummary {
            report_id,
            ..IngestSummary::default()
        };
        for finding in findings {
            let rank = severity_rank(&finding.severity)
                .ok_or_else(|| StoreError::Corrupt(format!("severity {:?}", finding.severity)))?;
            let existing: Option<(i64, Option<i64>)> = sqlx::query_as(
                "SELECT id, fixed_at FROM findings WHERE project_id = ? AND source = ? AND fingerprint = ?",
            )
            .bind(project)
            .bind(source)
            .bind(&finding.fingerprint)
            .fetch_optional(&mut *tx)
            .await?;
            let (id, event) = match existing {
                None => {
                    let id = sqlx::query(
                        "INSERT INTO findings (project_id, source, fingerprint, rule, severity, \
                         severity_rank, title, path, line, data, first_seen, last_seen, last_report) \
                         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    )
                    .bind(project)
                    .bind(source)
                    .bind(&finding.fingerprint)
                    .bind(&finding.rule)
                    .bind(&finding.severity)
                    .bind(rank)
                    .bind(&finding.title)
                    .bind(&finding.path)
                    .bind(finding.line)
                    .bind(&finding.data)
                    .bind(now)
                    .bind(now)
                    .bind(report_id)
                    .execute(&mut *tx)
                    .await?
                    .last_insert_rowid();
                    summary.new += 1;
                    (id, Some("first-seen"))
                }
                Some((id, fixed_at)) => {
                    // The severity, title and location may change (a re-rated rule, a moved
                    // line): the latest report is what the page shows.
                    sqlx::query(
                        "UPDATE findings SET rule = ?, severity = ?, severity_rank = ?, title = ?, \
                         path = ?, line = ?, data = ?, last_seen = ?, last_report = ?, fixed_at = NULL \
                         WHERE id = ?",
                    )
                    .bind(&finding.rule)
                    .bind(&finding.severity)
                    .bind(rank)
                    .bind(&finding.title)
                    .bind(&finding.path)
                    .bind(finding.line)
                    .bind(&finding.data)
                    .bind(now)
                    .bind(report_id)
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                    if fixed_at.is_some() {
                        summary.reopened += 1;
                        (id, Some("reopened"))
                    } else {
                        summary.unchanged += 1;
                        (id, None)
                    }
                }
            };
            if let Some(kind) = event {
                insert_event(&mut tx, id, now, kind, report_id).await?;
            }
        }
        if let Coverage::Areas(areas) = covered {
            let candidates: Vec<(i64, String)> = sqlx::query_as(
                "SELECT id, rule FROM findings WHERE project_id = ? AND source = ? \
                 AND fixed_at IS NULL AND last_report <> ?",
            )
            .bind(project)
            .bind(source)
            .bind(report_id)
            .fetch_all(&mut *tx)
            .await?;
            for (id, rule) in candidates {
                let area = rule.split('.').next().unwrap_or_default();
                if !areas.iter().any(|covered| covered == area) {
                    continue;
                }
                sqlx::query("UPDATE findings SET fixed_at = ? WHERE id = ?")
                    .bind(now)
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                insert_event(&mut tx, id, now, "fixed", report_id).await?;
                summary.fixed += 1;
            }
        }
        tx.commit().await?;
        Ok(summary)
    }

    /// A page of a project's findings, worst first: open ones (or fixed ones when
    /// `fixed`), after the keyset `after` = (severity rank, id) of the previous page's last
    /// row. Stays an index range scan however many findings there are.
    pub async fn findings_page(
        &self,
        project: i64,
        fixed: bool,
        after: Option<(i64, i64)>,
        limit: i64,
    ) -> Result<Vec<FindingRow>> {
        let (rank, id) = after.unwrap_or((i64::MAX, i64::MAX));
        let sql = if fixed {
            "SELECT id, source, fingerprint, rule, severity, severity_rank, title, path, line, \
             data, first_seen, last_seen, fixed_at FROM findings \
             WHERE project_id = ? AND fixed_at IS NOT NULL AND (severity_rank, id) < (?, ?) \
             ORDER BY severity_rank DESC, id DESC LIMIT ?"
        } else {
            "SELECT id, source, fingerprint, rule, severity, severity_rank, title, path, line, \
             data, first_seen, last_seen, fixed_at FROM findings \
             WHERE project_id = ? AND fixed_at IS NULL AND (severity_rank, id) < (?, ?) \
             ORDER BY severity_rank DESC, id DESC LIMIT ?"
        };
        let rows = sqlx::query(sql)
            .bind(project)
            .bind(rank)
            .bind(id)
            .bind(limit)
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(finding_from_row).collect()
    }

    /// One finding of the project (None when it belongs to another project).
    pub async fn finding(&self, project: i64, id: i64) -> Result<Option<FindingRow>> {
        let row = sqlx::query(
            "SELECT id, source, fingerprint, rule, severity, severity_rank, title, path, line, \
             data, first_seen, last_seen, fixed_at FROM findings WHERE project_id = ? AND id = ?",
        )
        .bind(project)
        .bind(id)
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(finding_from_row).transpose()
    }

    pub async fn finding_events(&self, finding: i64) -> Result<Vec<FindingEvent>> {
        let rows: Vec<(i64, String)> =
            sqlx::query_as("SELECT at, kind FROM finding_events WHERE finding_id = ? ORDER BY id")
                .bind(finding)
                .fetch_all(self.pool())
                .await?;
        Ok(rows
            .into_iter()
            .map(|(at, kind)| FindingEvent { at, kind })
            .collect())
    }

    /// Every project the user is a member of, with its open findings per severity.
    pub async fn overview(&self, user: i64) -> Result<Vec<ProjectOverview>> {
        let projects: Vec<(i64, String, String, String)> = sqlx::query_as(
            "SELECT p.id, p.slug, p.name, m.role FROM projects p \
             JOIN memberships m ON m.project_id = p.id AND m.user_id = ? ORDER BY p.slug",
        )
        .bind(user)
        .fetch_all(self.pool())
        .await?;
        let mut overview = Vec::with_capacity(projects.len());
        for (id, slug, name, role) in projects {
            let counts: Vec<(i64, i64)> = sqlx::query_as(
                "SELECT severity_rank, COUNT(*) FROM findings \
                 WHERE project_id = ? AND fixed_at IS NULL GROUP BY severity_rank",
            )
            .bind(id)
            .fetch_all(self.pool())
            .await?;
            let mut open_by_rank = [0; 5];
            for (rank, count) in counts {
                if let Some(slot) = usize::try_from(rank)
                    .ok()
                    .and_then(|r| open_by_rank.get_mut(r))
                {
                    *slot = count;
                }
            }
            let last: Option<(i64, bool)> = sqlx::query_as(
                "SELECT received_at, partial FROM reports WHERE project_id = ? ORDER BY id DESC LIMIT 1",
            )
            .bind(id)
            .fetch_optional(self.pool())
            .await?;
            overview.push(ProjectOverview {
                slug,
                name,
                role: role.parse()?,
                open_by_rank,
                last_report_at: last.map(|(at, _)| at),
                last_report_partial: last.is_some_and(|(_, partial)| partial),
            });
        }
        Ok(overview)
    }
}

async fn insert_event(
    tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>,
    finding: i64,
    at: i64,
    kind: &str,
    report: i64,
) -> Result<()> {
    sqlx::query("INSERT INTO finding_events (finding_id, at, kind, report_id) VALUES (?, ?, ?, ?)")
        .bind(finding)
        .bind(at)
        .bind(kind)
        .bind(report)
        .execute(&mut **tx)
        .await?;
    Ok(())
}
