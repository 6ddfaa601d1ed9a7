//! `allclear generate …`: man pages and shell completions from the clap definitions, for
//! packages (scripts/package-deb.sh). A minimal version for packaging; the `cli` branch
//! carries the full one.

use std::io::Write;
use std::path::PathBuf;

use clap::{Args, CommandFactory, Subcommand};

use crate::cli::Cli;

#[derive(Debug, Subcommand)]
pub enum GenerateCommand {
    /// Write a man page for allclear and each subcommand to DIR (allclear.1, allclear-scan.1 …)
    Man(ManArgs),
    /// Print the completion script of SHELL to stdout
    Completions(CompletionsArgs),
}

#[derive(Debug, Args)]
pub struct ManArgs {
    /// The directory to write the pages to (created if missing)
    #[arg(value_name = "DIR")]
    pub dir: PathBuf,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell
    #[arg(value_enum, value_name = "SHELL")]
    pub shell: clap_complete::Shell,
}

pub fn run(command: &GenerateCommand) -> anyhow::Result<u8> {
    match command {
        GenerateCommand::Man(args) => {
            fs_err::create_dir_all(&args.dir)?;
            clap_mangen::generate_to(Cli::command(), &args.dir)?;
        }
        GenerateCommand::Completions(args) => {
            let mut out = Vec::new();
            clap_complete::generate(args.shell, &mut Cli::command(), "allclear", &mut out);
            std::io::stdout().lock().write_all(&out)?;
        }
    }
    Ok(0)
}
