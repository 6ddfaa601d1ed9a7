//! `allclear db …`: build, refresh and inspect the local advisory database.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use allclear_advisories::{ImportEvent, ImportSummary, Store, StoreError};
use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};

use crate::cli::{DbDirArgs, DbStatusArgs, GlobalArgs, ImportArgs, OutputFormat, UpdateArgs};
use crate::commands::ExitStatus;
use crate::output::{emit_with, hinted};

/// `--db DIR`, `ALLCLEAR_DB`, or the user cache directory.
pub fn db_dir(args: &DbDirArgs) -> anyhow::Result<PathBuf> {
    if let Some(dir) = &args.db {
        return Ok(dir.clone());
    }
    let cache = dirs::cache_dir().ok_or_else(|| {
        hinted(
            "could not find a cache directory for the advisory database",
            "pass --db DIR or set ALLCLEAR_DB",
        )
    })?;
    Ok(cache.join("allclear").join("advisories"))
}

/// Opens the database, turning "there is none" into advice.
pub fn open_store(dir: &Path) -> anyhow::Result<Store> {
    match Store::open(dir) {
        Ok(store) => Ok(store),
        Err(StoreError::Missing { .. }) => Err(hinted(
            format!("no advisory database in {}", dir.display()),
            "run `allclear db update` to download OSV's advisories, or \
             `allclear db import SOURCE…` to build it from a local checkout",
        )),
        Err(err @ StoreError::Incompatible { .. }) => Err(hinted(
            err.to_string(),
            "rebuild it with `allclear db update` or `allclear db import SOURCE…`",
        )),
        Err(err) => Err(anyhow::Error::new(err).context(format!(
            "could not open the advisory database in {}",
            dir.display()
        ))),
    }
}

/// How old the database is, in whole days (None when its build time is unreadable).
fn age_days(store: &Store) -> Option<i64> {
    let built: jiff::Timestamp = store.status().built_at.parse().ok()?;
    Some(jiff::Timestamp::now().duration_since(built).as_secs() / 86_400)
}

/// A warning when the database is older than the policy allows.
pub fn staleness_warning(store: &Store, max_age_days: u32) -> Option<String> {
    let days = age_days(store)?;
    (days > i64::from(max_age_days)).then(|| {
        format!(
            "the advisory database was built {days} days ago (the policy allows {max_age_days}); \
             run `allclear db update`"
        )
    })
}

/// A progress bar on stderr when it is a terminal; hidden otherwise.
pub fn progress_bar(global: &GlobalArgs) -> ProgressBar {
    if !global.progress() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template("{spinner} {prefix} [{bar:30}] {pos}/{len} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar.enable_steady_tick(Duration::from_millis(120));
    bar
}

pub fn import(
    global: &GlobalArgs,
    db: &DbDirArgs,
    args: &ImportArgs,
) -> anyhow::Result<ExitStatus> {
    let dir = db_dir(db)?;
    fs_err::create_dir_all(&dir)?;
    let bar = progress_bar(global);
    let summary =
        allclear_advisories::import(&dir, &args.sources, &|event| report_progress(&bar, event));
    bar.finish_and_clear();
    let summary = summary.with_context(|| format!("import into {} failed", dir.display()))?;
    print_import_summary(&summary, global.quiet)?;
    nothing_imported(&summary)?;
    Ok(ExitStatus::Clear)
}

/// A source that gave no advisory is a mistake the user must hear about (the wrong folder,
/// an empty checkout): the scan that follows would find nothing to check against.
fn nothing_imported(summary: &ImportSummary) -> anyhow::Result<()> {
    let empty: Vec<String> = summary
        .sources
        .iter()
        .filter(|s| s.imported == 0)
        .map(|s| {
            format!(
                "{} ({}: {} records read, {} skipped)",
                s.location, s.kind, s.records, s.skipped
            )
        })
        .collect();
    if empty.is_empty() {
        return Ok(());
    }
    Err(hinted(
        format!("nothing importable in {}", empty.join(", ")),
        "point `allclear db import` at an advisory database: a ruby-advisory-db, \
         FriendsOfPHP/security-advisories, rustsec/advisory-db or pypa/advisory-database \
         checkout, or an OSV export (a folder of OSV JSON records or an all.zip)",
    ))
}

pub fn report_progress(bar: &ProgressBar, event: ImportEvent<'_>) {
    match event {
        ImportEvent::Source {
            location,
            kind,
            index,
            count,
        } => {
            bar.set_prefix(format!("{}/{count} {kind}", index + 1));
            bar.set_message(short(location));
            bar.set_position(0);
        }
        ImportEvent::Records { done, total, .. } => {
            bar.set_length(total as u64);
            bar.set_position(done as u64);
        }
        ImportEvent::Writing => {
            bar.set_prefix("writing");
            bar.set_message("");
        }
    }
}

fn short(location: &str) -> String {
    location.rsplit('/').next().unwrap_or(location).to_owned()
}

/// What was imported, per source and ecosystem, on stdout; skipped records on stderr.
pub fn print_import_summary(summary: &ImportSummary, quiet: bool) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    for source in &summary.sources {
        writeln!(
            out,
            "{} ({}): {} advisories imported, {} skipped",
            source.location, source.kind, source.imported, source.skipped
        )?;
        for (ecosystem, counts) in &source.ecosystems {
            let withdrawn = if counts.withdrawn > 0 {
                format!(" ({} withdrawn, not stored)", counts.withdrawn)
            } else {
                String::new()
            };
            writeln!(
                out,
                "  {:<10} {:>6}{withdrawn}",
                ecosystem.as_str(),
                counts.imported
            )?;
        }
        for (ecosystem, count) in &source.unsupported {
            let name = if ecosystem.is_empty() {
                "(none)"
            } else {
                ecosystem
            };
            writeln!(
                out,
                "  {name:<10} {count:>6} skipped: ecosystem not supported"
            )?;
        }
        if !quiet {
            for warning in &source.warnings {
                eprintln!("warning: skipped {warning}");
            }
            if source.warnings_dropped > 0 {
                eprintln!(
                    "warning: {} more malformed records skipped",
                    source.warnings_dropped
                );
            }
        }
    }
    for kept in &summary.kept {
        writeln!(out, "{kept}: kept from the previous database")?;
    }
    if !quiet {
        for note in &summary.notes {
            eprintln!("note: {note}");
        }
    }
    writeln!(out, "database: {}", summary.database.display())?;
    Ok(())
}

