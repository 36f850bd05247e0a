//! Joining the billing snapshot with the registrar snapshots by normalised domain name.
//! Pure: no I/O, so the rules (which side is in scope, which billing row wins when WHMCS
//! holds a domain twice) are tested directly.

use domwatch_core::detect::Observation;
use domwatch_core::model::{BillingDomain, BillingStatus, RegistrarDomain};
use domwatch_core::DomainName;
use std::collections::{HashMap, HashSet};

/// One registrar account's snapshot: its domains, or `None` when it could not be fetched.
pub struct AccountSnapshot {
    pub name: String,
    /// Lower-case WHMCS registrar module names served by this account.
    pub modules: Vec<String>,
    pub domains: Option<Vec<RegistrarDomain>>,
}

/// The joined observations plus what the cycle needs to know about them.
#[derive(Default)]
pub struct Joined {
    pub observations: Vec<Observation>,
    /// Domains fully observed this cycle (both sides fetched); cases of other domains are
    /// neither opened nor resolved.
    pub scope: HashSet<DomainName>,
    /// Billed domains that should be at the registrar but are not (strike candidates).
    pub absent: Vec<DomainName>,
    /// Billing rows whose registrar module no configured account serves.
    pub unmonitored: usize,
    /// Billing rows shadowed by a more relevant row for the same domain.
    pub duplicates: usize,
}

/// How relevant a billing row is when WHMCS holds the same domain more than once (an old
/// cancelled order next to the live one): live statuses first, then the newest id.
fn relevance(b: &BillingDomain) -> (u8, u64) {
    let rank = match b.status {
        BillingStatus::Active | BillingStatus::Grace | BillingStatus::Redemption => 3,
        BillingStatus::PendingTransfer
        | BillingStatus::PendingRegistration
        | BillingStatus::Pending => 2,
        BillingStatus::Expired => 1,
        _ => 0,
    };
    (rank, b.id)
}

/// Consumes the snapshots: each registrar domain is moved, never copied (a million-domain
/// portfolio must fit in memory once, not twice).
pub fn join(billing: Vec<BillingDomain>, mut accounts: Vec<AccountSnapshot>) -> Joined {
    let mut joined = Joined::default();

    // Index registrar domains by name, remembering their account.
    let fetched: Vec<bool> = accounts.iter().map(|a| a.domains.is_some()).collect();
    let mut at_registrar: HashMap<DomainName, (usize, RegistrarDomain)> = HashMap::with_capacity(
        accounts
            .iter()
            .map(|a| a.domains.as_ref().map_or(0, Vec::len))
            .sum(),
    );
    for (i, account) in accounts.iter_mut().enumerate() {
        for d in account.domains.take().into_iter().flatten() {
            at_registrar.insert(d.name.clone(), (i, d));
        }
    }
    let account_of_module = |module: &str| {
        let module = module.to_ascii_lowercase();
        accounts.iter().position(|a| a.modules.contains(&module))
    };

    // One billing row per domain: the most relevant.
    let mut best: HashMap<DomainName, BillingDomain> = HashMap::with_capacity(billing.len());
    for b in billing {
        match best.get(&b.name) {
            Some(current) if relevance(current) >= relevance(&b) => joined.duplicates += 1,
            Some(_) => {
                joined.duplicates += 1;
                best.insert(b.name.clone(), b);
            }
            None => {
                best.insert(b.name.clone(), b);
            }
        }
    }

    let mut billed_names = HashSet::with_capacity(best.len());
    let mut billed: Vec<BillingDomain> = best.into_values().collect();
    billed.sort_by_key(|b| b.id);
    for b in billed {
        let Some(account_idx) = account_of_module(&b.registrar_module) else {
            joined.unmonitored += 1;
            continue;
        };
        billed_names.insert(b.name.clone());
        let registrar = at_registrar.remove(&b.name);
        let idx = registrar.as_ref().map(|(i, _)| *i).unwrap_or(account_idx);
        let account = &accounts[idx];
        if registrar.is_none() && !fetched[idx] {
            continue; // the account could not be fetched: nothing is known this cycle
        }
        if registrar.is_none() && b.status.expects_registration() {
            joined.absent.push(b.name.clone());
        }
        joined.scope.insert(b.name.clone());
        joined.observations.push(Observation {
            name: b.name.clone(),
            registrar_account: Some(account.name.clone()),
            billing: Some(b),
            registrar: registrar.map(|(_, d)| d),
            renewal_invoice: None,
            transfer: None,
            missing_strikes: 0,
            lifecycle_watch: false,
        });
    }

    // What is left at the registrar is billed nowhere: orphans.
    let mut orphans: Vec<(usize, RegistrarDomain)> = at_registrar.into_values().collect();
    orphans.sort_by(|a, b| a.1.name.cmp(&b.1.name));
    for (i, d) in orphans {
        if billed_names.contains(&d.name) {
            continue;
        }
        joined.scope.insert(d.name.clone());
        joined.observations.push(Observation {
            name: d.name.clone(),
            billing: None,
            registrar_account: Some(accounts[i].name.clone()),
            registrar: Some(d),
            renewal_invoice: None,
            transfer: None,
            missing_strikes: 0,
            lifecycle_watch: false,
        });
    }
    joined
}

