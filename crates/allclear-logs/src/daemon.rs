//! The running ban service: every enabled jail of a fail2ban configuration, its log sources,
//! its ban engine and its firewall action, with state kept in a [`StateDir`].
//!
//! Each [`Engine::poll`] takes the state lock, reloads the state (so manual `ban`/`unban`
//! made meanwhile are seen), reads what is new in every source, bans, lifts expired bans and
//! saves the state with the new read positions, then releases the lock.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc::{Receiver, TryRecvError};

use jiff::tz::TimeZone;

use crate::action::{ActionError, ActionKind, Firewall, Ports, Target, map_action};
use crate::config::{ConfigError, JailDefinition, read_jails};
use crate::date::Clock;
use crate::filter::{CompiledFilter, Filter, FilterError, FilterOptions};
use crate::follow::{FollowError, Follower};
use crate::jail::{BanTimePolicy, IgnoreList, Jail, JailError, JailPolicy, Outcome};
use crate::journal::{JournalEntry, JournalError, journalctl_args};
use crate::state::{BanRecord, Stamp, State, StateDir, StateError};

/// The service could not start or go on.
#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    /// The jail files themselves cannot be read.
    #[error("reading the fail2ban configuration in {}", dir.display())]
    Config {
        dir: PathBuf,
        #[source]
        source: Box<ConfigError>,
    },
    /// The state cannot be read or written.
    #[error(transparent)]
    State(#[from] StateError),
    /// A firewall change failed.
    #[error(transparent)]
    Action(#[from] ActionError),
    /// No jail of that name is running.
    #[error("no enabled jail `{0}`")]
    NoJail(String),
}

/// Why one jail does not run (the others do).
#[derive(Debug, thiserror::Error)]
pub enum JailSetupError {
    /// Its definition or filter files are broken (the error names file and line).
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// Its ban settings are unusable.
    #[error(transparent)]
    Jail(#[from] JailError),
    /// Its filter does not compile.
    #[error("filter does not compile")]
    Filter(#[from] FilterError),
    /// It has no filter.
    #[error("jail has no filter")]
    NoFilter,
}

/// How the service runs.
#[derive(Debug, Clone)]
pub struct Options {
    /// Use this action for every jail instead of the jails' own.
    pub action: Option<ActionKind>,
    /// Addresses of this host (never banned when `ignoreself`), besides loopback.
    pub own_addresses: Vec<IpAddr>,
    /// The time zone of log lines without one.
    pub tz: TimeZone,
    /// Keep following (journalctl `--follow`); `false` reads to the end (`--once`).
    pub follow: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            action: None,
            own_addresses: Vec::new(),
            tz: TimeZone::UTC,
            follow: false,
        }
    }
}

/// Something the service did or noticed, for the log.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    Banned(Box<BanRecord>),
    /// A ban ended (`expired`) or was lifted by hand.
    Unbanned {
        jail: String,
        ip: IpAddr,
        expired: bool,
    },
    Rotated {
        jail: String,
        path: PathBuf,
    },
    Truncated {
        jail: String,
        path: PathBuf,
    },
    /// Lines longer than [`crate::follow::MAX_LINE`] in a log file: only their head was
    /// matched, the rest skipped.
    LongLines {
        jail: String,
        path: PathBuf,
        count: u64,
    },
    /// Live bans lifted early to keep the jail within [`crate::state::MAX_BANS`].
    Evicted {
        jail: String,
        count: usize,
    },
    /// A problem that does not stop the service (a source that cannot be read, a firewall
    /// change that failed, a bad journal entry).
    Problem(String),
}

enum Source {
    File {
        key: String,
        follower: Follower,
        filter: Filter,
    },
    Journal {
        receiver: Option<Receiver<Result<JournalEntry, JournalError>>>,
        filter: Filter,
    },
}

/// A jail at run time.
pub struct RunningJail {
    pub jail: Jail,
    pub action: ActionKind,
    /// The traffic its bans drop (the action's `port` and `protocol`).
    pub ports: Ports,
    pub definition: JailDefinition,
    filter: Arc<CompiledFilter>,
    sources: Option<Vec<Source>>,
}

impl std::fmt::Debug for RunningJail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunningJail")
            .field("name", &self.jail.policy.name)
            .field("action", &self.action)
            .finish()
    }
}

