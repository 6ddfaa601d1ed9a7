//! What `allclear scan` reads and writes: tracked files that `.gitignore` lists, the staged
//! and history sources, baselines, and `-o` files that are not plain files.

use crate::secrets::{TOKEN, git, paths, repo, scan};

#[test]
fn tracked_files_that_gitignore_lists_are_scanned() {
    let dir = repo();
    let root = dir.path();
    std::fs::write(root.join(".gitignore"), "config/\n.env\n").unwrap();
    std::fs::create_dir(root.join("config")).unwrap();
    std::fs::write(root.join("config/master.env"), format!("T={TOKEN}\n")).unwrap();
    std::fs::write(root.join(".env"), format!("T={TOKEN}\n")).unwrap();
    git(
        root,
        &["add", "-f", ".gitignore", ".env", "config/master.env"],
    );
    git(
        root,
        &["commit", "-q", "-m", "committed despite .gitignore"],
    );
    // Ignored and untracked: stays out, as does what the policy excludes.
    std::fs::write(root.join("config/local.env"), format!("T={TOKEN}\n")).unwrap();
    std::fs::create_dir(root.join("vendor")).unwrap();
    std::fs::write(root.join("vendor/.env"), format!("T={TOKEN}\n")).unwrap();
    git(root, &["add", "-f", "vendor/.env"]);
    std::fs::write(
        root.join("allclear.toml"),
        "[scan]\nexclude = [\"vendor/\"]\n",
    )
    .unwrap();

    let (code, json, out) = scan(root, &["--only", "secrets"]);
    assert_eq!(code, 1, "{out}");
    let mut found = paths(&json);
    found.sort();
    assert_eq!(found, [".env", "config/master.env"], "{out}");

    // From a subdirectory of the work tree, paths stay relative to the scanned root.
    let (_, json, out) = scan(&root.join("config"), &["--only", "secrets"]);
    assert!(paths(&json).contains(&"master.env".to_owned()), "{out}");

    // --no-ignore reads everything except what the policy excludes.
    let (_, json, out) = scan(root, &["--only", "secrets", "--no-ignore"]);
    let mut found = paths(&json);
    found.sort();
    assert_eq!(
        found,
        [".env", "config/local.env", "config/master.env"],
        "{out}"
    );
}
