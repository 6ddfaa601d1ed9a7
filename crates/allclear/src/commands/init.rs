//! `allclear init`: write a commented policy file.

use crate::cli::InitArgs;
use crate::output::{hinted, write_atomically};

/// The policy a new team starts from. Every value is the default, so deleting a line changes
/// nothing; the comments say which written promise each setting answers to.
pub const TEMPLATE: &str = include_str!("../../templates/allclear.toml");

pub fn run(args: &InitArgs) -> anyhow::Result<u8> {
    if args.path.exists() && !args.force {
        return Err(hinted(
            format!("{} already exists", args.path.display()),
            "use --force to overwrite it, or edit it by hand",
        ));
    }
    write_atomically(&args.path, TEMPLATE.as_bytes())?;
    eprintln!(
        "wrote {}: review it, commit it, and run `allclear scan`",
        args.path.display()
    );
    Ok(0)
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