/// Every running jail and the state directory.
#[derive(Debug)]
pub struct Engine {
    pub jails: Vec<RunningJail>,
    pub state_dir: StateDir,
    pub options: Options,
    /// Warnings from setting up (unsupported actions, options not applied).
    pub warnings: Vec<String>,
    /// The state as of the last load or save, and the file's stamp then: a poll reads the
    /// file again only when another process (`ban`, `unban`) replaced it, so an idle daemon
    /// neither reads nor writes anything (a flood's state file is megabytes).
    memory: Option<(State, Option<Stamp>)>,
}

/// Paths of a `logpath` entry: fail2ban allows a trailing ` head`/` tail` and globs.
fn expand_logpath(entry: &str) -> Vec<PathBuf> {
    let entry = entry
        .strip_suffix(" tail")
        .or_else(|| entry.strip_suffix(" head"))
        .unwrap_or(entry)
        .trim();
    if !entry.contains(['*', '?', '[']) {
        return vec![PathBuf::from(entry)];
    }
    let path = Path::new(entry);
    let (Some(parent), Some(name)) = (path.parent(), path.file_name()) else {
        return Vec::new();
    };
    let Ok(glob) = globset::Glob::new(&name.to_string_lossy()) else {
        return Vec::new();
    };
    let matcher = glob.compile_matcher();
    let mut found: Vec<PathBuf> = std::fs::read_dir(parent)
        .map(|rd| {
            rd.filter_map(Result::ok)
                .filter(|e| matcher.is_match(e.file_name()))
                .map(|e| e.path())
                .collect()
        })
        .unwrap_or_default();
    found.sort();
    found
}

fn now_clock(now: f64, tz: &TimeZone) -> Clock {
    let ts =
        jiff::Timestamp::from_second(now.floor() as i64).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
    Clock::new(ts, tz.clone())
}

impl Engine {
    /// Reads every jail of `config_dir`: the enabled ones that load become [`RunningJail`]s;
    /// each that does not is returned with its error (the others still run).
    pub fn from_config(
        config_dir: &Path,
        state_dir: StateDir,
        options: Options,
    ) -> Result<(Engine, Vec<(String, JailSetupError)>), DaemonError> {
        let results = read_jails(config_dir, &[]).map_err(|source| DaemonError::Config {
            dir: config_dir.to_owned(),
            source: Box::new(source),
        })?;
        let definitions = results
            .into_iter()
            .filter_map(|(name, result)| match result {
                Ok(def) if !def.enabled => None,
                Ok(def) => Some((name, Ok(def))),
                Err(e) => Some((name, Err(e.into()))),
            });
        Ok(Self::assemble(
            definitions,
            options.action,
            state_dir,
            options,
        ))
    }

    /// An engine running allclear's built-in detections (sshd, web probes, mail, Drupal,
    /// Rails…) for a host with no fail2ban configuration: every built-in jail that bans an
    /// address and whose Debian log file exists here. Repeat offenders get longer bans
    /// (`bantime.increment`).
    ///
    /// `root` is where the log paths are looked up: `/`, or a container's or chroot's root.
    pub fn from_builtin(
        root: &Path,
        state_dir: StateDir,
        options: Options,
    ) -> Result<(Engine, Vec<(String, JailSetupError)>), DaemonError> {
        let definitions = crate::builtin::builtin_jails()
            .into_iter()
            .filter(|builtin| builtin.target == crate::builtin::Target::Address)
            .filter_map(|builtin| {
                let logpath: Vec<String> = builtin
                    .logpaths
                    .iter()
                    .map(|entry| {
                        root.join(entry.trim_start_matches('/'))
                            .to_string_lossy()
                            .into_owned()
                    })
                    .filter(|entry| expand_logpath(entry).iter().any(|p| p.exists()))
                    .collect();
                if logpath.is_empty() {
                    return None;
                }
                let rules = &builtin.rules;
                let def = JailDefinition {
                    name: builtin.name.to_owned(),
                    enabled: true,
                    filter_name: Some(builtin.name.to_owned()),
                    filter_args: BTreeMap::new(),
                    filter: Some(builtin.filter.clone()),
                    backend: "auto".to_owned(),
                    logpath,
                    maxretry: rules.maxretry,
                    findtime: rules.findtime,
                    bantime: rules.bantime,
                    bantime_increment: true,
                    ignoreip: rules.ignoreip.clone(),
                    ignoreself: true,
                    action: String::new(),
                    bantime_options: BTreeMap::new(),
                    origin: format!("built-in jail {}", builtin.name),
                };
                Some((builtin.name.to_owned(), Ok(def)))
            });
        // Without --action, a built-in jail only logs: banning is opted into, and said once
        // for all of them below rather than by each jail.
        let action = Some(options.action.unwrap_or(ActionKind::Log));
        let (mut engine, failed) = Self::assemble(definitions, action, state_dir, options);
        if engine.options.action.is_none() && !engine.jails.is_empty() {
            engine.warnings.push(
                "built-in jails only log their bans; pass --action nftables (or iptables) to ban"
                    .to_owned(),
            );
        }
        Ok((engine, failed))
    }