#[cfg(test)]
mod tests {
    use super::*;
    use domwatch_core::{Currency, Money};
    use rust_decimal_macros::dec;

    fn b(id: u64, name: &str, module: &str, status: BillingStatus) -> BillingDomain {
        BillingDomain {
            id,
            client_id: 1,
            name: DomainName::parse(name).unwrap(),
            registrar_module: module.into(),
            status,
            recurring_amount: Money::new(dec!(10), Currency::EUR),
            registration_period_years: 1,
            expiry: None,
            next_due: None,
            do_not_renew: false,
            is_premium: None,
            premium_cost: None,
        }
    }

    fn r(name: &str) -> RegistrarDomain {
        RegistrarDomain::new(DomainName::parse(name).unwrap())
    }

    fn account(
        name: &str,
        modules: &[&str],
        domains: Option<Vec<RegistrarDomain>>,
    ) -> AccountSnapshot {
        AccountSnapshot {
            name: name.into(),
            modules: modules.iter().map(|m| m.to_string()).collect(),
            domains,
        }
    }

    #[test]
    fn joins_by_normalised_name_including_idns() {
        let billing = vec![b(1, "Müller.DE", "cnic", BillingStatus::Active)];
        let accounts = [account("cnr", &["cnic"], Some(vec![r("xn--mller-kva.de")]))];
        let j = join(billing, accounts.into());
        assert_eq!(j.observations.len(), 1);
        assert!(j.observations[0].registrar.is_some());
        assert!(j.absent.is_empty());
    }

    #[test]
    fn orphans_absent_and_unmonitored() {
        let billing = vec![
            b(1, "here.com", "cnic", BillingStatus::Active),
            b(2, "gone.com", "cnic", BillingStatus::Active),
            b(3, "other.com", "enom", BillingStatus::Active),
            b(4, "cancelled.com", "cnic", BillingStatus::Cancelled),
        ];
        let accounts = [account(
            "cnr",
            &["cnic"],
            Some(vec![r("here.com"), r("orphan.com")]),
        )];
        let j = join(billing, accounts.into());
        assert_eq!(j.unmonitored, 1);
        assert_eq!(j.absent, vec![DomainName::parse("gone.com").unwrap()]);
        let orphan = j.observations.iter().find(|o| o.billing.is_none()).unwrap();
        assert_eq!(orphan.name.ascii(), "orphan.com");
        assert_eq!(j.scope.len(), 4);
    }

    #[test]
    fn failed_account_takes_its_domains_out_of_scope() {
        let billing = vec![
            b(1, "a.com", "cnic", BillingStatus::Active),
            b(2, "b.com", "ispapi", BillingStatus::Active),
        ];
        let accounts = [
            account("cnr", &["cnic"], None),
            account("hx", &["ispapi"], Some(vec![r("b.com")])),
        ];
        let j = join(billing, accounts.into());
        assert_eq!(j.observations.len(), 1);
        assert!(j.absent.is_empty(), "an outage is not an absence");
        assert!(!j.scope.contains(&DomainName::parse("a.com").unwrap()));
    }

    #[test]
    fn most_relevant_billing_row_wins() {
        let billing = vec![
            b(10, "dup.com", "cnic", BillingStatus::Active),
            b(12, "dup.com", "cnic", BillingStatus::Cancelled),
        ];
        let accounts = [account("cnr", &["cnic"], Some(vec![r("dup.com")]))];
        let j = join(billing, accounts.into());
        assert_eq!(j.duplicates, 1);
        assert_eq!(j.observations.len(), 1);
        assert_eq!(j.observations[0].billing.as_ref().unwrap().id, 10);
    }

    #[test]
    fn domain_found_in_another_account_is_not_absent() {
        let billing = vec![b(1, "moved.com", "ispapi", BillingStatus::Active)];
        let accounts = [
            account("cnr", &["cnic"], Some(vec![r("moved.com")])),
            account("hx", &["ispapi"], Some(vec![])),
        ];
        let j = join(billing, accounts.into());
        assert!(j.absent.is_empty());
        assert_eq!(j.observations[0].registrar_account.as_deref(), Some("cnr"));
    }
}
