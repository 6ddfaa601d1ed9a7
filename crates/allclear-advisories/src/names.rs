//! Package names as the store keys them, so `Django`, `django` and `DJANGO` find one entry.

use allclear_core::Ecosystem;

/// The lookup key of a package name in an ecosystem.
///
/// - PyPI: PEP 503 (lowercase; runs of `-`, `_`, `.` become one `-`).
/// - Packagist: lowercase (Composer package names are case-insensitive).
/// - crates.io: lowercase with `-` as `_` (crates.io refuses a name that differs from an
///   existing one only in case or `-`/`_`, so this never joins two crates).
/// - Ruby (interpreter engines): lowercase.
/// - npm, RubyGems, Go: as given (case matters there: `rack` and `Rack` are two gems).
///
/// Surrounding whitespace is trimmed in every ecosystem.
pub fn normalize_name(eco: Ecosystem, name: &str) -> String {
    let name = name.trim();
    match eco {
        Ecosystem::PyPI => {
            let mut out = String::with_capacity(name.len());
            let mut in_sep = false;
            for c in name.chars() {
                if matches!(c, '-' | '_' | '.') {
                    if !in_sep {
                        out.push('-');
                    }
                    in_sep = true;
                } else {
                    out.extend(c.to_lowercase());
                    in_sep = false;
                }
            }
            out
        }
        Ecosystem::Packagist | Ecosystem::Ruby => name.to_lowercase(),
        Ecosystem::CratesIo => name.to_lowercase().replace('-', "_"),
        Ecosystem::Npm | Ecosystem::RubyGems | Ecosystem::Go => name.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn pep_503() {
        assert_eq!(normalize_name(Ecosystem::PyPI, "Django"), "django");
        assert_eq!(
            normalize_name(Ecosystem::PyPI, "zope.interface"),
            "zope-interface"
        );
        assert_eq!(normalize_name(Ecosystem::PyPI, "A__b-.-C"), "a-b-c");
    }

    #[test]
    fn per_ecosystem_rules() {
        assert_eq!(
            normalize_name(Ecosystem::Packagist, "Drupal/Core"),
            "drupal/core"
        );
        assert_eq!(normalize_name(Ecosystem::Npm, "@Babel/core"), "@Babel/core");
        assert_eq!(normalize_name(Ecosystem::RubyGems, "Rack"), "Rack");
        assert_eq!(
            normalize_name(Ecosystem::CratesIo, "Serde-JSON"),
            "serde_json"
        );
    }

    proptest! {
        #[test]
        fn normalization_is_idempotent(name in "[A-Za-z0-9._@/ -]{0,30}") {
            for eco in Ecosystem::ALL {
                let once = normalize_name(eco, &name);
                prop_assert_eq!(normalize_name(eco, &once), once.clone());
            }
        }
    }
}
