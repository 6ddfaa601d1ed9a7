//! The `allclear` binary: arguments, wiring, rendering and exit codes. The capabilities live
//! in library crates that return data; this crate decides what a person sees.

mod cli;
mod commands;
mod output;
mod walk;

use std::process::ExitCode;

use clap::Parser;

use crate::cli::{Cli, Command, DbCommand, HookCommand, HostCommand, RulesCommand};

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing(cli.quiet);
    let result = match &cli.command {
        Command::Scan(args) => commands::scan::run(&cli, args),
        Command::Db(DbCommand::Import(args)) => commands::db::import(&cli, args),
        Command::Db(DbCommand::Update(args)) => commands::db::update(&cli, args),
        Command::Db(DbCommand::Status(args)) => commands::db::status(&cli, args),
        Command::Init(args) => commands::init::run(args),
        Command::Baseline(args) => commands::baseline::run(&cli, args),
        Command::Hook(HookCommand::Install(args)) => commands::hook::install(&cli, args),
        Command::Hook(HookCommand::Uninstall(args)) => commands::hook::uninstall(&cli, args),
        Command::Rules(RulesCommand::Check) => commands::rules::check(),
        Command::Rules(RulesCommand::List(args)) => commands::rules::list(args),
        Command::Rules(RulesCommand::Explain(args)) => commands::rules::explain(args),
        Command::Rules(RulesCommand::Docs(args)) => commands::rules::docs(&cli, args),
        Command::Generate(command) => commands::generate::run(command),
        Command::Host(HostCommand::Fim(args)) => {
            commands::fim::run(args).map(|code| u8::try_from(code).unwrap_or(2))
        }
        Command::Host(HostCommand::Logs(args)) => {
            commands::logs::run(args, cli.color).map(|code| u8::try_from(code).unwrap_or(2))
        }
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(err) if output::is_broken_pipe(&err) => ExitCode::SUCCESS,
        Err(err) => {
            output::print_error(&err);
            ExitCode::from(2)
        }
    }
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
