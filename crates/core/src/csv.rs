//! CSV for spreadsheets (RFC 4180, UTF-8). Cells are untrusted text from WHMCS, registrars
//! and users: besides quoting, a cell that a spreadsheet would run as a formula (starts
//! with `=`, `+`, `-`, `@`, tab or carriage return) gets a leading apostrophe, so opening
//! the export cannot run `=HYPERLINK(…)` or `=cmd|…`.

use std::borrow::Cow;

/// One cell, quoted when it holds a separator, quote or line break, and defused when a
/// spreadsheet would read it as a formula.
pub fn cell(text: &str) -> Cow<'_, str> {
    let formula = text.starts_with(['=', '+', '-', '@', '\t', '\r']);
    let quote = text.contains([',', '"', '\n', '\r']);
    if !formula && !quote {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 4);
    if quote {
        out.push('"');
    }
    if formula {
        out.push('\'');
    }
    for c in text.chars() {
        if c == '"' {
            out.push('"');
        }
        out.push(c);
    }
    if quote {
        out.push('"');
    }
    Cow::Owned(out)
}

/// A number or date domwatch itself formatted: never defused, so `-7.50` stays a number.
pub fn number(text: &str) -> Cow<'_, str> {
    if text.contains([',', '"', '\n', '\r']) {
        return cell(text);
    }
    Cow::Borrowed(text)
}

/// Appends one record (cells already made with [`cell`] or [`number`]) and a CRLF.
pub fn push_row<'a>(out: &mut String, cells: impl IntoIterator<Item = Cow<'a, str>>) {
    for (i, c) in cells.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&c);
    }
    out.push_str("\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_is_left_alone() {
        assert_eq!(cell("müller.shop"), "müller.shop");
        assert!(matches!(cell("abc"), Cow::Borrowed(_)));
    }

    #[test]
    fn separators_quotes_and_line_breaks_are_quoted() {
        assert_eq!(cell("a,b"), "\"a,b\"");
        assert_eq!(cell("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(cell("two\nlines"), "\"two\nlines\"");
    }

    #[test]
    fn formulas_get_a_leading_apostrophe() {
        for f in ["=1+1", "+1", "-2", "@SUM(A1)", "\tx"] {
            assert!(cell(f).starts_with('\''), "{f:?} -> {}", cell(f));
        }
        assert_eq!(
            cell("=HYPERLINK(\"http://x\",\"y\")"),
            "\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\""
        );
        assert_eq!(number("-7.50"), "-7.50");
    }

    #[test]
    fn rows_end_in_crlf() {
        let mut out = String::new();
        push_row(&mut out, [cell("a"), number("1.00"), cell("=x")]);
        assert_eq!(out, "a,1.00,'=x\r\n");
    }
}
