use std::io::{Read, Write};
use std::net::TcpListener;

use crate::{allclear, fixture_db, fixtures, stderr, stdout, text};

#[test]
fn import_reports_per_source_and_skips_a_malformed_record() {
    let db = tempfile::tempdir().unwrap();
    let output = allclear()
        .args(["db", "--db"])
        .arg(db.path())
        .args(["import"])
        .arg(fixtures().join("osv"))
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    let all = format!("{}{}", stdout(&output), stderr(&output));
    assert!(
        all.contains("broken.json"),
        "the malformed file is named: {all}"
    );
    assert!(all.contains("RubyGems"), "{all}");
    assert!(all.contains("Packagist"), "{all}");
}

#[test]
fn status_shows_counts_per_ecosystem() {
    let db = fixture_db();
    let output = allclear()
        .args(["db", "--db"])
        .arg(db.path())
        .args(["status", "--format", "json"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let text = json.to_string();
    assert!(text.contains("RubyGems"), "{json:#}");

    let human = allclear()
        .args(["db", "--db"])
        .arg(db.path())
        .args(["status"])
        .output()
        .unwrap();
    assert_eq!(human.status.code(), Some(0));
    assert!(stdout(&human).contains("RubyGems"), "{}", stdout(&human));
}

#[test]
fn a_failed_import_leaves_the_old_database_intact() {
    let db = fixture_db();
    let missing = db.path().join("does-not-exist");
    let output = allclear()
        .args(["db", "--db"])
        .arg(db.path())
        .args(["import"])
        .arg(&missing)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2), "{}", text(&output));
    assert!(
        stderr(&output).contains("does-not-exist"),
        "{}",
        text(&output)
    );
    // The database still answers scans with the advisories imported before.
    let scan = allclear()
        .arg("scan")
        .arg("--db")
        .arg(db.path())
        .arg(fixtures().join("repo"))
        .args(["--format", "json"])
        .output()
        .unwrap();
    assert_eq!(scan.status.code(), Some(1), "{}", text(&scan));
    assert!(stdout(&scan).contains("GHSA-test-rack-0001"));
}

/// Builds an OSV `all.zip` in memory from our fixture records.
fn osv_zip() -> Vec<u8> {
    let mut buffer = std::io::Cursor::new(Vec::new());
    {
        let mut zip = zip::ZipWriter::new(&mut buffer);
        let options = zip::write::SimpleFileOptions::default();
        for name in ["GHSA-test-rack-0001.json", "GHSA-test-rack-0003.json"] {
            zip.start_file(name, options).unwrap();
            zip.write_all(&std::fs::read(fixtures().join("osv").join(name)).unwrap())
                .unwrap();
        }
        zip.finish().unwrap();
    }
    buffer.into_inner()
}

/// A one-file HTTP server on loopback: serves `body` at `/RubyGems/all.zip`, 404 elsewhere.
/// Returns the base URL and the thread (which ends after `requests` requests).
fn serve(body: Vec<u8>, requests: usize) -> (String, std::thread::JoinHandle<Vec<String>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let handle = std::thread::spawn(move || {
        let mut paths = Vec::new();
        for stream in listener.incoming().take(requests) {
            let mut stream = stream.unwrap();
            let mut request = Vec::new();
            let mut chunk = [0u8; 1024];
            while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                let n = stream.read(&mut chunk).unwrap();
                if n == 0 {
                    break;
                }
                request.extend_from_slice(&chunk[..n]);
            }
            let request = String::from_utf8_lossy(&request).into_owned();
            let path = request.split_whitespace().nth(1).unwrap_or("").to_owned();
            let response = if path == "/RubyGems/all.zip" {
                let mut head = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: application/zip\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                )
                .into_bytes();
                head.extend_from_slice(&body);
                head
            } else {
                b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_vec()
            };
            stream.write_all(&response).unwrap();
            paths.push(path);
        }
        paths
    });
    (base, handle)
}

