//! Templates: ERB projected onto Ruby (so the Ruby rules and flow run on its code), Twig split
//! into its tags.

use std::ops::Range;

/// An ERB template as Ruby: every byte outside `<% %>` code is a space (newlines kept), so
/// offsets and lines in the Ruby are those of the template, and each tag ends in `;`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErbProjection {
    pub ruby: Vec<u8>,
    /// The code of each `<%= %>`/`<%== %>` tag, with whether it is the raw (`<%==`) form.
    pub outputs: Vec<(Range<usize>, bool)>,
}

/// Why a template could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct TemplateError {
    pub line: usize,
    pub message: String,
}

/// Projects an ERB template onto Ruby with tree-sitter-embedded-template's parse.
pub fn project_erb(template: &[u8]) -> Result<ErbProjection, TemplateError> {
    let mut parser = tree_sitter::Parser::new();
    let language = tree_sitter::Language::new(tree_sitter_embedded_template::LANGUAGE);
    parser
        .set_language(&language)
        .map_err(|err| TemplateError {
            line: 1,
            message: format!("the ERB grammar did not load: {err}"),
        })?;
    let tree = parser.parse(template, None).ok_or_else(|| TemplateError {
        line: 1,
        message: "the ERB parser gave up".to_owned(),
    })?;
    let root = tree.root_node();
    if root.has_error() {
        let line = first_error_line(root);
        return Err(TemplateError {
            line,
            message: "unfinished or malformed ERB tag".to_owned(),
        });
    }
    let mut ruby: Vec<u8> = template
        .iter()
        .map(|&b| if b == b'\n' { b'\n' } else { b' ' })
        .collect();
    let mut outputs = Vec::new();
    let mut cursor = root.walk();
    for tag in root.named_children(&mut cursor) {
        if !matches!(tag.kind(), "directive" | "output_directive") {
            continue;
        }
        let mut code = None;
        let mut raw = false;
        let mut close = None;
        for index in 0..tag.child_count() {
            let Some(child) = tag.child(index) else {
                continue;
            };
            match child.kind() {
                "code" => code = Some(child.byte_range()),
                "<%==" | "<%|==" => raw = true,
                "%>" | "-%>" | "=%>" => close = Some(child.start_byte()),
                _ => {}
            }
        }
        let Some(code) = code else { continue };
        if let (Some(dest), Some(src)) = (ruby.get_mut(code.clone()), template.get(code.clone())) {
            dest.copy_from_slice(src);
        }
        // A statement separator where the tag closes, so `<% if a %>…<% end %>` reads as
        // `if a ; end ;`.
        if let Some(slot) = close.and_then(|at| ruby.get_mut(at)) {
            *slot = b';';
        }
        if tag.kind() == "output_directive" {
            outputs.push((code, raw));
        }
    }
    Ok(ErbProjection { ruby, outputs })
}

/// The 1-based line of the first syntax error under `node`.
pub fn first_error_line(node: tree_sitter::Node<'_>) -> usize {
    let mut cursor = node.walk();
    loop {
        let current = cursor.node();
        if current.is_error() || current.is_missing() {
            return current.start_position().row + 1;
        }
        // Descend only into subtrees that hold the error.
        let mut found = false;
        if cursor.goto_first_child() {
            loop {
                if cursor.node().has_error() {
                    found = true;
                    break;
                }
                if !cursor.goto_next_sibling() {
                    break;
                }
            }
        }
        if !found {
            return current.start_position().row + 1;
        }
    }
}

/// A Twig tag: `{{ … }}` output, `{% … %}` statement or `{# … #}` comment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TwigTag {
    pub kind: TwigKind,
    /// The bytes between the delimiters.
    pub inner: Range<usize>,
    /// 1-based line of the opening delimiter.
    pub line: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TwigKind {
    Output,
    Statement,
    Comment,
}

