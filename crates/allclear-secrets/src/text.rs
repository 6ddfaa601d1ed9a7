//! Small helpers about bytes that may or may not be text.

/// How much of a file's start [`looks_binary`] and the restricted-file sniffers look at.
pub const HEAD_BYTES: usize = 8192;

/// True when the head of a file cannot be text: a NUL byte, or mostly control bytes.
/// UTF-8 and Latin-1 text pass; so does UTF-16 with a byte-order mark (scanned as bytes).
pub fn looks_binary(head: &[u8]) -> bool {
    let head = head.get(..HEAD_BYTES.min(head.len())).unwrap_or(head);
    if head.starts_with(&[0xFF, 0xFE]) || head.starts_with(&[0xFE, 0xFF]) {
        return false;
    }
    if memchr::memchr(0, head).is_some() {
        return true;
    }
    // Control bytes are counted in the first KiB only: enough to tell, and cheap.
    let head = head.get(..1024).unwrap_or(head);
    let control = head
        .iter()
        .filter(|&&b| b < 0x20 && !matches!(b, b'\n' | b'\r' | b'\t' | 0x0C | 0x1B))
        .count();
    control * 10 > head.len()
}

/// The redacted form of a secret: its first and last characters and its length, never more
/// than a quarter of it.
pub fn redact(secret: &[u8]) -> String {
    let text = String::from_utf8_lossy(secret);
    let chars: Vec<char> = text.trim().chars().collect();
    let n = chars.len();
    let shown = match n {
        0..=5 => 0,
        6..=15 => 1,
        16..=31 => 2,
        _ => 4,
    };
    if shown == 0 {
        return format!("*** ({n} chars)");
    }
    let head: String = chars.iter().take(shown).collect();
    let tail: String = chars.iter().skip(n - shown).collect();
    format!("{head}…{tail} ({n} chars)")
}

/// 1-based line number of byte `offset`, counting from an earlier known position.
pub(crate) struct LineCounter<'a> {
    content: &'a [u8],
    offset: usize,
    line: u32,
}

impl<'a> LineCounter<'a> {
    pub fn new(content: &'a [u8]) -> LineCounter<'a> {
        LineCounter {
            content,
            offset: 0,
            line: 1,
        }
    }

    /// The line of `offset`; cheap when offsets come in increasing order.
    pub fn line_of(&mut self, offset: usize) -> u32 {
        let offset = offset.min(self.content.len());
        if offset < self.offset {
            self.offset = 0;
            self.line = 1;
        }
        let newlines = self
            .content
            .get(self.offset..offset)
            .map(|s| memchr::memchr_iter(b'\n', s).count())
            .unwrap_or(0);
        self.line = self.line.saturating_add(newlines as u32);
        self.offset = offset;
        self.line
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binary_sniffing() {
        assert!(!looks_binary(b"hello\nworld\t\r\n"));
        assert!(looks_binary(b"PK\x03\x04\x00\x00"));
        assert!(looks_binary(&[1, 2, 3, 4, 5, 6, 7, 8, 9, 10]));
        assert!(!looks_binary("héllo wörld".as_bytes()));
        assert!(!looks_binary(b""));
    }

    #[test]
    fn redaction_never_shows_much() {
        assert_eq!(redact(b"hunter"), "h…r (6 chars)");
        assert_eq!(redact(b"abc"), "*** (3 chars)");
        let token = b"ghp_0123456789abcdefghijklmnopqrstuvwxyz";
        let r = redact(token);
        assert_eq!(r, "ghp_…wxyz (40 chars)");
        assert!(!r.contains("0123"));
    }

    #[test]
    fn line_counter() {
        let text = b"a\nb\nc\n";
        let mut lines = LineCounter::new(text);
        assert_eq!(lines.line_of(0), 1);
        assert_eq!(lines.line_of(2), 2);
        assert_eq!(lines.line_of(4), 3);
        assert_eq!(lines.line_of(1), 1);
    }
}
