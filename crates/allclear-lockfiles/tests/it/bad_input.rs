//! Malformed, truncated, binary and oversized input: an error naming the file (and the line
//! where there is one), never a panic or a hang.

use allclear_lockfiles::{FileKind, MAX_INPUT_BYTES, parse};

use crate::fixtures::fixture;

fn error(kind: FileKind, path: &str, content: &[u8]) -> allclear_lockfiles::ParseError {
    match parse(kind, path, content) {
        Ok(lock) => panic!("{path}: expected an error, got {:?}", lock.packages),
        Err(e) => e,
    }
}

#[test]
fn oversized_input_is_refused_before_parsing() {
    let big = vec![b' '; MAX_INPUT_BYTES + 1];
    let e = error(FileKind::NpmLock, "package-lock.json", &big);
    assert_eq!(e.path, "package-lock.json");
    assert!(e.message.contains("MiB limit"), "{}", e.message);
}

#[test]
fn binary_and_invalid_utf8_are_refused() {
    let e = error(
        FileKind::GemfileLock,
        "Gemfile.lock",
        b"GEM\n  specs:\n\x00\x01\x02",
    );
    assert_eq!(e.line, Some(3));
    assert!(e.to_string().starts_with("Gemfile.lock:3: "), "{e}");
    let e = error(FileKind::CargoLock, "Cargo.lock", b"version = 3\n\xc3\x28");
    assert_eq!(e.line, Some(2));
    assert!(e.message.contains("UTF-8"));
}

#[test]
fn truncated_json_points_at_the_end() {
    let full = fixture("package-lock.v3.json");
    let cut = full.get(..full.len() / 2).unwrap();
    let e = error(FileKind::NpmLock, "package-lock.json", cut);
    let last_line = u32::try_from(cut.iter().filter(|b| **b == b'\n').count() + 1).unwrap();
    assert_eq!(e.line, Some(last_line), "{e}");
}

#[test]
fn wrong_types_in_an_entry_point_at_the_entry() {
    let text = "{\n  \"packages\": [\n    {\"name\": \"a/b\", \"version\": \"1.0\"},\n    {\"name\": \"c/d\",\n     \"version\": 7}\n  ]\n}\n";
    let e = error(FileKind::ComposerLock, "composer.lock", text.as_bytes());
    assert_eq!(e.line, Some(5), "{e}");
}

#[test]
fn malformed_text_formats_name_the_line() {
    let cases: &[(FileKind, &str, &str, u32)] = &[
        (
            FileKind::GemfileLock,
            "Gemfile.lock",
            "GEM\n  remote: https://rubygems.org/\n  specs:\n    rack (2.0.1\n",
            4,
        ),
        (
            FileKind::GemfileLock,
            "Gemfile.lock",
            "GEM\n  specs:\n<<<<<<< HEAD\n    rack (2.0.1)\n",
            3,
        ),
        (
            FileKind::YarnLock,
            "yarn.lock",
            "# yarn lockfile v1\n\nleft-pad@^1.0.0:\n  resolved \"x\"\n\nchalk@^2:\n  version \"2.0.0\"\n",
            3,
        ),
        (
            FileKind::GoMod,
            "go.mod",
            "module m\n\nrequire (\n\texample.com/a\n)\n",
            4,
        ),
        (
            FileKind::GoMod,
            "go.mod",
            "module m\nrequire (\n\ta v1\n",
            2,
        ),
        (
            FileKind::CargoLock,
            "Cargo.lock",
            "version = 3\n\n[[package]]\nname = \"a\"\nversion = \n",
            5,
        ),
        (
            FileKind::PnpmLock,
            "pnpm-lock.yaml",
            "lockfileVersion: '6.0'\npackages:\n  /a@1.0.0:\n    dev: [\n",
            4,
        ),
        (
            FileKind::YarnLock,
            "yarn.lock",
            "__metadata:\n  version: 6\n\n\"a@npm:^1\":\n  version: 1.0.0\n",
            4,
        ),
    ];
    for (kind, path, text, line) in cases {
        let e = error(*kind, path, text.as_bytes());
        assert_eq!(e.path, *path);
        assert_eq!(e.line, Some(*line), "{path}: {e}");
    }
}

#[test]
fn garbage_is_not_silently_accepted_by_line_formats() {
    let noise = b"Lorem ipsum dolor sit amet\nconsectetur adipiscing elit\n";
    for (kind, path) in [
        (FileKind::GemfileLock, "Gemfile.lock"),
        (FileKind::GoMod, "go.mod"),
        (FileKind::YarnLock, "yarn.lock"),
        (FileKind::NpmLock, "package-lock.json"),
        (FileKind::ComposerLock, "composer.lock"),
        (FileKind::CargoLock, "Cargo.lock"),
        (FileKind::PnpmLock, "pnpm-lock.yaml"),
        (FileKind::PoetryLock, "poetry.lock"),
        (FileKind::UvLock, "uv.lock"),
        (FileKind::PipfileLock, "Pipfile.lock"),
    ] {
        let e = error(kind, path, noise);
        assert!(e.to_string().starts_with(path), "{e}");
    }
}

#[test]
fn deep_nesting_is_an_error_not_a_stack_overflow() {
    let depth = 5000;
    let mut text = String::from("{\"lockfileVersion\":1,\"dependencies\":");
    for _ in 0..depth {
        text.push_str("{\"a\":{\"version\":\"1.0.0\",\"dependencies\":");
    }
    text.push_str("{}");
    for _ in 0..depth {
        text.push_str("}}");
    }
    text.push('}');
    let e = error(FileKind::NpmLock, "package-lock.json", text.as_bytes());
    assert!(
        e.message.contains("deep") || e.message.contains("recursion"),
        "{e}"
    );
}

/// A yarn.lock cut off inside a quoted value used to give an entry with version `"4.17.`
/// and then "all clear".
#[test]
fn truncated_yarn_entry_names_the_line() {
    let text = "# yarn lockfile v1\n\n\nlodash@^4.17.0:\n  version \"4.17.";
    let e = error(FileKind::YarnLock, "yarn.lock", text.as_bytes());
    assert_eq!(e.line, Some(5), "{e}");
    assert!(e.message.contains("truncated"), "{e}");
    let text = "lodash@^4.17.0:\n  version \"\n";
    assert_eq!(
        error(FileKind::YarnLock, "yarn.lock", text.as_bytes()).line,
        Some(2)
    );
}
