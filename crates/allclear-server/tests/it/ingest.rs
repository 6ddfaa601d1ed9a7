use crate::{TestServer, api, fixture, project_with_token};

fn post_report(server: &TestServer, token: &str, body: &str) -> (u16, serde_json::Value) {
    let (status, text) = api(
        &server.base,
        "POST",
        "/api/v1/projects/web/reports?source=shop",
        Some(token),
        Some(body),
    );
    (
        status,
        serde_json::from_str(&text).unwrap_or(serde_json::Value::Null),
    )
}

#[test]
fn reports_are_deduplicated_and_findings_get_fixed_and_reopened() {
    let server = TestServer::start();
    let (mut owner, _) = server.owner("ada");
    let token = project_with_token(&mut owner, "web", "member");
    let full = fixture("report.json");
    let mut one: serde_json::Value = serde_json::from_str(&full).unwrap();
    one["findings"].as_array_mut().unwrap().truncate(1);
    let one = one.to_string();

    let (status, first) = post_report(&server, &token, &full);
    assert_eq!(status, 201, "{first}");
    assert_eq!(
        (first["new"].as_u64(), first["fixed"].as_u64()),
        (Some(2), Some(0))
    );
    server.clock.advance(300);
    let (_, second) = post_report(&server, &token, &full);
    assert_eq!(
        (second["new"].as_u64(), second["unchanged"].as_u64()),
        (Some(0), Some(2))
    );
    server.clock.advance(300);
    let (_, third) = post_report(&server, &token, &one);
    assert_eq!(third["fixed"].as_u64(), Some(1));
    server.clock.advance(300);
    let (_, fourth) = post_report(&server, &token, &full);
    assert_eq!(fourth["reopened"].as_u64(), Some(1));

    let (status, list) = api(
        &server.base,
        "GET",
        "/api/v1/projects/web/findings",
        Some(&token),
        None,
    );
    assert_eq!(status, 200);
    let list: serde_json::Value = serde_json::from_str(&list).unwrap();
    let findings = list["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 2);
    assert_eq!(findings[0]["severity"], "critical", "worst first");
    let secret = findings
        .iter()
        .find(|f| f["rule"] == "secrets.aws-access-key")
        .unwrap();
    let id = secret["id"].as_i64().unwrap();
    let (_, detail) = api(
        &server.base,
        "GET",
        &format!("/api/v1/projects/web/findings/{id}"),
        Some(&token),
        None,
    );
    let detail: serde_json::Value = serde_json::from_str(&detail).unwrap();
    let kinds: Vec<&str> = detail["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["first-seen", "fixed", "reopened"]);

    // The finding's page: rule, fix, history, and the report's text escaped.
    let critical = findings[0]["id"].as_i64().unwrap();
    let page = owner.get(&format!("/projects/web/findings/{critical}"));
    assert_eq!(page.status, 200);
    assert!(page.body.contains("deps.vulnerable"));
    assert!(page.body.contains("upgrade to 2.2.3.1"), "{}", page.body);
    assert!(page.body.contains("first-seen"));
    assert!(
        page.body.contains("injection &#60;script&#62;") && !page.body.contains("<script>"),
        "escaped title"
    );
    let secret_page = owner.get(&format!("/projects/web/findings/{id}"));
    assert!(
        !secret_page.body.contains("href=\"javascript:"),
        "only web links are links"
    );

    let overview = owner.get("/");
    assert!(overview.body.contains("Attention"), "{}", overview.body);
}

#[test]
fn a_report_with_errors_fixes_nothing() {
    let server = TestServer::start();
    let (mut owner, _) = server.owner("ada");
    let token = project_with_token(&mut owner, "web", "member");
    post_report(&server, &token, &fixture("report.json"));
    let partial = r#"{"schema": 1, "findings": [], "errors": [{"path": "Gemfile.lock", "message": "unreadable"}], "summary": {"findings": 0, "failed": false}, "coverage": {"files": 1, "lockfiles": 1, "secret_rules": 90}}"#;
    let (status, answer) = post_report(&server, &token, partial);
    assert_eq!(status, 201);
    assert_eq!(
        (answer["fixed"].as_u64(), answer["partial"].as_bool()),
        (Some(0), Some(true))
    );
    // A secrets-only scan does not fix the dependency finding; it does fix the secret.
    let secrets_only = r#"{"schema": 1, "findings": [], "summary": {"findings": 0, "failed": false}, "coverage": {"files": 1, "lockfiles": 0, "secret_rules": 90}}"#;
    let (_, answer) = post_report(&server, &token, secrets_only);
    assert_eq!(answer["fixed"].as_u64(), Some(1), "{answer}");
    let (_, list) = api(
        &server.base,
        "GET",
        "/api/v1/projects/web/findings",
        Some(&token),
        None,
    );
    let list: serde_json::Value = serde_json::from_str(&list).unwrap();
    let open: Vec<&str> = list["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule"].as_str().unwrap())
        .collect();
    assert_eq!(open, ["deps.vulnerable"]);
}

#[test]
fn bad_reports_are_refused_with_the_reason() {
    let server = TestServer::start();
    let (mut owner, _) = server.owner("ada");
    let token = project_with_token(&mut owner, "web", "member");
    let cases = [
        ("not json", "not an allclear JSON report"),
        (r#"{"schema": 2, "findings": []}"#, "schema 2"),
        (
            r#"{"schema": 1, "findings": [{"fingerprint": "xyz", "rule": "a", "severity": "high", "title": "t", "location": {"path": "p"}}]}"#,
            "findings[0].fingerprint",
        ),
        (
            r#"{"schema": 1, "findings": [{"fingerprint": "0123456789abcdef0123456789abcdef", "rule": "a", "severity": "urgent", "title": "t", "location": {"path": "p"}}]}"#,
            "findings[0].severity",
        ),
        (
            r#"{"schema": 1, "findings": [{"fingerprint": "0123456789abcdef0123456789abcdef", "rule": "a", "severity": "high", "title": "t", "location": {"path": "p", "line": 0}}]}"#,
            "location.line",
        ),
    ];
    for (body, expected) in cases {
        let (status, answer) = post_report(&server, &token, body);
        assert_eq!(status, 422, "{body}");
        assert!(
            answer["error"].as_str().unwrap().contains(expected),
            "{answer} should say {expected}"
        );
    }
    let (status, _) = api(
        &server.base,
        "POST",
        "/api/v1/projects/web/reports?source=a%20b",
        Some(&token),
        Some(&fixture("report.json")),
    );
    assert_eq!(status, 422, "a source with a space");
    let huge = format!(
        r#"{{"schema": 1, "findings": [], "padding": "{}"}}"#,
        "x".repeat(33 * 1024 * 1024)
    );
    // The server answers 413 from the Content-Length alone and may close the connection
    // before the client has written the body: a broken pipe is a refusal too.
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let sent = agent
        .post(format!("{}/api/v1/projects/web/reports", server.base))
        .header("Authorization", &format!("Bearer {token}"))
        .content_type("application/json")
        .send(&huge);
    match sent {
        Ok(response) => assert_eq!(response.status().as_u16(), 413),
        Err(ureq::Error::Io(e)) => assert!(
            matches!(
                e.kind(),
                std::io::ErrorKind::BrokenPipe | std::io::ErrorKind::ConnectionReset
            ),
            "{e}"
        ),
        Err(e) => panic!("{e}"),
    }
    let reports = server.block_on(async {
        let web = server.store.project_by_slug("web").await.unwrap().unwrap();
        server
            .store
            .findings_page(web.id, false, None, 10)
            .await
            .unwrap()
            .len()
    });
    assert_eq!(reports, 0, "nothing was ingested");
    let form_size = "x".repeat(100 * 1024);
    let csrf = owner.get("/").csrf();
    assert_eq!(
        owner
            .post("/projects", &csrf, &[("slug", "big"), ("name", &form_size)])
            .status,
        413
    );
}

#[test]
fn keyset_pages_walk_every_open_finding() {
    let server = TestServer::start();
    let (mut owner, _) = server.owner("ada");
    let token = project_with_token(&mut owner, "web", "member");
    let findings: Vec<serde_json::Value> = (0..120)
        .map(|n| (n, ["low", "high"][n % 2]))
        .map(|(n, severity)| {
            serde_json::json!({
                "fingerprint": format!("{n:032x}"), "rule": "deps.vulnerable", "severity": severity,
                "title": format!("finding {n}"), "location": {"path": "Gemfile.lock"}
            })
        })
        .collect();
    let report = serde_json::json!({ "schema": 1, "findings": findings }).to_string();
    assert_eq!(post_report(&server, &token, &report).0, 201);
    let mut path = "/api/v1/projects/web/findings".to_owned();
    let mut seen = 0;
    loop {
        let (_, page) = api(&server.base, "GET", &path, Some(&token), None);
        let page: serde_json::Value = serde_json::from_str(&page).unwrap();
        seen += page["findings"].as_array().unwrap().len();
        match page["next"].as_str() {
            Some(next) => path = format!("/api/v1/projects/web/findings?after={next}"),
            None => break,
        }
    }
    assert_eq!(seen, 120);
    let html = owner.get("/projects/web");
    assert!(html.body.contains("Next page"));
}
