//! fail2ban's own filter samples (`$ALLCLEAR_SHARED/conformance/fail2ban`), run the way
//! fail2ban's `samplestestcase.py` runs them: every filter in `config/filter.d` (except the
//! `*common.conf` includes) against `logs/NAME`, with `# filterOptions:` / `# fileOptions:`
//! choosing filter arguments for the lines below them, `# addFILE:` pulling in another sample
//! file, and each `# failJSON: {…}` stating what the next line must give. Lines without an
//! annotation must not match (fail2ban checks those too); they are counted separately.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use allclear_logs::config::read_filter;
use allclear_logs::date::Clock;
use allclear_logs::filter::{CompiledFilter, Filter, FilterOptions, RawFailure};
use jiff::Timestamp;
use jiff::civil::DateTime;
use jiff::tz::TimeZone;
use serde_json::{Map, Value};

/// fail2ban's tests fix "now" here and run in this time zone.
const TEST_NOW: i64 = 1_124_013_600;
const TEST_TZ: &str = "CET-01CEST-02,M3.5.0,M10.5.0";

/// Agreement must never drop below these measured numbers (raise them if the samples grow;
/// never lower them). A check is one sample line under one filter variant; annotated checks
/// follow a `# failJSON` line. Measured: 1561 of 1561 annotated, 12 of 12 unannotated.
const FLOOR_ANNOTATED: usize = 1561;
/// Checks of unannotated sample lines (they must not produce a failure).
const FLOOR_UNANNOTATED: usize = 12;
/// Annotated checks that expect a match, so the test cannot pass by matching nothing.
const MIN_POSITIVE: usize = 1000;

pub fn shared_dir() -> Option<PathBuf> {
    let dir = match std::env::var_os("ALLCLEAR_SHARED") {
        Some(d) => PathBuf::from(d),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared"),
    };
    dir.is_dir().then_some(dir)
}

fn clock() -> Clock {
    Clock::new(
        Timestamp::from_second(TEST_NOW).unwrap_or_else(|_| unreachable!()),
        TimeZone::posix(TEST_TZ).unwrap_or_else(|_| unreachable!()),
    )
}

#[derive(Default)]
struct Tally {
    positive: usize,
    annotated: usize,
    annotated_ok: usize,
    plain: usize,
    plain_ok: usize,
    problems: Vec<String>,
}

struct Variant {
    key: String,
    opts: Map<String, Value>,
}

/// Python's `eval` of the few constraint forms the samples use.
fn eval_condition(expr: &str, name: &str, opts: &Map<String, Value>) -> Result<bool, String> {
    let expr = expr.trim();
    let (lhs, rhs, eq) = if let Some((l, r)) = expr.split_once("!=") {
        (l.trim(), r.trim(), false)
    } else if let Some((l, r)) = expr.split_once("==") {
        (l.trim(), r.trim(), true)
    } else {
        return Err(format!("unsupported condition {expr:?}"));
    };
    let literal = rhs.trim_matches(|c| c == '\'' || c == '"');
    let value: Option<String> = if lhs == "name" {
        Some(name.to_owned())
    } else if let Some(key) = lhs
        .strip_prefix("opts.get(")
        .and_then(|r| r.strip_suffix(')'))
    {
        let key = key.trim_matches(|c| c == '\'' || c == '"');
        opts.get(key).map(value_text)
    } else {
        return Err(format!("unsupported condition {expr:?}"));
    };
    Ok((value.as_deref() == Some(literal)) == eq)
}

fn value_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

struct FilterCache {
    config_dir: PathBuf,
    name: String,
    filters: BTreeMap<String, Result<Filter, String>>,
}

impl FilterCache {
    fn get(&mut self, variant: &Variant) -> &mut Result<Filter, String> {
        let config_dir = self.config_dir.clone();
        let name = self.name.clone();
        self.filters.entry(variant.key.clone()).or_insert_with(|| {
            let args: BTreeMap<String, String> = variant
                .opts
                .iter()
                .filter(|(k, _)| !k.starts_with("test."))
                .map(|(k, v)| (k.clone(), value_text(v)))
                .collect();
            let def = read_filter(&config_dir, &name, &args).map_err(|e| e.to_string())?;
            let options = FilterOptions {
                check_all_regex: true,
                ..FilterOptions::default()
            };
            let compiled = CompiledFilter::new(&def, options).map_err(|e| e.to_string())?;
            Ok(Filter::new(Arc::new(compiled)))
        })
    }
}

