//! `allclear rules …`: every rule allclear reports, documented (list, explain, the generated
//! reference in docs/rules/), and the secret rules' self-check.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use std::sync::OnceLock;

use allclear_core::RuleDoc;
use anyhow::Context;

use crate::cli::{DocsArgs, ExplainArgs, GlobalArgs, ListArgs, OutputFormat};
use crate::output;

/// Every documented rule, capability by capability, in the order `rules list` shows them.
/// A new capability adds its `rule_docs()` here and nowhere else.
pub fn registry() -> Vec<RuleDoc> {
    allclear_deps::rule_docs()
        .chain(allclear_secrets::rule_docs())
        .chain(code_rule_docs().iter().copied())
        .chain(allclear_fim::rule_docs())
        .chain(allclear_logs::rule_docs())
        .chain(audit_rule_docs().iter().copied())
        .chain(allclear_core::rule_docs())
        .collect()
}

/// The docs of the rules `findings` name, for the renderers (SARIF's rule help, the human
/// report's `see:` lines). The code rules' docs are built only when a code finding is there:
/// reading them compiles the code rules, which cost a dependency-only scan more than the
/// audit itself (callgrind: 25 M of 61 M instructions on uv's Cargo.lock).
pub fn docs_for(findings: &[allclear_core::Finding]) -> Vec<RuleDoc> {
    let named: std::collections::HashSet<&str> = findings
        .iter()
        .map(|f| f.rule.split('/').next().unwrap_or(&f.rule))
        .collect();
    if named.is_empty() {
        return Vec::new();
    }
    let code = named.iter().any(|rule| rule.starts_with("code."));
    let mut docs = without_code();
    if code {
        docs.extend(code_rule_docs().iter().copied());
    }
    docs.retain(|doc| named.contains(doc.id));
    docs
}

/// Every rule id a policy may name. The code rules' ids are read (which compiles them) only
/// when `with_code` says a code rule is named (the policy text mentions `code.`).
pub fn known_ids(with_code: bool) -> Vec<&'static str> {
    let mut ids: Vec<&'static str> = without_code().iter().map(|doc| doc.id).collect();
    if with_code {
        ids.extend(code_rule_docs().iter().map(|doc| doc.id));
    }
    ids
}

/// The registry without the code rules (cheap: static docs).
fn without_code() -> Vec<RuleDoc> {
    allclear_deps::rule_docs()
        .chain(allclear_secrets::rule_docs())
        .chain(allclear_fim::rule_docs())
        .chain(allclear_logs::rule_docs())
        .chain(audit_rule_docs().iter().copied())
        .chain(allclear_core::rule_docs())
        .collect()
}

/// The code rules' docs: their text lives in the rules' embedded YAML, so it is read at run
/// time and converted once per process. The strings are leaked on purpose: a bounded,
/// one-time allocation for the built-in rules only (user rules are not listed here).
fn code_rule_docs() -> &'static [RuleDoc] {
    static DOCS: OnceLock<Vec<RuleDoc>> = OnceLock::new();
    DOCS.get_or_init(|| {
        allclear_sast::rule_docs()
            .into_iter()
            .map(|(id, title, severity, docs)| RuleDoc {
                id: leak(id),
                severity,
                severity_note: "",
                title: leak(title),
                what: leak(docs.what),
                why: leak(docs.why),
                example: leak(docs.example),
                fix: leak(docs.fix),
            })
            .collect()
    })
}

/// The host-audit baseline's checks, whose findings carry `audit.baseline.<check>`; their
/// CIS, NIST 800-53 and HIPAA ids are added to the text. (Rules of SCA policies loaded with
/// `--policy` are documented by their policy files.)
fn audit_rule_docs() -> &'static [RuleDoc] {
    static DOCS: OnceLock<Vec<RuleDoc>> = OnceLock::new();
    DOCS.get_or_init(|| {
        allclear_audit::rule_docs()
            .into_iter()
            .map(|doc| {
                let mut mapped = Vec::new();
                for (framework, ids) in [
                    ("CIS Debian 12", doc.cis),
                    ("NIST 800-53", doc.nist_800_53),
                    ("HIPAA", doc.hipaa),
                ] {
                    if !ids.is_empty() {
                        mapped.push(format!("{framework}: {}", ids.join(", ")));
                    }
                }
                let why = match mapped.is_empty() {
                    true => doc.why.to_owned(),
                    false => format!("{} ({})", doc.why, mapped.join("; ")),
                };
                RuleDoc {
                    id: leak(format!("audit.baseline.{}", doc.id)),
                    severity: allclear_core::Severity::Medium,
                    severity_note: "",
                    title: doc.title,
                    what: doc.what,
                    why: leak(why),
                    example: doc.example,
                    fix: doc.fix,
                }
            })
            .collect()
    })
}

fn leak(text: String) -> &'static str {
    Box::leak(text.into_boxed_str())
}

