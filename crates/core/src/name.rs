//! Domain names, normalised once at the edge: lower-case A-label (punycode) form for joins
//! and API calls, U-label form for people. Conversion is UTS-46 (non-transitional, so `ß`
//! stays `ß` as DENIC and most registries expect), done locally with the `idna` crate.

mod script;
mod set;

pub use set::{NameSet, Scope};

use crate::text::Untrusted;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    #[error("domain name is empty")]
    Empty,
    #[error("`{}` is not a valid IDN (UTS-46 conversion failed); check for stray symbols or mixed scripts", Untrusted(.0))]
    Idna(String),
    #[error(
        "`{}` has an invalid label `{}`: {why}",
        Untrusted(name),
        Untrusted(label)
    )]
    BadLabel {
        name: String,
        label: String,
        why: &'static str,
    },
    #[error("`{}` is longer than 253 characters in ASCII form", Untrusted(.0))]
    TooLong(String),
    #[error("`{}` has no zone: a registrable domain needs at least two labels, e.g. example.com", Untrusted(.0))]
    NoZone(String),
}

/// A registrable domain name in canonical form.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct DomainName {
    /// Shared, not copied, by clones: a cycle holds each name in its snapshot, its
    /// observation and the run's scope, a million times over.
    ascii: std::sync::Arc<str>,
}

impl DomainName {
    /// Normalises user, billing or registrar input: trims, strips one trailing dot,
    /// maps through UTS-46 and validates each label (LDH rule, 1..=63 octets).
    pub fn parse(input: &str) -> Result<Self, NameError> {
        let trimmed = input.trim();
        let trimmed = trimmed.strip_suffix('.').unwrap_or(trimmed);
        if trimmed.is_empty() {
            return Err(NameError::Empty);
        }
        // Names from lists are mostly lower-case ASCII already: borrow them, so the name
        // costs one allocation (its shared copy), not two.
        let ascii: std::borrow::Cow<str> = if !trimmed.is_ascii() {
            idna::domain_to_ascii(trimmed)
                .map_err(|_| NameError::Idna(input.to_string()))?
                .into()
        } else if trimmed.bytes().any(|b| b.is_ascii_uppercase()) {
            trimmed.to_ascii_lowercase().into()
        } else {
            trimmed.into()
        };
        if ascii.len() > 253 {
            return Err(NameError::TooLong(input.to_string()));
        }
        let mut labels = 0;
        for label in ascii.split('.') {
            labels += 1;
            let bad = |why| NameError::BadLabel {
                name: input.to_string(),
                label: label.to_string(),
                why,
            };
            if label.is_empty() {
                return Err(bad("empty label (two dots in a row?)"));
            }
            if label.len() > 63 {
                return Err(bad("longer than 63 characters"));
            }
            if !label
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            {
                return Err(bad("only letters, digits and hyphens are allowed"));
            }
            if label.starts_with('-') || label.ends_with('-') {
                return Err(bad("must not start or end with a hyphen"));
            }
            if let Some(puny) = label.strip_prefix("xn--") {
                // An A-label must decode; catches garbage such as `xn--` alone.
                if puny.is_empty() || idna::domain_to_unicode(label).1.is_err() {
                    return Err(bad("not a valid punycode A-label"));
                }
            }
        }
        if labels < 2 {
            return Err(NameError::NoZone(input.to_string()));
        }
        Ok(Self {
            ascii: std::sync::Arc::from(&*ascii),
        })
    }

    /// Lower-case A-label form, e.g. `xn--mller-kva.de`. Use for joins and API calls.
    pub fn ascii(&self) -> &str {
        &self.ascii
    }

    /// U-label form for display, e.g. `müller.de`.
    pub fn unicode(&self) -> String {
        idna::domain_to_unicode(&self.ascii).0
    }

