//! An AIDE configuration drives init and check like allclear.toml does.

use allclear_fim::aide::{AideError, AideOptions, parse_aide_config};
use allclear_fim::{Attr, ChangeKind, FileKind};

use crate::{Setup, fixtures};

#[test]
fn aide_conf_selection_drives_a_check() {
    let mut config =
        parse_aide_config(&fixtures().join("aide/aide.conf"), &AideOptions::default()).unwrap();
    let etc = config.rule_for(b"/etc/passwd", FileKind::File).unwrap();
    assert!(etc.attrs.contains(Attr::Sha512));
    assert!(config.rule_for(b"/etc/mtab", FileKind::File).is_none());
    assert!(
        config
            .rule_for(b"/var/log/syslog.1.gz", FileKind::File)
            .is_none()
    );
    let web_dir = config.rule_for(b"/var/www/site", FileKind::Dir).unwrap();
    assert_eq!(web_dir.attrs.to_string(), "perms+owner+group");
    assert!(
        config
            .rule_for(b"/var/www/cache/x", FileKind::File)
            .is_none()
    );
    assert!(
        config
            .rule_for(b"/var/www/site/index.php", FileKind::File)
            .unwrap()
            .name
            .ends_with("web.conf:2")
    );

    let s = Setup::new();
    s.write("usr/bin/tool", "tool");
    s.write("etc/passwd", "root:x:0:0\n");
    s.write("etc/mtab", "proc /proc\n");
    s.write("var/log/syslog", "boot\n");
    s.write("var/www/site/index.php", "<?php echo 1;\n");
    s.write("var/www/cache/page", "cached\n");
    s.write("home/user/notes", "not watched\n");
    config.root = s.tree.path().to_owned();
    allclear_fim::init(&config, &s.baseline(), false, None).unwrap();
    let baseline = allclear_fim::Baseline::read(&s.baseline()).unwrap();
    let paths: Vec<String> = baseline.entries.iter().map(|e| e.display_path()).collect();
    assert!(paths.contains(&"/usr/bin/tool".to_owned()), "{paths:?}");
    assert!(
        !paths
            .iter()
            .any(|p| p.starts_with("/home") || p == "/etc/mtab" || p.starts_with("/var/www/cache"))
    );

    s.write("var/log/syslog", "boot\nmore\n");
    s.write("var/www/site/index.php", "<?php system($_GET['c']);\n");
    s.write("etc/mtab", "changed but excluded\n");
    s.write("home/user/notes", "changed but not watched\n");
    let outcome = crate::check(&config, &s.baseline());
    let changed: Vec<(String, ChangeKind)> = outcome
        .changes
        .iter()
        .map(|c| (c.display_path(), c.kind))
        .collect();
    assert_eq!(
        changed,
        vec![("/var/www/site/index.php".to_owned(), ChangeKind::Changed)]
    );
}

#[test]
fn errors_in_included_files_name_that_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("aide.conf"),
        "/etc R\n@@include extra.conf\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("extra.conf"), "# fine\n/usr p+u+g+rmd160\n").unwrap();
    let err =
        parse_aide_config(&dir.path().join("aide.conf"), &AideOptions::default()).unwrap_err();
    assert!(matches!(err, AideError::Unsupported { line: 2, .. }));
    let message = err.to_string();
    assert!(
        message.contains("extra.conf:2:") && message.contains("rmd160"),
        "{message}"
    );
}
