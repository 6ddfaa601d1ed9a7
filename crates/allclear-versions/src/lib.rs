//! Version ordering and version requirements, exactly as each package ecosystem defines them.
//!
//! | ecosystem | ordering | requirements |
//! |---|---|---|
//! | `RubyGems`, `Ruby` | `Gem::Version#<=>` (canonical segments) | `Gem::Requirement` (`~> 1.2`, `>= 1.2, < 2`, `!= 1.1`) |
//! | `Packagist` | PHP `version_compare` (after stripping a `v` prefix, as OSV does) | Composer constraints (`^`, `~`, `*`, `>=1.0,<1.2`, `\|\|`, hyphen ranges) |
//! | `npm` | node-semver (build metadata ignored) | node-semver ranges (`^`, `~`, `1.x`, `1 - 2`, `\|\|`) |
//! | `crates.io` | SemVer precedence (the `semver` crate, build metadata ignored) | `semver::VersionReq` |
//! | `PyPI` | PEP 440, falling back to setuptools' legacy ordering | PEP 440 specifiers (`>=1.0,!=1.3.*,<2`, `~=`, `===`) |
//! | `Go` | module semver (`v` prefix optional, `+incompatible` ignored) | simple comparators (`>= v1.2.3, < v1.3.0`) |
//!
//! Parsing keeps the text once and records where its parts are; comparing walks both texts
//! without allocating (only PyPI's legacy, non-PEP 440 versions keep a small key), no pattern
//! is compiled per call, and numbers of any length compare by value.
//!
//! Where OSV's version-ordering fixtures are more lenient than the ecosystem's own parser,
//! parsing follows OSV so that advisory data orders as OSV orders it: RubyGems accepts `1beta`,
//! npm and Go accept `1`, `1.2` and `1.1.3.4.5` (extra numbers ignored like build metadata).
//!
//! ```
//! use allclear_core::Ecosystem;
//! use allclear_versions::{compare, Requirement, Version};
//! use std::cmp::Ordering;
//!
//! assert_eq!(compare(Ecosystem::RubyGems, "1.0.a10", "1.0.a9")?, Ordering::Greater);
//! assert_eq!(compare(Ecosystem::PyPI, "1.0a1", "1.0.0-alpha.1")?, Ordering::Equal);
//!
//! let patched = Requirement::parse(Ecosystem::RubyGems, "~> 2.1.4, >= 2.1.4.1")?;
//! assert!(patched.matches(&Version::parse(Ecosystem::RubyGems, "2.1.4.2")?));
//! assert!(!patched.matches(&Version::parse(Ecosystem::RubyGems, "2.2.0")?));
//! # Ok::<(), allclear_versions::VersionError>(())
//! ```

use std::cmp::Ordering;
use std::fmt;

use allclear_core::Ecosystem;

mod cargo;
mod composer;
mod gem;
mod go;
mod npm;
mod num;
mod pep440;
mod semverish;

/// Longest version text accepted. Real versions are far shorter (a Go pseudo-version is
/// about 40 bytes); the bound keeps work and memory per input small whatever the input is.
pub const MAX_VERSION_LEN: usize = 256;

/// Longest requirement text accepted (several comparators or alternatives).
pub const MAX_REQUIREMENT_LEN: usize = 4096;

