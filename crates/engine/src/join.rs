//! Joining the billing snapshot with the registrar snapshots by normalised domain name.
//! Pure: no I/O, so the rules (which side is in scope, which billing row wins when WHMCS
//! holds a domain twice) are tested directly.

use crate::join_sort::sort_by_name_descending;
use domwatch_core::detect::Observation;
use domwatch_core::model::{BillingDomain, BillingStatus, RegistrarDomain};
use domwatch_core::{DomainName, Scope};

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
    pub scope: Scope,
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

/// Elements taken from the end of a source list between two shrinks of its buffer.
const SHRINK_EVERY: usize = 1 << 16;

/// Consumes the snapshots: each domain is moved, never copied, and the source lists give
/// their memory back while the observations grow (a million-domain portfolio must fit in
/// memory once, not twice).
///
/// Both sides are sorted by name, largest first, and merged by popping from the ends of
/// the lists so their buffers can shrink as they empty. The observations (and the absent
/// names) come out in name order, billed and orphans alike: a later stage that wants
/// another order sorts what it shows, and the million rows are moved once, not again
/// into WHMCS id order.
pub fn join(billing: Vec<BillingDomain>, accounts: Vec<AccountSnapshot>) -> Joined {
    let mut merge = Merge::new(billing, accounts);
    while let Some(name) = merge.next_name() {
        let billed = merge.take_billing(&name);
        let held = merge.take_registrar(&name);
        merge.pair(name, billed, held);
    }
    merge.finish()
}

/// The state of the merge join: both sides sorted by name, largest first, consumed from
/// the end.
struct Merge {
    joined: Joined,
    billing: Vec<BillingDomain>,
    registrar: Vec<Vec<RegistrarDomain>>,
    /// Whether each account's list was read this cycle.
    fetched: Vec<bool>,
    /// One shared copy of each account name for all its observations.
    account_names: Vec<std::sync::Arc<str>>,
    account_modules: Vec<Vec<String>>,
    billing_taken: usize,
    registrar_taken: Vec<usize>,
}

impl Merge {
    fn new(mut billing: Vec<BillingDomain>, mut accounts: Vec<AccountSnapshot>) -> Self {
        let fetched = accounts.iter().map(|a| a.domains.is_some()).collect();
        let mut registrar: Vec<Vec<RegistrarDomain>> = accounts
            .iter_mut()
            .map(|a| a.domains.take().unwrap_or_default())
            .collect();
        // The smallest name comes off the end first; per name, the most relevant row.
        sort_by_name_descending(
            &mut billing,
            |b| &b.name,
            |a, b| relevance(a).cmp(&relevance(b)),
        );
        for list in &mut registrar {
            sort_by_name_descending(list, |d| &d.name, |_, _| std::cmp::Ordering::Equal);
        }
        let held = registrar.iter().map(Vec::len).sum::<usize>();
        let mut joined = Joined::default();
        // Pages never written are not resident: the observations may reserve for the
        // worst case (no name on both sides).
        joined.observations.reserve_exact(billing.len() + held);
        // Names arrive in order: the scope is a sorted list, sized for the larger side.
        joined.scope = Scope::with_capacity(billing.len().max(held));
        Self {
            joined,
            billing,
            registrar_taken: vec![0; registrar.len()],
            registrar,
            fetched,
            account_names: accounts.iter().map(|a| a.name.as_str().into()).collect(),
            account_modules: accounts.into_iter().map(|a| a.modules).collect(),
            billing_taken: 0,
        }
    }

    /// The smallest name still on either side.
    fn next_name(&self) -> Option<DomainName> {
        let mut top = self.billing.last().map(|b| &b.name);
        for d in self.registrar.iter().filter_map(|list| list.last()) {
            if top.is_none_or(|t| d.name < *t) {
                top = Some(&d.name);
            }
        }
        top.cloned()
    }

    /// The billing row for this name, if any; further rows for it are duplicates.
    fn take_billing(&mut self, name: &DomainName) -> Option<BillingDomain> {
        let mut billed = None;
        while self.billing.last().is_some_and(|b| b.name == *name) {
            let row = self.billing.pop().expect("checked above");
            if billed.is_none() {
                billed = Some(row);
            } else {
                self.joined.duplicates += 1;
            }
            self.billing_taken += 1;
            if self.billing_taken.is_multiple_of(SHRINK_EVERY) {
                self.billing.shrink_to_fit();
            }
        }
        billed
    }

    /// The registrar side: when several accounts list the name, the last account wins (as
    /// inserting them into one map in account order would).
    fn take_registrar(&mut self, name: &DomainName) -> Option<(usize, RegistrarDomain)> {
        let mut held = None;
        for (i, list) in self.registrar.iter_mut().enumerate() {
            while list.last().is_some_and(|d| d.name == *name) {
                held = Some((i, list.pop().expect("checked above")));
                self.registrar_taken[i] += 1;
                if self.registrar_taken[i].is_multiple_of(SHRINK_EVERY) {
                    list.shrink_to_fit();
                }
            }
        }
        held
    }

