//! The engine never panics, whatever the file holds.

use proptest::prelude::*;

fn engine() -> &'static allclear_sast::Engine {
    static ENGINE: std::sync::OnceLock<allclear_sast::Engine> = std::sync::OnceLock::new();
    ENGINE.get_or_init(|| allclear_sast::Engine::builtin().unwrap())
}

const PATHS: &[&str] = &[
    "app/controllers/a_controller.rb",
    "app/views/a/show.html.erb",
    "web/modules/custom/m/src/Controller/A.php",
    "web/themes/custom/t/templates/a.html.twig",
    "web/modules/custom/m/m.routing.yml",
    "composer.json",
    "m.info",
];

/// Fragments of real syntax, so that generated files reach deep into the parsers and the
/// flow analysis rather than failing at the first byte.
const PIECES: &[&str] = &[
    "def a\n",
    "end\n",
    "params[:q]",
    "User.where(\"x = #{",
    "}\")",
    "<%= ",
    "<%== ",
    " %>",
    "<?php ",
    "$x = $_GET['a'];",
    "db_query('SELECT ' . $x);",
    "{{ ",
    "|raw }}",
    "{% if %}",
    "x = y\n",
    "(",
    ")",
    "'",
    "\"",
    "#{",
    "`",
    "/",
    "->",
    "::",
    "['#markup' => $x]",
    "path: '/a/delete'\n",
    "requirements:\n  _access: 'TRUE'\n",
    "\n",
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn never_panics_on_bytes(path in prop::sample::select(PATHS), bytes in prop::collection::vec(any::<u8>(), 0..2000)) {
        let engine = engine();
        if let Some(scan) = engine.scan_file(path, &bytes) {
            let _ = engine.finish(vec![scan], allclear_sast::Confidence::Weak);
        }
    }

    #[test]
    fn never_panics_on_code_like_input(path in prop::sample::select(PATHS), pieces in prop::collection::vec(prop::sample::select(PIECES), 0..200)) {
        let engine = engine();
        let text = pieces.concat();
        if let Some(scan) = engine.scan_file(path, text.as_bytes()) {
            let _ = engine.finish(vec![scan], allclear_sast::Confidence::Weak);
        }
    }

    #[test]
    fn twig_split_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..2000)) {
        if let Ok(tags) = allclear_sast::template::split_twig(&bytes) {
            for tag in tags {
                prop_assert!(tag.inner.end <= bytes.len());
            }
        }
    }
}

#[test]
fn deeply_nested_code_does_not_overflow_the_stack() {
    let engine = engine();
    let mut ruby = String::from("def a\n  x = ");
    ruby.push_str(&"(".repeat(5000));
    ruby.push_str("params[:q]");
    ruby.push_str(&")".repeat(5000));
    ruby.push_str("\n  User.where(\"a = #{x}\")\nend\n");
    let scan = engine
        .scan_file("app/models/a.rb", ruby.as_bytes())
        .unwrap();
    let _ = engine.finish(vec![scan], allclear_sast::Confidence::Weak);
    let mut chain = String::from("def a\n  a0 = params[:q]\n");
    for i in 1..2000 {
        chain.push_str(&format!("  a{i} = a{} + a{}\n", i - 1, i - 1));
    }
    chain.push_str("  User.where(\"x = #{a1999}\")\nend\n");
    let scan = engine
        .scan_file("app/models/b.rb", chain.as_bytes())
        .unwrap();
    let outcome = engine.finish(vec![scan], allclear_sast::Confidence::Weak);
    assert_eq!(outcome.findings.len(), 1, "{:?}", outcome.findings);
}
