//! Which registrar account a TLD's sell prices are compared with. With the WHMCS database
//! it is the account whose `modules` hold the TLD's `tbldomainpricing.autoreg` (the module
//! WHMCS registers it with); a TLD without such a module (registered by hand), and every
//! TLD without database access, goes to the default account, and the report says so. A
//! module no account has gets no verdict and a report line naming the fix, never the
//! default account's prices by accident.

use crate::prices::TldPriceStats;
use crate::{CycleReport, Engine};
use domwatch_core::pricing::{SellPrices, Tld};
use domwatch_core::text::Untrusted;
use std::collections::{BTreeMap, HashMap};

/// The outcome of the mapping: TLDs that got no account, with the reason.
pub(crate) type Unmapped = HashMap<Tld, String>;

/// The pure part: `autoreg` by extension (`None`: not read), the accounts' modules.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Assignment {
    pub accounts: HashMap<Tld, String>,
    pub unmapped: Unmapped,
    /// TLDs WHMCS registers with no module, compared with the default account.
    pub manual: usize,
}

pub(crate) fn assign<'a>(
    tlds: impl IntoIterator<Item = &'a Tld>,
    autoreg: &BTreeMap<String, String>,
    accounts: &[(&str, &[String])],
    default: Option<&str>,
) -> Assignment {
    let by_extension: HashMap<Tld, &str> = autoreg
        .iter()
        .filter_map(|(ext, module)| {
            let tld = Tld::parse(ext.trim().trim_start_matches('.')).ok()?;
            Some((tld, module.as_str()))
        })
        .collect();
    let account_of = |module: &str| -> Option<&str> {
        let has = |modules: &[String]| modules.iter().any(|m| m.eq_ignore_ascii_case(module));
        // The default account first, so two accounts of one module pick it.
        accounts
            .iter()
            .filter(|(name, _)| Some(*name) == default)
            .chain(accounts.iter())
            .find(|(_, modules)| has(modules))
            .map(|(name, _)| *name)
    };
    let mut out = Assignment::default();
    for tld in tlds {
        let module = by_extension.get(tld).copied().unwrap_or("");
        if module.is_empty() {
            if let Some(d) = default {
                out.accounts.insert(tld.clone(), d.to_string());
            }
            out.manual += 1;
            continue;
        }
        match account_of(module) {
            Some(account) => {
                out.accounts.insert(tld.clone(), account.to_string());
            }
            None => {
                out.unmapped.insert(tld.clone(), format!(
                    "WHMCS registers it with registrar module `{}` (tbldomainpricing.autoreg), which no registrar account lists in its `modules`; add the module to the account that holds these domains, or change Auto Registration in WHMCS",
                    Untrusted(module)
                ));
            }
        }
    }
    out
}

impl Engine {
    /// Sets each sold TLD's account in `sell`. `None`: the mapping could not be read
    /// (an incomplete input): no TLD gets a verdict this cycle.
    pub(crate) async fn map_tlds(
        &self,
        sell: &mut SellPrices,
        default: Option<&str>,
        stats: &mut TldPriceStats,
        report: &mut CycleReport,
    ) -> Option<Unmapped> {
        let mut tlds: Vec<Tld> = sell.groups().map(|g| g.0.clone()).collect();
        tlds.sort();
        tlds.dedup();
        let autoreg = match &self.whmcs_db {
            None => {
                stats.mapping.push(format!(
                    "no WHMCS database access (whmcs.database_url): every TLD is compared with the default account `{}`, not with the registrar WHMCS registers it with (tbldomainpricing.autoreg)",
                    default.unwrap_or("-")
                ));
                BTreeMap::new()
            }
            Some(db) => match db.tld_registrar_modules().await {
                Ok(modules) => modules,
                Err(e) => {
                    report.incomplete_inputs.push(format!(
                        "WHMCS TLD registrar modules (tbldomainpricing.autoreg, for TLD prices): {e}"
                    ));
                    return None;
                }
            },
        };
        let accounts: Vec<(&str, &[String])> = self
            .accounts
            .iter()
            .map(|a| (a.name.as_str(), a.modules.as_slice()))
            .collect();
        let assigned = assign(&tlds, &autoreg, &accounts, default);
        for (tld, account) in &assigned.accounts {
            sell.set_registrar(tld, account);
        }
        if self.whmcs_db.is_some() && assigned.manual > 0 {
            stats.mapping.push(format!(
                "{} TLD(s) have no Auto Registration module in WHMCS: compared with the default account `{}`",
                assigned.manual,
                default.unwrap_or("-")
            ));
        }
        Some(assigned.unmapped)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tld(s: &str) -> Tld {
        Tld::parse(s).unwrap()
    }

    #[test]
    fn autoreg_modules_pick_the_account_and_unknown_ones_get_no_verdict() {
        let autoreg: BTreeMap<String, String> = [
            (".de", "smartnic"),
            (".com", "CNIC"),
            (".museum", ""),
            (".xyz", "enom"),
        ]
        .into_iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
        let cnr = ["cnic".to_string()];
        let cnr2 = ["cnic".to_string()];
        let dbs = ["smartnic".to_string()];
        let accounts = [("cnr", &cnr[..]), ("cnr-eu", &cnr2[..]), ("dbs", &dbs[..])];
        let tlds = [tld("de"), tld("com"), tld("museum"), tld("xyz"), tld("net")];
        let a = assign(&tlds, &autoreg, &accounts, Some("cnr-eu"));
        assert_eq!(a.accounts[&tld("de")], "dbs");
        // Two accounts of one module: the default one.
        assert_eq!(a.accounts[&tld("com")], "cnr-eu");
        // No module, or a TLD missing in tbldomainpricing: the default account.
        assert_eq!(a.accounts[&tld("museum")], "cnr-eu");
        assert_eq!(a.accounts[&tld("net")], "cnr-eu");
        assert_eq!(a.manual, 2);
        assert!(
            a.unmapped[&tld("xyz")].contains("`enom`"),
            "{:?}",
            a.unmapped
        );
        assert!(!a.accounts.contains_key(&tld("xyz")));
    }

    #[test]
    fn without_a_default_a_manual_tld_has_no_account() {
        let a = assign(&[tld("de")], &BTreeMap::new(), &[], None);
        assert!(a.accounts.is_empty() && a.unmapped.is_empty());
        assert_eq!(a.manual, 1);
    }
}
