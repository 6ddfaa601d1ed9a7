//! The JSON API, authorised by bearer tokens only (see [`crate::access`]).

use allclear_store::{Coverage, IncomingFinding, severity_rank};
use axum::Json;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::access::{Access, MEMBER, READ};
use crate::web::{PAGE_SIZE, PageQuery, ServerFault};
use crate::{AppState, Metrics, Route};

/// Largest report body: 100,000 findings of a few hundred bytes each.
pub const MAX_REPORT_BYTES: usize = 32 * 1024 * 1024;
/// Most findings in one report.
pub const MAX_FINDINGS: usize = 100_000;

pub fn routes() -> Vec<Route> {
    vec![
        Route {
            method: Method::POST,
            path: "/api/v1/projects/{project}/reports",
            handler: post(ingest).layer(DefaultBodyLimit::max(MAX_REPORT_BYTES)),
        },
        Route {
            method: Method::GET,
            path: "/api/v1/projects/{project}/findings",
            handler: get(list_findings),
        },
        Route {
            method: Method::GET,
            path: "/api/v1/projects/{project}/findings/{id}",
            handler: get(one_finding),
        },
    ]
}

fn bad_request(text: String) -> Response {
    (
        StatusCode::UNPROCESSABLE_ENTITY,
        Json(json!({ "error": text })),
    )
        .into_response()
}

/// The parts of `allclear scan --format json` the server reads (docs/json-schema.md); the
/// rest of each finding is kept as reported.
#[derive(Deserialize)]
struct Report {
    schema: u32,
    findings: Vec<Value>,
    #[serde(default)]
    errors: Vec<Value>,
    coverage: Option<ReportCoverage>,
}

/// The report's `coverage` (docs/json-schema.md): what the scan checked.
#[derive(Deserialize)]
struct ReportCoverage {
    #[serde(default)]
    lockfiles: u64,
    #[serde(default)]
    ecosystems: Vec<Value>,
    secret_rules: Option<u64>,
    #[serde(default)]
    staged: bool,
}

impl Report {
    /// Which rule areas the report speaks for. Without coverage, with errors, or for a
    /// staged-only scan, silence proves nothing. Dependency rules are covered when lockfiles
    /// were read (`scan --only secrets` reads none); the secrets scanner's areas when its
    /// rules ran. A repository whose last lockfile was removed keeps its dependency findings
    /// open until someone looks: stale, never a false "fixed".
    fn coverage(&self) -> Coverage {
        let Some(coverage) = &self.coverage else {
            return Coverage::Partial;
        };
        if !self.errors.is_empty() || coverage.staged {
            return Coverage::Partial;
        }
        let mut areas = vec!["policy".to_owned()];
        if coverage.lockfiles > 0 || !coverage.ecosystems.is_empty() {
            areas.push("deps".to_owned());
        }
        if coverage.secret_rules.is_some_and(|rules| rules > 0) {
            areas.extend(["secrets", "restricted", "personal"].map(str::to_owned));
        }
        Coverage::Areas(areas)
    }
}

#[derive(Deserialize)]
struct ReportedFinding {
    fingerprint: String,
    rule: String,
    severity: String,
    title: String,
    location: ReportedLocation,
}

#[derive(Deserialize)]
struct ReportedLocation {
    path: String,
    line: Option<i64>,
}

#[derive(Deserialize)]
struct SourceQuery {
    source: Option<String>,
}

/// A source (repository or host name): 1 to 200 of letters, digits and `._-/:@`.
fn valid_source(source: &str) -> bool {
    (1..=200).contains(&source.len())
        && source
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-/:@".contains(&b))
}

fn validate(index: usize, value: &Value) -> Result<IncomingFinding, String> {
    let finding: ReportedFinding =
        serde_json::from_value(value.clone()).map_err(|e| format!("findings[{index}]: {e}"))?;
    let fail = |what: &str| Err(format!("findings[{index}].{what}"));
    if finding.fingerprint.len() != 32
        || !finding
            .fingerprint
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        return fail("fingerprint: expected 32 lowercase hex digits");
    }
    if finding.rule.is_empty()
        || finding.rule.len() > 100
        || !finding
            .rule
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
    {
        return fail("rule: expected 1 to 100 of a-z, 0-9, '.', '_' and '-'");
    }
    if severity_rank(&finding.severity).is_none() {
        return fail("severity: expected critical, high, medium, low or info");
    }
    if finding.title.is_empty() || finding.title.len() > 2000 {
        return fail("title: expected 1 to 2000 bytes");
    }
    if finding.location.path.is_empty() || finding.location.path.len() > 4096 {
        return fail("location.path: expected 1 to 4096 bytes");
    }
    if finding.location.line.is_some_and(|line| line < 1) {
        return fail("location.line: expected a line number from 1");
    }
    let data = value.to_string();
    if data.len() > 64 * 1024 {
        return fail("(whole finding): larger than 64 KiB");
    }
    Ok(IncomingFinding {
        fingerprint: finding.fingerprint,
        rule: finding.rule,
        severity: finding.severity,
        title: finding.title,
        path: finding.location.path,
        line: finding.location.line,
        data,
    })
}