    /// Module names compare case-insensitively, without a lower-cased copy per billed row.
    fn account_of_module(&self, module: &str) -> Option<usize> {
        self.account_modules
            .iter()
            .position(|served| served.iter().any(|m| m.eq_ignore_ascii_case(module)))
    }

    /// Pairs one name's two sides into an observation, or records why it cannot be.
    fn pair(
        &mut self,
        name: DomainName,
        billed: Option<BillingDomain>,
        held: Option<(usize, RegistrarDomain)>,
    ) {
        let orphan = match billed {
            None => held,
            Some(b) => match self.account_of_module(&b.registrar_module) {
                None => {
                    self.joined.unmonitored += 1;
                    held
                }
                Some(account_idx) => {
                    self.billed_and_served(name, b, held, account_idx);
                    None
                }
            },
        };
        // At the registrar but billed nowhere (or only under a module nobody serves).
        if let Some((i, d)) = orphan {
            self.joined.scope.insert(d.name.clone());
            self.joined.observations.push(observation(
                d.name.clone(),
                self.account_names[i].clone(),
                None,
                Some(d),
            ));
        }
    }

    fn billed_and_served(
        &mut self,
        name: DomainName,
        mut b: BillingDomain,
        held: Option<(usize, RegistrarDomain)>,
        account_idx: usize,
    ) {
        // Both sides parsed the same name: keep one copy of it.
        b.name = name.clone();
        let idx = held.as_ref().map(|(i, _)| *i).unwrap_or(account_idx);
        if held.is_none() && !self.fetched[idx] {
            return; // the account could not be fetched: nothing is known this cycle
        }
        if held.is_none() && b.status.expects_registration() {
            self.joined.absent.push(b.name.clone());
        }
        self.joined.scope.insert(name.clone());
        let registrar = held.map(|(_, mut d)| {
            d.name = name.clone();
            d
        });
        let account = self.account_names[idx].clone();
        self.joined
            .observations
            .push(observation(name, account, Some(b), registrar));
    }

    fn finish(self) -> Joined {
        // The observations stay reserved for the worst case: pages never written are not
        // resident, and shrinking would copy every observation once more.
        self.joined
    }
}

fn observation(
    name: DomainName,
    account: std::sync::Arc<str>,
    billing: Option<BillingDomain>,
    registrar: Option<RegistrarDomain>,
) -> Observation {
    Observation {
        name,
        registrar_account: Some(account),
        billing,
        registrar,
        renewal_invoice: None,
        transfer: None,
        missing_strikes: 0,
        lifecycle_watch: false,
    }
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
            id_protection: None,
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
        // WHMCS module names are matched whatever their case.
        let billing = vec![b(1, "Müller.DE", "CNIC", BillingStatus::Active)];
        let accounts = [account("cnr", &["cnic"], Some(vec![r("xn--mller-kva.de")]))];
        let j = join(billing, accounts.into());
        assert_eq!(j.observations.len(), 1);
        assert_eq!(j.unmonitored, 0);
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
    fn in_name_order_last_account_wins() {
        let billing = vec![
            b(30, "a.com", "cnic", BillingStatus::Active),
            b(10, "z.com", "cnic", BillingStatus::Active),
            b(20, "m.com", "cnic", BillingStatus::Active),
            b(40, "unserved.com", "enom", BillingStatus::Active),
        ];
        let mut in_hx = r("twice.net");
        in_hx.paid_until = chrono::NaiveDate::from_ymd_opt(2030, 1, 1);
        let accounts = [
            account(
                "cnr",
                &["cnic"],
                Some(vec![
                    r("z.com"),
                    r("y-orphan.com"),
                    r("twice.net"),
                    r("a.com"),
                ]),
            ),
            account("hx", &["ispapi"], Some(vec![in_hx, r("unserved.com")])),
        ];
        let j = join(billing, accounts.into());
        let names: Vec<&str> = j.observations.iter().map(|o| o.name.ascii()).collect();
        assert_eq!(
            names,
            [
                "a.com",
                "m.com",
                "twice.net",
                "unserved.com",
                "y-orphan.com",
                "z.com"
            ]
        );
        assert_eq!(j.absent, vec![DomainName::parse("m.com").unwrap()]);
        assert_eq!(j.unmonitored, 1);
        // Listed by two accounts: the later one is the one observed.
        let twice = &j.observations[2];
        assert_eq!(twice.registrar_account.as_deref(), Some("hx"));
        assert!(twice.registrar.as_ref().unwrap().paid_until.is_some());
        assert_eq!(j.scope.len(), 6);
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
