//! Go module versions: SemVer with an optional `v` (OSV's Go advisories leave it out,
//! `go.mod` writes it), `+incompatible` and other build metadata ignored as
//! `golang.org/x/mod/semver` ignores them, pseudo-versions ordered as the pre-releases they
//! are. Requirements are plain comparators.

use crate::npm::{Comparator, Op};
use crate::semverish::{Owned, Semver};

pub(crate) fn parse(text: &str) -> Result<Semver, &'static str> {
    crate::semverish::parse(text)
}

/// `golang.org/x/mod/module.IsPseudoVersion`: a pre-release ending in a 14-digit UTC
/// timestamp and a commit hash, either as the whole pre-release of `vX.0.0`, or after a
/// `0.` that follows the base pre-release (`vX.Y.(Z+1)-0.` or `vX.Y.Z-pre.0.`).
pub(crate) fn is_pseudo_version(v: &Semver, text: &str) -> bool {
    let pre = v.pre.of(text);
    let Some((head, hash)) = pre.rsplit_once('-') else {
        return false;
    };
    if hash.is_empty() || !hash.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return false;
    }
    let stamp_at = head.len().saturating_sub(14);
    let (before, stamp) = head.split_at(stamp_at);
    if stamp.len() != 14 || !stamp.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    let zero = |s: &str| s.bytes().all(|b| b == b'0') && !s.is_empty();
    if before.is_empty() {
        return zero(v.minor.of(text)) && zero(v.patch.of(text));
    }
    before == "0." || before.ends_with(".0.")
}

/// Alternatives (`||`), each a list of comparators that must all hold.
#[derive(Debug, Clone)]
pub(crate) struct Req {
    any_of: Vec<Vec<Comparator>>,
}

impl Req {
    pub(crate) fn matches(&self, v: &Semver, text: &str) -> bool {
        self.any_of
            .iter()
            .any(|all_of| all_of.iter().all(|c| c.test(v, text)))
    }
}

/// Comparators (`>= v1.2.3, < v1.3.0`, `=1.2.3`, `!= 1.2.4`, a bare version for `=`) separated
/// by commas or spaces, an operator optionally followed by spaces; `||` between alternatives.
/// Unlike npm there is no pre-release exclusion: Go's tooling compares pre-releases like
/// any other version.
pub(crate) fn parse_req(text: &str) -> Result<Req, &'static str> {
    let mut any_of = Vec::new();
    for alternative in text.split("||") {
        let mut all_of = Vec::new();
        let mut pending = String::new();
        for word in alternative
            .split([',', ' ', '\t'])
            .filter(|w| !w.is_empty())
        {
            pending.push_str(word);
            if word.bytes().all(|b| matches!(b, b'<' | b'>' | b'=' | b'!')) {
                continue;
            }
            let token = std::mem::take(&mut pending);
            let (op, version) = [
                (">=", Op::Ge),
                ("<=", Op::Le),
                ("==", Op::Eq),
                ("!=", Op::Ne),
                (">", Op::Gt),
                ("<", Op::Lt),
                ("=", Op::Eq),
            ]
            .iter()
            .find_map(|&(p, op)| token.strip_prefix(p).map(|r| (op, r)))
            .unwrap_or((Op::Eq, token.as_str()));
            parse(version)?;
            all_of.push(Comparator {
                op,
                v: Owned::new(version.to_owned())?,
            });
        }
        if !pending.is_empty() {
            return Err("an operator without a version");
        }
        if all_of.is_empty() {
            return Err("empty requirement");
        }
        any_of.push(all_of);
    }
    Ok(Req { any_of })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pseudo(t: &str) -> bool {
        is_pseudo_version(&parse(t).unwrap(), t)
    }

    #[test]
    fn recognises_pseudo_versions() {
        assert!(pseudo("v0.0.0-20191109021931-daa7c04131f5"));
        assert!(pseudo("v1.2.4-0.20191109021931-daa7c04131f5"));
        assert!(pseudo(
            "v1.2.3-pre.0.20191109021931-daa7c04131f5+incompatible"
        ));
        assert!(!pseudo("v1.2.0-20191109021931-daa7c04131f5"));
        assert!(!pseudo("v1.2.3-rc.1"));
        assert!(!pseudo("v1.2.3"));
    }
}
