//! Writing results: stdout with broken-pipe handling, atomic files, colour, errors with hints.

use std::io::{IsTerminal, Write};
use std::path::Path;

use anyhow::Context;

use crate::cli::{ColorChoice, GlobalArgs};

/// An error that carries advice on what to do next; printed as a `hint:` line.
#[derive(Debug)]
pub struct Hint {
    pub message: String,
    pub hint: String,
}

impl std::fmt::Display for Hint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Hint {}

/// Builds an error with a hint line.
pub fn hinted(message: impl Into<String>, hint: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(Hint {
        message: message.into(),
        hint: hint.into(),
    })
}

/// Prints `error: …`, each cause on its own line, and a `hint:` line: the error's own hint,
/// else advice for the kind of I/O failure behind it, else where to read more.
/// `command` names the command that failed (`allclear host fim check`), for the last resort.
pub fn print_error(err: &anyhow::Error, command: &str) {
    let mut stderr = std::io::stderr().lock();
    let _ = writeln!(stderr, "error: {err}");
    for cause in err.chain().skip(1) {
        let _ = writeln!(stderr, "  caused by: {cause}");
    }
    let _ = writeln!(stderr, "hint: {}", hint_for(err, command));
}

/// The advice printed after an error.
fn hint_for(err: &anyhow::Error, command: &str) -> String {
    // A hint is either an error of its own or the context added to one (which `chain` does
    // not expose for downcasting, while `downcast_ref` looks through every context).
    if let Some(hint) = err
        .downcast_ref::<Hint>()
        .or_else(|| err.chain().find_map(|e| e.downcast_ref::<Hint>()))
    {
        return hint.hint.clone();
    }
    let io_kind = err
        .chain()
        .find_map(|e| e.downcast_ref::<std::io::Error>())
        .map(std::io::Error::kind);
    match io_kind {
        Some(std::io::ErrorKind::NotFound) => {
            "check the path (a relative path is taken from the current directory)".to_owned()
        }
        Some(std::io::ErrorKind::PermissionDenied) => {
            "run as a user who may read and write these files (root, or a member of their group)"
                .to_owned()
        }
        Some(std::io::ErrorKind::IsADirectory) => "give a file, not a directory".to_owned(),
        Some(std::io::ErrorKind::StorageFull) => "free some space and run it again".to_owned(),
        _ => format!(
            "`{command} --help` describes each option; ALLCLEAR_LOG=debug shows what was done"
        ),
    }
}

impl GlobalArgs {
    /// Whether to colour what goes to stdout (never into a file).
    pub fn stdout_color(&self, to_file: bool) -> bool {
        !to_file && use_color(self.color)
    }

    /// Whether progress bars may be drawn: stderr is a terminal and `--quiet` is not given.
    pub fn progress(&self) -> bool {
        !self.quiet && std::io::stderr().is_terminal()
    }

    /// A note or warning on stderr, unless `--quiet`.
    pub fn note(&self, message: impl std::fmt::Display) {
        if !self.quiet {
            eprintln!("{message}");
        }
    }
}

/// A JSON document with its `schema` version first: the shape of each command's JSON output
/// is versioned on its own (docs/json-schema.md).
#[derive(serde::Serialize)]
pub struct Versioned<T> {
    schema: u32,
    #[serde(flatten)]
    body: T,
}

impl<T> Versioned<T> {
    pub fn new(body: T) -> Versioned<T> {
        Versioned {
            schema: allclear_core::SCHEMA_VERSION,
            body,
        }
    }
}

/// True when the error is a closed stdout (`allclear scan | head`): not a failure.
pub fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// Whether to colour what goes to stdout.
pub fn use_color(choice: ColorChoice) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                && std::io::stdout().is_terminal()
        }
    }
}