/// The first line of every generated page: what made it, and that it is not edited by hand.
/// `rules docs` only ever deletes pages that start with it.
const GENERATED: &str = "<!-- generated by `allclear rules docs docs/rules`: edit the rule's documentation in the code -->";

/// Runs every secret rule against its own examples, and checks that every rule of every
/// capability is documented. CI runs this so a broken rule fails the build.
pub fn check() -> anyhow::Result<u8> {
    let mut failures: Vec<(String, String)> = allclear_secrets::check_rules()
        .into_iter()
        .map(|f| (f.rule, f.message))
        .collect();
    failures.extend(
        allclear_sast::check_rules()
            .into_iter()
            .map(|f| (f.rule, f.message)),
    );
    let rules = allclear_secrets::rules().len() + code_rule_docs().len();
    let docs = registry();
    let doc_problems = allclear_core::check_rule_docs(&docs);
    let mut out = std::io::stdout().lock();
    for (rule, message) in &failures {
        writeln!(out, "{rule}: {message}")?;
    }
    for problem in &doc_problems {
        writeln!(out, "{problem}")?;
    }
    if failures.is_empty() && doc_problems.is_empty() {
        writeln!(
            out,
            "all {rules} secret and code rules hold on their examples; all {} rules are documented",
            docs.len()
        )?;
        Ok(0)
    } else {
        if !failures.is_empty() {
            writeln!(
                out,
                "{} of the examples of {rules} rules failed",
                failures.len()
            )?;
        }
        if !doc_problems.is_empty() {
            writeln!(
                out,
                "{} problems in the rules' documentation",
                doc_problems.len()
            )?;
        }
        Ok(1)
    }
}

/// One line per rule: id, severity, title.
pub fn list(args: &ListArgs) -> anyhow::Result<u8> {
    let docs = registry();
    let selected: Vec<&RuleDoc> = match &args.capability {
        None => docs.iter().collect(),
        Some(wanted) => {
            let wanted = wanted.trim().to_ascii_lowercase();
            let capabilities = capabilities(&docs);
            if !capabilities.contains(&wanted.as_str()) {
                let message = format!("unknown capability `{wanted}`");
                let hint = match allclear_core::closest_name(&wanted, &capabilities) {
                    Some(close) => format!("did you mean `{close}`?"),
                    None => format!("capabilities are {}", capabilities.join(", ")),
                };
                return Err(output::hinted(message, hint));
            }
            docs.iter()
                .filter(|doc| doc.capability() == wanted)
                .collect()
        }
    };
    let mut out = std::io::stdout().lock();
    match args.format {
        OutputFormat::Human => {
            let width = selected.iter().map(|doc| doc.id.len()).max().unwrap_or(0);
            for doc in &selected {
                writeln!(
                    out,
                    "{:<width$}  {:<8}  {}",
                    doc.id,
                    doc.severity.as_str(),
                    doc.title
                )?;
            }
        }
        OutputFormat::Json => {
            let rules: Vec<serde_json::Value> = selected.iter().map(|doc| rule_json(doc)).collect();
            let json = serde_json::json!({ "rules": rules });
            writeln!(out, "{}", serde_json::to_string_pretty(&json)?)?;
        }
        other => {
            return Err(output::hinted(
                format!("`rules list` has no {other:?} format"),
                "use --format human or --format json",
            ));
        }
    }
    Ok(0)
}

/// One rule in `rules list --format json`: the documentation plus its capability and page.
fn rule_json(doc: &RuleDoc) -> serde_json::Value {
    let mut value = serde_json::to_value(doc).unwrap_or_default();
    if let Some(object) = value.as_object_mut() {
        object.insert("capability".into(), doc.capability().into());
        object.insert("url".into(), doc.url().into());
    }
    value
}

/// The capabilities that have rules, in registry order.
fn capabilities(docs: &[RuleDoc]) -> Vec<&'static str> {
    let mut seen: Vec<&'static str> = Vec::new();
    for doc in docs {
        if !seen.contains(&doc.capability()) {
            seen.push(doc.capability());
        }
    }
    seen
}

/// Prints one rule's documentation; an unknown id is an error with the closest id.
pub fn explain(args: &ExplainArgs) -> anyhow::Result<u8> {
    let docs = registry();
    let doc = find(&docs, &args.id)?;
    let mut out = std::io::stdout().lock();
    write!(out, "{}", doc.to_text())?;
    writeln!(out, "\nreference: {}", doc.url())?;
    Ok(0)
}