fn variant(name: &str, opts: Map<String, Value>) -> Variant {
    let filter_opts: Map<String, Value> = opts
        .iter()
        .filter(|(k, _)| !k.starts_with("test."))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let key = match opts.get("test.filter-name") {
        Some(n) => format!("{name}{}", value_text(n)),
        None if filter_opts.is_empty() => name.to_owned(),
        None => format!("{name}{}", Value::Object(filter_opts)),
    };
    Variant { key, opts }
}

/// Compares one result list with the expectation; `None` when they agree.
fn compare(
    expected: &Map<String, Value>,
    results: &[RawFailure],
    journal: bool,
    clock: &Clock,
) -> Option<String> {
    let found: Vec<&RawFailure> = results.iter().filter(|r| r.counts()).collect();
    let want_match = expected
        .get("match")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    if found.is_empty() {
        return want_match.then(|| "no match, expected one".to_owned());
    }
    if !want_match {
        return Some(format!(
            "matched (regex #{}, host {:?}), expected no match",
            found[0].regex, found[0].id
        ));
    }
    if found.len() != 1 {
        return Some(format!(
            "{} regexes matched: {:?}",
            found.len(),
            found.iter().map(|r| r.regex).collect::<Vec<_>>()
        ));
    }
    let got = found[0];
    for (k, v) in expected {
        if matches!(
            k.as_str(),
            "time" | "match" | "desc" | "constraint" | "filter"
        ) {
            continue;
        }
        let actual: Value = match k.as_str() {
            "users" => match &got.data.users {
                Some(u) => Value::Array(u.iter().cloned().map(Value::String).collect()),
                None => Value::Null,
            },
            _ => match got.data.get(k) {
                Some(s) => Value::String(s.to_owned()),
                // fail2ban compares hosts as addresses (`IPAddr.__eq__`), text otherwise.
                None if k == "host" => {
                    match (got.id.as_deref().map(parse_ip), v.as_str().map(parse_ip)) {
                        (Some(Some(a)), Some(Some(b))) if a == b => v.clone(),
                        _ => got.id.clone().map_or(Value::Null, Value::String),
                    }
                }
                None if k == "attempts" => Value::from(got.data.attempts()),
                None => Value::Null,
            },
        };
        let same = match (&actual, v) {
            (Value::Array(a), Value::Array(b)) => {
                let mut a: Vec<String> = a.iter().map(value_text).collect();
                let mut b: Vec<String> = b.iter().map(value_text).collect();
                a.sort();
                b.sort();
                a == b
            }
            (a, b) => a == b,
        };
        if !same {
            return Some(format!("{k}: got {actual}, expected {v}"));
        }
    }
    if let Some(t) = expected.get("time").and_then(Value::as_str) {
        let Some((dt, micros)) = python_strptime(t) else {
            return Some(format!("bad expected time {t:?}"));
        };
        let want = clock.mktime(dt).map(|s| s + f64::from(micros) / 1e6);
        if want != Some(got.time) {
            return Some(format!("time: got {} expected {t} ({want:?})", got.time));
        }
    } else if journal {
        // Journal entries carry fail2ban's fixed "now".
    }
    None
}

fn parse_ip(text: &str) -> Option<std::net::IpAddr> {
    text.trim_matches(|c| c == '[' || c == ']').parse().ok()
}