/// Why a version or requirement could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VersionError {
    /// The text is not a version in the ecosystem's syntax.
    #[error("`{text}` is not a valid {ecosystem} version: {reason}")]
    InvalidVersion {
        /// The ecosystem whose rules were applied.
        ecosystem: Ecosystem,
        /// The rejected text.
        text: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The text is not a version requirement in the ecosystem's syntax.
    #[error("`{text}` is not a valid {ecosystem} version requirement: {reason}")]
    InvalidRequirement {
        /// The ecosystem whose rules were applied.
        ecosystem: Ecosystem,
        /// The rejected text.
        text: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The text is longer than any real version or requirement.
    #[error("{ecosystem} {what} of {len} bytes is longer than the {max} bytes allowed")]
    TooLong {
        /// The ecosystem whose rules were applied.
        ecosystem: Ecosystem,
        /// `version` or `requirement`.
        what: &'static str,
        /// Length of the rejected text in bytes.
        len: usize,
        /// The limit.
        max: usize,
    },
}

/// The parsed form, one variant per ordering family. Positions refer to the version text.
#[derive(Debug, Clone)]
enum Parsed {
    Gem(gem::Gem),
    Composer(composer::Composer),
    Npm(semverish::Semver),
    Cargo(semver::Version),
    Pep440(pep440::Pep440),
    Go(semverish::Semver),
}

/// The ordering family of an ecosystem: `Ruby` orders exactly as `RubyGems` does.
fn family(eco: Ecosystem) -> Ecosystem {
    match eco {
        Ecosystem::Ruby => Ecosystem::RubyGems,
        other => other,
    }
}

fn check_len(
    eco: Ecosystem,
    text: &str,
    what: &'static str,
    max: usize,
) -> Result<(), VersionError> {
    if text.len() > max {
        return Err(VersionError::TooLong {
            ecosystem: eco,
            what,
            len: text.len(),
            max,
        });
    }
    Ok(())
}

fn parse_inner(eco: Ecosystem, text: &str) -> Result<Parsed, VersionError> {
    check_len(eco, text, "version", MAX_VERSION_LEN)?;
    let parsed = match eco {
        Ecosystem::RubyGems | Ecosystem::Ruby => gem::parse(text).map(Parsed::Gem),
        Ecosystem::Packagist => composer::parse(text).map(Parsed::Composer),
        Ecosystem::Npm => semverish::parse(text).map(Parsed::Npm),
        Ecosystem::CratesIo => cargo::parse(text).map(Parsed::Cargo),
        Ecosystem::PyPI => pep440::parse(text).map(Parsed::Pep440),
        Ecosystem::Go => go::parse(text).map(Parsed::Go),
    };
    parsed.map_err(|reason| VersionError::InvalidVersion {
        ecosystem: eco,
        text: text.to_owned(),
        reason,
    })
}

/// Orders two parsed versions of the same family; different families order by variant so
/// the result is still a total order.
fn cmp_inner(a: &Parsed, at: &str, b: &Parsed, bt: &str) -> Ordering {
    match (a, b) {
        (Parsed::Gem(x), Parsed::Gem(y)) => gem::cmp(x, at, y, bt),
        (Parsed::Composer(x), Parsed::Composer(y)) => composer::cmp(x, at, y, bt),
        (Parsed::Npm(x), Parsed::Npm(y)) | (Parsed::Go(x), Parsed::Go(y)) => {
            semverish::cmp(x, at, y, bt)
        }
        (Parsed::Cargo(x), Parsed::Cargo(y)) => cargo::cmp(x, y),
        (Parsed::Pep440(x), Parsed::Pep440(y)) => pep440::cmp(x, at, y, bt),
        _ => variant_rank(a).cmp(&variant_rank(b)),
    }
}

fn variant_rank(p: &Parsed) -> u8 {
    match p {
        Parsed::Gem(_) => 0,
        Parsed::Composer(_) => 1,
        Parsed::Npm(_) => 2,
        Parsed::Cargo(_) => 3,
        Parsed::Pep440(_) => 4,
        Parsed::Go(_) => 5,
    }
}

/// A version, parsed by the rules of one ecosystem.
///
/// `Ord`, `PartialEq` and `Eq` follow the ecosystem's own precedence, so two different
/// spellings can be equal (`1.0a1` and `1.0.0-alpha.1` in PyPI, `1.0.a2` and `1.0.a.2` in
/// RubyGems, `1.2.3+a` and `1.2.3+b` in npm). `Ruby` and `RubyGems` share one ordering and
/// compare with each other. Versions of other different ecosystems never compare equal: they
/// order by ecosystem first (in [`Ecosystem`]'s order), which keeps `Ord` total and never
/// panics but means nothing, so compare within one ecosystem. There is deliberately no `Hash`: equal
/// versions can be spelled differently; key maps by [`Version::as_str`] instead.
#[derive(Clone)]
pub struct Version {
    eco: Ecosystem,
    text: Box<str>,
    parsed: Parsed,
}

impl Version {
    /// Parses `text` as a version of `eco`.
    ///
    /// # Errors
    /// [`VersionError::InvalidVersion`] when the text is not a version in that ecosystem's
    /// syntax, [`VersionError::TooLong`] beyond [`MAX_VERSION_LEN`] bytes.
    pub fn parse(eco: Ecosystem, text: &str) -> Result<Version, VersionError> {
        let parsed = parse_inner(eco, text)?;
        Ok(Version {
            eco,
            text: text.into(),
            parsed,
        })
    }

    /// The ecosystem whose rules this version was parsed with.
    pub fn ecosystem(&self) -> Ecosystem {
        self.eco
    }

    /// The text exactly as given to [`Version::parse`].
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether this is a pre-release as the ecosystem defines it: any letter in RubyGems
    /// (`1.0.beta`, `1.0.rc1`); a stability below stable in Composer (`dev`, `alpha`, `beta`,
    /// `RC`, and `dev-` branches); a pre-release part in SemVer (npm, crates.io, Go — so Go
    /// pseudo-versions count, see [`Version::is_go_pseudo_version`]); a pre or dev release in
    /// PEP 440 (`1.0a1`, `1.0.dev0`, but not `1.0.post1`).
    pub fn is_prerelease(&self) -> bool {
        match &self.parsed {
            Parsed::Gem(g) => gem::is_prerelease(g, &self.text),
            Parsed::Composer(c) => composer::is_prerelease(c, &self.text),
            Parsed::Npm(s) | Parsed::Go(s) => s.is_prerelease(),
            Parsed::Cargo(v) => !v.pre.is_empty(),
            Parsed::Pep440(p) => p.is_prerelease(),
        }
    }

    /// Whether this is a Go pseudo-version (`v0.0.0-20191109021931-daa7c04131f5`,
    /// `v1.2.4-0.20191109021931-daa7c04131f5`): a commit, not a tagged release. Always false
    /// outside Go.
    pub fn is_go_pseudo_version(&self) -> bool {
        match &self.parsed {
            Parsed::Go(s) => go::is_pseudo_version(s, &self.text),
            _ => false,
        }
    }
}

impl fmt::Debug for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Version({} {:?})", self.eco, &*self.text)
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl PartialEq for Version {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Version {}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Version {
    fn cmp(&self, other: &Self) -> Ordering {
        family(self.eco)
            .cmp(&family(other.eco))
            .then_with(|| cmp_inner(&self.parsed, &self.text, &other.parsed, &other.text))
    }
}

/// Compares two version texts of one ecosystem without keeping them.
///
/// # Errors
/// The first version that does not parse, as [`Version::parse`] reports it.
pub fn compare(eco: Ecosystem, a: &str, b: &str) -> Result<Ordering, VersionError> {
    let pa = parse_inner(eco, a)?;
    let pb = parse_inner(eco, b)?;
    Ok(cmp_inner(&pa, a, &pb, b))
}

#[derive(Debug, Clone)]
enum ReqInner {
    Gem(gem::Req),
    Composer(composer::Req),
    Npm(npm::Range),
    Cargo(semver::VersionReq),
    Pep440(pep440::Specifiers),
    Go(go::Req),
}

/// A version constraint in the ecosystem's own syntax.
///
/// | ecosystem | syntax | all of / any of |
/// |---|---|---|
/// | `RubyGems`, `Ruby` | `~> 1.2.3`, `>= 1.2, < 2`, `= 1.0`, `!= 1.1`, bare `1.0` | `,` all of (as one RubySec `patched_versions` entry) |
/// | `Packagist` | `>=1.0,<1.2`, `>=2.0 <2.1`, `^1.2`, `~1.2`, `1.2.*`, `1.0 - 2.0`, exact | `,` or space all of; `\|\|` or `\|` any of |
/// | `npm` | `^1.2.3`, `~1.2`, `1.x`, `>=1 <2`, `1.2.3 - 2.3.4` | space all of; `\|\|` any of |
/// | `crates.io` | `semver::VersionReq` (`1.2`, `^1.2`, `~1.2`, `>=1.2, <1.5`, `*`) | `,` all of |
/// | `PyPI` | `>=1.0,!=1.3.*,<2`, `~=1.4.2`, `==1.*`, `===foo` | `,` all of |
/// | `Go` | `>= v1.2.3, < v1.3.0`, `= 1.2.3`, `!= …`, bare version | `,` or space all of; `\|\|` any of |
///
/// Pre-releases follow each ecosystem: npm excludes a pre-release unless a comparator of the
/// same set names a pre-release of the same `major.minor.patch` (node-semver without
/// `includePrerelease`); Cargo likewise (the `semver` crate); Composer's `<1.2` means
/// `<1.2.0.0-dev` and so excludes 1.2 betas; PEP 440's `<V`/`>V` exclude pre/post releases
/// of `V` itself, but an installed pre-release otherwise matches (PEP 440 says installed
/// pre-releases are accepted); RubyGems has no exclusion.
#[derive(Clone)]
pub struct Requirement {
    eco: Ecosystem,
    text: Box<str>,
    inner: ReqInner,
}

impl Requirement {
    /// Parses `text` as a requirement of `eco`.
    ///
    /// # Errors
    /// [`VersionError::InvalidRequirement`] when the text is not a requirement in that
    /// ecosystem's syntax, [`VersionError::TooLong`] beyond [`MAX_REQUIREMENT_LEN`] bytes.
    pub fn parse(eco: Ecosystem, text: &str) -> Result<Requirement, VersionError> {
        check_len(eco, text, "requirement", MAX_REQUIREMENT_LEN)?;
        let inner = match eco {
            Ecosystem::RubyGems | Ecosystem::Ruby => gem::parse_req(text).map(ReqInner::Gem),
            Ecosystem::Packagist => composer::parse_req(text).map(ReqInner::Composer),
            Ecosystem::Npm => npm::parse_range(text).map(ReqInner::Npm),
            Ecosystem::CratesIo => cargo::parse_req(text).map(ReqInner::Cargo),
            Ecosystem::PyPI => pep440::parse_specifiers(text).map(ReqInner::Pep440),
            Ecosystem::Go => go::parse_req(text).map(ReqInner::Go),
        }
        .map_err(|reason| VersionError::InvalidRequirement {
            ecosystem: eco,
            text: text.to_owned(),
            reason,
        })?;
        Ok(Requirement {
            eco,
            text: text.into(),
            inner,
        })
    }

    /// The ecosystem whose rules this requirement was parsed with.
    pub fn ecosystem(&self) -> Ecosystem {
        self.eco
    }

    /// The text exactly as given to [`Requirement::parse`].
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether `v` satisfies this requirement. A version of another ecosystem (other than
    /// `Ruby` against `RubyGems` and back) never matches.
    pub fn matches(&self, v: &Version) -> bool {
        if family(self.eco) != family(v.eco) {
            return false;
        }
        let text = &*v.text;
        match (&self.inner, &v.parsed) {
            (ReqInner::Gem(r), Parsed::Gem(p)) => gem::matches(r, p, text),
            (ReqInner::Composer(r), Parsed::Composer(p)) => composer::matches(r, p, text),
            (ReqInner::Npm(r), Parsed::Npm(p)) => r.matches(p, text),
            (ReqInner::Cargo(r), Parsed::Cargo(p)) => r.matches(p),
            (ReqInner::Pep440(r), Parsed::Pep440(p)) => r.matches(p, text),
            (ReqInner::Go(r), Parsed::Go(p)) => r.matches(p, text),
            _ => false,
        }
    }

    /// Whether `v` lies in the range this requirement names, read the way the ecosystem's
    /// own audit tool reads an advisory's affected or patched range. It differs from
    /// [`Requirement::matches`] only where a package manager's rule for *selecting*
    /// pre-releases is not about ordering:
    ///
    /// | ecosystem | reads pre-releases as | like |
    /// |---|---|---|
    /// | `crates.io` | ordered versions (`>= 0.8.1` covers `0.11.0-rc.6`) | cargo-audit (`rustsec`) |
    /// | `npm` | ordered versions (`includePrerelease`) | `npm audit` |
    /// | `PyPI` | [`Requirement::matches`] (installed pre-releases accepted, `<V` excludes `V`'s) | pip-audit (`packaging`) |
    /// | `RubyGems`, `Ruby` | [`Requirement::matches`] (no exclusion) | bundler-audit (`Gem::Requirement`) |
    /// | `Packagist` | [`Requirement::matches`] (`<1.2` is `<1.2.0.0-dev`) | `composer audit` |
    /// | `Go` | [`Requirement::matches`] (no exclusion) | govulncheck |
    pub fn contains(&self, v: &Version) -> bool {
        if family(self.eco) != family(v.eco) {
            return false;
        }
        match (&self.inner, &v.parsed) {
            (ReqInner::Npm(r), Parsed::Npm(p)) => r.matches_ordered(p, &v.text),
            (ReqInner::Cargo(r), Parsed::Cargo(p)) => cargo::matches_ordered(r, p),
            _ => self.matches(v),
        }
    }
}

impl fmt::Debug for Requirement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Requirement({} {:?})", self.eco, &*self.text)
    }
}

impl fmt::Display for Requirement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}
