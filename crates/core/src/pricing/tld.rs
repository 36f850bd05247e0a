//! A TLD as a price list names it: `com`, `co.uk`, `xn--p1ai`. Normalised like domain
//! names (UTS-46 to the lower-case A-label), so WHMCS's `.рф`, a registrar's `XN--P1AI`
//! and a domain's zone all meet on one key.

use crate::name::{DomainName, NameError};
use crate::text::Untrusted;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::sync::Arc;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TldError {
    #[error("TLD is empty: give the extension without its dot, e.g. `com` or `co.uk`")]
    Empty,
    #[error(
        "TLD `{}` starts with a dot: write it without the dot, as `{}`",
        Untrusted(value),
        Untrusted(fixed)
    )]
    LeadingDot { value: String, fixed: String },
    #[error("TLD `{}` is not valid: {reason}", Untrusted(value))]
    Invalid { value: String, reason: String },
}

/// A top-level or second-level zone (`de`, `co.uk`) in lower-case A-label form, no dots
/// at either end. Cheap to clone: price lists hold each TLD many times.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Tld(Arc<str>);

impl Tld {
    /// Parses a TLD as a registrar or GetTLDPricing names it (`com`, `CO.UK`, `рф`).
    /// A leading dot is an error that names the fix; use [`Tld::from_whmcs_extension`]
    /// for `tbldomainpricing.extension`, which stores the dot by design.
    pub fn parse(input: &str) -> Result<Tld, TldError> {
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err(TldError::Empty);
        }
        if let Some(rest) = trimmed.strip_prefix('.') {
            return Err(TldError::LeadingDot {
                value: input.to_string(),
                fixed: rest.trim_start_matches('.').to_string(),
            });
        }
        // Borrow the domain-name rules: a TLD is the zone of `x.<tld>`.
        let probe = DomainName::parse(&format!("x.{trimmed}")).map_err(|e| TldError::Invalid {
            value: input.to_string(),
            reason: reason(&e),
        })?;
        Ok(Tld(probe.zone().into()))
    }

    /// Parses WHMCS's `tbldomainpricing.extension` (`.de`, `.co.uk`): exactly one
    /// leading dot is expected and removed.
    pub fn from_whmcs_extension(extension: &str) -> Result<Tld, TldError> {
        let t = extension.trim();
        Tld::parse(t.strip_prefix('.').unwrap_or(t))
    }

    /// The zone of a domain (`co.uk` for `shop.co.uk`), for joining domains to prices.
    pub fn of_domain(domain: &DomainName) -> Tld {
        Tld(domain.zone().into())
    }

    /// Lower-case A-label form without dots at the ends: the join key.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// With the leading dot, as WHMCS stores extensions (`.co.uk`).
    pub fn with_dot(&self) -> String {
        format!(".{}", self.0)
    }

    /// U-label form for people (`рф`).
    pub fn unicode(&self) -> String {
        idna::domain_to_unicode(&self.0).0
    }

    pub fn is_idn(&self) -> bool {
        self.0.split('.').any(|l| l.starts_with("xn--"))
    }
}

fn reason(e: &NameError) -> String {
    match e {
        NameError::BadLabel { label, why, .. } => format!("label `{}` {why}", Untrusted(label)),
        NameError::TooLong(_) => "longer than 253 characters in ASCII form".to_string(),
        _ => "not a valid IDN or label (UTS-46 conversion failed)".to_string(),
    }
}

impl std::str::FromStr for Tld {
    type Err = TldError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Tld::parse(s)
    }
}

impl TryFrom<String> for Tld {
    type Error = TldError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Tld::parse(&s)
    }
}

impl From<Tld> for String {
    fn from(t: Tld) -> Self {
        t.0.to_string()
    }
}

impl fmt::Display for Tld {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lowercases_and_trims() {
        assert_eq!(Tld::parse(" COM ").unwrap().as_str(), "com");
        assert_eq!(Tld::parse("de.").unwrap().as_str(), "de");
    }

    #[test]
    fn second_level_zones_are_tlds() {
        let t = Tld::parse("co.uk").unwrap();
        assert_eq!(t.as_str(), "co.uk");
        assert_eq!(t.with_dot(), ".co.uk");
        let d = DomainName::parse("shop.CO.UK").unwrap();
        assert_eq!(Tld::of_domain(&d), t);
    }

    #[test]
    fn idn_tld_becomes_its_a_label() {
        let t = Tld::parse("РФ").unwrap();
        assert_eq!(t.as_str(), "xn--p1ai");
        assert_eq!(t.unicode(), "рф");
        assert!(t.is_idn());
        assert_eq!(Tld::parse("XN--P1AI").unwrap(), t);
    }

    #[test]
    fn leading_dot_names_value_and_fix() {
        let err = Tld::parse(".co.uk").unwrap_err();
        assert_eq!(
            err,
            TldError::LeadingDot {
                value: ".co.uk".into(),
                fixed: "co.uk".into()
            }
        );
        let shown = err.to_string();
        assert!(
            shown.contains("`.co.uk`") && shown.contains("as `co.uk`"),
            "{shown}"
        );
    }

    #[test]
    fn whmcs_extension_keeps_its_one_dot() {
        assert_eq!(
            Tld::from_whmcs_extension(".co.uk").unwrap().as_str(),
            "co.uk"
        );
        assert_eq!(
            Tld::from_whmcs_extension(".рф").unwrap().as_str(),
            "xn--p1ai"
        );
        assert!(matches!(
            Tld::from_whmcs_extension("..de"),
            Err(TldError::LeadingDot { .. })
        ));
    }

    #[test]
    fn rejects_empty_and_bad_labels_escaped() {
        assert_eq!(Tld::parse("  "), Err(TldError::Empty));
        assert!(matches!(
            Tld::parse("co..uk"),
            Err(TldError::Invalid { .. })
        ));
        assert!(matches!(Tld::parse("c_m"), Err(TldError::Invalid { .. })));
        let shown = Tld::parse("de\x1b[2J").unwrap_err().to_string();
        assert!(!shown.contains('\x1b'), "{shown}");
    }

    #[test]
    fn serde_round_trips_and_validates() {
        let t: Tld = serde_json::from_str("\"co.uk\"").unwrap();
        assert_eq!(serde_json::to_string(&t).unwrap(), "\"co.uk\"");
        assert!(serde_json::from_str::<Tld>("\".de\"").is_err());
    }
}
