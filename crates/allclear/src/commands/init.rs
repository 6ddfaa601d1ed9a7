//! `allclear init`: write a commented policy file.

use crate::cli::{GlobalArgs, InitArgs};
use crate::commands::ExitStatus;
use crate::output::{hinted, write_atomically};

/// The policy a new team starts from. Every value is the default, so deleting a line changes
/// nothing; the comments say which written promise each setting answers to.
pub const TEMPLATE: &str = include_str!("../../templates/allclear.toml");

pub fn run(global: &GlobalArgs, args: &InitArgs) -> anyhow::Result<ExitStatus> {
    if args.path.exists() && !args.force {
        return Err(hinted(
            format!("{} already exists", args.path.display()),
            "use --force to overwrite it, or edit it by hand",
        ));
    }
    write_atomically(&args.path, TEMPLATE.as_bytes())?;
    global.note(format_args!(
        "wrote {}: review it, commit it, and run `allclear scan`",
        args.path.display()
    ));
    Ok(ExitStatus::Clear)
}

#[cfg(test)]
mod tests {
    use super::TEMPLATE;

    #[test]
    fn template_is_a_valid_policy() {
        let policy = allclear_core::Policy::from_toml(TEMPLATE, "allclear.toml").unwrap();
        assert_eq!(policy.scan.fail_on, allclear_core::Severity::Low);
        assert!(policy.ignores.is_empty());
    }
}