    /// The form to show people wherever a name appears (CLI, dashboard, tickets, digest):
    /// the U-label form, e.g. `müller.de`, unless a label mixes scripts, as look-alikes
    /// do; then the A-label follows in brackets, e.g. `аpple.com (xn--pple-43d.com)`
    /// with a Cyrillic "а", so nobody takes it for `apple.com`.
    pub fn display(&self) -> String {
        let unicode = self.unicode();
        let mixed = self
            .ascii
            .split('.')
            .zip(unicode.split('.'))
            .any(|(a_label, u_label)| {
                a_label.starts_with("xn--") && !script::is_single_script(u_label)
            });
        if mixed {
            format!("{unicode} ({})", self.ascii)
        } else {
            unicode
        }
    }

    pub fn is_idn(&self) -> bool {
        self.ascii.split('.').any(|l| l.starts_with("xn--"))
    }

    /// Everything after the first label (`co.uk` for `example.co.uk`): the zone the
    /// registrar prices it under.
    pub fn zone(&self) -> &str {
        self.ascii.split_once('.').map(|(_, z)| z).unwrap_or("")
    }

    /// The last label (`uk` for `example.co.uk`).
    pub fn tld(&self) -> &str {
        self.ascii.rsplit('.').next().unwrap_or("")
    }
}

/// The A-label form of part of a name, for substring search over stored names (which are
/// A-labels): `Müller` gives `xn--mller-kva`, `müller.SHOP` gives `xn--mller-kva.shop`,
/// `mül` gives `mül`'s own A-label (so a Unicode fragment finds names whose label is that
/// fragment, not every name containing it). ASCII is only lower-cased. Labels may be empty
/// (`.co.uk` is a fine fragment); anything outside letters, digits, hyphens and dots after
/// conversion is refused, with the input escaped in the error.
pub fn search_fragment(input: &str) -> Result<String, NameError> {
    let trimmed = input.trim();
    if trimmed.is_empty() {
        return Err(NameError::Empty);
    }
    let mut labels = Vec::new();
    for label in trimmed.split('.') {
        let ascii = if label.is_ascii() {
            label.to_ascii_lowercase()
        } else {
            idna::domain_to_ascii(label).map_err(|_| NameError::Idna(input.to_string()))?
        };
        if !ascii
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        {
            return Err(NameError::BadLabel {
                name: input.to_string(),
                label: label.to_string(),
                why: "only letters, digits, hyphens and dots can be part of a domain name",
            });
        }
        labels.push(ascii);
    }
    Ok(labels.join("."))
}

impl FromStr for DomainName {
    type Err = NameError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl TryFrom<String> for DomainName {
    type Error = NameError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<DomainName> for String {
    fn from(d: DomainName) -> Self {
        d.ascii.to_string()
    }
}

impl fmt::Display for DomainName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.ascii)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_case_dots_and_whitespace() {
        let d = DomainName::parse("  Example.COM. ").unwrap();
        assert_eq!(d.ascii(), "example.com");
        assert_eq!(d.zone(), "com");
        assert!(!d.is_idn());
    }

    #[test]
    fn converts_idn_both_ways() {
        let d = DomainName::parse("Müller.de").unwrap();
        assert_eq!(d.ascii(), "xn--mller-kva.de");
        assert_eq!(d.unicode(), "müller.de");
        assert!(d.is_idn());
        assert_eq!(DomainName::parse("xn--mller-kva.de").unwrap(), d);
    }

    #[test]
    fn keeps_sharp_s_non_transitional() {
        let d = DomainName::parse("straße.de").unwrap();
        assert_eq!(d.ascii(), "xn--strae-oqa.de");
    }

    #[test]
    fn errors_show_the_input_escaped() {
        let err = DomainName::parse("evil\x1b[2J\r\nINFO.com").unwrap_err();
        let shown = err.to_string();
        assert!(shown.contains("evil\\u{1b}[2J\\r\\nINFO.com"), "{shown}");
        let err = DomainName::parse("\u{202e}moc").unwrap_err().to_string();
        assert!(!err.contains('\u{202e}'), "{err}");
    }