pub fn update(
    global: &GlobalArgs,
    db: &DbDirArgs,
    args: &UpdateArgs,
) -> anyhow::Result<ExitStatus> {
    let dir = db_dir(db)?;
    let ecosystems = if args.ecosystem.is_empty() {
        let found = ecosystems_in(&args.path)?;
        if found.is_empty() {
            return Err(hinted(
                format!("no lockfiles under {}", args.path.display()),
                "name the ecosystems to download: --ecosystem RubyGems,npm (or run from the repository)",
            ));
        }
        let names: Vec<&str> = found.iter().map(|e| e.as_str()).collect();
        global.note(format_args!(
            "ecosystems found in {}: {}",
            args.path.display(),
            names.join(", ")
        ));
        found
    } else {
        args.ecosystem.clone()
    };
    // The Ruby interpreter's advisories come from RubySec only; OSV has no zip for them.
    let ecosystems: Vec<_> = ecosystems
        .into_iter()
        .filter(|e| *e != allclear_core::Ecosystem::Ruby)
        .collect();
    let options = allclear_advisories::UpdateOptions {
        base_url: args.base_url.trim_end_matches('/').to_owned(),
        ecosystems,
        ..allclear_advisories::UpdateOptions::default()
    };
    let bar = progress_bar(global);
    let result = allclear_advisories::update(&dir, &options, &|event| match event {
        allclear_advisories::UpdateEvent::Download {
            ecosystem,
            done,
            total,
            ..
        } => {
            bar.set_prefix(format!("downloading {ecosystem}"));
            bar.set_length(total.unwrap_or(0));
            bar.set_position(done);
        }
        allclear_advisories::UpdateEvent::Import(event) => report_progress(&bar, event),
    });
    bar.finish_and_clear();
    let summary = result.with_context(|| {
        format!(
            "update from {} failed; the database in {} is unchanged",
            options.base_url,
            dir.display()
        )
    })?;
    print_import_summary(&summary, global.quiet)?;
    Ok(ExitStatus::Clear)
}

/// The ecosystems of the lockfiles under `path` (a quick walk of names only).
fn ecosystems_in(path: &Path) -> anyhow::Result<Vec<allclear_core::Ecosystem>> {
    let mut found = std::collections::BTreeSet::new();
    let walk = ignore::WalkBuilder::new(path)
        .hidden(false)
        .filter_entry(|e| {
            !crate::walk::SKIPPED_DIRS
                .iter()
                .any(|d| e.file_name() == *d)
        })
        .build();
    for entry in walk {
        let Ok(entry) = entry else { continue };
        let kind = entry
            .file_name()
            .to_str()
            .and_then(allclear_lockfiles::detect)
            .filter(|k| !k.is_manifest());
        if let Some(eco) = kind.and_then(|k| k.ecosystem()) {
            found.insert(eco);
        }
    }
    Ok(found.into_iter().collect())
}

pub fn status(db: &DbDirArgs, args: &DbStatusArgs) -> anyhow::Result<ExitStatus> {
    let dir = db_dir(db)?;
    let store = open_store(&dir)?;
    emit_with(args.output.output.as_deref(), |out| {
        write_status(out, &store, args.format)
    })?;
    Ok(ExitStatus::Clear)
}

fn write_status(out: &mut dyn Write, store: &Store, format: OutputFormat) -> std::io::Result<()> {
    let status = store.status();
    if format == OutputFormat::Json {
        let document = crate::output::Versioned::new(status);
        serde_json::to_writer_pretty(&mut *out, &document)?;
        return writeln!(out);
    }
    let age = age_days(store)
        .map(|d| format!(" ({d} days ago)"))
        .unwrap_or_default();
    writeln!(out, "database: {}", status.path.display())?;
    writeln!(out, "built:    {}{age}", status.built_at)?;
    writeln!(out)?;
    writeln!(
        out,
        "{:<12} {:>10} {:>10}",
        "ecosystem", "advisories", "packages"
    )?;
    for (ecosystem, stats) in &status.ecosystems {
        writeln!(
            out,
            "{:<12} {:>10} {:>10}",
            ecosystem.as_str(),
            stats.advisories,
            stats.packages
        )?;
    }
    writeln!(out)?;
    writeln!(out, "sources:")?;
    for source in &status.sources {
        writeln!(
            out,
            "  {} ({}), imported {}",
            source.location, source.kind, source.imported_at
        )?;
    }
    Ok(())
}