/// A report as the server keeps it.
#[derive(Debug)]
pub struct ParsedReport {
    /// Validated, one per fingerprint.
    pub findings: Vec<IncomingFinding>,
    /// What the report's silence means (see [`Coverage`]).
    pub coverage: Coverage,
}

/// Reads and validates the body of `POST …/reports` (the output of `allclear scan --format
/// json`): an error names the first field that is wrong.
pub fn parse_report(body: &[u8]) -> Result<ParsedReport, String> {
    let report: Report =
        serde_json::from_slice(body).map_err(|e| format!("not an allclear JSON report: {e}"))?;
    if report.schema != 1 {
        return Err(format!(
            "schema {} is not supported (this server reads schema 1)",
            report.schema
        ));
    }
    if report.findings.len() > MAX_FINDINGS {
        return Err(format!("more than {MAX_FINDINGS} findings in one report"));
    }
    let mut findings = Vec::with_capacity(report.findings.len());
    for (index, value) in report.findings.iter().enumerate() {
        findings.push(validate(index, value)?);
    }
    // The same fingerprint twice in one report is one finding.
    let mut seen = std::collections::HashSet::new();
    findings.retain(|f| seen.insert(f.fingerprint.clone()));
    Ok(ParsedReport {
        findings,
        coverage: report.coverage(),
    })
}

/// Takes a scan report; answers what changed. A report with errors (parts of the tree went
/// unchecked) marks nothing fixed.
async fn ingest(
    State(state): State<AppState>,
    access: Access<MEMBER>,
    Query(query): Query<SourceQuery>,
    body: axum::body::Bytes,
) -> Result<Response, ServerFault> {
    let source = query.source.unwrap_or_else(|| "default".to_owned());
    if !valid_source(&source) {
        return Ok(bad_request(
            "source: expected 1 to 200 of letters, digits and ._-/:@".to_owned(),
        ));
    }
    let ParsedReport { findings, coverage } = match parse_report(&body) {
        Ok(parsed) => parsed,
        Err(problem) => return Ok(bad_request(problem)),
    };
    let now = state.now();
    let summary = state
        .store
        .ingest(access.project.id, &source, &findings, &coverage, now)
        .await?;
    if let crate::access::Principal::Token(token) = &access.principal {
        state.store.touch_token(token.id, now).await?;
    }
    Metrics::add(&state.metrics.reports, 1);
    Metrics::add(&state.metrics.findings, findings.len() as u64);
    let detail = format!(
        "report {} from {source}: {} findings",
        summary.report_id,
        findings.len()
    );
    state
        .store
        .audit(
            allclear_store::NewAuditEntry {
                actor: &access.principal.actor(),
                action: "token.use",
                target: &access.project.slug,
                detail: &detail,
                ip: &access.ip,
            },
            now,
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({
            "report": summary.report_id,
            "source": source,
            "findings": findings.len(),
            "new": summary.new,
            "reopened": summary.reopened,
            "unchanged": summary.unchanged,
            "fixed": summary.fixed,
            "partial": coverage == Coverage::Partial,
        })),
    )
        .into_response())
}

fn finding_json(row: &allclear_store::FindingRow) -> Value {
    json!({
        "id": row.id,
        "source": row.source,
        "fingerprint": row.fingerprint,
        "rule": row.rule,
        "severity": row.severity,
        "title": row.title,
        "location": { "path": row.path, "line": row.line },
        "first_seen": row.first_seen,
        "last_seen": row.last_seen,
        "fixed_at": row.fixed_at,
    })
}

async fn list_findings(
    State(state): State<AppState>,
    access: Access<READ>,
    Query(query): Query<PageQuery>,
) -> Result<Response, ServerFault> {
    let rows = state
        .store
        .findings_page(access.project.id, query.fixed(), query.keyset(), PAGE_SIZE)
        .await?;
    let next = (rows.len() as i64 == PAGE_SIZE)
        .then(|| rows.last().map(|r| format!("{}.{}", r.severity_rank, r.id)))
        .flatten();
    Ok(Json(json!({
        "findings": rows.iter().map(finding_json).collect::<Vec<_>>(),
        "next": next,
    }))
    .into_response())
}

