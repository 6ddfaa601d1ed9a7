//! `allclear serve` as a real process on loopback, `scan --report-to` against it, and
//! `serve audit verify` on a database edited behind the server's back.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Stdio};

use allclear_store::{NewAuditEntry, Role, Store};

use crate::{allclear, fixture_db, fixtures, stderr, stdout, text};

const TOKEN: &str = "acl_test-token-for-the-report-to-test";

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// A running `allclear serve`, killed when dropped.
struct Served {
    child: Child,
    base: String,
    setup_link: Option<String>,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(data_dir: &Path) -> Served {
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_allclear"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data_dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    let base = first
        .split_whitespace()
        .find(|word| word.starts_with("http://"))
        .unwrap_or_else(|| panic!("no address in {first:?}"))
        .to_owned();
    let mut setup_link = None;
    if let Some(Ok(second)) = lines.next()
        && second.starts_with("No one can sign in yet")
    {
        setup_link = lines
            .next()
            .and_then(|l| l.ok())
            .map(|l| l.trim().to_owned());
    }
    Served {
        child,
        base,
        setup_link,
    }
}

fn get(url: &str, token: Option<&str>) -> (u16, String) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let mut request = agent.get(url);
    if let Some(token) = token {
        request = request.header("Authorization", &format!("Bearer {token}"));
    }
    let mut response = request.call().unwrap();
    (
        response.status().as_u16(),
        response.body_mut().read_to_string().unwrap(),
    )
}

#[test]
fn serve_starts_and_prints_the_owner_setup_link_once() {
    let data = tempfile::tempdir().unwrap();
    let served = serve(data.path());
    assert_eq!(
        get(&format!("{}/healthz", served.base), None),
        (200, "ok\n".to_owned())
    );
    let link = served
        .setup_link
        .clone()
        .expect("a first run prints a setup link");
    assert!(
        link.starts_with(&format!("{}/setup?token=", served.base)),
        "{link}"
    );
    let (status, page) = get(&link, None);
    assert_eq!(status, 200);
    assert!(page.contains("Create your account"), "{page}");
    let csp = ureq::get(format!("{}/signin", served.base)).call().unwrap();
    assert!(csp.headers().get("content-security-policy").is_some());
}

/// A store with a project `web` and a member token `TOKEN` for it.
fn seeded_store(data: &Path) {
    runtime().block_on(async {
        let store = Store::open(data).await.unwrap();
        let ada = store.create_user("ada", true, 0).await.unwrap();
        let web = store.create_project("web", "Web", ada, 0).await.unwrap();
        let hash = allclear_server::token_hash(TOKEN);
        store
            .create_token(web, "ci", &hash, Role::Member, ada, 0)
            .await
            .unwrap();
        store.close().await;
    });
}

