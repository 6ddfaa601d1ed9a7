//! A member of project A reaches nothing of project B: every route of the router that names
//! a project is walked, with A's session and with A's API token.

use ureq::http::Method;

use crate::{TestServer, api, fixture, project_with_token};

#[test]
fn a_member_of_one_project_reaches_nothing_of_another() {
    let server = TestServer::start();
    let (mut owner, _) = server.owner("ada");
    let token_a = project_with_token(&mut owner, "alpha", "member");
    let token_b = project_with_token(&mut owner, "beta", "member");
    let (status, _) = api(
        &server.base,
        "POST",
        "/api/v1/projects/beta/reports?source=repo",
        Some(&token_b),
        Some(&fixture("report.json")),
    );
    assert_eq!(status, 201);
    let finding_b = server
        .block_on(async {
            let beta = server.store.project_by_slug("beta").await.unwrap().unwrap();
            server
                .store
                .findings_page(beta.id, false, None, 1)
                .await
                .unwrap()
        })
        .remove(0)
        .id
        .to_string();

    let (mut bob, _) = server.invite(&mut owner, "bob");
    let page = owner.get("/projects/alpha");
    let set = owner.post(
        "/projects/alpha/members",
        &page.csrf(),
        &[("username", "bob"), ("role", "member")],
    );
    assert_eq!(set.status, 303, "{}", set.body);
    assert_eq!(bob.get("/projects/alpha").status, 200);
    let overview = bob.get("/");
    assert!(
        overview.body.contains("alpha") && !overview.body.contains("beta"),
        "{}",
        overview.body
    );
    let bob_csrf = overview.csrf();

    let routes: Vec<(Method, &str)> = allclear_server::routes()
        .iter()
        .filter(|route| route.path.contains("{project}"))
        .map(|route| (route.method.clone(), route.path))
        .collect();
    assert!(
        routes.len() >= 7,
        "the walk covers the project routes: {routes:?}"
    );
    for (method, template) in routes {
        let path = template
            .replace("{project}", "beta")
            .replace("{id}", &finding_b);
        let status = if path.starts_with("/api/") {
            api(
                &server.base,
                method.as_str(),
                &path,
                Some(&token_a),
                Some(&fixture("report.json")),
            )
            .0
        } else if method == Method::GET {
            bob.get(&path).status
        } else {
            bob.post(
                &path,
                &bob_csrf,
                &[("username", "bob"), ("role", "owner"), ("name", "x")],
            )
            .status
        };
        assert!(
            status == 404 || status == 403,
            "{method} {path} gave {status} to a member of another project"
        );

        // The same route for the project's own owner passes authorisation, so the 404 above
        // came from the project check and not from a broken route.
        if method == Method::GET {
            let own = if path.starts_with("/api/") {
                api(&server.base, "GET", &path, Some(&token_b), None).0
            } else {
                owner.get(&path).status
            };
            assert_eq!(own, 200, "{method} {path} for the owner of beta");
        }
    }
    // And nothing changed in beta.
    let members = server.block_on(async {
        let beta = server.store.project_by_slug("beta").await.unwrap().unwrap();
        server.store.members(beta.id).await.unwrap()
    });
    assert_eq!(members.len(), 1);
}

#[test]
fn roles_below_the_route_minimum_get_403() {
    let server = TestServer::start();
    let (mut owner, _) = server.owner("ada");
    let read_only = project_with_token(&mut owner, "alpha", "read-only");
    let (status, _) = api(
        &server.base,
        "POST",
        "/api/v1/projects/alpha/reports",
        Some(&read_only),
        Some(&fixture("report.json")),
    );
    assert_eq!(status, 403);
    assert_eq!(
        api(
            &server.base,
            "GET",
            "/api/v1/projects/alpha/findings",
            Some(&read_only),
            None
        )
        .0,
        200
    );

    let (mut bob, _) = server.invite(&mut owner, "bob");
    let page = owner.get("/projects/alpha");
    owner.post(
        "/projects/alpha/members",
        &page.csrf(),
        &[("username", "bob"), ("role", "member")],
    );
    let csrf = bob.get("/projects/alpha").csrf();
    let attempt = bob.post(
        "/projects/alpha/tokens",
        &csrf,
        &[("name", "mine"), ("role", "member")],
    );
    assert_eq!(attempt.status, 403, "a member cannot create tokens");
    let attempt = bob.post(
        "/projects/alpha/members",
        &csrf,
        &[("username", "bob"), ("role", "owner")],
    );
    assert_eq!(attempt.status, 403, "a member cannot promote themselves");
}

#[test]
fn the_api_refuses_cookies_and_bad_tokens() {
    let server = TestServer::start();
    let (mut owner, _) = server.owner("ada");
    project_with_token(&mut owner, "alpha", "member");
    assert_eq!(
        api(
            &server.base,
            "GET",
            "/api/v1/projects/alpha/findings",
            None,
            None
        )
        .0,
        401
    );
    assert_eq!(
        api(
            &server.base,
            "GET",
            "/api/v1/projects/alpha/findings",
            Some("acl_0000"),
            None
        )
        .0,
        401
    );
    // A signed-in browser's cookie is not an API credential.
    assert_eq!(owner.get("/api/v1/projects/alpha/findings").status, 401);
}

#[test]
fn deactivating_a_user_ends_their_sessions_and_tokens() {
    let server = TestServer::start();
    let (mut owner, _) = server.owner("ada");
    project_with_token(&mut owner, "alpha", "member");
    let (mut bob, _) = server.invite(&mut owner, "bob");
    let page = owner.get("/projects/alpha");
    owner.post(
        "/projects/alpha/members",
        &page.csrf(),
        &[("username", "bob"), ("role", "manager")],
    );
    let bob_token = {
        let csrf = bob.get("/projects/alpha").csrf();
        let created = bob.post(
            "/projects/alpha/tokens",
            &csrf,
            &[("name", "bob-ci"), ("role", "member")],
        );
        created.between("<code class=\"secret\">", "<")
    };
    assert_eq!(
        api(
            &server.base,
            "GET",
            "/api/v1/projects/alpha/findings",
            Some(&bob_token),
            None
        )
        .0,
        200
    );
    let admin = owner.get("/admin");
    let done = owner.post("/admin/users/bob/deactivate", &admin.csrf(), &[]);
    assert_eq!(done.status, 303, "{}", done.body);
    assert_eq!(bob.get("/").location.as_deref(), Some("/signin"));
    assert_eq!(
        api(
            &server.base,
            "GET",
            "/api/v1/projects/alpha/findings",
            Some(&bob_token),
            None
        )
        .0,
        401
    );
}
