//! Reading fail2ban filters (`filter.d/NAME.conf`) and jails (`jail.conf`, `jail.d/`,
//! `jail.local`) as fail2ban's `FilterReader` and `JailReader` do.
//!
//! A filter's options come from its `[Definition]` section (with `DEFAULT` fallback and
//! `%(name)s` interpolation); jail arguments (`filter = sshd[mode=aggressive]`) and the
//! filter's `[Init]` section then fill `<tag>` references, recursively
//! (`<mdre-<mode>>` → `<mdre-aggressive>` → that option's value).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use crate::ini::{Config, IniError, Vars};

/// fail2ban's `MAX_TAG_REPLACE_COUNT`.
const MAX_TAG_REPLACE_COUNT: usize = 10;
/// Rounds of recursive tag substitution before giving up (fail2ban has no limit; cycles it
/// misses would loop forever).
const MAX_TAG_ROUNDS: usize = 64;
/// The largest value tag substitution may produce.
const MAX_TAG_VALUE_LEN: usize = 4 << 20;

/// A filter or jail definition could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A configuration file is malformed (the inner error names file and line).
    #[error(transparent)]
    Ini(#[from] IniError),
    /// No `filter.d/NAME.conf` (nor `.local`) exists.
    #[error("filter `{name}` not found: no {}/filter.d/{name}.conf or .local", dir.display())]
    FilterNotFound { name: String, dir: PathBuf },
    /// No `jail.conf` (nor `.local`) exists.
    #[error("no jail.conf or jail.local in {}", dir.display())]
    JailsNotFound { dir: PathBuf },
    /// The jail is not defined in the jail files.
    #[error("jail `{name}` is not defined")]
    JailNotFound { name: String },
    /// `<tag>` references cannot be resolved (self reference, cycle or runaway growth).
    #[error("filter `{filter}`: option `{option}`: {message}")]
    Tags {
        filter: String,
        option: String,
        message: String,
    },
    /// An option has a value of the wrong type (`maxlines = many`).
    #[error("{origin}: option `{option}`: {message}")]
    Value {
        origin: String,
        option: String,
        message: String,
    },
    /// `filter = name[...]` (or an action) is malformed.
    #[error("jail `{jail}`: invalid definition {text:?}")]
    Definition { jail: String, text: String },
}

/// A filter as fail2ban would load it, with every option resolved to text.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FilterDefinition {
    pub name: String,
    /// The files read, in order (includes first).
    pub files: Vec<PathBuf>,
    pub prefregex: Option<String>,
    pub failregex: Vec<String>,
    pub ignoreregex: Vec<String>,
    pub maxlines: Option<usize>,
    /// One date pattern a line (`{^LN-BEG}`, `%%Y-%%m-%%d …` after interpolation, `EPOCH` …).
    pub datepattern: Option<String>,
    /// `journalmatch` lines split into words (`_SYSTEMD_UNIT=sshd.service`, `+`, …).
    pub journalmatch: Vec<Vec<String>>,
    pub usedns: Option<String>,
}

/// Options a filter's `[Definition]` provides (fail2ban's `FilterReader._configOpts`).
const FILTER_OPTIONS: [&str; 7] = [
    "usedns",
    "prefregex",
    "ignoreregex",
    "failregex",
    "maxlines",
    "datepattern",
    "journalmatch",
];

/// The files fail2ban reads for `NAME` under `dir`: `NAME.conf`, `NAME.d/*.conf`,
/// `NAME.local`, `NAME.d/*.local` (those that exist are read; the others are skipped).
fn config_files(dir: &Path, name: &str) -> Vec<PathBuf> {
    let base = dir.join(name);
    let mut files = vec![with_suffix(&base, ".conf")];
    let sub = with_suffix(&base, ".d");
    let listed = |ext: &str| -> Vec<PathBuf> {
        let mut v: Vec<PathBuf> = std::fs::read_dir(&sub)
            .map(|rd| {
                rd.filter_map(Result::ok)
                    .map(|e| e.path())
                    .filter(|p| p.extension().is_some_and(|e| e == ext))
                    .collect()
            })
            .unwrap_or_default();
        v.sort();
        v
    };
    files.extend(listed("conf"));
    files.push(with_suffix(&base, ".local"));
    files.extend(listed("local"));
    files
}