#[test]
fn scan_report_to_sends_the_findings_and_a_failed_upload_exits_2() {
    let data = tempfile::tempdir().unwrap();
    seeded_store(data.path());
    let served = serve(data.path());
    let db = fixture_db();
    let url = format!("{}/api/v1/projects/web/reports", served.base);
    let scan = || {
        let mut cmd = allclear();
        cmd.arg("scan")
            .arg("--db")
            .arg(db.path())
            .arg(fixtures().join("repo"))
            .args(["--format", "json", "--report-to", &url]);
        cmd
    };

    let sent = scan().env("ALLCLEAR_TOKEN", TOKEN).output().unwrap();
    assert_eq!(
        sent.status.code(),
        Some(1),
        "the scan's own verdict is kept: {}",
        text(&sent)
    );
    assert!(stderr(&sent).contains("report sent:"), "{}", text(&sent));
    let report: serde_json::Value = serde_json::from_str(&stdout(&sent)).unwrap();
    let reported = report["findings"].as_array().unwrap().len();
    assert!(reported > 0);
    let (status, listed) = get(
        &format!("{}/api/v1/projects/web/findings", served.base),
        Some(TOKEN),
    );
    assert_eq!(status, 200);
    let listed: serde_json::Value = serde_json::from_str(&listed).unwrap();
    let first_page = listed["findings"].as_array().unwrap();
    assert_eq!(first_page.len(), reported.min(50));
    assert!(
        first_page.iter().all(|f| f["source"] == "repo"),
        "filed under the directory's name"
    );

    let token_file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(token_file.path(), "acl_not-a-valid-token\n").unwrap();
    let refused = scan()
        .env_remove("ALLCLEAR_TOKEN")
        .arg("--token-file")
        .arg(token_file.path())
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(2), "{}", text(&refused));
    assert!(stderr(&refused).contains("NOT sent"), "{}", text(&refused));
    assert!(stderr(&refused).contains("401"), "{}", text(&refused));

    let missing = scan().env_remove("ALLCLEAR_TOKEN").output().unwrap();
    assert_eq!(missing.status.code(), Some(2), "{}", text(&missing));
    assert!(
        stderr(&missing).contains("needs an API token"),
        "{}",
        text(&missing)
    );
    assert!(
        stdout(&missing).is_empty(),
        "nothing scanned without a token"
    );

    drop(served);
    let down = scan().env("ALLCLEAR_TOKEN", TOKEN).output().unwrap();
    assert_eq!(
        down.status.code(),
        Some(2),
        "a server that is down: {}",
        text(&down)
    );
    assert!(stderr(&down).contains("NOT sent"), "{}", text(&down));
}

#[test]
fn audit_verify_detects_an_edited_entry() {
    let data = tempfile::tempdir().unwrap();
    runtime().block_on(async {
        let store = Store::open(data.path()).await.unwrap();
        for action in ["signin.success", "token.create", "member.set"] {
            let entry = NewAuditEntry {
                actor: "ada",
                action,
                target: "web",
                detail: "",
                ip: "127.0.0.1",
            };
            store.audit(entry, 0).await.unwrap();
        }
        store.close().await;
    });
    let verify = || {
        allclear()
            .args(["serve", "audit", "verify", "--data-dir"])
            .arg(data.path())
            .output()
            .unwrap()
    };
    let intact = verify();
    assert_eq!(intact.status.code(), Some(0), "{}", text(&intact));
    assert!(
        stdout(&intact).contains("intact: 3 entries"),
        "{}",
        text(&intact)
    );

    runtime().block_on(async {
        let options = sqlx::sqlite::SqliteConnectOptions::new()
            .filename(data.path().join(allclear_store::DATABASE_FILE));
        let pool = sqlx::SqlitePool::connect_with(options).await.unwrap();
        sqlx::query("UPDATE audit_log SET target = 'other' WHERE id = 2")
            .execute(&pool)
            .await
            .unwrap();
        pool.close().await;
    });
    let broken = verify();
    assert_eq!(broken.status.code(), Some(1), "{}", text(&broken));
    assert!(
        stdout(&broken).contains("BROKEN at entry 2"),
        "{}",
        text(&broken)
    );
}

#[test]
fn a_database_from_a_newer_release_is_refused() {
    let data = tempfile::tempdir().unwrap();
    runtime().block_on(async {
        Store::open(data.path()).await.unwrap().close().await;
        let options = sqlx::sqlite::SqliteConnectOptions::new().filename(data.path().join(allclear_store::DATABASE_FILE));
        let pool = sqlx::SqlitePool::connect_with(options).await.unwrap();
        sqlx::query(
            "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
             VALUES (2, 'later', 1, x'00', 0)",
        )
        .execute(&pool)
        .await
        .unwrap();
        pool.close().await;
    });
    let output = allclear()
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data.path())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2), "{}", text(&output));
    let err = stderr(&output);
    assert!(
        err.contains("refusing the database") && err.contains("newer than this allclear supports"),
        "{err}"
    );
    assert!(err.contains("hint:"), "{err}");
}