/// `datetime.strptime(t, "%Y-%m-%dT%H:%M:%S[.%f]")`: fields may have fewer digits.
fn python_strptime(t: &str) -> Option<(DateTime, i32)> {
    let (date, time) = t.split_once('T')?;
    let mut d = date.split('-').map(|x| x.parse::<i32>().ok());
    let (y, mo, da) = (d.next()??, d.next()??, d.next()??);
    let (hms, frac) = match time.split_once('.') {
        Some((a, b)) => (a, Some(b)),
        None => (time, None),
    };
    let mut h = hms.split(':').map(|x| x.parse::<i32>().ok());
    let (hh, mm, ss) = (h.next()??, h.next()??, h.next()??);
    let micros = match frac {
        Some(f) if !f.is_empty() && f.len() <= 6 => format!("{f:0<6}").parse().ok()?,
        Some(_) => return None,
        None => 0,
    };
    let dt = DateTime::new(
        i16::try_from(y).ok()?,
        i8::try_from(mo).ok()?,
        i8::try_from(da).ok()?,
        i8::try_from(hh).ok()?,
        i8::try_from(mm).ok()?,
        i8::try_from(ss).ok()?,
        0,
    )
    .ok()?;
    Some((dt, micros))
}

fn run_filter(base: &Path, name: &str, tally: &mut Tally) {
    let clock = clock();
    let mut cache = FilterCache {
        config_dir: base.join("config"),
        name: name.to_owned(),
        filters: BTreeMap::new(),
    };
    let mut files = vec![name.to_owned()];
    let mut common: Map<String, Value> = Map::new();
    let mut tests: Vec<Variant> = Vec::new();
    let mut i = 0;
    while i < files.len() {
        let file = files[i].clone();
        i += 1;
        let path = base.join("logs").join(&file);
        let Ok(bytes) = std::fs::read(&path) else {
            tally
                .problems
                .push(format!("{name}: cannot read {}", path.display()));
            continue;
        };
        let text = String::from_utf8_lossy(&bytes);
        let lines: Vec<&str> = text.split_inclusive('\n').collect();
        let mut ignore_block = false;
        let mut n = 0;
        while n < lines.len() {
            let lineno = n + 1;
            let raw = lines[n];
            n += 1;
            let mut expected: Option<Map<String, Value>> = None;
            let trimmed = raw.trim_end_matches(['\r', '\n']);
            let hashes_off = trimmed.trim_start_matches('#');
            let annotation = hashes_off.strip_prefix(' ').unwrap_or(hashes_off);
            let directive = ["failJSON:", "fileOptions:", "filterOptions:", "addFILE:"]
                .iter()
                .find(|d| trimmed.starts_with('#') && annotation.starts_with(**d));
            let line_text: &str;
            let tested_lineno;
            if let Some(d) = directive {
                let json = &annotation[d.len()..];
                let value: Value = match serde_json::from_str(json) {
                    Ok(v) => v,
                    Err(e) => {
                        tally
                            .problems
                            .push(format!("{file}:{lineno}: bad JSON: {e}"));
                        continue;
                    }
                };
                match *d {
                    "fileOptions:" => {
                        common = value.as_object().cloned().unwrap_or_default();
                        continue;
                    }
                    "filterOptions:" => {
                        tests.clear();
                        ignore_block = false;
                        let list = match value {
                            Value::Array(a) => a,
                            other => vec![other],
                        };
                        for item in list {
                            let mut opts = common.clone();
                            for (k, v) in item.as_object().cloned().unwrap_or_default() {
                                opts.insert(k, v);
                            }
                            if let Some(cond) = opts.get("test.condition").map(value_text) {
                                match eval_condition(&cond, name, &opts) {
                                    Ok(ok) => ignore_block = !ok,
                                    Err(e) => tally.problems.push(format!("{file}:{lineno}: {e}")),
                                }
                            }
                            if !ignore_block {
                                tests.push(variant(name, opts));
                            }
                        }
                        continue;
                    }
                    "addFILE:" => {
                        if let Some(f) = value.as_str() {
                            files.push(f.to_owned());
                        }
                        continue;
                    }
                    _ => {}
                }
                expected = Some(value.as_object().cloned().unwrap_or_default());
                let Some(next) = lines.get(n) else { break };
                line_text = next;
                tested_lineno = n + 1;
                n += 1;
            } else if ignore_block || trimmed.starts_with('#') || trimmed.trim().is_empty() {
                continue;
            } else {
                line_text = raw;
                tested_lineno = lineno;
            }
            if ignore_block {
                continue;
            }
            if tests.is_empty() {
                tests.push(variant(name, Map::new()));
            }
            let mut line = line_text.trim_end_matches(['\r', '\n']).to_owned();
            let annotated = expected.is_some();
            let expected = expected.unwrap_or_default();
            for v in &tests {
                if let Some(c) = expected.get("constraint").map(value_text) {
                    match eval_condition(&c, name, &v.opts) {
                        Ok(true) => {}
                        Ok(false) => continue,
                        Err(e) => {
                            tally.problems.push(format!("{file}:{tested_lineno}: {e}"));
                            continue;
                        }
                    }
                }
                let journal = v.opts.get("logtype").map(value_text).as_deref() == Some("journal");
                let filter = match cache.get(v) {
                    Ok(f) => f,
                    Err(e) => {
                        let e = e.clone();
                        if annotated {
                            tally.annotated += 1;
                        } else {
                            tally.plain += 1;
                        }
                        tally.problems.push(format!(
                            "{} {file}:{tested_lineno}: filter error: {e}",
                            v.key
                        ));
                        continue;
                    }
                };
                let results = if journal {
                    if let Some(p) = v.opts.get("test.prefix-line").map(value_text) {
                        line = format!("{p}{line}");
                    }
                    filter.process_line_at(&line, TEST_NOW as f64, TEST_NOW as f64)
                } else {
                    filter.process_line(&line, &clock)
                };
                let verdict = compare(&expected, &results, journal, &clock);
                if expected.get("match").and_then(Value::as_bool) == Some(true) {
                    tally.positive += 1;
                }
                if annotated {
                    tally.annotated += 1;
                } else {
                    tally.plain += 1;
                }
                match verdict {
                    None if annotated => tally.annotated_ok += 1,
                    None => tally.plain_ok += 1,
                    Some(why) => tally.problems.push(format!(
                        "{} {file}:{tested_lineno}: {why}\n      line: {line}",
                        v.key
                    )),
                }
            }
        }
    }
}