    /// Sets up each jail definition; those that fail are returned with their error (the
    /// others still run). `action` overrides every jail's own `action` setting.
    fn assemble(
        definitions: impl Iterator<Item = (String, Result<JailDefinition, JailSetupError>)>,
        action: Option<ActionKind>,
        state_dir: StateDir,
        options: Options,
    ) -> (Engine, Vec<(String, JailSetupError)>) {
        let mut jails = Vec::new();
        let mut failed = Vec::new();
        let mut warnings = Vec::new();
        // Port names not in the built-in table (`port = myservice`).
        let services = std::fs::read_to_string("/etc/services").ok();
        for (name, definition) in definitions {
            match definition
                .and_then(|def| Self::setup_jail(def, action, &options, services.as_deref()))
            {
                Ok((jail, w)) => {
                    warnings.extend(w);
                    jails.push(jail);
                }
                Err(e) => failed.push((name, e)),
            }
        }
        (
            Engine {
                jails,
                state_dir,
                options,
                warnings,
                memory: None,
            },
            failed,
        )
    }

    fn setup_jail(
        def: JailDefinition,
        action: Option<ActionKind>,
        options: &Options,
        services: Option<&str>,
    ) -> Result<(RunningJail, Vec<String>), JailSetupError> {
        let fdef = def.filter.as_ref().ok_or(JailSetupError::NoFilter)?;
        let filter = Arc::new(CompiledFilter::new(fdef, FilterOptions::default())?);
        let (bantime, mut warnings) = BanTimePolicy::from_definition(&def)?;
        let (ignore, w) = IgnoreList::new(
            &def.ignoreip,
            def.ignoreself,
            options.own_addresses.clone(),
            &def.name,
            &def.origin,
        )?;
        warnings.extend(w);
        let action = match action {
            Some(a) => a,
            None => {
                let (a, w) = map_action(&def.name, &def.action);
                warnings.extend(w);
                a
            }
        };
        // `--action` replaces the firewall, not the jail's ports.
        let (ports, w) = Ports::of_action(&def.action, services);
        warnings.extend(w.into_iter().map(|w| format!("jail `{}`: {w}", def.name)));
        let policy = JailPolicy {
            name: def.name.clone(),
            maxretry: def.maxretry,
            findtime: def.findtime,
            bantime,
            ignore,
        };
        Ok((
            RunningJail {
                jail: Jail::new(policy),
                action,
                ports,
                definition: def,
                filter,
                sources: None,
            },
            warnings,
        ))
    }

    fn targets(&self, kind: ActionKind) -> Vec<Target> {
        self.jails
            .iter()
            .filter(|j| j.action == kind)
            .map(|j| Target {
                jail: j.jail.policy.name.clone(),
                ports: j.ports.clone(),
            })
            .collect()
    }

    fn kinds(&self) -> Vec<ActionKind> {
        let mut kinds: Vec<ActionKind> = self.jails.iter().map(|j| j.action).collect();
        kinds.sort_by_key(|k| k.name());
        kinds.dedup();
        kinds
    }

    /// Lifts expired bans and puts the live ones (restored from the state) into the
    /// firewall: our table and sets are recreated in one transaction per firewall.
    pub fn start(&mut self, now: f64) -> Result<Vec<Event>, DaemonError> {
        let _lock = self.state_dir.lock()?;
        self.memory = None;
        let mut state = self.state_dir.load()?;
        let events = state
            .expire(now)
            .into_iter()
            .map(|b| Event::Unbanned {
                jail: b.jail,
                ip: b.ip,
                expired: true,
            })
            .collect();
        for kind in self.kinds() {
            let targets = self.targets(kind);
            let bans: Vec<&BanRecord> = state
                .all_bans()
                .filter(|b| targets.iter().any(|t| t.jail == b.jail))
                .collect();
            Firewall::new(kind).sync(&targets, &bans, now)?;
        }
        self.state_dir.save(&state)?;
        self.memory = Some((state, self.state_dir.stamp()?));
        Ok(events)
    }