fn with_suffix(base: &Path, suffix: &str) -> PathBuf {
    let mut s = base.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

/// Reads filter `name` from `config_dir/filter.d/` with jail arguments `args`
/// (`mode`, `logtype`, … as in `filter = sshd[mode=aggressive]`).
pub fn read_filter(
    config_dir: &Path,
    name: &str,
    args: &BTreeMap<String, String>,
) -> Result<FilterDefinition, ConfigError> {
    let filter_dir = config_dir.join("filter.d");
    let mut config = Config::new();
    if !config.read_files(&config_files(&filter_dir, name))? {
        return Err(ConfigError::FilterNotFound {
            name: name.to_owned(),
            dir: config_dir.to_owned(),
        });
    }
    resolve_filter(&config, name, args, &Vars::new())
}

/// The filter options of an already read configuration (fail2ban's `getOptions` then
/// `getCombined` then `convert`). `jail_options` are the jail's own values (they replace the
/// filter's options of the same name).
pub fn resolve_filter(
    config: &Config,
    name: &str,
    args: &BTreeMap<String, String>,
    jail_options: &Vars,
) -> Result<FilterDefinition, ConfigError> {
    // pOpts: jail options with the filter arguments over them.
    let mut popts: Vars = jail_options.clone();
    for (k, v) in args {
        popts.insert(k.to_lowercase(), v.clone());
    }
    let mut combined: BTreeMap<String, String> = BTreeMap::new();
    if config.has_section("Definition") {
        for opt in FILTER_OPTIONS {
            if popts.contains_key(opt) {
                continue;
            }
            if let Some(v) = config.get("Definition", opt, &popts)? {
                combined.insert(opt.to_owned(), v);
            }
        }
    }
    // initOpts: the arguments, then `[Init]` values (arguments win), plus `known/` copies.
    let mut init: BTreeMap<String, String> = args
        .iter()
        .map(|(k, v)| (k.to_lowercase(), v.clone()))
        .collect();
    if config.has_section("Init") {
        for opt in config.own_options("Init") {
            let value = || config.get("Init", opt, &Vars::new());
            if !opt.starts_with("known/")
                && let Some(v) = value()?
            {
                init.insert(format!("known/{opt}"), v);
            }
            if !init.contains_key(opt)
                && let Some(v) = value()?
            {
                init.insert(opt.to_owned(), v);
            }
        }
    }
    combined.extend(init);
    // Conditional options (`name?family=inet6`) are not substituted.
    let mut ignore: HashSet<String> = HashSet::new();
    for key in combined.keys() {
        if let Some(q) = key.find('?')
            && q > 0
            && key[..q].chars().all(|c| c.is_alphanumeric() || c == '_')
        {
            ignore.insert(key[..q].to_owned());
        }
    }
    let mut cache: HashMap<String, Option<String>> = HashMap::new();
    let mut addrepl = |tag: &str| -> Result<Option<String>, ConfigError> {
        if let Some(v) = cache.get(tag) {
            return Ok(v.clone());
        }
        let v = config.get_ex("Definition", tag, &popts)?;
        cache.insert(tag.to_owned(), v.clone());
        Ok(v)
    };
    substitute_recursive_tags(&mut combined, &ignore, &mut addrepl).map_err(
        |(option, message)| match message {
            TagError::Config(e) => *e,
            TagError::Message(message) => ConfigError::Tags {
                filter: name.to_owned(),
                option,
                message,
            },
        },
    )?;

    let lines = |v: Option<&String>| -> Vec<String> {
        v.map(|v| {
            v.split('\n')
                .filter(|l| !l.is_empty())
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
    };
    let maxlines = match combined.get("maxlines") {
        Some(v) => Some(
            v.trim()
                .parse::<usize>()
                .ok()
                .filter(|&n| n > 0)
                .ok_or_else(|| ConfigError::Value {
                    origin: origin_of(config, "Definition", "maxlines"),
                    option: "maxlines".into(),
                    message: format!("must be an integer greater than zero, not {v:?}"),
                })?,
        ),
        None => None,
    };
    let journalmatch = lines(combined.get("journalmatch"))
        .iter()
        .map(|l| {
            shlex::split(l).unwrap_or_else(|| l.split_whitespace().map(str::to_owned).collect())
        })
        .collect();
    Ok(FilterDefinition {
        name: name.to_owned(),
        files: config.files.clone(),
        prefregex: combined.get("prefregex").filter(|v| !v.is_empty()).cloned(),
        failregex: lines(combined.get("failregex")),
        ignoreregex: lines(combined.get("ignoreregex")),
        maxlines,
        datepattern: combined.get("datepattern").cloned(),
        journalmatch,
        usedns: combined.get("usedns").cloned(),
    })
}

fn origin_of(config: &Config, section: &str, option: &str) -> String {
    config
        .get_raw(section, option)
        .map(|v| config.origin(v))
        .unwrap_or_else(|| format!("[{section}]"))
}

enum TagError {
    Config(Box<ConfigError>),
    Message(String),
}

fn tag_re() -> &'static regex::Regex {
    static RE: OnceLock<regex::Regex> = OnceLock::new();
    RE.get_or_init(|| regex::Regex::new(r"<([^ <>]+)>").unwrap_or_else(|_| unreachable!()))
}

/// fail2ban's `substituteRecursiveTags`: replaces `<name>` in every value with the value of
/// option `name` (or `addrepl(name)`), until nothing changes. Unknown tags stay as they are
/// (`<HOST>` is for the regex layer).
fn substitute_recursive_tags(
    tags: &mut BTreeMap<String, String>,
    ignore: &HashSet<String>,
    addrepl: &mut dyn FnMut(&str) -> Result<Option<String>, ConfigError>,
) -> Result<(), (String, TagError)> {
    let re = tag_re();
    let mut done: HashSet<String> = HashSet::new();
    let keys: Vec<String> = tags.keys().cloned().collect();
    for _round in 0..MAX_TAG_ROUNDS {
        let mut repeat = false;
        for tag in &keys {
            if ignore.contains(tag) || done.contains(tag) {
                continue;
            }
            let Some(original) = tags.get(tag).cloned() else {
                continue;
            };
            let mut value = original.clone();
            let mut ref_counts: HashMap<String, usize> = HashMap::new();
            let mut pos = 0;
            while let Some(caps) = re.captures_at(&value, pos) {
                let (Some(whole), Some(name)) = (caps.get(0), caps.get(1)) else {
                    break;
                };
                let rtag = name.as_str().to_owned();
                let (start, end) = (whole.start(), whole.end());
                if ignore.contains(&rtag) {
                    pos = end;
                    continue;
                }
                if rtag == *tag
                    || ref_counts.get(&rtag).copied().unwrap_or(1) > MAX_TAG_REPLACE_COUNT
                {
                    return Err((
                        tag.clone(),
                        TagError::Message(format!(
                            "self-referencing definition: <{rtag}> cannot be resolved"
                        )),
                    ));
                }
                let repl = match tags.get(&rtag) {
                    Some(v) => Some(v.clone()),
                    None => {
                        addrepl(&rtag).map_err(|e| (tag.clone(), TagError::Config(Box::new(e))))?
                    }
                };
                let Some(repl) = repl else {
                    pos = end;
                    continue;
                };
                value = value.replace(&format!("<{rtag}>"), &repl);
                if value.len() > MAX_TAG_VALUE_LEN {
                    return Err((
                        tag.clone(),
                        TagError::Message(format!("value grows beyond {MAX_TAG_VALUE_LEN} bytes")),
                    ));
                }
                *ref_counts.entry(rtag).or_insert(0) += 1;
                pos = start;
            }
            if value != original {
                if re.is_match(&value) {
                    repeat = true;
                }
                tags.insert(tag.clone(), value.clone());
            }
            if !value.contains('<') {
                done.insert(tag.clone());
            }
        }
        if !repeat {
            return Ok(());
        }
    }
    Err((
        String::new(),
        TagError::Message(format!("tags still change after {MAX_TAG_ROUNDS} rounds")),
    ))
}

/// fail2ban's `extractOptions`: `name[a=1, b="x, y"][c='z']` → (`name`, {a: 1, b: "x, y", c: z}).
pub fn extract_options(text: &str) -> Option<(String, BTreeMap<String, String>)> {
    static OPTION_CRE: OnceLock<regex::Regex> = OnceLock::new();
    static EXTRACT_CRE: OnceLock<regex::Regex> = OnceLock::new();
    let option_cre = OPTION_CRE.get_or_init(|| {
        regex::Regex::new(r"(?s)^([^\[]+)(?:\[(.*)\])?\s*$").unwrap_or_else(|_| unreachable!())
    });
    let extract_cre = EXTRACT_CRE.get_or_init(|| {
        regex::Regex::new(r#"(?s)([\w\-_\.]+)=(?:"([^"]*)"|'([^']*)'|([^,\]]*))(?:,|\]\s*\[|$)"#)
            .unwrap_or_else(|_| unreachable!())
    });
    let caps = option_cre.captures(text)?;
    let name = caps.get(1)?.as_str().to_owned();
    let mut opts = BTreeMap::new();
    if let Some(body) = caps.get(2) {
        for m in extract_cre.captures_iter(body.as_str()) {
            let Some(key) = m.get(1) else { continue };
            let value = m
                .get(2)
                .or(m.get(3))
                .or(m.get(4))
                .map_or("", |v| v.as_str());
            opts.insert(key.as_str().trim().to_owned(), value.trim().to_owned());
        }
    }
    Some((name, opts))
}

/// fail2ban's `MyTime.str2seconds`: `600`, `10m`, `1h 30m`, `2d`, `1w`, `-1` (forever).
pub fn str2seconds(text: &str) -> Option<f64> {
    let mut total = 0.0;
    let mut rest = text.trim();
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let sign = if let Some(r) = rest.strip_prefix('-') {
            rest = r.trim_start();
            -1.0
        } else {
            rest = rest.strip_prefix('+').unwrap_or(rest).trim_start();
            1.0
        };
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        if num_len == 0 {
            return None;
        }
        let number: f64 = rest[..num_len].parse().ok()?;
        rest = rest[num_len..].trim_start();
        let unit_len = rest
            .find(|c: char| !c.is_ascii_alphabetic())
            .unwrap_or(rest.len());
        let unit = rest[..unit_len].to_ascii_lowercase();
        rest = rest[unit_len..].trim_start();
        let factor = match unit.as_str() {
            "" | "s" | "ss" | "se" | "sec" | "second" | "seconds" => 1.0,
            "m" | "mm" | "mi" | "min" | "minute" | "minutes" => 60.0,
            "h" | "hh" | "ho" | "hou" | "hour" | "hours" => 3600.0,
            "d" | "dd" | "da" | "day" | "days" => 86_400.0,
            "w" | "ww" | "we" | "week" | "weeks" => 7.0 * 86_400.0,
            "mo" | "mon" | "month" | "months" => 365.25 * 86_400.0 / 12.0,
            "y" | "yy" | "year" | "years" => 365.25 * 86_400.0,
            _ => return None,
        };
        total += sign * number * factor;
    }
    Some(total)
}

/// A jail as fail2ban would run it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct JailDefinition {
    pub name: String,
    pub enabled: bool,
    /// The filter name and arguments (`sshd`, {mode: normal}); `None` without a filter.
    pub filter_name: Option<String>,
    pub filter_args: BTreeMap<String, String>,
    /// The resolved filter (only for enabled jails, or when asked for explicitly).
    pub filter: Option<FilterDefinition>,
    pub backend: String,
    /// Log file globs, one per entry (`/var/log/auth.log`).
    pub logpath: Vec<String>,
    pub maxretry: u32,
    /// Seconds.
    pub findtime: f64,
    /// Seconds; negative means forever.
    pub bantime: f64,
    pub bantime_increment: bool,
    pub ignoreip: Vec<String>,
    pub ignoreself: bool,
    pub action: String,
    /// `bantime.factor`, `bantime.multipliers`, `bantime.maxtime`, `bantime.rndtime`,
    /// `bantime.formula`, `bantime.overalljails` as written (key without the `bantime.`
    /// prefix), for [`crate::jail::BanTimePolicy`].
    pub bantime_options: BTreeMap<String, String>,
    /// Where `bantime.*` values come from (`file:line`), for error messages.
    pub origin: String,
}

/// fail2ban's `_as_bool`.
fn as_bool(v: &str) -> bool {
    matches!(
        v.trim().to_lowercase().as_str(),
        "1" | "on" | "true" | "yes"
    )
}

/// Each jail's name with its definition or its own error.
pub type JailResults = Vec<(String, Result<JailDefinition, ConfigError>)>;

/// Every jail in `config_dir` (`jail.conf`, `jail.d/*.conf`, `jail.local`, `jail.d/*.local`),
/// in definition order, each with its own result: a jail whose filter is broken reports its
/// error and the others still load. Filters are resolved for enabled jails and for those named
/// in `force`. The outer error is for the jail files themselves.
pub fn read_jails(config_dir: &Path, force: &[&str]) -> Result<JailResults, ConfigError> {
    let mut config = Config::new();
    config.set_default("fail2ban_version", "1.1.0");
    config.set_default("fail2ban_confpath", &config_dir.display().to_string());
    if !config.read_files(&config_files(config_dir, "jail"))? {
        return Err(ConfigError::JailsNotFound {
            dir: config_dir.to_owned(),
        });
    }
    let names: Vec<String> = config
        .sections()
        .filter(|s| *s != "INCLUDES")
        .map(str::to_owned)
        .collect();
    Ok(names
        .into_iter()
        .map(|name| {
            let result = read_jail(&config, config_dir, &name, force.contains(&name.as_str()));
            (name, result)
        })
        .collect())
}

/// One jail by name, with its filter resolved even when the jail is disabled.
pub fn read_jail_named(config_dir: &Path, name: &str) -> Result<JailDefinition, ConfigError> {
    read_jails(config_dir, &[name])?
        .into_iter()
        .find(|(n, _)| n == name)
        .map(|(_, r)| r)
        .unwrap_or_else(|| {
            Err(ConfigError::JailNotFound {
                name: name.to_owned(),
            })
        })
}

fn read_jail(
    config: &Config,
    config_dir: &Path,
    name: &str,
    force: bool,
) -> Result<JailDefinition, ConfigError> {
    let none = Vars::new();
    let get = |opt: &str| config.get(name, opt, &none);
    let enabled = get("enabled")?.is_some_and(|v| as_bool(&v));
    let backend = get("backend")?.unwrap_or_else(|| "auto".to_owned());
    let filter_text = get("filter")?.unwrap_or_default();
    let (filter_name, filter_args) = if filter_text.trim().is_empty() {
        (None, BTreeMap::new())
    } else {
        let (n, a) = extract_options(&filter_text).ok_or_else(|| ConfigError::Definition {
            jail: name.to_owned(),
            text: filter_text.clone(),
        })?;
        (Some(n.trim().to_owned()), a)
    };
    let int = |opt: &str, default: u32| -> Result<u32, ConfigError> {
        match get(opt)? {
            Some(v) => v.trim().parse().map_err(|_| ConfigError::Value {
                origin: origin_of(config, name, opt),
                option: opt.to_owned(),
                message: format!("expected an integer, found {v:?}"),
            }),
            None => Ok(default),
        }
    };
    let seconds = |opt: &str, default: f64| -> Result<f64, ConfigError> {
        match get(opt)? {
            Some(v) => str2seconds(&v).ok_or_else(|| ConfigError::Value {
                origin: origin_of(config, name, opt),
                option: opt.to_owned(),
                message: format!("expected a duration like 10m, found {v:?}"),
            }),
            None => Ok(default),
        }
    };
    let filter = match &filter_name {
        Some(fname) if enabled || force => {
            let mut args = filter_args.clone();
            // applyAutoOptions: the log type follows the backend unless set.
            if !args.contains_key("logtype") {
                args.insert(
                    "logtype".into(),
                    if backend.starts_with("systemd") {
                        "journal"
                    } else {
                        "file"
                    }
                    .into(),
                );
            }
            let mut fconfig = Config::new();
            if !fconfig.read_files(&config_files(&config_dir.join("filter.d"), fname))? {
                return Err(ConfigError::FilterNotFound {
                    name: fname.clone(),
                    dir: config_dir.to_owned(),
                });
            }
            if fconfig.has_own_option("Definition", "logtype")
                && !filter_args.contains_key("logtype")
            {
                args.remove("logtype");
            }
            // Jail-level filter options replace the filter's.
            let mut jail_opts = Vars::new();
            for opt in FILTER_OPTIONS {
                if config.has_own_option(name, opt)
                    && let Some(v) = get(opt)?
                {
                    jail_opts.insert(opt.to_owned(), v);
                }
            }
            let mut def = resolve_filter(&fconfig, fname, &args, &jail_opts)?;
            let lines = |v: &str| -> Vec<String> {
                v.split('\n')
                    .filter(|l| !l.is_empty())
                    .map(str::to_owned)
                    .collect()
            };
            if let Some(v) = jail_opts.get("failregex") {
                def.failregex = lines(v);
            }
            if let Some(v) = jail_opts.get("ignoreregex") {
                def.ignoreregex = lines(v);
            }
            if let Some(v) = jail_opts.get("prefregex") {
                def.prefregex = Some(v.clone()).filter(|v| !v.is_empty());
            }
            if let Some(v) = jail_opts.get("datepattern") {
                def.datepattern = Some(v.clone());
            }
            if let Some(v) = jail_opts.get("maxlines") {
                def.maxlines = v.trim().parse().ok();
            }
            Some(def)
        }
        _ => None,
    };
    Ok(JailDefinition {
        name: name.to_owned(),
        enabled,
        filter_name,
        filter_args,
        filter,
        backend,
        logpath: get("logpath")?
            .map(|v| {
                v.split('\n')
                    .map(str::trim)
                    .filter(|l| !l.is_empty())
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default(),
        maxretry: int("maxretry", 5)?,
        findtime: seconds("findtime", 600.0)?,
        bantime: seconds("bantime", 600.0)?,
        bantime_increment: get("bantime.increment")?.is_some_and(|v| as_bool(&v)),
        ignoreip: get("ignoreip")?
            .map(|v| {
                v.split([' ', ',', '\n'])
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default(),
        ignoreself: get("ignoreself")?.is_none_or(|v| as_bool(&v)),
        action: get("action")?.unwrap_or_default(),
        bantime_options: {
            let mut m = BTreeMap::new();
            for key in [
                "factor",
                "multipliers",
                "maxtime",
                "rndtime",
                "formula",
                "overalljails",
            ] {
                if let Some(v) = get(&format!("bantime.{key}"))? {
                    m.insert(key.to_owned(), v);
                }
            }
            m
        },
        origin: origin_of(config, name, "enabled"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extract_options_handles_quotes_and_groups() {
        let (n, o) = extract_options(r#"sshd[mode=aggressive, port="22, 2222"][x='y']"#).unwrap();
        assert_eq!(n, "sshd");
        assert_eq!(o["mode"], "aggressive");
        assert_eq!(o["port"], "22, 2222");
        assert_eq!(o["x"], "y");
        let (n, o) = extract_options("recidive").unwrap();
        assert_eq!((n.as_str(), o.len()), ("recidive", 0));
    }

    #[test]
    fn durations() {
        assert_eq!(str2seconds("10m"), Some(600.0));
        assert_eq!(str2seconds("1h 30m"), Some(5400.0));
        assert_eq!(str2seconds("48h"), Some(172_800.0));
        assert_eq!(str2seconds("600"), Some(600.0));
        assert_eq!(str2seconds("-1"), Some(-1.0));
        assert_eq!(str2seconds("1w"), Some(604_800.0));
        assert_eq!(str2seconds("soon"), None);
    }

    #[test]
    fn tags_resolve_recursively_and_detect_cycles() {
        let mut tags: BTreeMap<String, String> = [
            ("failregex".to_owned(), "a <mdre-<mode>> <HOST>".to_owned()),
            ("mode".to_owned(), "ddos".to_owned()),
        ]
        .into();
        let mut add = |t: &str| -> Result<Option<String>, ConfigError> {
            Ok(match t {
                "mdre-ddos" => Some("DDOS<x>".into()),
                "x" => Some("!".into()),
                _ => None,
            })
        };
        assert!(substitute_recursive_tags(&mut tags, &HashSet::new(), &mut add).is_ok());
        assert_eq!(tags["failregex"], "a DDOS! <HOST>");

        let mut tags: BTreeMap<String, String> = [("a".to_owned(), "<a>".to_owned())].into();
        let mut none = |_: &str| -> Result<Option<String>, ConfigError> { Ok(None) };
        assert!(substitute_recursive_tags(&mut tags, &HashSet::new(), &mut none).is_err());
    }

    #[test]
    fn filter_with_init_known_and_modes() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("filter.d");
        std::fs::create_dir(&f).unwrap();
        std::fs::write(
            f.join("common.conf"),
            "[DEFAULT]\n_daemon = \\S*\n__prefix_line = <lt_<logtype>/__prefix_line>\nlogtype = file\n\
             [lt_file]\n__prefix_line = F:%(_daemon)s\n[lt_journal]\n__prefix_line = J:\n",
        )
        .unwrap();
        std::fs::write(
            f.join("demo.conf"),
            "[INCLUDES]\nbefore = common.conf\n[DEFAULT]\n_daemon = demo\n[Definition]\n\
             failregex = ^%(__prefix_line)sbad <HOST>\n            <extra-<mode>>\n\
             extra-normal =\nextra-aggressive = ^worse <HOST>\nmode = normal\nmaxlines = 1\n\
             journalmatch = _SYSTEMD_UNIT=demo.service + _COMM=demo\n[Init]\nport = 22\n",
        )
        .unwrap();
        let def = read_filter(dir.path(), "demo", &BTreeMap::new()).unwrap();
        assert_eq!(def.failregex, vec!["^F:demobad <HOST>"]);
        assert_eq!(def.maxlines, Some(1));
        assert_eq!(
            def.journalmatch[0],
            vec!["_SYSTEMD_UNIT=demo.service", "+", "_COMM=demo"]
        );
        let args: BTreeMap<String, String> = [
            ("mode".into(), "aggressive".into()),
            ("logtype".into(), "journal".into()),
        ]
        .into();
        let def = read_filter(dir.path(), "demo", &args).unwrap();
        assert_eq!(def.failregex, vec!["^J:bad <HOST>", "^worse <HOST>"]);
        let err = read_filter(dir.path(), "nope", &BTreeMap::new()).unwrap_err();
        assert!(err.to_string().contains("nope"), "{err}");
    }
}
