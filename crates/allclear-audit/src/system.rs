//! What checks read: files (inside `--root` when one is given), processes, command output.
//!
//! Under a root every path is resolved by hand, one component at a time: `..` stops at the
//! root, an absolute symlink restarts from the root (never from the host's `/`), and a
//! chain of more than [`MAX_SYMLINKS`] links is an error, as the kernel's own ELOOP limit.
//! Files are read up to [`Limits::max_file_bytes`]; a larger file is an error for the
//! check, never read in part, so a pattern cannot "not match" text that was never read.

use std::ffi::OsString;
use std::io::Read;
use std::path::{Component, Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

/// Symlinks followed while resolving one path (Linux's own limit is 40).
pub const MAX_SYMLINKS: usize = 40;

/// Where a check looks, and what it may do there.
#[derive(Debug, Clone)]
pub struct System {
    /// `None`: the running host. `Some(dir)`: a tree mounted at `dir`.
    root: Option<PathBuf>,
    /// Whether `c:` rules and command-based checks may run.
    allow_commands: bool,
    limits: Limits,
}

/// Bounds on what one check may read or run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub max_file_bytes: u64,
    pub command_timeout: Duration,
    pub max_output_bytes: usize,
    /// Files a `d:` rule looks at in one directory tree.
    pub max_dir_entries: usize,
    pub max_dir_depth: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            // sshd_config, sysctl.conf, passwd: kilobytes. 16 MiB leaves room for a large
            // dpkg status file while bounding what a hostile tree can make us read.
            max_file_bytes: 16 << 20,
            command_timeout: Duration::from_secs(10),
            max_output_bytes: 1 << 20,
            max_dir_entries: 20_000,
            max_dir_depth: 12,
        }
    }
}

/// Why something could not be read or run. The message names the path or the command.
#[derive(Debug, thiserror::Error)]
pub enum AccessError {
    /// Reading failed for a reason other than absence (permissions, I/O).
    #[error("cannot read {path}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// More than [`MAX_SYMLINKS`] symlinks, or a loop.
    #[error("{path}: more than {MAX_SYMLINKS} symlinks (a loop?)")]
    SymlinkLoop { path: String },
    /// The file is bigger than the limit; it was not read.
    #[error("{path} is larger than {limit} bytes; not read")]
    TooLarge { path: String, limit: u64 },
    /// A directory tree has more entries than the limit.
    #[error("{path}: more than {limit} entries; not searched in full")]
    TooManyEntries { path: String, limit: usize },
    /// The command could not be started for a reason other than its absence.
    #[error("cannot run `{command}`")]
    Spawn {
        command: String,
        #[source]
        source: std::io::Error,
    },
    /// The command ran past the timeout and was killed.
    #[error("`{command}` ran longer than {seconds} s and was stopped")]
    Timeout { command: String, seconds: u64 },
    /// The command printed more than the output limit.
    #[error("`{command}` printed more than {limit} bytes")]
    OutputTooLarge { command: String, limit: usize },
}

/// The output of a command that ran.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommandOutput {
    /// stdout, then stderr.
    Text(String),
    /// The program does not exist on this host.
    NotFound,
}

/// What a path is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    File,
    Dir,
    Other,
    Missing,
}

impl System {
    /// The running host.
    pub fn host() -> System {
        System {
            root: None,
            allow_commands: false,
            limits: Limits::default(),
        }
    }

    /// A tree mounted at `root` (an image, a container's filesystem, a debootstrap tree).
    pub fn rooted(root: impl Into<PathBuf>) -> System {
        System {
            root: Some(root.into()),
            allow_commands: false,
            limits: Limits::default(),
        }
    }

    /// Lets command rules run (only ever on the running host).
    pub fn allow_commands(mut self, allow: bool) -> System {
        self.allow_commands = allow;
        self
    }

    pub fn with_limits(mut self, limits: Limits) -> System {
        self.limits = limits;
        self
    }

    pub fn root(&self) -> Option<&Path> {
        self.root.as_deref()
    }

    pub fn commands_allowed(&self) -> bool {
        self.allow_commands
    }

    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Why a path cannot be judged here: under a root, the kernel's and the runtime's
    /// virtual filesystems describe the host running allclear, not the tree.
    pub fn host_only_reason(&self, path: &str) -> Option<String> {
        self.root.as_ref()?;
        let host_only = ["/proc", "/sys", "/dev", "/run"];
        host_only
            .iter()
            .find(|prefix| {
                path == **prefix
                    || path
                        .strip_prefix(**prefix)
                        .is_some_and(|rest| rest.starts_with('/'))
            })
            .map(|prefix| format!("{prefix} describes the running host, not the tree under --root"))
    }

