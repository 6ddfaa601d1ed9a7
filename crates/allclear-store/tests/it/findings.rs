use allclear_store::{Coverage, IncomingFinding, Store};

fn deps() -> Coverage {
    Coverage::Areas(vec!["deps".to_owned()])
}

use crate::{T0, fresh, runtime};

fn finding(n: usize, severity: &str) -> IncomingFinding {
    IncomingFinding {
        fingerprint: format!("{n:032x}"),
        rule: "deps.vulnerable".to_owned(),
        severity: severity.to_owned(),
        title: format!("finding {n}"),
        path: "Gemfile.lock".to_owned(),
        line: Some(1),
        data: "{}".to_owned(),
    }
}

async fn project(store: &Store) -> i64 {
    let ada = store.create_user("ada", true, T0).await.unwrap();
    store.create_project("web", "Web", ada, T0).await.unwrap()
}

#[test]
fn findings_are_opened_fixed_and_reopened_by_fingerprint() {
    runtime().block_on(async {
        let (_dir, store) = fresh().await;
        let p = project(&store).await;
        let (a, b) = (finding(1, "high"), finding(2, "low"));

        let first = store
            .ingest(p, "repo", &[a.clone(), b.clone()], &deps(), T0)
            .await
            .unwrap();
        assert_eq!(
            (first.new, first.unchanged, first.fixed, first.reopened),
            (2, 0, 0, 0)
        );

        let second = store
            .ingest(p, "repo", std::slice::from_ref(&a), &deps(), T0 + 10)
            .await
            .unwrap();
        assert_eq!(
            (second.new, second.unchanged, second.fixed, second.reopened),
            (0, 1, 1, 0)
        );

        let third = store
            .ingest(p, "repo", &[a.clone(), b.clone()], &deps(), T0 + 20)
            .await
            .unwrap();
        assert_eq!(
            (third.new, third.unchanged, third.fixed, third.reopened),
            (0, 1, 0, 1)
        );

        let open = store.findings_page(p, false, None, 10).await.unwrap();
        assert_eq!(open.len(), 2);
        let row_b = open
            .iter()
            .find(|r| r.fingerprint == b.fingerprint)
            .unwrap();
        assert_eq!(row_b.first_seen, T0);
        assert_eq!(row_b.last_seen, T0 + 20);
        let kinds: Vec<String> = store
            .finding_events(row_b.id)
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.kind)
            .collect();
        assert_eq!(kinds, ["first-seen", "fixed", "reopened"]);
    });
}

#[test]
fn a_partial_report_fixes_nothing_and_sources_are_separate() {
    runtime().block_on(async {
        let (_dir, store) = fresh().await;
        let p = project(&store).await;
        store
            .ingest(p, "repo", &[finding(1, "high")], &deps(), T0)
            .await
            .unwrap();
        let partial = store
            .ingest(p, "repo", &[], &Coverage::Partial, T0 + 1)
            .await
            .unwrap();
        assert_eq!(partial.fixed, 0);
        let other = store
            .ingest(p, "other-repo", &[], &deps(), T0 + 2)
            .await
            .unwrap();
        assert_eq!(
            other.fixed, 0,
            "a report of one source does not fix another's findings"
        );
        assert_eq!(
            store.findings_page(p, false, None, 10).await.unwrap().len(),
            1
        );
        let secrets_only = Coverage::Areas(vec!["secrets".to_owned()]);
        let other_area = store
            .ingest(p, "repo", &[], &secrets_only, T0 + 3)
            .await
            .unwrap();
        assert_eq!(
            other_area.fixed, 0,
            "a report that did not check dependencies fixes none"
        );
        let complete = store.ingest(p, "repo", &[], &deps(), T0 + 3).await.unwrap();
        assert_eq!(complete.fixed, 1);
        assert_eq!(
            store.findings_page(p, true, None, 10).await.unwrap().len(),
            1
        );
    });
}

#[test]
fn keyset_pages_cover_every_finding_once_worst_first() {
    runtime().block_on(async {
        let (_dir, store) = fresh().await;
        let p = project(&store).await;
        let severities = ["info", "low", "medium", "high", "critical"];
        let all: Vec<IncomingFinding> = (0..123).map(|n| finding(n, severities[n % 5])).collect();
        store.ingest(p, "repo", &all, &deps(), T0).await.unwrap();
        let mut seen = Vec::new();
        let mut after = None;
        loop {
            let page = store.findings_page(p, false, after, 50).await.unwrap();
            let Some(last) = page.last() else { break };
            after = Some((last.severity_rank, last.id));
            seen.extend(page.into_iter().map(|r| (r.severity_rank, r.fingerprint)));
        }
        assert_eq!(seen.len(), 123);
        assert!(seen.windows(2).all(|w| w[0].0 >= w[1].0), "worst first");
        let mut fingerprints: Vec<_> = seen.iter().map(|(_, f)| f.clone()).collect();
        fingerprints.sort();
        fingerprints.dedup();
        assert_eq!(fingerprints.len(), 123);
    });
}