    /// The state: the one in memory while the file is the one we last read or wrote, else
    /// the file's. Call with the lock held.
    fn current_state(&mut self) -> Result<State, DaemonError> {
        let stamp = self.state_dir.stamp()?;
        if let Some((state, seen)) = self.memory.take()
            && seen.is_some()
            && seen == stamp
        {
            return Ok(state);
        }
        Ok(self.state_dir.load()?)
    }

    fn open_sources(rj: &mut RunningJail, state: &State, follow: bool) -> Vec<Event> {
        let mut events = Vec::new();
        let name = rj.jail.policy.name.clone();
        let mut sources = Vec::new();
        if rj.definition.backend.starts_with("systemd") {
            let journalmatch = rj
                .definition
                .filter
                .as_ref()
                .map(|f| f.journalmatch.clone())
                .unwrap_or_default();
            let args = journalctl_args(
                &journalmatch,
                state.cursors.get(&name).map(String::as_str),
                follow,
                rj.jail.policy.findtime,
            );
            match crate::journal::Journal::spawn(&args) {
                Ok(mut journal) => {
                    let (tx, rx) = std::sync::mpsc::channel();
                    std::thread::spawn(move || {
                        while let Some(entry) = journal.next_entry() {
                            if tx.send(entry).is_err() {
                                break;
                            }
                        }
                    });
                    sources.push(Source::Journal {
                        receiver: Some(rx),
                        filter: Filter::new(Arc::clone(&rj.filter)),
                    });
                }
                Err(e) => events.push(Event::Problem(format!(
                    "jail `{name}`: cannot read the journal: {}",
                    error_chain(&e)
                ))),
            }
        } else {
            for entry in &rj.definition.logpath {
                let paths = expand_logpath(entry);
                if paths.is_empty() {
                    events.push(Event::Problem(format!(
                        "jail `{name}`: no file matches logpath {entry:?}"
                    )));
                }
                for path in paths {
                    if !path.exists() {
                        events.push(Event::Problem(format!(
                            "jail `{name}`: {} does not exist (yet); waiting for it",
                            path.display()
                        )));
                    }
                    let key = format!("{name}:{}", path.display());
                    let saved = state.positions.get(&key).cloned();
                    sources.push(Source::File {
                        key,
                        follower: Follower::new(path, saved),
                        filter: Filter::new(Arc::clone(&rj.filter)),
                    });
                }
            }
        }
        rj.sources = Some(sources);
        events
    }

    /// Reads what is new in every source, bans, lifts expired bans, saves the state (only
    /// when it changed).
    pub fn poll(&mut self, now: f64) -> Result<Vec<Event>, DaemonError> {
        let mut events = Vec::new();
        self.poll_each(now, &mut |e| events.push(e))?;
        Ok(events)
    }

