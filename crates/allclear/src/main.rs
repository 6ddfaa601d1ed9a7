//! The `allclear` binary: arguments, wiring, rendering and exit codes. The capabilities live
//! in library crates that return data; this crate decides what a person sees.

mod cli;
mod commands;
mod output;
mod walk;

use std::process::ExitCode;

use clap::Parser;

use crate::cli::{Cli, Command, DbCommand, HookCommand, HostCommand, RulesCommand};
use crate::commands::ExitStatus;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => return usage_error(&err),
    };
    init_tracing(cli.global.quiet);
    match run(&cli) {
        Ok(status) => status.into(),
        Err(err) if output::is_broken_pipe(&err) => ExitCode::SUCCESS,
        Err(err) => {
            output::print_error(&err, &command_named_in_args());
            ExitStatus::Error.into()
        }
    }
}

fn run(cli: &Cli) -> anyhow::Result<ExitStatus> {
    let global = &cli.global;
    match &cli.command {
        Command::Scan(args) => commands::scan::run(global, args),
        Command::Db(db) => match &db.command {
            DbCommand::Import(args) => commands::db::import(global, &db.db, args),
            DbCommand::Update(args) => commands::db::update(global, &db.db, args),
            DbCommand::Status(args) => commands::db::status(&db.db, args),
        },
        Command::Init(args) => commands::init::run(global, args),
        Command::Baseline(args) => commands::baseline::run(global, args),
        Command::Hook(HookCommand::Install(args)) => commands::hook::install(global, args),
        Command::Hook(HookCommand::Uninstall(args)) => commands::hook::uninstall(global, args),
        Command::Rules(RulesCommand::Check) => commands::rules::check().map(ExitStatus::from_code),
        Command::Rules(RulesCommand::List(args)) => {
            commands::rules::list(args).map(ExitStatus::from_code)
        }
        Command::Rules(RulesCommand::Explain(args)) => {
            commands::rules::explain(args).map(ExitStatus::from_code)
        }
        Command::Rules(RulesCommand::Docs(args)) => {
            commands::rules::docs(global, args).map(ExitStatus::from_code)
        }
        Command::Host(HostCommand::Fim(command)) => commands::fim::run(global, command),
        Command::Host(HostCommand::Logs(command)) => commands::logs::run(global, command),
        Command::Host(HostCommand::Audit(args)) => {
            commands::audit::run(global, args).map(ExitStatus::from_code)
        }
        Command::Generate(command) => commands::generate::run(command),
        Command::Serve(args) => commands::serve::run(args).map(ExitStatus::from_code),
    }
}

/// A command line clap refused (an unknown or conflicting option, a bad value): clap's own
/// message and usage, with its closing advice as the `hint:` line every allclear error ends
/// with; exit status 2. `--help` and `--version` print and exit 0.
fn usage_error(err: &clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    if matches!(
        err.kind(),
        ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    ) {
        let _ = err.print();
        return if err.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
            ExitStatus::Error.into()
        } else {
            ExitCode::SUCCESS
        };
    }
    let text = err.to_string();
    let mut message = String::with_capacity(text.len());
    for line in text.lines() {
        if !line.starts_with("For more information, try '") {
            message.push_str(line);
            message.push('\n');
        }
    }
    let hint = format!(
        "`{} --help` lists the options and values it takes",
        command_named_in_args()
    );
    eprint!("{}", message.trim_end_matches('\n'));
    eprintln!("\nhint: {hint}");
    ExitStatus::Error.into()
}

/// `allclear host fim check`: the deepest (sub)command the arguments name.
fn command_named_in_args() -> String {
    use clap::CommandFactory;
    let mut command = Cli::command();
    let mut path = vec!["allclear".to_owned()];
    for arg in std::env::args_os().skip(1) {
        let Some(arg) = arg.to_str() else { continue };
        let Some(sub) = command.find_subcommand(arg).cloned() else {
            continue;
        };
        path.push(sub.get_name().to_owned());
        command = sub;
    }
    path.join(" ")
}

fn init_tracing(quiet: bool) {
    let default = if quiet { "error" } else { "warn" };
    let filter = tracing_subscriber::EnvFilter::try_from_env("ALLCLEAR_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .without_time()
        .with_target(false)
        .init();
}