#[test]
fn update_downloads_the_ecosystem_zip_from_the_base_url() {
    let (base, server) = serve(osv_zip(), 1);
    let db = tempfile::tempdir().unwrap();
    let output = allclear()
        .args(["db", "--db"])
        .arg(db.path())
        .args(["update", "--ecosystem", "RubyGems", "--base-url", &base])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    assert_eq!(server.join().unwrap(), ["/RubyGems/all.zip"]);

    let scan = allclear()
        .arg("scan")
        .arg("--db")
        .arg(db.path())
        .arg(fixtures().join("repo/app"))
        .args(["--format", "json"])
        .output()
        .unwrap();
    assert_eq!(scan.status.code(), Some(1), "{}", text(&scan));
    assert!(
        stdout(&scan).contains("GHSA-test-rack-0003"),
        "{}",
        text(&scan)
    );
}

#[test]
fn update_reports_a_server_error_clearly() {
    let (base, server) = serve(Vec::new(), 1);
    let db = tempfile::tempdir().unwrap();
    let output = allclear()
        .args(["db", "--db"])
        .arg(db.path())
        .args(["update", "--ecosystem", "npm", "--base-url", &base])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2), "{}", text(&output));
    assert!(stderr(&output).contains("404"), "{}", text(&output));
    server.join().unwrap();
}

#[test]
fn update_without_ecosystems_downloads_those_of_the_repository() {
    let (base, server) = serve(osv_zip(), 1);
    let db = tempfile::tempdir().unwrap();
    let output = allclear()
        .args(["db", "--db"])
        .arg(db.path())
        .args(["update", "--base-url", &base, "--path"])
        .arg(fixtures().join("repo/app"))
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    // Gemfile.lock is the only lockfile there: only RubyGems is fetched.
    assert_eq!(server.join().unwrap(), ["/RubyGems/all.zip"]);
    assert!(stderr(&output).contains("RubyGems"), "{}", text(&output));
}

#[test]
fn import_refuses_a_hostile_zip_and_keeps_the_old_database() {
    let db = fixture_db();
    let dir = tempfile::tempdir().unwrap();
    let zip_path = dir.path().join("all.zip");
    let mut buffer = std::io::Cursor::new(Vec::new());
    {
        let mut zip = zip::ZipWriter::new(&mut buffer);
        let options = zip::write::SimpleFileOptions::default();
        zip.start_file("../../escape.json", options).unwrap();
        zip.write_all(b"{\"id\": \"X\"}").unwrap();
        zip.finish().unwrap();
    }
    std::fs::write(&zip_path, buffer.into_inner()).unwrap();
    let output = allclear()
        .args(["db", "--db"])
        .arg(db.path())
        .args(["import"])
        .arg(&zip_path)
        .output()
        .unwrap();
    let all = text(&output);
    assert!(
        all.contains("escape.json"),
        "the hostile member is named: {all}"
    );
    assert!(!dir.path().parent().unwrap().join("escape.json").exists());
    let scan = allclear()
        .arg("scan")
        .arg("--db")
        .arg(db.path())
        .arg(fixtures().join("repo"))
        .args(["--format", "json"])
        .output()
        .unwrap();
    assert!(
        stdout(&scan).contains("GHSA-test-rack-0001"),
        "{}",
        text(&scan)
    );
}

/// Issue 19: importing a folder with nothing importable (an empty RubySec checkout, JSON
/// files that are not advisories) exited 0.
#[test]
fn import_of_nothing_importable_is_an_error() {
    let empty_gems = tempfile::tempdir().unwrap();
    std::fs::create_dir(empty_gems.path().join("gems")).unwrap();
    let not_advisories = tempfile::tempdir().unwrap();
    std::fs::write(not_advisories.path().join("x.json"), "{\"a\": 1}").unwrap();
    for source in [empty_gems.path(), not_advisories.path()] {
        let db = tempfile::tempdir().unwrap();
        let output = allclear()
            .args(["db", "--db"])
            .arg(db.path())
            .args(["import"])
            .arg(source)
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(2), "{}", text(&output));
        let err = stderr(&output);
        assert!(err.contains("error: nothing importable in"), "{err}");
        assert!(err.contains("hint: point `allclear db import` at"), "{err}");
    }
}