    /// [`Engine::poll`], handing each event to `emit` as it happens: a poll that catches up
    /// on a flood's backlog may ban many addresses, and their records are not collected.
    pub fn poll_each(&mut self, now: f64, emit: &mut dyn FnMut(Event)) -> Result<(), DaemonError> {
        let _lock = self.state_dir.lock()?;
        let mut state = self.current_state()?;
        let mut changed = false;
        let clock = now_clock(now, &self.options.tz);
        let follow = self.options.follow;
        for rj in &mut self.jails {
            if rj.sources.is_none() {
                Self::open_sources(rj, &state, follow)
                    .into_iter()
                    .for_each(&mut *emit);
            }
            let name = rj.jail.policy.name.clone();
            let firewall = Firewall::new(rj.action);
            let Some(sources) = rj.sources.as_mut() else {
                continue;
            };
            let jail = &mut rj.jail;
            // Each line's failures are counted as it is read: nothing of a chunk is kept.
            let mut handle = |failures: Vec<crate::filter::RawFailure>,
                              text: &str,
                              state: &mut State,
                              emit: &mut dyn FnMut(Event)|
             -> bool {
                let mut counted = false;
                for f in failures {
                    if !f.counts() {
                        continue;
                    }
                    let Some(ip) = f.id.as_deref().and_then(|h| h.parse::<IpAddr>().ok()) else {
                        continue;
                    };
                    match jail.failure(ip, f.time, now, text, f.data.user(), state) {
                        Outcome::Banned(ban) => {
                            counted = true;
                            // A ban already over (found while catching up) still counts for
                            // bantime.increment but needs no firewall change.
                            if ban.live_at(now)
                                && let Err(e) = firewall.ban(&ban, now)
                            {
                                emit(Event::Problem(format!(
                                    "jail `{name}`: banning {ip}: {}",
                                    error_chain(&e)
                                )));
                            }
                            emit(Event::Banned(ban));
                        }
                        Outcome::Counted { .. } => counted = true,
                        Outcome::Ignored | Outcome::TooOld | Outcome::AlreadyBanned => {}
                    }
                }
                counted
            };
            for source in sources.iter_mut() {
                match source {
                    Source::File {
                        key,
                        follower,
                        filter,
                    } => {
                        // Catch up completely (a big log after a reboot), one bounded
                        // chunk at a time.
                        loop {
                            let mut on_line = |line: &[u8]| {
                                let text = String::from_utf8_lossy(line);
                                let failures = filter.process_line(&text, &clock);
                                if !failures.is_empty() {
                                    changed |= handle(failures, &text, &mut state, emit);
                                }
                            };
                            let result = follower.poll(&mut on_line);
                            match result {
                                Ok(info) => {
                                    if info.rotated {
                                        emit(Event::Rotated {
                                            jail: name.clone(),
                                            path: follower.path.clone(),
                                        });
                                    }
                                    if info.truncated {
                                        emit(Event::Truncated {
                                            jail: name.clone(),
                                            path: follower.path.clone(),
                                        });
                                    }
                                    if !info.more {
                                        break;
                                    }
                                }
                                Err(e) => {
                                    emit(Event::Problem(format!(
                                        "jail `{name}`: {}",
                                        error_chain(&e as &FollowError)
                                    )));
                                    break;
                                }
                            }
                        }
                        let count = follower.take_long_lines();
                        if count > 0 {
                            emit(Event::LongLines {
                                jail: name.clone(),
                                path: follower.path.clone(),
                                count,
                            });
                        }
                        let position = follower.position();
                        if state.positions.get(key.as_str()) != Some(position) {
                            state.positions.insert(key.clone(), position.clone());
                            changed = true;
                        }
                    }
                    Source::Journal { receiver, filter } => {
                        let Some(rx) = receiver.as_ref() else {
                            continue;
                        };
                        loop {
                            let item = if follow {
                                match rx.try_recv() {
                                    Ok(i) => i,
                                    Err(TryRecvError::Empty) => break,
                                    Err(TryRecvError::Disconnected) => {
                                        *receiver = None;
                                        break;
                                    }
                                }
                            } else {
                                match rx.recv() {
                                    Ok(i) => i,
                                    Err(_) => {
                                        *receiver = None;
                                        break;
                                    }
                                }
                            };
                            match item {
                                Ok(entry) => {
                                    let failures =
                                        filter.process_line_at(&entry.line, entry.time, now);
                                    handle(failures, &entry.line, &mut state, emit);
                                    // A new cursor: the state changed either way.
                                    state.cursors.insert(name.clone(), entry.cursor);
                                    changed = true;
                                }
                                Err(e) => emit(Event::Problem(format!(
                                    "jail `{name}`: {}",
                                    error_chain(&e)
                                ))),
                            }
                        }
                    }
                }
            }
            // journalctl ended (restarted journald, killed): start it again next poll,
            // after the saved cursor.
            if follow
                && sources
                    .iter()
                    .any(|s| matches!(s, Source::Journal { receiver: None, .. }))
            {
                rj.sources = None;
            }
            changed |= rj.jail.forget_old(&mut state, now);
        }
        let history = state.history.len();
        let expired = self.expire(&mut state, now);
        changed |= !expired.is_empty() || state.history.len() != history;
        expired.into_iter().for_each(&mut *emit);
        // Most polls of a quiet system change nothing: spare the disk.
        if changed {
            self.state_dir.save(&state)?;
        }
        self.memory = Some((state, self.state_dir.stamp()?));
        Ok(())
    }

    fn expire(&self, state: &mut State, now: f64) -> Vec<Event> {
        let mut events = Vec::new();
        let evicted = std::mem::take(&mut state.evicted);
        let mut by_jail: BTreeMap<&str, usize> = BTreeMap::new();
        for b in &evicted {
            *by_jail.entry(b.jail.as_str()).or_default() += 1;
        }
        for (jail, count) in by_jail {
            events.push(Event::Evicted {
                jail: jail.to_owned(),
                count,
            });
        }
        for b in evicted.into_iter().chain(state.expire(now)) {
            let kind = self
                .jails
                .iter()
                .find(|j| j.jail.policy.name == b.jail)
                .map(|j| j.action);
            if let Some(kind) = kind
                && let Err(e) = Firewall::new(kind).unban(&b.jail, b.ip)
            {
                events.push(Event::Problem(format!(
                    "jail `{}`: unbanning {}: {}",
                    b.jail,
                    b.ip,
                    error_chain(&e)
                )));
            }
            events.push(Event::Unbanned {
                jail: b.jail,
                ip: b.ip,
                expired: true,
            });
        }
        events
    }

