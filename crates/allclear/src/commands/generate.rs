//! `allclear generate completions SHELL` and `allclear generate man DIR`: shell completions
//! and man pages, generated from the clap definitions so they cannot drift from `--help`.
//! Hidden from the main help: packagers call them (the Debian package build does).

use std::io::Write;

use anyhow::Context;
use clap::CommandFactory;

use crate::cli::{Cli, GenerateCommand};
use crate::commands::ExitStatus;

pub fn run(command: &GenerateCommand) -> anyhow::Result<ExitStatus> {
    match command {
        GenerateCommand::Completions { shell } => {
            let mut cmd = Cli::command();
            let mut out = Vec::new();
            clap_complete::generate(*shell, &mut cmd, "allclear", &mut out);
            let mut stdout = std::io::stdout().lock();
            stdout.write_all(&out)?;
            stdout.flush()?;
        }
        GenerateCommand::Man { dir } => {
            fs_err::create_dir_all(dir)?;
            clap_mangen::generate_to(Cli::command(), dir)
                .with_context(|| format!("could not write the man pages into {}", dir.display()))?;
        }
    }
    Ok(ExitStatus::Clear)
}
