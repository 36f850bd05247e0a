//! What WHMCS charges for ID protection (`tblpricing` type `domainaddons`, `relid` 0,
//! `ssetupfee` = ID protection per year, one row per currency), put on an "ID protection
//! active but not billed" case as the money at stake per year. A price that cannot be
//! read makes the case say "price unknown", never a price of zero.

use super::{CaseKind, Evidence, Finding};
use crate::money::{Currency, Money};
use rust_decimal::Decimal;
use std::collections::HashMap;

/// The evidence line the price goes into.
pub const ID_PROTECTION_PRICE_LABEL: &str = "ID protection price per year (WHMCS)";

/// WHMCS's ID protection price in one currency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AddonPrice {
    PerYear(Money),
    /// Priced at 0.00: given away, nothing lost.
    Free,
    /// Not read, not set for this currency, or not a price; says why.
    Unknown(String),
}

/// The ID protection prices of every currency, or why none could be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdProtectionPrices {
    Read(HashMap<Currency, Decimal>),
    Unknown(String),
}

impl IdProtectionPrices {
    /// The price in `currency`: `-1` (or any negative) disables the add-on in WHMCS.
    pub fn price(&self, currency: Currency) -> AddonPrice {
        let prices = match self {
            IdProtectionPrices::Unknown(why) => return AddonPrice::Unknown(why.clone()),
            IdProtectionPrices::Read(prices) => prices,
        };
        match prices.get(&currency) {
            None => AddonPrice::Unknown(format!(
                "WHMCS has no domain add-on price row in {currency}"
            )),
            Some(p) if p.is_zero() => AddonPrice::Free,
            Some(p) if p.is_sign_negative() => AddonPrice::Unknown(format!(
                "ID protection is disabled in WHMCS's {currency} add-on pricing ({p})"
            )),
            Some(p) => AddonPrice::PerYear(Money::new(*p, currency)),
        }
    }
}

/// Puts the price on an `IdProtectionNotBilled` finding (others are left alone).
pub fn price_id_protection(finding: &mut Finding, price: &AddonPrice) {
    if finding.kind != CaseKind::IdProtectionNotBilled {
        return;
    }
    let shown = match price {
        AddonPrice::PerYear(m) => {
            finding.at_stake = Some(*m);
            finding.summary.push_str(&format!(" ({m} per year)"));
            m.to_string()
        }
        AddonPrice::Free => "0.00 (free in WHMCS)".to_string(),
        AddonPrice::Unknown(why) => {
            finding.summary.push_str(" (price unknown)");
            format!("unknown: {why}")
        }
    };
    finding
        .evidence
        .push(Evidence::new(ID_PROTECTION_PRICE_LABEL, Some(shown), None));
}

/// Whether the case's ID protection price could not be read.
pub fn id_protection_price_unknown(finding: &Finding) -> bool {
    finding.evidence.iter().any(|e| {
        e.label == ID_PROTECTION_PRICE_LABEL
            && e.billing
                .as_deref()
                .is_some_and(|b| b.starts_with("unknown"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::name::DomainName;
    use rust_decimal_macros::dec;

    fn finding(kind: CaseKind) -> Finding {
        Finding {
            kind,
            domain: DomainName::parse("a.com").unwrap(),
            billing_domain_id: Some(7),
            client_id: None,
            registrar_account: Some("cnr".into()),
            summary: "a.com has WHOIS privacy".into(),
            evidence: Vec::new(),
            at_stake: None,
            facts: Default::default(),
        }
    }

    #[test]
    fn a_read_price_is_at_stake_per_year_and_an_unread_one_is_unknown_never_zero() {
        let prices = IdProtectionPrices::Read(
            [
                (Currency::EUR, dec!(4.00)),
                (Currency::GBP, dec!(0)),
                (Currency::USD, dec!(-1)),
            ]
            .into_iter()
            .collect(),
        );
        let mut f = finding(CaseKind::IdProtectionNotBilled);
        price_id_protection(&mut f, &prices.price(Currency::EUR));
        assert_eq!(f.at_stake, Some(Money::new(dec!(4.00), Currency::EUR)));
        assert!(f.summary.ends_with("(4.00 EUR per year)"), "{}", f.summary);

        let mut free = finding(CaseKind::IdProtectionNotBilled);
        price_id_protection(&mut free, &prices.price(Currency::GBP));
        assert_eq!(free.at_stake, None);
        assert!(!id_protection_price_unknown(&free));

        for price in [
            prices.price(Currency::USD),
            prices.price("CHF".parse().unwrap()),
            IdProtectionPrices::Unknown("no WHMCS database access".into()).price(Currency::EUR),
        ] {
            let mut f = finding(CaseKind::IdProtectionNotBilled);
            price_id_protection(&mut f, &price);
            assert_eq!(f.at_stake, None, "{price:?}");
            assert!(f.summary.ends_with("(price unknown)"));
            assert!(id_protection_price_unknown(&f));
        }

        let mut other = finding(CaseKind::IdProtectionBilledNotActive);
        price_id_protection(&mut other, &prices.price(Currency::EUR));
        assert!(other.evidence.is_empty() && other.at_stake.is_none());
    }
}