    /// The real path of `path` (absolute, as the audited system sees it).
    pub fn resolve(&self, path: &str) -> Result<PathBuf, AccessError> {
        let Some(root) = &self.root else {
            return Ok(PathBuf::from(path));
        };
        let mut pending: Vec<OsString> = components(Path::new(path));
        pending.reverse();
        let mut inside: Vec<OsString> = Vec::new();
        let mut followed = 0;
        while let Some(part) = pending.pop() {
            if part == ".." {
                inside.pop();
                continue;
            }
            let candidate = join(root, &inside).join(&part);
            match fs_err::symlink_metadata(&candidate) {
                Ok(meta) if meta.file_type().is_symlink() => {
                    followed += 1;
                    if followed > MAX_SYMLINKS {
                        return Err(AccessError::SymlinkLoop {
                            path: path.to_owned(),
                        });
                    }
                    let target =
                        fs_err::read_link(&candidate).map_err(|source| AccessError::Io {
                            path: path.to_owned(),
                            source,
                        })?;
                    if target.is_absolute() {
                        inside.clear();
                    }
                    let mut more = components(&target);
                    more.reverse();
                    pending.extend(more);
                }
                Ok(_) => inside.push(part),
                Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                    // The rest does not exist; keep the name so the caller sees "missing".
                    inside.push(part);
                    pending.reverse();
                    inside.extend(pending.drain(..).filter(|p| p != ".."));
                    break;
                }
                Err(err) if err.kind() == std::io::ErrorKind::NotADirectory => {
                    inside.push(part);
                    break;
                }
                Err(source) => {
                    return Err(AccessError::Io {
                        path: path.to_owned(),
                        source,
                    });
                }
            }
        }
        Ok(join(root, &inside))
    }

    /// What `path` is, after resolution.
    pub fn kind(&self, path: &str) -> Result<Kind, AccessError> {
        let real = self.resolve(path)?;
        match fs_err::metadata(&real) {
            Ok(meta) if meta.is_file() => Ok(Kind::File),
            Ok(meta) if meta.is_dir() => Ok(Kind::Dir),
            Ok(_) => Ok(Kind::Other),
            Err(err)
                if matches!(
                    err.kind(),
                    std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory
                ) =>
            {
                Ok(Kind::Missing)
            }
            Err(err) if err.raw_os_error() == Some(40) => Err(AccessError::SymlinkLoop {
                path: path.to_owned(),
            }),
            Err(source) => Err(AccessError::Io {
                path: path.to_owned(),
                source,
            }),
        }
    }

    /// The text of a file, `None` when it does not exist. Invalid UTF-8 is replaced.
    pub fn read(&self, path: &str) -> Result<Option<String>, AccessError> {
        let real = self.resolve(path)?;
        let io = |source: std::io::Error| AccessError::Io {
            path: path.to_owned(),
            source,
        };
        let file = match fs_err::File::open(&real) {
            Ok(file) => file,
            Err(err)
                if matches!(
                    err.kind(),
                    std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory
                ) =>
            {
                return Ok(None);
            }
            Err(err) if err.raw_os_error() == Some(40) => {
                return Err(AccessError::SymlinkLoop {
                    path: path.to_owned(),
                });
            }
            Err(err) => return Err(io(err)),
        };
        let limit = self.limits.max_file_bytes;
        let mut bytes = Vec::new();
        file.take(limit + 1).read_to_end(&mut bytes).map_err(io)?;
        if bytes.len() as u64 > limit {
            return Err(AccessError::TooLarge {
                path: path.to_owned(),
                limit,
            });
        }
        Ok(Some(String::from_utf8_lossy(&bytes).into_owned()))
    }

    /// The names in a directory (`None` when it does not exist), sorted.
    pub fn list(&self, path: &str) -> Result<Option<Vec<String>>, AccessError> {
        let real = self.resolve(path)?;
        let entries = match fs_err::read_dir(&real) {
            Ok(entries) => entries,
            Err(err)
                if matches!(
                    err.kind(),
                    std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory
                ) =>
            {
                return Ok(None);
            }
            Err(source) => {
                return Err(AccessError::Io {
                    path: path.to_owned(),
                    source,
                });
            }
        };
        let mut names = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|source| AccessError::Io {
                path: path.to_owned(),
                source,
            })?;
            names.push(entry.file_name().to_string_lossy().into_owned());
            if names.len() > self.limits.max_dir_entries {
                return Err(AccessError::TooManyEntries {
                    path: path.to_owned(),
                    limit: self.limits.max_dir_entries,
                });
            }
        }
        names.sort();
        Ok(Some(names))
    }

    /// Every regular file under `dir` (recursively, not following symlinked directories),
    /// as audited-system paths. `None` when `dir` is not a directory.
    pub fn files_under(&self, dir: &str) -> Result<Option<Vec<String>>, AccessError> {
        if self.kind(dir)? != Kind::Dir {
            return Ok(None);
        }
        let mut files = Vec::new();
        let mut stack = vec![(dir.trim_end_matches('/').to_owned(), 0usize)];
        let mut seen = 0usize;
        while let Some((current, depth)) = stack.pop() {
            let Some(names) = self.list(if current.is_empty() { "/" } else { &current })? else {
                continue;
            };
            for name in names {
                seen += 1;
                if seen > self.limits.max_dir_entries {
                    return Err(AccessError::TooManyEntries {
                        path: dir.to_owned(),
                        limit: self.limits.max_dir_entries,
                    });
                }
                let child = format!("{current}/{name}");
                let real = self.resolve(&current)?.join(&name);
                let Ok(meta) = fs_err::symlink_metadata(&real) else {
                    continue;
                };
                if meta.is_dir() {
                    if depth < self.limits.max_dir_depth {
                        stack.push((child, depth + 1));
                    }
                } else if meta.is_file() {
                    files.push(child);
                } else if meta.file_type().is_symlink() {
                    // A link to a file counts; a broken or looping one is kept too, so that
                    // a rule whose name matches it reports the error instead of skipping it.
                    match self.kind(&child) {
                        Ok(Kind::File) | Err(_) => files.push(child),
                        Ok(_) => {}
                    }
                }
            }
        }
        files.sort();
        Ok(Some(files))
    }

    /// Names of running processes (comm, and argv[0]'s file name), on the running host.
    pub fn processes(&self) -> Result<Vec<String>, AccessError> {
        let mut names = Vec::new();
        let entries = fs_err::read_dir("/proc").map_err(|source| AccessError::Io {
            path: "/proc".to_owned(),
            source,
        })?;
        for entry in entries.flatten() {
            let name = entry.file_name();
            let Some(pid) = name
                .to_str()
                .filter(|n| n.bytes().all(|b| b.is_ascii_digit()))
            else {
                continue;
            };
            // A process may exit between the listing and the read: skip it.
            if let Ok(comm) = std::fs::read_to_string(format!("/proc/{pid}/comm")) {
                names.push(comm.trim_end().to_owned());
            }
            if let Ok(cmdline) = std::fs::read(format!("/proc/{pid}/cmdline")) {
                let argv0 = cmdline.split(|b| *b == 0).next().unwrap_or_default();
                let argv0 = String::from_utf8_lossy(argv0);
                if let Some(base) = argv0.rsplit('/').next().filter(|b| !b.is_empty()) {
                    names.push(base.to_owned());
                }
            }
        }
        names.sort();
        names.dedup();
        Ok(names)
    }

    /// Runs `argv` directly (no shell), with the timeout and output limit. The caller checks
    /// [`System::commands_allowed`] first.
    pub fn run(&self, argv: &[String]) -> Result<CommandOutput, AccessError> {
        use wait_timeout::ChildExt;
        let command = argv.join(" ");
        let Some((program, args)) = argv.split_first() else {
            return Ok(CommandOutput::NotFound);
        };
        let mut child = match Command::new(program)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            // A predictable output language for the patterns policies match.
            .env("LC_ALL", "C")
            .spawn()
        {
            Ok(child) => child,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                return Ok(CommandOutput::NotFound);
            }
            Err(source) => return Err(AccessError::Spawn { command, source }),
        };
        let limit = self.limits.max_output_bytes;
        let reader = |stream: Option<Box<dyn Read + Send>>| {
            std::thread::spawn(move || {
                let mut bytes = Vec::new();
                if let Some(stream) = stream {
                    // One byte past the limit tells "exactly the limit" from "more".
                    let _ = stream.take(limit as u64 + 1).read_to_end(&mut bytes);
                }
                bytes
            })
        };
        let stdout = reader(
            child
                .stdout
                .take()
                .map(|s| Box::new(s) as Box<dyn Read + Send>),
        );
        let stderr = reader(
            child
                .stderr
                .take()
                .map(|s| Box::new(s) as Box<dyn Read + Send>),
        );
        let status = child
            .wait_timeout(self.limits.command_timeout)
            .map_err(|source| AccessError::Spawn {
                command: command.clone(),
                source,
            })?;
        if status.is_none() {
            let _ = child.kill();
            let _ = child.wait();
            return Err(AccessError::Timeout {
                command,
                seconds: self.limits.command_timeout.as_secs(),
            });
        }
        let mut out = stdout.join().unwrap_or_default();
        let err = stderr.join().unwrap_or_default();
        if out.len() + err.len() > limit {
            return Err(AccessError::OutputTooLarge { command, limit });
        }
        out.extend_from_slice(&err);
        Ok(CommandOutput::Text(
            String::from_utf8_lossy(&out).into_owned(),
        ))
    }
}