    /// Bans `ip` in `jail` by hand for `seconds` (default: the jail's ban time, with
    /// increments).
    pub fn ban(
        &mut self,
        jail: &str,
        ip: IpAddr,
        seconds: Option<f64>,
        now: f64,
    ) -> Result<BanRecord, DaemonError> {
        let _lock = self.state_dir.lock()?;
        let mut state = self.state_dir.load()?;
        let index = self
            .jails
            .iter()
            .position(|j| j.jail.policy.name == jail)
            .ok_or_else(|| DaemonError::NoJail(jail.to_owned()))?;
        let kind = self.jails.get(index).map_or(ActionKind::Log, |j| j.action);
        let record = match self.jails.get_mut(index) {
            Some(rj) => rj.jail.manual_ban(ip, now, seconds, &mut state),
            None => return Err(DaemonError::NoJail(jail.to_owned())),
        };
        let firewall = Firewall::new(kind);
        if firewall.ready(jail) {
            firewall.ban(&record, now)?;
        } else {
            let targets = self.targets(kind);
            let bans: Vec<&BanRecord> = state
                .all_bans()
                .filter(|b| targets.iter().any(|t| t.jail == b.jail))
                .collect();
            firewall.sync(&targets, &bans, now)?;
        }
        self.state_dir.save(&state)?;
        Ok(record)
    }

    /// Lifts the bans of `ip` (in `jail`, or in every jail) and returns them.
    pub fn unban(
        &mut self,
        ip: IpAddr,
        jail: Option<&str>,
        now: f64,
    ) -> Result<Vec<BanRecord>, DaemonError> {
        let ip = ip.to_canonical();
        let _lock = self.state_dir.lock()?;
        let mut state = self.state_dir.load()?;
        let removed = state.remove_ban(ip, jail, now);
        for b in &removed {
            let kind = self
                .jails
                .iter()
                .find(|j| j.jail.policy.name == b.jail)
                .map_or(self.options.action.unwrap_or(ActionKind::Log), |j| j.action);
            let firewall = Firewall::new(kind);
            if firewall.ready(&b.jail) {
                firewall.unban(&b.jail, b.ip)?;
            }
        }
        self.state_dir.save(&state)?;
        Ok(removed)
    }
}

/// `error: cause: cause` in one line.
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        s.push_str(": ");
        s.push_str(&cause.to_string());
        source = cause.source();
    }
    s
}