    #[test]
    fn search_fragments_are_a_labels() {
        assert_eq!(search_fragment(" Müller ").unwrap(), "xn--mller-kva");
        assert_eq!(
            search_fragment("müller.SHOP").unwrap(),
            "xn--mller-kva.shop"
        );
        assert_eq!(search_fragment("Shop").unwrap(), "shop");
        assert_eq!(search_fragment(".co.uk").unwrap(), ".co.uk");
        assert_eq!(search_fragment("xn--mller").unwrap(), "xn--mller");
        assert_eq!(search_fragment("  "), Err(NameError::Empty));
        let err = search_fragment("a%b_c").unwrap_err();
        assert!(matches!(err, NameError::BadLabel { .. }), "{err}");
        assert!(search_fragment("x\u{1b}[2J").is_err());
    }

    #[test]
    fn zone_of_second_level_suffix() {
        let d = DomainName::parse("shop.co.uk").unwrap();
        assert_eq!(d.zone(), "co.uk");
        assert_eq!(d.tld(), "uk");
    }

    #[test]
    fn rejects_odd_names_with_reasons() {
        assert_eq!(DomainName::parse(" "), Err(NameError::Empty));
        assert!(matches!(
            DomainName::parse("com"),
            Err(NameError::NoZone(_))
        ));
        assert!(matches!(
            DomainName::parse("a..com"),
            Err(NameError::BadLabel { .. })
        ));
        assert!(matches!(
            DomainName::parse("-bad.com"),
            Err(NameError::BadLabel { .. })
        ));
        assert!(matches!(
            DomainName::parse("under_score.com"),
            Err(NameError::BadLabel { .. })
        ));
        let long = format!("{}.com", "a".repeat(64));
        assert!(matches!(
            DomainName::parse(&long),
            Err(NameError::BadLabel { .. })
        ));
        assert!(DomainName::parse("xn--.com").is_err());
    }

    #[test]
    fn mixed_script_label_is_shown_with_its_a_label() {
        let ascii = idna::domain_to_ascii("аpple.com").unwrap(); // Cyrillic а, U+0430
        assert_eq!(ascii, "xn--pple-43d.com");
        let d = DomainName::parse("аpple.com").unwrap();
        assert_eq!(d.ascii(), ascii);
        assert_eq!(d.display(), "аpple.com (xn--pple-43d.com)");
        assert_eq!(
            DomainName::parse(&ascii).unwrap().display(),
            "аpple.com (xn--pple-43d.com)"
        );
        // One mixed label is enough, wherever it is.
        let sub = DomainName::parse("shop.pаypal.de").unwrap();
        assert!(
            sub.display().ends_with(&format!("({})", sub.ascii())),
            "{}",
            sub.display()
        );
    }

    #[test]
    fn single_script_names_are_shown_in_unicode_only() {
        for name in [
            "müller.de",
            "日本語.jp",
            "ソニーの日本.jp",
            "пример.рф",
            "example.com",
            "пример.com",
        ] {
            assert_eq!(DomainName::parse(name).unwrap().display(), name);
        }
        // An A-label of a Cyrillic-only name is shown in Unicode.
        let cyrillic = idna::domain_to_ascii("пример.рф").unwrap();
        assert!(cyrillic.starts_with("xn--"));
        assert_eq!(DomainName::parse(&cyrillic).unwrap().display(), "пример.рф");
    }

    proptest::proptest! {
        #[test]
        fn parse_is_idempotent(s in "[a-zA-Z0-9äöüß-]{1,20}\\.(de|com|co\\.uk)") {
            if let Ok(d) = DomainName::parse(&s) {
                let again = DomainName::parse(d.ascii()).unwrap();
                proptest::prop_assert_eq!(&again, &d);
                let from_unicode = DomainName::parse(&d.unicode()).unwrap();
                proptest::prop_assert_eq!(from_unicode, d);
            }
        }
    }
}