/// Splits a Twig template into its tags. Strings inside tags may hold closing delimiters;
/// an unclosed tag is an error naming its line. `{% verbatim %}` blocks are skipped.
pub fn split_twig(text: &[u8]) -> Result<Vec<TwigTag>, TemplateError> {
    let mut tags = Vec::new();
    let mut at = 0;
    let mut line = 1;
    let mut verbatim = false;
    while at + 1 < text.len() {
        let (open, close, kind) = match (text[at], text[at + 1]) {
            (b'{', b'{') => (at, [b'}', b'}'], TwigKind::Output),
            (b'{', b'%') => (at, [b'%', b'}'], TwigKind::Statement),
            (b'{', b'#') => (at, [b'#', b'}'], TwigKind::Comment),
            (b'\n', _) => {
                line += 1;
                at += 1;
                continue;
            }
            _ => {
                at += 1;
                continue;
            }
        };
        let start_line = line;
        let mut i = open + 2;
        let mut quote: Option<u8> = None;
        let end = loop {
            let Some(&b) = text.get(i) else {
                return Err(TemplateError {
                    line: start_line,
                    message: "unclosed Twig tag".to_owned(),
                });
            };
            if b == b'\n' {
                line += 1;
            }
            match quote {
                Some(_) if b == b'\\' => i += 1,
                Some(q) if b == q => quote = None,
                Some(_) => {}
                None if kind != TwigKind::Comment && (b == b'"' || b == b'\'') => quote = Some(b),
                None if b == close[0] && text.get(i + 1) == Some(&close[1]) => break i,
                None => {}
            }
            i += 1;
        };
        let inner = open + 2..end;
        let words = String::from_utf8_lossy(&text[inner.clone()]);
        let first = words.trim_matches(|c: char| c == '-' || c == '~' || c.is_whitespace());
        if kind == TwigKind::Statement && first.starts_with("endverbatim") {
            verbatim = false;
        } else if !verbatim {
            if kind == TwigKind::Statement && first.starts_with("verbatim") {
                verbatim = true;
            }
            tags.push(TwigTag {
                kind,
                inner,
                line: start_line,
            });
        }
        at = end + 2;
    }
    Ok(tags)
}

/// Whether a Twig expression applies the `raw` filter (outside string literals).
pub fn twig_has_raw(expression: &[u8]) -> bool {
    let mut cleaned = Vec::with_capacity(expression.len());
    let mut quote = None;
    let mut skip = false;
    for &b in expression {
        if skip {
            skip = false;
            continue;
        }
        match quote {
            Some(_) if b == b'\\' => skip = true,
            Some(q) if b == q => quote = None,
            Some(_) => {}
            None if b == b'"' || b == b'\'' => {
                quote = Some(b);
                cleaned.push(b'S');
            }
            None => cleaned.push(b),
        }
    }
    let text = String::from_utf8_lossy(&cleaned);
    text.split('|').skip(1).any(|filter| {
        let name: String = filter
            .trim_start()
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        name == "raw"
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn erb_keeps_offsets_and_marks_raw_output() {
        let erb = b"<p><%= a %></p>\n<% if b %><%== c %><% end %>";
        let projected = project_erb(erb).unwrap();
        assert_eq!(projected.ruby.len(), erb.len());
        let ruby = String::from_utf8(projected.ruby.clone()).unwrap();
        assert!(ruby.contains(" a "), "{ruby}");
        assert_eq!(ruby.matches('\n').count(), 1);
        assert_eq!(projected.outputs.len(), 2);
        assert!(!projected.outputs[0].1);
        assert!(projected.outputs[1].1);
        assert_eq!(&erb[projected.outputs[1].0.clone()], b" c ");
    }

    #[test]
    fn twig_tags_respect_strings_and_report_unclosed() {
        let tags = split_twig(b"a {{ x|raw }}\n{% set y = '%}' %}{# c #}").unwrap();
        assert_eq!(tags.len(), 3);
        assert_eq!(tags[1].kind, TwigKind::Statement);
        assert_eq!(tags[1].line, 2);
        let err = split_twig(b"ok\n{{ x ").unwrap_err();
        assert_eq!(err.line, 2);
        assert!(twig_has_raw(b" x|raw "));
        assert!(twig_has_raw(b" x | escape | raw "));
        assert!(!twig_has_raw(b" x|rawish "));
        assert!(!twig_has_raw(b" '|raw' "));
    }
}
