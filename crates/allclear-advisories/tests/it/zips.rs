//! OSV zips: import of an `all.zip` as OSV publishes it, hostile archives refused, and
//! `update` against a loopback HTTP server.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Cursor, Write};
use std::net::TcpListener;
use std::path::Path;
use std::sync::{Arc, Mutex};

use allclear_advisories::*;
use allclear_core::Ecosystem;
use zip::write::SimpleFileOptions;

pub fn zip_of(members: &[(&str, Vec<u8>)]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let opts = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    for (name, data) in members {
        w.start_file(*name, opts).unwrap();
        w.write_all(data).unwrap();
    }
    w.finish().unwrap().into_inner()
}

fn record(id: &str, eco: &str, name: &str, fixed: &str) -> Vec<u8> {
    format!(
        r#"{{"id": "{id}", "summary": "s", "affected": [{{"package": {{"ecosystem": "{eco}", "name": "{name}"}},
           "ranges": [{{"type": "ECOSYSTEM", "events": [{{"introduced": "0"}}, {{"fixed": "{fixed}"}}]}}]}}]}}"#
    )
    .into_bytes()
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> std::path::PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

#[test]
fn imports_an_osv_all_zip() {
    let work = tempfile::tempdir().unwrap();
    let mut members: Vec<(String, Vec<u8>)> = (0..2500)
        .map(|i| {
            (
                format!("PYSEC-TEST-{i}.json"),
                record(
                    &format!("PYSEC-TEST-{i}"),
                    "PyPI",
                    &format!("pkg{}", i % 100),
                    "2.0",
                ),
            )
        })
        .collect();
    members.push(("broken.json".into(), b"{".to_vec()));
    members.push(("README.txt".into(), b"not a record".to_vec()));
    let refs: Vec<(&str, Vec<u8>)> = members
        .iter()
        .map(|(n, d)| (n.as_str(), d.clone()))
        .collect();
    let zip = write(work.path(), "all.zip", &zip_of(&refs));
    assert_eq!(detect(&zip).unwrap(), SourceKind::OsvZip);

    let store_dir = work.path().join("db");
    let progress = std::cell::Cell::new(0usize);
    let s = import(&store_dir, &[zip], &|e| {
        if let ImportEvent::Records { done, total, .. } = e {
            assert!(done <= total);
            progress.set(done);
        }
    })
    .unwrap();
    assert_eq!(progress.get(), 2502, "all members looked at");
    let src = &s.sources[0];
    assert_eq!((src.records, src.imported, src.malformed), (2501, 2500, 1));
    assert!(
        src.warnings[0].file.ends_with("all.zip!broken.json"),
        "{}",
        src.warnings[0]
    );
    let store = Store::open(&store_dir).unwrap();
    assert_eq!(store.status().ecosystems[&Ecosystem::PyPI].packages, 100);
    let m = check_package(&store, Ecosystem::PyPI, "PKG7", "1.0").unwrap();
    assert_eq!(m.vulnerabilities.len(), 25);
    assert_eq!(m.fix.as_deref(), Some("2.0"));
}

#[test]
fn hostile_zips_are_refused_and_nothing_is_written() {
    let work = tempfile::tempdir().unwrap();
    let store_dir = work.path().join("db");
    import(&store_dir, &[crate::fixtures::fixture("pypa")], &|_| {}).unwrap();
    let before = std::fs::read(store_dir.join(DB_FILE_NAME)).unwrap();

    let traversal = write(
        work.path(),
        "traversal.zip",
        &zip_of(&[
            ("ok.json", record("A", "npm", "a", "1.0.0")),
            ("../../escape.json", record("B", "npm", "b", "1.0.0")),
        ]),
    );
    let err = import(&store_dir, &[traversal], &|_| {}).unwrap_err();
    assert!(
        matches!(&err, ImportError::Archive { source: ArchiveError::UnsafePath { name }, .. } if name == "../../escape.json"),
        "{err:?}"
    );
    assert!(!work.path().join("escape.json").exists());

    let bomb = write(
        work.path(),
        "bomb.zip",
        &zip_of(&[("bomb.json", vec![b' '; 8 << 20])]),
    );
    let err = import(&store_dir, std::slice::from_ref(&bomb), &|_| {}).unwrap_err();
    assert!(
        matches!(
            &err,
            ImportError::Archive {
                source: ArchiveError::Ratio { .. },
                ..
            }
        ),
        "{err:?}"
    );
    let strict = ImportOptions {
        zip_limits: ZipLimits {
            max_member_bytes: 1 << 20,
            max_ratio: u64::MAX,
            ..ZipLimits::default()
        },
        ..ImportOptions::default()
    };
    let err = import_with(&store_dir, &[SourceInput::new(bomb)], &strict, &|_| {}).unwrap_err();
    assert!(
        matches!(
            &err,
            ImportError::Archive {
                source: ArchiveError::MemberTooLarge { .. },
                ..
            }
        ),
        "{err:?}"
    );

    assert_eq!(std::fs::read(store_dir.join(DB_FILE_NAME)).unwrap(), before);
}