fn filter_names(base: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(base.join("config/filter.d"))
        .map(|rd| {
            rd.filter_map(Result::ok)
                .filter_map(|e| e.file_name().to_str().map(str::to_owned))
                .filter(|n| {
                    n.ends_with(".conf") && !n.ends_with("common.conf") && !n.starts_with('.')
                })
                .map(|n| n.trim_end_matches(".conf").to_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

#[test]
fn fail2ban_sample_logs_agree() {
    let Some(shared) = shared_dir() else {
        eprintln!("skipped: no shared test data (set ALLCLEAR_SHARED)");
        return;
    };
    let base = shared.join("conformance/fail2ban");
    if !base.is_dir() {
        eprintln!("skipped: {} is absent", base.display());
        return;
    }
    let only = std::env::var("F2B_FILTER").ok();
    let mut total = Tally::default();
    let mut lines = Vec::new();
    for name in filter_names(&base) {
        if only.as_deref().is_some_and(|o| o != name) {
            continue;
        }
        let mut t = Tally::default();
        run_filter(&base, &name, &mut t);
        lines.push(format!(
            "{name:<22} annotated {:>4}/{:<4} unannotated {:>4}/{:<4}",
            t.annotated_ok, t.annotated, t.plain_ok, t.plain
        ));
        total.annotated += t.annotated;
        total.positive += t.positive;
        total.annotated_ok += t.annotated_ok;
        total.plain += t.plain;
        total.plain_ok += t.plain_ok;
        total.problems.extend(t.problems);
    }
    println!("fail2ban sample conformance, per filter:");
    for l in &lines {
        println!("  {l}");
    }
    println!("disagreements ({}):", total.problems.len());
    for p in &total.problems {
        println!("  {p}");
    }
    println!(
        "TOTAL annotated {}/{} agree ({} expect a match), unannotated {}/{} agree",
        total.annotated_ok, total.annotated, total.positive, total.plain_ok, total.plain
    );
    assert!(total.annotated > 0, "no sample lines were run");
    if only.is_none() {
        assert!(
            total.positive >= MIN_POSITIVE,
            "only {} positive checks ran",
            total.positive
        );
        assert!(
            total.annotated_ok >= FLOOR_ANNOTATED && total.plain_ok >= FLOOR_UNANNOTATED,
            "conformance dropped below the floor ({FLOOR_ANNOTATED} annotated, {FLOOR_UNANNOTATED} unannotated)"
        );
    }
}
