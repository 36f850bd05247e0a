//! Untrusted text (from WHMCS, registrars, users) made safe for one terminal or log line.
//!
//! A registrar description or a WHMCS message can carry control characters: an ANSI
//! escape (`ESC[31m`) recolours or clears the operator's terminal, `\r\n` forges a new log
//! line, a bidi override (U+202E) makes `moc.elgoog` read as `google.com`. [`escape`]
//! replaces each such character with a visible escape (`\n`, `\u{1b}`, `\u{202e}`) and
//! leaves everything else, including every letter of every script, as it is.

use std::borrow::Cow;
use std::fmt::{self, Write};

/// Bytes received as text: checked as UTF-8 in one fast pass (what servers send) and
/// kept without a copy; only when they are not UTF-8 is each bad sequence replaced with
/// U+FFFD, as `String::from_utf8_lossy` (and `reqwest`'s `text()`) does.
pub fn from_utf8_or_replaced(bytes: Vec<u8>) -> String {
    String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// True for the characters [`escape`] replaces: C0 controls (tab and newline too: one field
/// stays on one line), DEL, C1 controls, the bidi embeddings, overrides, isolates and marks,
/// and the Unicode line and paragraph separators (line breaks in many viewers).
pub fn is_unsafe(c: char) -> bool {
    matches!(c,
        '\u{0}'..='\u{1f}'
        | '\u{7f}'..='\u{9f}'
        | '\u{61c}'
        | '\u{200e}' | '\u{200f}'
        | '\u{2028}'..='\u{202e}'
        | '\u{2066}'..='\u{2069}')
}

/// `text` with every [unsafe](is_unsafe) character replaced by a visible escape. Borrows
/// (no allocation) when there is nothing to replace.
pub fn escape(text: &str) -> Cow<'_, str> {
    let Some(first) = text.find(is_unsafe) else {
        return Cow::Borrowed(text);
    };
    let mut out = String::with_capacity(text.len() + 8);
    out.push_str(&text[..first]);
    // Writing to a String cannot fail.
    let _ = write_escaped(&mut out, &text[first..]);
    Cow::Owned(out)
}

fn write_escaped(out: &mut impl Write, text: &str) -> fmt::Result {
    let mut clean_from = 0;
    for (at, c) in text.char_indices().filter(|&(_, c)| is_unsafe(c)) {
        out.write_str(&text[clean_from..at])?;
        match c {
            '\n' => out.write_str("\\n")?,
            '\r' => out.write_str("\\r")?,
            '\t' => out.write_str("\\t")?,
            other => write!(out, "\\u{{{:x}}}", u32::from(other))?,
        }
        clean_from = at + c.len_utf8();
    }
    out.write_str(&text[clean_from..])
}

/// Displays its value [escaped](escape): for remote text inside error messages and for
/// `%`-fields in tracing events, whose `Display` output the log formatter writes raw.
///
/// ```
/// use domwatch_core::text::Untrusted;
/// let description = "Object exists\r\nINFO admin logged in";
/// assert_eq!(
///     format!("refused: {}", Untrusted(description)),
///     "refused: Object exists\\r\\nINFO admin logged in"
/// );
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Untrusted<T>(pub T);

impl<T: fmt::Display> fmt::Display for Untrusted<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(EscapingWriter(f), "{}", self.0)
    }
}

/// Escapes whatever is written through it, piece by piece (no intermediate String).
struct EscapingWriter<'a, 'b>(&'a mut fmt::Formatter<'b>);

impl Write for EscapingWriter<'_, '_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        write_escaped(self.0, s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_read_as_utf8_and_invalid_sequences_are_replaced() {
        assert_eq!(
            from_utf8_or_replaced(b"CODE = 200\n".to_vec()),
            "CODE = 200\n"
        );
        assert_eq!(from_utf8_or_replaced(vec![b'a', 0xff, b'b']), "a\u{FFFD}b");
    }
    use proptest::prelude::*;

    #[test]
    fn ansi_escape_sequences_become_visible() {
        assert_eq!(escape("\x1b[31mred\x1b[0m"), "\\u{1b}[31mred\\u{1b}[0m");
        assert_eq!(escape("\x1b]0;title\x07"), "\\u{1b}]0;title\\u{7}");
        // The 8-bit CSI (C1) and DEL.
        assert_eq!(escape("\u{9b}2J\x7f"), "\\u{9b}2J\\u{7f}");
    }

    #[test]
    fn a_forged_log_line_stays_on_its_line() {
        let forged = "Object not found\r\nFAKE LOG LINE\tINFO ok";
        let safe = escape(forged);
        assert_eq!(safe, "Object not found\\r\\nFAKE LOG LINE\\tINFO ok");
        assert!(!safe.contains(['\r', '\n', '\t']));
    }

    #[test]
    fn bidi_override_cannot_reverse_a_name() {
        // Shows as "google.com" in a terminal that honours U+202E.
        let trick = "\u{202e}moc.elgoog";
        assert_eq!(escape(trick), "\\u{202e}moc.elgoog");
        for c in [
            '\u{202a}', '\u{202b}', '\u{202c}', '\u{202d}', '\u{2066}', '\u{2067}', '\u{2068}',
            '\u{2069}', '\u{200e}', '\u{200f}', '\u{61c}',
        ] {
            let escaped = escape(&format!("a{c}b")).into_owned();
            assert_eq!(escaped, format!("a\\u{{{:x}}}b", u32::from(c)));
        }
    }

    #[test]
    fn ordinary_text_of_every_script_is_borrowed_unchanged() {
        for clean in [
            "Müller GmbH, Straße 5",
            "日本語のドメイン",
            "пример.рф",
            "مثال.إختبار",
            "Ελληνικά — “quoted” 100 € ✓ 😀",
            "",
        ] {
            assert!(
                matches!(escape(clean), Cow::Borrowed(s) if s == clean),
                "{clean}"
            );
        }
    }

    #[test]
    fn untrusted_display_escapes_the_inner_display() {
        let err = format!("{}", Untrusted(format_args!("{}: {}", 545, "\x1b[2Jgone")));
        assert_eq!(err, "545: \\u{1b}[2Jgone");
        assert_eq!(Untrusted("plain").to_string(), "plain");
    }

    proptest! {
        #[test]
        fn output_never_holds_an_unsafe_character(s in any::<String>()) {
            let safe = escape(&s);
            prop_assert!(!safe.contains(is_unsafe));
            prop_assert_eq!(Untrusted(&s).to_string(), safe.as_ref());
        }

        #[test]
        fn escaping_is_idempotent(s in any::<String>()) {
            let once = escape(&s).into_owned();
            prop_assert!(matches!(escape(&once), Cow::Borrowed(_)));
        }

        #[test]
        fn safe_characters_keep_their_order(s in any::<String>()) {
            let kept: String = s.chars().filter(|&c| !is_unsafe(c)).collect();
            let safe = escape(&s);
            // Dropping the escapes' own text from the output gives back the safe input.
            let mut rest = safe.as_ref();
            for c in kept.chars() {
                let at = rest.find(c);
                prop_assert!(at.is_some(), "{:?} lost from {:?}", c, safe);
                rest = &rest[at.unwrap() + c.len_utf8()..];
            }
        }

        #[test]
        fn text_without_controls_is_borrowed(s in "[^\\p{Cc}\\p{Cf}\u{2028}\u{2029}]*") {
            prop_assert!(matches!(escape(&s), Cow::Borrowed(t) if t == s));
        }
    }
}
