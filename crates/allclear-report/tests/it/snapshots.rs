//! Every format on the sample report, as committed snapshots under `tests/snapshots/`.

use allclear_report::{Format, RenderOptions};

use crate::{options, rendered, sample};

fn snapshot(name: &str, text: &str) {
    insta::with_settings!({ snapshot_path => "../snapshots", prepend_module_to_snapshot => false }, {
        insta::assert_snapshot!(name, text);
    });
}

#[test]
fn human() {
    snapshot(
        "human",
        &rendered(&sample::report(), Format::Human, &options()),
    );
}

#[test]
fn human_wrapped_to_a_narrow_terminal() {
    let text = rendered(
        &sample::report(),
        Format::Human,
        &RenderOptions {
            width: Some(64),
            ..options()
        },
    );
    // Commands are never wrapped (they are copied and pasted), nor is the one summary line.
    let body = text.split("upgrade with:").next().unwrap_or_default();
    assert!(body.len() < text.len(), "no upgrade commands:\n{text}");
    for line in body.lines() {
        // Only a single word longer than the terminal may overflow it.
        if line.chars().count() > 64 {
            assert!(
                !line.trim().contains(' ') || line.contains("http"),
                "too wide: {line:?}"
            );
        }
    }
    snapshot("human_width_64", &text);
}

#[test]
fn human_colour_only_adds_emphasis() {
    let report = sample::report();
    let plain = rendered(&report, Format::Human, &options());
    let coloured = rendered(
        &report,
        Format::Human,
        &RenderOptions {
            color: true,
            ..options()
        },
    );
    assert!(coloured.contains("\x1b["), "no colour in coloured output");
    assert!(!plain.contains('\x1b'), "escape codes without colour");
    assert_eq!(strip_ansi(&coloured), plain);
}

/// Removes `ESC [ … letter` sequences, the only kind the renderer writes.
fn strip_ansi(text: &str) -> String {
    let mut out = String::new();
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[test]
fn human_all_clear() {
    let text = rendered(&sample::clean(), Format::Human, &options());
    assert_eq!(text, "all clear: no findings in 14 files\n");
    let text = rendered(
        &sample::clean(),
        Format::Human,
        &RenderOptions {
            scanned: None,
            ..options()
        },
    );
    assert_eq!(text, "all clear: no findings\n");
}

#[test]
fn human_never_says_all_clear_when_an_input_failed() {
    let mut report = sample::clean();
    report.add_error(allclear_core::RunError {
        path: "Gemfile.lock".to_owned(),
        line: None,
        message: "not UTF-8".to_owned(),
    });
    let text = rendered(&report, Format::Human, &options());
    assert!(!text.contains("all clear"), "{text}");
    assert!(text.contains("error: Gemfile.lock: not UTF-8"), "{text}");
    assert!(
        text.ends_with(
            "no findings in 14 files — 1 input could not be checked, so this run fails\n"
        ),
        "{text}"
    );
}

#[test]
fn human_passes_below_the_threshold() {
    let mut report = sample::report();
    report.errors.clear();
    report
        .findings
        .retain(|f| f.severity < allclear_core::Severity::High);
    report.refresh_summary();
    let text = rendered(&report, Format::Human, &options());
    let last = text.lines().last().unwrap_or_default();
    assert!(
        last.ends_with("none at or above high, so this run passes"),
        "{last}"
    );
}

#[test]
fn json() {
    let text = rendered(&sample::report(), Format::Json, &options());
    snapshot("json", &text);
    // The output is the report itself: it reads back into an equal `Report`.
    let back: allclear_core::Report = match serde_json::from_str(&text) {
        Ok(report) => report,
        Err(err) => panic!("JSON output does not read back: {err}"),
    };
    let mut expected = sample::report();
    // The fingerprint key is not serialized; compare what is.
    let strip = |r: &allclear_core::Report| serde_json::to_value(r).unwrap_or_default();
    assert_eq!(strip(&back), strip(&expected));
    expected.findings.clear();
    assert_ne!(strip(&back), strip(&expected));
}

#[test]
fn sarif() {
    snapshot(
        "sarif",
        &rendered(&sample::report(), Format::Sarif, &options()),
    );
}

#[test]
fn markdown() {
    snapshot(
        "markdown",
        &rendered(&sample::report(), Format::Markdown, &options()),
    );
}

#[test]
fn markdown_all_clear() {
    let text = rendered(&sample::clean(), Format::Markdown, &options());
    assert!(text.starts_with("## ✅ allclear: all clear\n"), "{text}");
    assert!(!text.contains("| Severity"), "an empty table: {text}");
}

#[test]
fn every_format_is_deterministic() {
    for format in allclear_report::Format::ALL {
        let a = rendered(&sample::report(), format, &options());
        let b = rendered(&sample::report(), format, &options());
        assert_eq!(a, b, "{format} differs between two renders");
    }
}