fn components(path: &Path) -> Vec<OsString> {
    path.components()
        .filter_map(|c| match c {
            Component::Normal(name) => Some(name.to_owned()),
            Component::ParentDir => Some(OsString::from("..")),
            _ => None,
        })
        .collect()
}

fn join(root: &Path, inside: &[OsString]) -> PathBuf {
    let mut path = root.to_path_buf();
    path.extend(inside);
    path
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    #[test]
    fn symlinks_resolve_inside_the_root() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        fs_err::create_dir_all(root.join("etc")).unwrap();
        fs_err::write(root.join("etc/real"), "inside\n").unwrap();
        // Absolute: must mean ROOT/etc/real, never the host's /etc/real.
        symlink("/etc/real", root.join("etc/abs")).unwrap();
        // Climbing out with `..` stops at the root.
        symlink("../../../../etc/real", root.join("etc/climb")).unwrap();
        // An absolute link to a host file that the tree does not have.
        symlink("/etc/hostname", root.join("etc/host")).unwrap();
        let system = System::rooted(root);
        assert_eq!(
            system.read("/etc/abs").unwrap().as_deref(),
            Some("inside\n")
        );
        assert_eq!(
            system.read("/etc/climb").unwrap().as_deref(),
            Some("inside\n")
        );
        assert_eq!(
            system.read("/../../etc/real").unwrap().as_deref(),
            Some("inside\n")
        );
        assert_eq!(system.read("/etc/host").unwrap(), None);
        assert_eq!(system.kind("/etc").unwrap(), Kind::Dir);
    }

    #[test]
    fn loops_and_huge_files_are_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        symlink("/b", root.join("a")).unwrap();
        symlink("/a", root.join("b")).unwrap();
        let system = System::rooted(root).with_limits(Limits {
            max_file_bytes: 10,
            ..Limits::default()
        });
        assert!(matches!(
            system.read("/a"),
            Err(AccessError::SymlinkLoop { .. })
        ));
        fs_err::write(root.join("big"), "x".repeat(11)).unwrap();
        assert!(matches!(
            system.read("/big"),
            Err(AccessError::TooLarge { .. })
        ));
        fs_err::write(root.join("small"), "x".repeat(10)).unwrap();
        assert!(system.read("/small").unwrap().is_some());
    }

    #[test]
    fn host_paths_are_not_judged_under_a_root() {
        let system = System::rooted("/nonexistent");
        assert!(
            system
                .host_only_reason("/proc/sys/kernel/randomize_va_space")
                .is_some()
        );
        assert!(system.host_only_reason("/processes").is_none());
        assert!(System::host().host_only_reason("/proc/x").is_none());
    }

    #[test]
    fn commands_run_without_a_shell_and_are_bounded() {
        let system = System::host().with_limits(Limits {
            command_timeout: Duration::from_millis(300),
            max_output_bytes: 100,
            ..Limits::default()
        });
        let argv = |words: &[&str]| words.iter().map(|w| w.to_string()).collect::<Vec<_>>();
        // `;` is an argument to echo, not a command separator.
        let out = system.run(&argv(&["echo", "a;", "id"])).unwrap();
        assert_eq!(out, CommandOutput::Text("a; id\n".into()));
        assert_eq!(
            system.run(&argv(&["no-such-program-xyz"])).unwrap(),
            CommandOutput::NotFound
        );
        assert!(matches!(
            system.run(&argv(&["sleep", "5"])),
            Err(AccessError::Timeout { .. })
        ));
        assert!(matches!(
            system.run(&argv(&["head", "-c", "1000", "/dev/zero"])),
            Err(AccessError::OutputTooLarge { .. })
        ));
    }
}
