//! The registrars' full price list (served by the CNR/ISPAPI sandbox as `QueryZoneList`
//! and `StatusUser` price classes, by the Smart-NIC sandbox as `priceDomainList`) and the
//! TLD catalogue the sandbox WHMCS sells.
//!
//! The list holds the portfolio's zones ([`ZONES`]) and [`GENERATED_ZONES`] more, made
//! deterministically: real second levels (`com.au`, `org.uk`), IDN zones in A-label form
//! and invented labels, so a registrar answer has the size of a real one (1,500+ zones).
//! The catalogue is mostly sound (sold with [`BILLING_MARGIN`]); [`CATALOGUE_FLAWS`] name
//! the few TLDs sold wrongly on purpose, so the embedded default shows TLD pricing cases.

use crate::portfolio::{BILLING_MARGIN, ZONES};
use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use std::collections::{HashMap, HashSet};
use std::sync::LazyLock;

/// Zones added to the portfolio's for the full price list.
pub const GENERATED_ZONES: usize = 1_500;
/// Restore (redemption) cost of the portfolio zones, per restore.
pub const RESTORE_COST: Decimal = dec!(89.00);

/// One zone of the registrar price list, in the registrar currency (EUR).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedZone {
    pub zone: String,
    pub register: Decimal,
    pub renew: Decimal,
    pub transfer: Decimal,
    pub restore: Decimal,
}

/// Real second levels and IDN zones (A-labels) that lead the generated part.
const CURATED: [&str; 24] = [
    "com.au",
    "net.au",
    "org.uk",
    "me.uk",
    "co.nz",
    "com.br",
    "co.za",
    "com.mx",
    "co.in",
    "xn--p1ai",
    "xn--80asehdb",
    "xn--6frz82g",
    "xn--3ds443g",
    "xn--ngbc5azd",
    "club",
    "site",
    "xyz",
    "info",
    "biz",
    "store",
    "tech",
    "blog",
    "dev",
    "me",
];
const SYLLABLES: [&str; 16] = [
    "ba", "ko", "ri", "mu", "te", "lo", "za", "vi", "ne", "do", "pa", "su", "fi", "ga", "hu", "je",
];

/// The TLD WHMCS sells that no sandbox registrar offers.
pub const NOT_AT_REGISTRAR: &str = "museum";

static LIST: LazyLock<Vec<ListedZone>> = LazyLock::new(build);
static INDEX: LazyLock<HashMap<&'static str, usize>> = LazyLock::new(|| {
    LIST.iter()
        .enumerate()
        .map(|(i, z)| (z.zone.as_str(), i))
        .collect()
});

/// Every zone the sandbox registrars price, portfolio zones first.
pub fn price_list() -> &'static [ListedZone] {
    &LIST
}

/// One zone of [`price_list`] (lower-case A-label, no dot).
pub fn listed_zone(zone: &str) -> Option<&'static ListedZone> {
    INDEX.get(zone).map(|&i| &LIST[i])
}

fn build() -> Vec<ListedZone> {
    let mut list: Vec<ListedZone> = ZONES
        .iter()
        .map(|&(zone, register, renew, transfer)| ListedZone {
            zone: zone.to_string(),
            register,
            renew,
            transfer,
            restore: RESTORE_COST,
        })
        .collect();
    let mut seen: HashSet<String> = list.iter().map(|z| z.zone.clone()).collect();
    let names = CURATED
        .iter()
        .map(|s| s.to_string())
        .chain((0..).map(invented));
    for name in names {
        if list.len() == ZONES.len() + GENERATED_ZONES {
            break;
        }
        if name == NOT_AT_REGISTRAR || !seen.insert(name.clone()) {
            continue;
        }
        list.push(generated(list.len(), name));
    }
    list
}

/// `i` in base 16 over [`SYLLABLES`], two syllables at least: `baba`, `koba`, ...
fn invented(i: usize) -> String {
    let mut n = i + SYLLABLES.len();
    let mut label = String::new();
    while n > 0 {
        label.push_str(SYLLABLES[n % SYLLABLES.len()]);
        n /= SYLLABLES.len();
    }
    label
}