/// The rule `id` names: exactly, in any case, or as a SARIF rule id (`RULE/ADVISORY`).
fn find<'a>(docs: &'a [RuleDoc], id: &str) -> anyhow::Result<&'a RuleDoc> {
    let id = id.trim();
    let rule = id.split_once('/').map_or(id, |(rule, _)| rule);
    if let Some(doc) = docs.iter().find(|doc| doc.id.eq_ignore_ascii_case(rule)) {
        return Ok(doc);
    }
    let ids: Vec<&str> = docs.iter().map(|doc| doc.id).collect();
    let message = format!("no rule `{id}`");
    Err(
        match allclear_core::closest_name(&rule.to_ascii_lowercase(), &ids) {
            Some(close) => output::hinted(message, format!("did you mean `{close}`?")),
            None => output::hinted(message, "`allclear rules list` shows every rule id"),
        },
    )
}

/// Writes the rule reference to `DIR`: `README.md` (every rule, by capability) and one page
/// per rule. Pages this command wrote earlier for rules that no longer exist are removed.
pub fn docs(global: &GlobalArgs, args: &DocsArgs) -> anyhow::Result<u8> {
    let pages = reference(&registry());
    fs_err::create_dir_all(&args.dir)?;
    remove_stale_pages(&args.dir, &pages)?;
    for (name, text) in &pages {
        output::write_atomically(&args.dir.join(name), text.as_bytes())?;
    }
    global.note(format_args!(
        "wrote {} pages to {}",
        pages.len(),
        args.dir.display()
    ));
    Ok(0)
}

fn remove_stale_pages(dir: &Path, pages: &BTreeMap<String, String>) -> anyhow::Result<()> {
    for entry in fs_err::read_dir(dir)? {
        let path = entry?.path();
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        if !name.ends_with(".md") || pages.contains_key(name) || !path.is_file() {
            continue;
        }
        let text = fs_err::read_to_string(&path)?;
        if text.starts_with(GENERATED) {
            fs_err::remove_file(&path)
                .with_context(|| format!("removing the stale page {}", path.display()))?;
        }
    }
    Ok(())
}

/// The generated reference: file name → Markdown.
pub fn reference(docs: &[RuleDoc]) -> BTreeMap<String, String> {
    let mut pages = BTreeMap::new();
    let mut index = format!(
        "{GENERATED}\n# Rules\n\nEvery rule allclear reports, by capability. `allclear rules \
         explain ID` prints the same text in a terminal; findings carry the rule's id, and \
         SARIF output links each rule to its page here.\n"
    );
    for capability in capabilities(docs) {
        index.push_str(&format!(
            "\n## {capability}\n\n| rule | severity | what it finds |\n|---|---|---|\n"
        ));
        for doc in docs.iter().filter(|doc| doc.capability() == capability) {
            let page = RuleDoc::page_name(doc.id);
            index.push_str(&format!(
                "| [`{}`]({page}) | {} | {} |\n",
                doc.id,
                doc.severity_text(),
                doc.title.replace('|', "\\|")
            ));
            pages.insert(page, rule_page(doc));
        }
    }
    pages.insert("README.md".to_owned(), index);
    pages
}

fn rule_page(doc: &RuleDoc) -> String {
    format!(
        "{GENERATED}\n# `{}`: {}\n\nCapability: {} · [all rules](README.md) · in a terminal: \
         `allclear rules explain {}`\n\n{}",
        doc.id,
        doc.title,
        doc.capability(),
        doc.id,
        doc.to_markdown()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_registry_is_complete_and_well_formed() {
        let docs = registry();
        let problems = allclear_core::check_rule_docs(&docs);
        assert!(problems.is_empty(), "{problems:#?}");
        for id in [
            "deps.vulnerable",
            "secrets.github-token",
            "secrets.env-file",
            "restricted.ssh-private-key",
            "personal.unsanitized-data",
            "fim.changed",
            "logs.ban",
            "policy.ignore-expired",
        ] {
            assert!(
                docs.iter().any(|doc| doc.id == id),
                "{id} is not documented"
            );
        }
    }

    #[test]
    fn find_accepts_any_case_and_sarif_ids_and_suggests_the_closest() {
        let docs = registry();
        assert_eq!(
            find(&docs, "Deps.Vulnerable").unwrap().id,
            "deps.vulnerable"
        );
        assert_eq!(
            find(&docs, "deps.vulnerable/GHSA-wq4h-7r42-5hrr")
                .unwrap()
                .id,
            "deps.vulnerable"
        );
        let err = find(&docs, "secrets.github-tokn").unwrap_err();
        let hint = err.downcast_ref::<output::Hint>().unwrap();
        assert_eq!(hint.hint, "did you mean `secrets.github-token`?");
    }

    #[test]
    fn the_reference_has_an_index_and_a_page_per_rule() {
        let docs = registry();
        let pages = reference(&docs);
        assert_eq!(pages.len(), docs.len() + 1);
        let index = &pages["README.md"];
        assert!(index.contains("| [`logs.ban`](logs.ban.md) | medium |"));
        assert!(pages["fim.changed.md"].contains("### How to fix it"));
        assert!(pages.values().all(|page| page.starts_with(GENERATED)));
    }
}
