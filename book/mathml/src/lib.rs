//! The book's formulas as MathML. mdBook 0.5 leaves `$...$` as text, and the MathJax it can load from a CDN needs
//! the network and sees formulas only after Markdown has eaten their `\,`, `\\` and `_`. So this preprocessor
//! converts each formula before Markdown runs: `$...$` inline, `$$...$$` displayed, nothing inside code. Browsers
//! draw MathML themselves (MathML Core), with no script, stylesheet or font to fetch.

use math_core::{LatexToMathML, MathCoreConfig, MathDisplay};

/// A formula the book cannot show, with where it is.
#[derive(Debug, thiserror::Error)]
pub enum MathError {
    #[error("line {line}: cannot convert the formula `{formula}`: {message}")]
    Latex {
        line: usize,
        formula: String,
        message: String,
    },
    #[error("line {line}: a `$$` display formula is opened but never closed (close it with `$$`, or write `\\$`)")]
    Unclosed { line: usize },
}

/// Converts the formulas of Markdown text to MathML.
pub struct Formulas {
    converter: LatexToMathML,
}

impl Default for Formulas {
    fn default() -> Self {
        let converter = LatexToMathML::new(MathCoreConfig::default()).expect("the default configuration has no macros");
        Self { converter }
    }
}

impl Formulas {
    /// `markdown` with every formula outside code blocks and code spans replaced by a one-line `<math>` element.
    pub fn render(&self, markdown: &str) -> Result<String, MathError> {
        let mut out = String::with_capacity(markdown.len() * 2);
        let mut prose = String::new();
        let mut fence: Option<String> = None;
        let mut prose_start_line = 1;
        for (index, line) in markdown.split_inclusive('\n').enumerate() {
            let marker = fence_marker(line);
            match (&fence, marker) {
                (None, Some(marker)) => {
                    out += &self.render_prose(&prose, prose_start_line)?;
                    prose.clear();
                    fence = Some(marker);
                    out += line;
                }
                (None, None) => {
                    if prose.is_empty() {
                        prose_start_line = index + 1;
                    }
                    prose += line;
                }
                (Some(open), Some(marker))
                    if marker.starts_with(open.as_str()) && line.trim().len() == marker.len() =>
                {
                    fence = None;
                    out += line;
                }
                (Some(_), _) => out += line,
            }
        }
        out += &self.render_prose(&prose, prose_start_line)?;
        Ok(out)
    }

    /// Text outside fenced code: code spans are copied as they are, formulas converted.
    fn render_prose(&self, text: &str, first_line: usize) -> Result<String, MathError> {
        let line_of = |at: usize| first_line + text[..at].matches('\n').count();
        let mut out = String::with_capacity(text.len());
        let mut at = 0;
        while at < text.len() {
            let rest = &text[at..];
            if rest.starts_with('`') {
                let ticks = rest.len() - rest.trim_start_matches('`').len();
                let span_end = closing_backticks(&rest[ticks..], ticks).map_or(ticks, |end| ticks + end + ticks);
                out += &rest[..span_end];
                at += span_end;
            } else if rest.starts_with("\\$") {
                out += "\\$";
                at += 2;
            } else if let Some(body) = rest.strip_prefix("$$") {
                let end = body.find("$$").ok_or(MathError::Unclosed { line: line_of(at) })?;
                out += &self.convert(&body[..end], MathDisplay::Block, line_of(at))?;
                at += 2 + end + 2;
            } else if let Some(end) = rest.strip_prefix('$').and_then(inline_end) {
                out += &self.convert(&rest[1..1 + end], MathDisplay::Inline, line_of(at))?;
                at += 1 + end + 1;
            } else {
                let next = rest.chars().next().expect("rest is not empty");
                out.push(next);
                at += next.len_utf8();
            }
        }
        Ok(out)
    }

    fn convert(&self, latex: &str, display: MathDisplay, line: usize) -> Result<String, MathError> {
        let converted = self
            .converter
            .convert_with_local_state(latex, display)
            .map_err(|error| MathError::Latex {
                line,
                formula: latex.trim().to_string(),
                message: error.to_string(),
            })?;
        Ok(markdown_inert(&converted.mathml))
    }
}

/// The fence (three or more backticks or tildes) a line opens or closes a fenced code block with, if it does.
fn fence_marker(line: &str) -> Option<String> {
    let trimmed = line.trim_start();
    let symbol = trimmed.chars().next().filter(|c| *c == '`' || *c == '~')?;
    let length = trimmed.len() - trimmed.trim_start_matches(symbol).len();
    (length >= 3).then(|| symbol.to_string().repeat(length))
}

