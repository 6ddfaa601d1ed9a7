//! Counters for `/metrics`, in Prometheus' text exposition format.

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;

use crate::AppState;

#[derive(Debug, Default)]
pub struct Metrics {
    pub(crate) requests: AtomicU64,
    pub(crate) server_errors: AtomicU64,
    pub(crate) signin_failures: AtomicU64,
    pub(crate) lockouts: AtomicU64,
    pub(crate) reports: AtomicU64,
    pub(crate) findings: AtomicU64,
}

impl Metrics {
    pub(crate) fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    pub fn render(&self) -> String {
        let counters: [(&str, &str, &AtomicU64); 6] = [
            (
                "allclear_http_requests_total",
                "HTTP requests served",
                &self.requests,
            ),
            (
                "allclear_http_server_errors_total",
                "Responses with a 5xx status",
                &self.server_errors,
            ),
            (
                "allclear_signin_failures_total",
                "Wrong passwords and second-factor codes",
                &self.signin_failures,
            ),
            (
                "allclear_lockouts_total",
                "Accounts locked after repeated failures",
                &self.lockouts,
            ),
            (
                "allclear_reports_total",
                "Scan reports ingested",
                &self.reports,
            ),
            (
                "allclear_findings_ingested_total",
                "Findings received in reports",
                &self.findings,
            ),
        ];
        let mut text = String::new();
        for (name, help, counter) in counters {
            let _ = writeln!(text, "# HELP {name} {help}");
            let _ = writeln!(text, "# TYPE {name} counter");
            let _ = writeln!(text, "{name} {}", counter.load(Ordering::Relaxed));
        }
        text
    }
}

pub async fn count_requests(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let response = next.run(request).await;
    Metrics::add(&state.metrics.requests, 1);
    if response.status().is_server_error() {
        Metrics::add(&state.metrics.server_errors, 1);
    }
    response
}
