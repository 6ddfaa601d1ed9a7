//! Numbers kept as their ASCII digits and compared by value whatever their length (RubyGems,
//! PHP, Python and node-semver fixtures all use numbers beyond 64 bits), plus text positions.

use std::cmp::Ordering;

/// Compares two runs of ASCII digits by numeric value: leading zeros do not count, then the
/// longer run is larger, then the digits decide.
pub(crate) fn cmp_digits(a: &str, b: &str) -> Ordering {
    let a = a.trim_start_matches('0');
    let b = b.trim_start_matches('0');
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

/// Whether a run of digits is zero (an empty run counts as zero).
pub(crate) fn is_zero(digits: &str) -> bool {
    digits.bytes().all(|b| b == b'0')
}

/// Whether `s` is one or more ASCII digits.
pub(crate) fn is_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

/// `digits + 1`, for the upper bounds of `~>`, `^`, `~` and x-ranges.
pub(crate) fn increment(digits: &str) -> String {
    let trimmed = digits.trim_start_matches('0');
    let mut out: Vec<u8> = trimmed.bytes().collect();
    let mut i = out.len();
    loop {
        if i == 0 {
            out.insert(0, b'1');
            break;
        }
        i -= 1;
        if let Some(d) = out.get_mut(i) {
            if *d == b'9' {
                *d = b'0';
            } else {
                *d += 1;
                break;
            }
        }
    }
    String::from_utf8(out).unwrap_or_default()
}

// Spans of requirement texts (which hold versions too) must fit `u16` positions.
const _: () = assert!(crate::MAX_REQUIREMENT_LEN < u16::MAX as usize);

/// A byte range of a version text. Versions are at most [`crate::MAX_VERSION_LEN`] bytes, so
/// `u16` positions keep parsed versions small.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Span {
    pub(crate) start: u16,
    pub(crate) end: u16,
}

impl Span {
    pub(crate) fn new(start: usize, end: usize) -> Span {
        Span {
            start: u16::try_from(start).unwrap_or(u16::MAX),
            end: u16::try_from(end).unwrap_or(u16::MAX),
        }
    }

    /// The text in this range; empty if the range does not fit `text` (it always does for
    /// the text it was parsed from).
    pub(crate) fn of(self, text: &str) -> &str {
        text.get(usize::from(self.start)..usize::from(self.end))
            .unwrap_or("")
    }

    pub(crate) fn is_empty(self) -> bool {
        self.start >= self.end
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digits_compare_by_value() {
        assert_eq!(cmp_digits("10", "9"), Ordering::Greater);
        assert_eq!(cmp_digits("007", "7"), Ordering::Equal);
        assert_eq!(
            cmp_digits(
                "999999999999999999999999999991",
                "999999999999999999999999999999"
            ),
            Ordering::Less
        );
        assert_eq!(cmp_digits("", "0"), Ordering::Equal);
    }

    #[test]
    fn increments_carry() {
        assert_eq!(increment("0"), "1");
        assert_eq!(increment("199"), "200");
        assert_eq!(increment("999"), "1000");
        assert_eq!(increment("007"), "8");
        assert_eq!(increment(""), "1");
    }
}