/// A tiny HTTP/1.1 server on 127.0.0.1 serving fixed bodies by path (404 otherwise), one
/// connection at a time, until the test ends. Returns the base URL and the request log.
fn serve(routes: HashMap<String, Vec<u8>>) -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let log = Arc::new(Mutex::new(Vec::new()));
    let log2 = Arc::clone(&log);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut request_line = String::new();
            if reader.read_line(&mut request_line).is_err() {
                continue;
            }
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
            }
            let path = request_line
                .split_whitespace()
                .nth(1)
                .unwrap_or("")
                .to_owned();
            log2.lock().unwrap().push(path.clone());
            let response = match routes.get(&path) {
                Some(body) => {
                    let mut r = format!(
                        "HTTP/1.1 200 OK\r\nContent-Type: application/zip\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                        body.len()
                    )
                    .into_bytes();
                    r.extend_from_slice(body);
                    r
                }
                None => b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                    .to_vec(),
            };
            let _ = stream.write_all(&response);
        }
    });
    (base, log)
}

#[test]
fn update_downloads_and_imports_over_loopback() {
    let pypi = zip_of(&[
        ("PYSEC-1.json", record("PYSEC-1", "PyPI", "Django", "4.2.1")),
        ("PYSEC-2.json", record("PYSEC-2", "PyPI", "flask", "2.0.0")),
    ]);
    let npm = zip_of(&[("GHSA-1.json", record("GHSA-1", "npm", "left-pad", "1.3.0"))]);
    let pypi_len = pypi.len() as u64;
    let routes = HashMap::from([
        ("/PyPI/all.zip".to_owned(), pypi),
        ("/npm/all.zip".to_owned(), npm),
    ]);
    let (base, log) = serve(routes);
    let dir = tempfile::tempdir().unwrap();
    import(dir.path(), &[crate::fixtures::fixture("rustsec")], &|_| {}).unwrap();

    let opts = UpdateOptions {
        base_url: format!("{base}/"),
        ecosystems: vec![Ecosystem::PyPI, Ecosystem::Npm],
        ..UpdateOptions::default()
    };
    let last = std::cell::RefCell::new(HashMap::new());
    let s = update(dir.path(), &opts, &|e| {
        if let UpdateEvent::Download {
            ecosystem,
            done,
            total,
            ..
        } = e
        {
            last.borrow_mut().insert(ecosystem, (done, total));
        }
    })
    .unwrap();
    assert_eq!(
        last.borrow().get(&Ecosystem::PyPI),
        Some(&(pypi_len, Some(pypi_len)))
    );
    assert_eq!(
        *log.lock().unwrap(),
        vec!["/PyPI/all.zip".to_owned(), "/npm/all.zip".to_owned()]
    );
    assert_eq!(s.sources.len(), 2);
    assert_eq!(s.sources[0].location, format!("{base}/PyPI/all.zip"));
    assert_eq!(s.kept.len(), 1, "the RustSec import is kept");

    let store = Store::open(dir.path()).unwrap();
    let m = check_package(&store, Ecosystem::PyPI, "django", "4.2").unwrap();
    assert_eq!(m.fix.as_deref(), Some("4.2.1"));
    assert_eq!(store.status().sources.len(), 3);
    drop(store);

    // A second update replaces the downloads instead of adding to them.
    update(dir.path(), &opts, &|_| {}).unwrap();
    let store = Store::open(dir.path()).unwrap();
    assert_eq!(store.status().sources.len(), 3);
    assert_eq!(store.status().ecosystems[&Ecosystem::PyPI].advisories, 2);
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        names,
        vec![DB_FILE_NAME.to_owned()],
        "no temporary files left"
    );
}

#[test]
fn update_errors_leave_the_store_alone() {
    let (base, _log) = serve(HashMap::from([(
        "/PyPI/all.zip".to_owned(),
        zip_of(&[("PYSEC-1.json", record("PYSEC-1", "PyPI", "x", "1.0"))]),
    )]));
    let dir = tempfile::tempdir().unwrap();
    import(dir.path(), &[crate::fixtures::fixture("pypa")], &|_| {}).unwrap();
    let before = std::fs::read(dir.path().join(DB_FILE_NAME)).unwrap();

    let not_found = UpdateOptions {
        base_url: base.clone(),
        ecosystems: vec![Ecosystem::PyPI, Ecosystem::Go],
        ..UpdateOptions::default()
    };
    let err = update(dir.path(), &not_found, &|_| {}).unwrap_err();
    assert!(matches!(err, UpdateError::Http { .. }), "{err}");
    assert!(err.to_string().contains("/Go/all.zip"));

    let too_large = UpdateOptions {
        base_url: base,
        ecosystems: vec![Ecosystem::PyPI],
        max_download_bytes: 10,
        ..UpdateOptions::default()
    };
    let err = update(dir.path(), &too_large, &|_| {}).unwrap_err();
    assert!(
        matches!(err, UpdateError::TooLarge { max: 10, .. }),
        "{err}"
    );

    let ruby = UpdateOptions {
        ecosystems: vec![Ecosystem::Ruby],
        ..UpdateOptions::default()
    };
    assert!(matches!(
        update(dir.path(), &ruby, &|_| {}),
        Err(UpdateError::NoOsvData(Ecosystem::Ruby))
    ));

    assert_eq!(
        std::fs::read(dir.path().join(DB_FILE_NAME)).unwrap(),
        before
    );
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
}

#[test]
fn default_update_targets_osv() {
    let o = UpdateOptions::default();
    assert_eq!(o.base_url, DEFAULT_OSV_BASE);
    assert!(!o.ecosystems.contains(&Ecosystem::Ruby));
    assert!(o.ecosystems.contains(&Ecosystem::CratesIo));
    assert_eq!(
        osv_zip_url(DEFAULT_OSV_BASE, Ecosystem::CratesIo),
        "https://osv-vulnerabilities.storage.googleapis.com/crates.io/all.zip"
    );
}