async fn one_finding(
    State(state): State<AppState>,
    access: Access<READ>,
    Path((_, id)): Path<(String, i64)>,
) -> Result<Response, ServerFault> {
    let Some(row) = state.store.finding(access.project.id, id).await? else {
        return Ok((
            StatusCode::NOT_FOUND,
            Json(json!({ "error": "no such finding" })),
        )
            .into_response());
    };
    let events = state.store.finding_events(row.id).await?;
    let mut value = finding_json(&row);
    value["reported"] = serde_json::from_str(&row.data).unwrap_or(Value::Null);
    value["history"] = events
        .iter()
        .map(|e| json!({ "at": e.at, "kind": e.kind }))
        .collect();
    Ok(Json(value).into_response())
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn finding(fingerprint: &str, severity: &str, line: i64) -> Value {
        json!({
            "fingerprint": fingerprint, "rule": "deps.vulnerable", "severity": severity,
            "title": "t", "location": { "path": "Gemfile.lock", "line": line }
        })
    }

    proptest! {
        /// Whatever the bytes, the parser answers (never panics), and what it accepts
        /// satisfies the limits the store relies on.
        #[test]
        fn any_bytes_give_an_answer(body in proptest::collection::vec(any::<u8>(), 0..512)) {
            if let Ok(parsed) = parse_report(&body) {
                for f in parsed.findings {
                    prop_assert_eq!(f.fingerprint.len(), 32);
                    prop_assert!(severity_rank(&f.severity).is_some());
                }
            }
        }

        /// A well-formed finding is accepted and keeps its fields.
        #[test]
        fn valid_findings_are_accepted(
            fingerprint in "[0-9a-f]{32}",
            severity in prop::sample::select(vec!["critical", "high", "medium", "low", "info"]),
            line in 1i64..1_000_000,
        ) {
            let body = json!({ "schema": 1, "findings": [finding(&fingerprint, severity, line)] }).to_string();
            let parsed = parse_report(body.as_bytes()).unwrap();
            prop_assert_eq!(&parsed.findings[0].fingerprint, &fingerprint);
            prop_assert_eq!(parsed.findings[0].line, Some(line));
            prop_assert_eq!(parsed.coverage, Coverage::Partial, "no coverage given");
        }

        /// A fingerprint that is not 32 lowercase hex digits is refused, naming the field.
        #[test]
        fn bad_fingerprints_are_refused(fingerprint in "[0-9a-zA-Z]{0,40}") {
            prop_assume!(!(fingerprint.len() == 32 && fingerprint.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))));
            let body = json!({ "schema": 1, "findings": [finding(&fingerprint, "high", 1)] }).to_string();
            let error = parse_report(body.as_bytes()).unwrap_err();
            prop_assert!(error.contains("findings[0].fingerprint"), "{}", error);
        }
    }

    #[test]
    fn duplicates_collapse_and_errors_make_a_report_partial() {
        let f = finding("0123456789abcdef0123456789abcdef", "high", 3);
        let body = json!({ "schema": 1, "findings": [f.clone(), f], "errors": [{"path": "x", "message": "y"}] });
        let parsed = parse_report(body.to_string().as_bytes()).unwrap();
        assert_eq!(parsed.findings.len(), 1);
        assert_eq!(parsed.coverage, Coverage::Partial);
    }

    #[test]
    fn coverage_decides_which_areas_can_be_fixed() {
        let areas = |coverage: Value| {
            let body = json!({ "schema": 1, "findings": [], "coverage": coverage });
            parse_report(body.to_string().as_bytes()).unwrap().coverage
        };
        let all = ["policy", "deps", "secrets", "restricted", "personal"].map(str::to_owned);
        assert_eq!(
            areas(json!({"files": 3, "lockfiles": 1, "secret_rules": 90})),
            Coverage::Areas(all.to_vec())
        );
        assert_eq!(
            areas(json!({"files": 3, "lockfiles": 0, "secret_rules": 90})),
            Coverage::Areas(vec![
                "policy".into(),
                "secrets".into(),
                "restricted".into(),
                "personal".into()
            ]),
            "--only secrets says nothing about dependencies"
        );
        assert_eq!(
            areas(json!({"files": 3, "lockfiles": 2})),
            Coverage::Areas(vec!["policy".into(), "deps".into()])
        );
        assert_eq!(
            areas(json!({"files": 1, "lockfiles": 1, "secret_rules": 90, "staged": true})),
            Coverage::Partial
        );
    }
}
