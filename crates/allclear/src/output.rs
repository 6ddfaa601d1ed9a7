//! Writing results: stdout with broken-pipe handling, atomic files, colour, errors with hints.

use std::io::{IsTerminal, Write};
use std::path::Path;

use anyhow::Context;

use crate::cli::ColorChoice;

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

/// Prints `error: …`, each cause on its own line, and any hint.
pub fn print_error(err: &anyhow::Error) {
    let mut stderr = std::io::stderr().lock();
    let _ = writeln!(stderr, "error: {err}");
    for cause in err.chain().skip(1) {
        let _ = writeln!(stderr, "  caused by: {cause}");
    }
    if let Some(hint) = err.chain().find_map(|e| e.downcast_ref::<Hint>()) {
        let _ = writeln!(stderr, "hint: {}", hint.hint);
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

/// Streams output to stdout, or atomically to `path` (a temporary file renamed into place,
/// so a reader never sees half a report). Streaming keeps a large report out of memory.
pub fn emit_with(
    path: Option<&Path>,
    write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> anyhow::Result<()> {
    match path {
        None => {
            let mut stdout = std::io::BufWriter::new(std::io::stdout().lock());
            write(&mut stdout)?;
            stdout.flush()?;
        }
        Some(path) => {
            let dir = parent_dir(path);
            let file = tempfile::NamedTempFile::new_in(dir).with_context(|| {
                format!("could not create a temporary file in {}", dir.display())
            })?;
            let mut writer = std::io::BufWriter::new(file);
            write(&mut writer)
                .and_then(|()| writer.flush())
                .with_context(|| format!("could not write {}", path.display()))?;
            let file = writer
                .into_inner()
                .map_err(|e| e.into_error())
                .with_context(|| format!("could not write {}", path.display()))?;
            file.as_file()
                .sync_all()
                .with_context(|| format!("could not write {}", path.display()))?;
            file.persist(path)
                .with_context(|| format!("could not replace {}", path.display()))?;
        }
    }
    Ok(())
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