/// Streams output to stdout, or to `path`. A regular file (or a new path) is written
/// atomically: a temporary sibling renamed into place, so a reader never sees half a report.
/// Anything else is written through, never replaced: a symlink's target (itself atomically
/// when it is a regular file), a FIFO or a character device such as `/dev/null`. A
/// directory, a block device or a socket is refused. Streaming keeps a large report out of
/// memory.
pub fn emit_with(
    path: Option<&Path>,
    write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> anyhow::Result<()> {
    let Some(path) = path else {
        let mut stdout = std::io::BufWriter::new(std::io::stdout().lock());
        write(&mut stdout)?;
        stdout.flush()?;
        return Ok(());
    };
    let failed = || format!("could not write {}", path.display());
    match target(path)? {
        Target::Replace { path: file, mode } => {
            let dir = parent_dir(&file);
            let mut builder = tempfile::Builder::new();
            // A new file gets the usual 0666 less the umask (tempfile's own default is 0600);
            // a replaced one keeps its mode.
            #[cfg(unix)]
            builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(
                mode.unwrap_or(0o666),
            ));
            let temp = builder.tempfile_in(dir).map_err(|e| {
                anyhow::Error::new(e).context(Hint {
                    message: format!("could not write {}", path.display()),
                    hint: format!(
                        "-o must name a file in an existing directory you may write to ({} is not one)",
                        dir.display()
                    ),
                })
            })?;
            #[cfg(unix)]
            if let Some(mode) = mode {
                // The umask applied at creation; the existing file's mode is restored exactly.
                let permissions = std::os::unix::fs::PermissionsExt::from_mode(mode);
                temp.as_file()
                    .set_permissions(permissions)
                    .with_context(failed)?;
            }
            let mut writer = std::io::BufWriter::new(temp);
            write(&mut writer)
                .and_then(|()| writer.flush())
                .with_context(failed)?;
            let temp = writer
                .into_inner()
                .map_err(|e| e.into_error())
                .with_context(failed)?;
            temp.as_file().sync_all().with_context(failed)?;
            temp.persist(&file)
                .with_context(|| format!("could not replace {}", file.display()))?;
        }
        Target::WriteThrough => {
            let file = fs_err::OpenOptions::new()
                .write(true)
                .create(true)
                .open(path)?;
            let mut writer = std::io::BufWriter::new(file);
            write(&mut writer)
                .and_then(|()| writer.flush())
                .with_context(failed)?;
        }
    }
    Ok(())
}

/// How `-o PATH` is written.
enum Target {
    /// A new path or a regular file (a symlink's resolved target): atomically, by rename,
    /// keeping the existing file's mode.
    Replace {
        path: std::path::PathBuf,
        mode: Option<u32>,
    },
    /// A FIFO, a character device or a dangling symlink: opened and written, never replaced.
    WriteThrough,
}

fn target(path: &Path) -> anyhow::Result<Target> {
    let metadata = match std::fs::symlink_metadata(path) {
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            return Ok(Target::Replace {
                path: path.to_owned(),
                mode: None,
            });
        }
        Err(err) => {
            return Err(err).with_context(|| format!("could not look at {}", path.display()));
        }
        Ok(metadata) => metadata,
    };
    let file_type = metadata.file_type();
    if file_type.is_symlink() {
        // Replace what the link points to, never the link itself.
        return match fs_err::canonicalize(path) {
            Ok(resolved) if !resolved.is_symlink() => match target(&resolved)? {
                Target::Replace { path, mode } => Ok(Target::Replace { path, mode }),
                Target::WriteThrough => Ok(Target::WriteThrough),
            },
            // A dangling link: opening it creates its target.
            _ => Ok(Target::WriteThrough),
        };
    }
    if file_type.is_file() {
        return Ok(Target::Replace {
            path: path.to_owned(),
            mode: Some(mode_of(&metadata)),
        });
    }
    if file_type.is_dir() {
        return Err(hinted(
            format!("{} is a directory", path.display()),
            "give a file name to write to",
        ));
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if file_type.is_fifo() || file_type.is_char_device() {
            return Ok(Target::WriteThrough);
        }
    }
    Err(hinted(
        format!(
            "{} is neither a regular file, a FIFO nor a character device; refusing to write a report onto it",
            path.display()
        ),
        "give a regular file, a new path, or /dev/stdout",
    ))
}

#[cfg(unix)]
fn mode_of(metadata: &std::fs::Metadata) -> u32 {
    std::os::unix::fs::PermissionsExt::mode(&metadata.permissions()) & 0o7777
}

#[cfg(not(unix))]
fn mode_of(_: &std::fs::Metadata) -> u32 {
    0o666
}

fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    }
}

/// Writes a file through a temporary sibling and a rename.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    emit_with(Some(path), |out| out.write_all(bytes))
}

/// Today's date where the user is, for ignore and baseline expiry dates.
///
/// `jiff::Zoned::now()` indexes the whole tz database to look the zone's name up, which costs
/// more than a small scan itself; reading `/etc/localtime` directly gives the same offset. With
/// `TZ` set (or on systems without that file) jiff's full lookup is used.
pub fn today() -> jiff::civil::Date {
    let now = jiff::Timestamp::now();
    if std::env::var_os("TZ").is_none()
        && let Ok(data) = std::fs::read("/etc/localtime")
        && let Ok(tz) = jiff::tz::TimeZone::tzif("localtime", &data)
    {
        return now.to_zoned(tz).date();
    }
    jiff::Zoned::now().date()
}