/// Where the run of exactly `ticks` backticks closing a code span starts in `text`.
fn closing_backticks(text: &str, ticks: usize) -> Option<usize> {
    let mut at = 0;
    while let Some(found) = text[at..].find('`') {
        let start = at + found;
        let run = text[start..].len() - text[start..].trim_start_matches('`').len();
        if run == ticks {
            return Some(start);
        }
        at = start + run;
    }
    None
}

/// The length of an inline formula's TeX after its opening `$`, as Pandoc reads it: the formula neither starts nor
/// ends with a space, ends at the next unescaped `$` of the same paragraph, and that `$` is not followed by a digit
/// (so "between $5 and $10" stays text).
fn inline_end(after_dollar: &str) -> Option<usize> {
    if after_dollar.starts_with(char::is_whitespace) {
        return None;
    }
    let mut previous = '$';
    for (at, c) in after_dollar.char_indices() {
        if c == '\n' && after_dollar[at + 1..].trim_start_matches([' ', '\t']).starts_with('\n') {
            return None;
        }
        if c == '$' && previous != '\\' && at > 0 {
            let closes = !previous.is_whitespace() && !after_dollar[at + 1..].starts_with(|c: char| c.is_ascii_digit());
            return closes.then_some(at);
        }
        previous = c;
    }
    None
}

/// MathML whose text holds no character Markdown would read as syntax (`*x*` as emphasis, `_` , `\`, a table's
/// `|`): each becomes a character reference, which the browser shows as the character itself.
fn markdown_inert(mathml: &str) -> String {
    let mut out = String::with_capacity(mathml.len());
    let mut in_tag = false;
    for c in mathml.chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            _ => {}
        }
        match c {
            '*' | '_' | '\\' | '`' | '[' | ']' | '|' | '$' | '~' if !in_tag => out += &format!("&#{};", c as u32),
            '\n' => out.push(' '),
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(markdown: &str) -> String {
        Formulas::default().render(markdown).unwrap()
    }

    #[test]
    fn an_inline_formula_becomes_inline_mathml() {
        let html = render("a **query** $q_i = x_i W^Q$: what position $i$ looks for\n");
        assert_eq!(html.matches("<math>").count(), 2, "{html}");
        assert!(
            html.starts_with("a **query** <math>") && html.contains("<msub>"),
            "{html}"
        );
        assert!(!html.contains('$') && !html.contains("q_i"), "{html}");
    }

    #[test]
    fn a_display_formula_over_several_lines_becomes_one_line_of_block_mathml() {
        let html = render(
            "Then\n\n$$s_{ij} = \\frac{q_i \\cdot k_j}{\\sqrt{d_k}}, \\qquad\no_i = \\sum_j a_{ij}\\, v_j .$$\n\nso\n",
        );
        let math = html
            .lines()
            .find(|line| line.starts_with("<math display=\"block\">"))
            .expect("a block formula");
        assert!(
            math.ends_with("</math>") && math.contains("<mfrac>") && math.contains("<msqrt>"),
            "{math}"
        );
        assert_eq!(html.lines().count(), 5, "{html}");
    }

    #[test]
    fn code_and_prices_and_escaped_dollars_stay_text() {
        let markdown = "`$x$` and ``a `$y$` b``\n\n```rust\nlet s = \"$z$\";\n```\n\nbetween $5 and $10, \\$1\n";
        assert_eq!(render(markdown), markdown);
    }

    #[test]
    fn markdown_syntax_inside_a_formula_cannot_reach_markdown() {
        let html = render("$a_1 * b_2 * c$ and $[x]$\n");
        let text: String = html
            .split('<')
            .filter_map(|piece| piece.split_once('>').map(|(_, text)| text))
            .collect();
        assert!(!text.contains(['*', '_', '[', ']']), "{text}");
        assert!(text.contains("&#91;x&#93;"), "{text}");
    }

    #[test]
    fn a_formula_that_cannot_be_read_names_its_line_and_text() {
        let error = Formulas::default()
            .render("one\n\ntwo $x \\notacommand y$\n")
            .unwrap_err()
            .to_string();
        assert!(
            error.starts_with("line 3:") && error.contains("\\notacommand"),
            "{error}"
        );
        let error = Formulas::default().render("a\n$$x = 1\n").unwrap_err().to_string();
        assert!(
            error.starts_with("line 2:") && error.contains("never closed"),
            "{error}"
        );
    }
}