/// Live bans of the state at `now`, by jail (for `status`).
pub fn live_bans(state: &State, jail: Option<&str>, now: f64) -> BTreeMap<String, Vec<BanRecord>> {
    let mut out: BTreeMap<String, Vec<BanRecord>> = BTreeMap::new();
    for b in state.all_bans() {
        if b.live_at(now) && jail.is_none_or(|j| j == b.jail) {
            out.entry(b.jail.clone()).or_default().push(b.clone());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    /// A small configuration: one jail with an inline filter.
    fn config(dir: &Path, log: &Path, extra: &str) {
        std::fs::create_dir_all(dir.join("filter.d")).unwrap();
        std::fs::write(
            dir.join("filter.d/demo.conf"),
            "[Definition]\nfailregex = demo: bad login for <F-USER>\\S+</F-USER> from <HOST>$\n",
        )
        .unwrap();
        std::fs::write(
            dir.join("jail.conf"),
            format!(
                "[DEFAULT]\nmaxretry = 3\nfindtime = 10m\nbantime = 10m\n\n[demo]\nenabled = true\nfilter = demo\nlogpath = {}\naction = nftables-multiport\n{extra}\n\n[broken]\nenabled = true\nfilter = missing\n",
                log.display()
            ),
        )
        .unwrap();
    }

    fn line(t: f64, ip: &str) -> String {
        let ts = jiff::Timestamp::from_second(t as i64).unwrap();
        format!(
            "{} h demo: bad login for root from {ip}\n",
            ts.strftime("%Y-%m-%dT%H:%M:%SZ")
        )
    }

    fn append(path: &Path, text: &str) {
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .unwrap()
            .write_all(text.as_bytes())
            .unwrap();
    }

    fn engine(dir: &Path) -> Engine {
        let options = Options {
            action: Some(ActionKind::Log),
            ..Options::default()
        };
        let (engine, failed) =
            Engine::from_config(&dir.join("conf"), StateDir::new(dir.join("state")), options)
                .unwrap();
        assert_eq!(failed.len(), 1, "the broken jail fails alone");
        assert!(
            failed[0].1.to_string().contains("missing"),
            "{}",
            failed[0].1
        );
        engine
    }

    const NOW: f64 = 1_800_000_000.0;

    #[test]
    fn bans_survive_restart_without_recounting() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("demo.log");
        config(&dir.path().join("conf"), &log, "ignoreip = 192.0.2.0/24");
        let mut text = String::new();
        for i in 0..2 {
            text.push_str(&line(NOW - 50.0 + f64::from(i), "198.51.100.7"));
        }
        for i in 0..5 {
            text.push_str(&line(NOW - 40.0 + f64::from(i), "192.0.2.5"));
        }
        append(&log, &text);
        let mut e = engine(dir.path());
        e.start(NOW).unwrap();
        let events = e.poll(NOW).unwrap();
        assert!(
            !events.iter().any(|e| matches!(e, Event::Banned(_))),
            "{events:?}"
        );
        // Restart: nothing new, nothing counted again (two failures would ban if the two
        // already read were counted twice).
        let mut e = engine(dir.path());
        e.start(NOW).unwrap();
        let events = e.poll(NOW).unwrap();
        assert!(
            !events.iter().any(|e| matches!(e, Event::Banned(_))),
            "{events:?}"
        );
        // One new failure makes three with the two remembered from before the restart.
        append(&log, &line(NOW - 10.0, "198.51.100.7"));
        let events = e.poll(NOW).unwrap();
        let bans: Vec<_> = events
            .iter()
            .filter_map(|e| match e {
                Event::Banned(b) => Some(b),
                _ => None,
            })
            .collect();
        assert_eq!(bans.len(), 1, "{events:?}");
        assert_eq!(bans[0].ip.to_string(), "198.51.100.7");
        assert_eq!(bans[0].users, ["root"]);
        // The ban is in the state, and after a restart it is still there.
        let state = StateDir::new(dir.path().join("state")).load().unwrap();
        assert_eq!(live_bans(&state, None, NOW)["demo"].len(), 1);
        let mut e = engine(dir.path());
        e.start(NOW + 1.0).unwrap();
        let state = StateDir::new(dir.path().join("state")).load().unwrap();
        assert_eq!(live_bans(&state, Some("demo"), NOW + 1.0).len(), 1);
        // Expired after the ban time.
        let events = e.poll(NOW + 700.0).unwrap();
        assert!(
            events
                .iter()
                .any(|e| matches!(e, Event::Unbanned { expired: true, .. }))
        );
        // Manual ban and unban.
        let ip: IpAddr = "203.0.113.9".parse().unwrap();
        let r = e.ban("demo", ip, Some(3600.0), NOW + 700.0).unwrap();
        assert!(r.manual);
        assert!(e.ban("nope", ip, None, NOW).is_err());
        assert_eq!(e.unban(ip, None, NOW + 701.0).unwrap().len(), 1);
        assert!(e.unban(ip, None, NOW + 701.0).unwrap().is_empty());
    }

    fn stamp_of(dir: &Path) -> Option<Stamp> {
        StateDir::new(dir.join("state")).stamp().unwrap()
    }

    #[test]
    fn an_idle_poll_neither_reads_nor_writes_the_state() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("demo.log");
        config(&dir.path().join("conf"), &log, "");
        let mut text = String::new();
        for i in 0..2 {
            text.push_str(&line(NOW - 50.0 + f64::from(i), &format!("198.51.100.{i}")));
        }
        append(&log, &text);
        let mut e = engine(dir.path());
        e.start(NOW).unwrap();
        e.poll(NOW).unwrap();
        let file = StateDir::new(dir.path().join("state")).file();
        let saved = std::fs::read(&file).unwrap();
        assert!(saved.windows(12).any(|w| w == b"198.51.100.1"));
        let stamp = stamp_of(dir.path());
        // Garbage of the same size and time in the same file: a poll that read the state
        // would fail; one that wrote it would change the stamp.
        let modified = std::fs::metadata(&file).unwrap().modified().unwrap();
        let f = std::fs::OpenOptions::new().write(true).open(&file).unwrap();
        std::os::unix::fs::FileExt::write_all_at(&f, &vec![b'#'; saved.len()], 0).unwrap();
        f.set_modified(modified).unwrap();
        drop(f);
        assert_eq!(stamp_of(dir.path()), stamp);
        for tick in 1..=3 {
            e.poll(NOW + f64::from(tick)).unwrap();
        }
        assert_eq!(stamp_of(dir.path()), stamp, "nothing written");
        // Another process replacing the file is seen (and its content kept).
        std::fs::write(&file, &saved).unwrap();
        let mut other = engine(dir.path());
        let ip: IpAddr = "203.0.113.9".parse().unwrap();
        other.ban("demo", ip, None, NOW + 4.0).unwrap();
        e.poll(NOW + 5.0).unwrap();
        let state = StateDir::new(dir.path().join("state")).load().unwrap();
        assert!(state.ban("demo", ip).is_some());
        assert_eq!(state.failures["demo"].len(), 2);
    }

    #[test]
    fn long_lines_are_counted_and_their_rest_is_not_a_line() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("demo.log");
        config(&dir.path().join("conf"), &log, "");
        // The rest of the long line looks like a failure of another address.
        let fake = line(NOW - 5.0, "203.0.113.50");
        let long = format!(
            "{} h demo: {} {}",
            "x",
            "y".repeat(100_000),
            fake.trim_end()
        );
        append(
            &log,
            &format!("{long}\n{}", line(NOW - 4.0, "198.51.100.7")),
        );
        let mut e = engine(dir.path());
        e.start(NOW).unwrap();
        let events = e.poll(NOW).unwrap();
        assert!(
            events
                .iter()
                .any(|e| matches!(e, Event::LongLines { count: 1, .. })),
            "{events:?}"
        );
        let state = StateDir::new(dir.path().join("state")).load().unwrap();
        let failing: Vec<String> = state.failures["demo"]
            .keys()
            .map(|i| i.to_string())
            .collect();
        assert_eq!(failing, ["198.51.100.7"]);
    }

    #[test]
    fn a_flood_of_distinct_addresses_users_and_pids_stays_bounded_and_still_bans() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("auth.log");
        let conf = dir.path().join("conf");
        std::fs::create_dir_all(conf.join("filter.d")).unwrap();
        std::fs::write(
            conf.join("filter.d/flood.conf"),
            "[Definition]\nprefregex = ^\\s*<F-MLFID>\\S+ sshd(?:\\[\\d+\\])?:</F-MLFID> <F-CONTENT>.+</F-CONTENT>$\n\
             failregex = ^Failed password for (?:invalid user )?<F-USER>\\S+</F-USER> from <HOST> port \\d+\n",
        )
        .unwrap();
        std::fs::write(
            conf.join("jail.conf"),
            format!(
                "[flood]\nenabled = true\nfilter = flood\nlogpath = {}\nmaxretry = 3\nfindtime = 1h\nbantime = 1h\n",
                log.display()
            ),
        )
        .unwrap();
        let options = Options {
            action: Some(ActionKind::Log),
            ..Options::default()
        };
        let (mut e, _) =
            Engine::from_config(&conf, StateDir::new(dir.path().join("state")), options).unwrap();
        e.start(NOW).unwrap();
        let ts = jiff::Timestamp::from_second(NOW as i64 - 60).unwrap();
        let ts = ts.strftime("%Y-%m-%dT%H:%M:%SZ").to_string();
        let per_shape = 3 * crate::state::MAX_TRACKED as u32;
        let mut n = 0u32;
        for (shape, attacker) in [(0, "192.0.2.1"), (1, "192.0.2.2"), (2, "192.0.2.3")] {
            let mut text = String::new();
            for i in 0..per_shape {
                n += 1;
                let pid = match shape {
                    0 => "[1]".to_owned(),
                    1 => String::new(),
                    _ => format!("[{n}]"),
                };
                let ip = std::net::Ipv4Addr::from(0x0a00_0000 + n);
                text.push_str(&format!(
                    "{ts} h sshd{pid}: Failed password for invalid user u{n} from {ip} port 1 ssh2\n"
                ));
                // The real attacker, now and then, within the flood.
                if i % (per_shape / 4) == 7 {
                    text.push_str(&format!(
                        "{ts} h sshd{pid}: Failed password for root from {attacker} port 2 ssh2\n"
                    ));
                }
            }
            append(&log, &text);
            let events = e.poll(NOW).unwrap();
            let banned: Vec<String> = events
                .iter()
                .filter_map(|e| match e {
                    Event::Banned(b) => Some(b.ip.to_string()),
                    _ => None,
                })
                .collect();
            assert_eq!(banned, [attacker], "pid shape {shape}");
            let state = StateDir::new(dir.path().join("state")).load().unwrap();
            assert!(state.failures["flood"].len() <= crate::state::MAX_TRACKED);
            assert!(state.failures["flood"].values().all(|v| v.len() < 3));
        }
    }
}
