//! `allclear hook install|uninstall`: the pre-commit hook that runs `allclear scan --staged`.

use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::cli::{GlobalArgs, HookArgs};
use crate::commands::ExitStatus;
use crate::output;

/// The line that marks a hook as ours, so `install` may replace it and `uninstall` remove it.
const MARKER: &str = "# allclear pre-commit hook";

pub fn install(global: &GlobalArgs, args: &HookArgs) -> anyhow::Result<ExitStatus> {
    let hooks = hooks_dir(&args.path)?;
    let hook = hooks.join("pre-commit");
    if let Ok(existing) = fs_err::read_to_string(&hook)
        && !existing.contains(MARKER)
    {
        if !args.force {
            return Err(output::hinted(
                format!(
                    "{} already exists and was not written by allclear",
                    hook.display()
                ),
                "add `allclear scan --staged` to it yourself, or run `allclear hook install \
                 --force` to replace it (it is kept as pre-commit.allclear-backup)",
            ));
        }
        fs_err::rename(&hook, hooks.join("pre-commit.allclear-backup"))?;
    }
    fs_err::create_dir_all(&hooks)?;
    output::write_atomically(&hook, script()?.as_bytes())?;
    make_executable(&hook)?;
    if !global.quiet {
        eprintln!(
            "installed {}: every commit is scanned for secrets, restricted files and personal \
             data first (skip once with `git commit --no-verify`)",
            hook.display()
        );
    }
    Ok(ExitStatus::Clear)
}

pub fn uninstall(global: &GlobalArgs, args: &HookArgs) -> anyhow::Result<ExitStatus> {
    let hook = hooks_dir(&args.path)?.join("pre-commit");
    match fs_err::read_to_string(&hook) {
        Ok(text) if text.contains(MARKER) => {
            fs_err::remove_file(&hook)?;
            if !global.quiet {
                eprintln!("removed {}", hook.display());
            }
            Ok(ExitStatus::Clear)
        }
        Ok(_) => Err(output::hinted(
            format!("{} was not written by allclear; left alone", hook.display()),
            "remove it by hand if you no longer want it",
        )),
        Err(_) => {
            if !global.quiet {
                eprintln!("no pre-commit hook in {}", hook.display());
            }
            Ok(ExitStatus::Clear)
        }
    }
}

/// The hook runs this very binary when it still exists (so the hook keeps working without
/// `allclear` on the PATH of a GUI git client), else whatever `allclear` is on the PATH.
fn script() -> anyhow::Result<String> {
    let exe = std::env::current_exe().context("could not find the allclear binary's path")?;
    let exe = exe
        .to_str()
        .context("the allclear binary's path is not UTF-8")?;
    let quoted = shlex::try_quote(exe).context("the allclear binary's path cannot be quoted")?;
    Ok(format!(
        "#!/bin/sh\n\
         {MARKER} (written by `allclear hook install`): scans what is staged for secrets,\n\
         # restricted files and personal data. Skip it once with `git commit --no-verify`.\n\
         allclear={quoted}\n\
         [ -x \"$allclear\" ] || allclear=allclear\n\
         exec \"$allclear\" scan --staged --quiet\n"
    ))
}

/// The repository's hooks directory, honouring `core.hooksPath`.
fn hooks_dir(path: &Path) -> anyhow::Result<PathBuf> {
    let repo = gix::discover(path)
        .with_context(|| format!("{} is not inside a git repository", path.display()))?;
    let configured = repo
        .config_snapshot()
        .trusted_path("core.hooksPath")
        .ok()
        .flatten();
    Ok(match configured {
        Some(dir) if dir.is_absolute() => dir,
        // A relative hooksPath is relative to the working tree (where git runs hooks).
        Some(dir) => repo.workdir().unwrap_or(repo.git_dir()).join(dir),
        None => repo.common_dir().join("hooks"),
    })
}

#[cfg(unix)]
fn make_executable(path: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    fs_err::set_permissions(path, std::fs::Permissions::from_mode(0o755))?;
    Ok(())
}

#[cfg(not(unix))]
fn make_executable(_path: &Path) -> anyhow::Result<()> {
    Ok(())
}