/// Prices between 5.00 and 49.99, spread by a fixed stride; one zone in seven has free
/// transfers (like `.de` and `.uk`).
fn generated(index: usize, zone: String) -> ListedZone {
    let cents = 500 + (index * 7_919) % 4_500;
    let price = Decimal::new(cents as i64, 2);
    ListedZone {
        zone,
        register: price,
        renew: price,
        transfer: if index.is_multiple_of(7) {
            Decimal::ZERO
        } else {
            price
        },
        restore: Decimal::from(60 + (index % 5) as i64 * 10),
    }
}

/// A TLD of the WHMCS catalogue with its sell prices per year, in EUR (not yet rounded).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogueTld {
    pub tld: String,
    pub register: Decimal,
    pub renew: Decimal,
    pub transfer: Decimal,
    /// WHMCS's redemption (restore) fee; `None`: WHMCS does not sell restores.
    pub restore: Option<Decimal>,
}

/// What is wrong on purpose in the catalogue.
pub const CATALOGUE_FLAWS: [(&str, &str); 3] = [
    (
        "site",
        "renewal sold 5% over cost: below the default 10% minimum margin",
    ),
    (
        NOT_AT_REGISTRAR,
        "sold in WHMCS, offered by no sandbox registrar",
    ),
    ("de", "restore sold below the registrar's restore cost"),
];

/// The TLDs the sandbox WHMCS sells: the portfolio zones plus `site` and `museum`.
pub fn catalogue() -> Vec<CatalogueTld> {
    // Unrounded: WHMCS's table rounds once, after the currency rate.
    let sell = |cost: Decimal| cost * BILLING_MARGIN;
    let mut tlds: Vec<CatalogueTld> = ZONES
        .iter()
        .map(|&(zone, register, renew, transfer)| CatalogueTld {
            tld: zone.to_string(),
            register: sell(register),
            renew: sell(renew),
            transfer: sell(transfer),
            restore: Some(sell(RESTORE_COST)),
        })
        .collect();
    if let Some(de) = tlds.iter_mut().find(|t| t.tld == "de") {
        de.restore = Some(dec!(50.00));
    }
    let site = listed_zone("site").expect("site is in the price list");
    tlds.push(CatalogueTld {
        tld: "site".into(),
        register: sell(site.register),
        renew: site.renew * dec!(1.05),
        transfer: sell(site.transfer),
        restore: None,
    });
    tlds.push(CatalogueTld {
        tld: NOT_AT_REGISTRAR.into(),
        register: dec!(29.00),
        renew: dec!(29.00),
        transfer: dec!(29.00),
        restore: None,
    });
    tlds
}

/// The registrar module WHMCS auto-registers a catalogue TLD with
/// (`tbldomainpricing.autoreg`): `.de` at Smart-NIC, [`NOT_AT_REGISTRAR`] by hand (no
/// module), every other TLD at CNR.
pub fn autoreg_module(tld: &str) -> &'static str {
    match tld {
        "de" => "smartnic",
        NOT_AT_REGISTRAR => "",
        _ => "cnic",
    }
}

/// Every zone of the price list sold soundly (benchmarks: 1,510 TLDs x 3 currencies x
/// 4 operations), restores included.
pub fn full_catalogue() -> Vec<CatalogueTld> {
    price_list()
        .iter()
        .map(|z| CatalogueTld {
            tld: z.zone.clone(),
            register: z.register.max(z.renew) * BILLING_MARGIN,
            renew: z.renew * BILLING_MARGIN,
            transfer: z.transfer * BILLING_MARGIN,
            restore: Some(z.restore * BILLING_MARGIN),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_list_is_large_deterministic_and_has_second_levels_and_idns() {
        let list = price_list();
        assert_eq!(list.len(), ZONES.len() + GENERATED_ZONES);
        assert_eq!(build(), list.to_vec());
        let names: HashSet<&str> = list.iter().map(|z| z.zone.as_str()).collect();
        assert_eq!(names.len(), list.len(), "zone names are unique");
        assert!(names.contains("co.uk") && names.contains("org.uk"));
        assert!(names.contains("xn--p1ai"));
        assert!(!names.contains(NOT_AT_REGISTRAR));
        assert!(list.iter().all(|z| z.renew > Decimal::ZERO));
        assert_eq!(listed_zone("com").unwrap().renew, dec!(9.50));
    }

    #[test]
    fn the_catalogue_sells_the_flawed_tlds() {
        let tlds: Vec<String> = catalogue().into_iter().map(|t| t.tld).collect();
        for (tld, _) in CATALOGUE_FLAWS {
            assert!(tlds.iter().any(|t| t == tld), "{tld} missing");
        }
    }
}
