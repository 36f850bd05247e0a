//! Add-on checks for a domain on both sides: ID protection (WHOIS privacy) billed as it
//! is set at the registrar, and the transfer lock on where the zone has one. An unknown
//! value on either side (`None`: the list did not say) never opens a case.

use super::{CaseKind, DetectionPolicy, Finding};
use crate::model::{BillingDomain, BillingStatus, RegistrarDomain};
use crate::observation::{Evidence, Observation};
use std::collections::BTreeSet;

/// Zones whose registry has no client transfer lock (`clientTransferProhibited`): the
/// lock check stands back for them. Many ccTLDs transfer by auth code or registry
/// procedure only.
pub const ZONES_WITHOUT_TRANSFER_LOCK: &[&str] = &[
    "at", "be", "ch", "co.uk", "de", "dk", "eu", "fi", "fr", "it", "li", "nl", "no", "org.uk",
    "pl", "se", "uk",
];

/// The default of [`DetectionPolicy::zones_without_transfer_lock`].
pub fn default_zones_without_transfer_lock() -> BTreeSet<String> {
    ZONES_WITHOUT_TRANSFER_LOCK
        .iter()
        .map(|z| z.to_string())
        .collect()
}

fn on_off(flag: bool) -> String {
    if flag { "on" } else { "off" }.to_string()
}

/// The add-on findings of a domain billed and registered.
pub(super) fn detect_addons(
    obs: &Observation,
    bill: &BillingDomain,
    reg: &RegistrarDomain,
    policy: &DetectionPolicy,
    base: &dyn Fn(CaseKind, String) -> Finding,
    out: &mut Vec<Finding>,
) {
    if bill.status != BillingStatus::Active {
        return;
    }
    out.extend(id_protection(obs, bill, reg, base));
    out.extend(transfer_lock(obs, reg, policy, base));
}

/// Privacy on but not billed, or billed but off; nothing when either side is unknown.
fn id_protection(
    obs: &Observation,
    bill: &BillingDomain,
    reg: &RegistrarDomain,
    base: &dyn Fn(CaseKind, String) -> Finding,
) -> Option<Finding> {
    let (billed, active) = (bill.id_protection?, reg.whois_privacy?);
    let name = obs.name.display();
    let mut f = match (billed, active) {
        (false, true) => base(
            CaseKind::IdProtectionNotBilled,
            format!("{name} has WHOIS privacy at the registrar but ID protection is not billed"),
        ),
        (true, false) => base(
            CaseKind::IdProtectionBilledNotActive,
            format!("{name} is billed for ID protection but WHOIS privacy is off at the registrar"),
        ),
        _ => return None,
    };
    f.evidence.push(Evidence::new(
        "ID protection",
        Some(on_off(billed)),
        Some(on_off(active)),
    ));
    Some(f)
}

/// The lock is off where the zone supports one and the account checks it.
fn transfer_lock(
    obs: &Observation,
    reg: &RegistrarDomain,
    policy: &DetectionPolicy,
    base: &dyn Fn(CaseKind, String) -> Finding,
) -> Option<Finding> {
    if reg.transfer_lock? {
        return None;
    }
    let account = obs.registrar_account.as_deref()?;
    let zones = &policy.zones_without_transfer_lock;
    if policy.transfer_lock_unchecked_accounts.contains(account)
        || zones.contains(obs.name.zone())
        || zones.contains(obs.name.tld())
    {
        return None;
    }
    let mut f = base(
        CaseKind::TransferLockOff,
        format!(
            "{} has no transfer lock at the registrar: anyone with the auth code can transfer it away",
            obs.name.display()
        ),
    );
    f.evidence
        .push(Evidence::new("Transfer lock", None, Some(on_off(false))));
    Some(f)
}

#[cfg(test)]
mod tests {
    use super::super::detect;
    use super::*;
    use crate::money::{Currency, Money, RateTable};
    use crate::name::DomainName;
    use crate::plan::{plan, Action};
    use chrono::NaiveDate;
    use rust_decimal_macros::dec;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 22).unwrap()
    }

    /// A domain in agreement on every other point, with the given add-on values.
    fn obs(
        name: &str,
        billed: Option<bool>,
        privacy: Option<bool>,
        lock: Option<bool>,
    ) -> Observation {
        let name = DomainName::parse(name).unwrap();
        let expiry = NaiveDate::from_ymd_opt(2027, 5, 1);
        let mut reg = RegistrarDomain::new(name.clone());
        (reg.paid_until, reg.registry_expiry) = (expiry, expiry);
        (reg.whois_privacy, reg.transfer_lock) = (privacy, lock);
        let bill = BillingDomain {
            id: 7,
            client_id: 3,
            name: name.clone(),
            registrar_module: "cnic".into(),
            status: BillingStatus::Active,
            recurring_amount: Money::new(dec!(12), Currency::EUR),
            registration_period_years: 1,
            expiry,
            next_due: expiry,
            do_not_renew: false,
            is_premium: Some(false),
            premium_cost: None,
            id_protection: billed,
        };
        Observation {
            name,
            billing: Some(bill),
            registrar: Some(reg),
            registrar_account: Some("cnr-live".into()),
            renewal_invoice: None,
            transfer: None,
            missing_strikes: 0,
            lifecycle_watch: false,
        }
    }

    fn findings(o: &Observation, policy: &DetectionPolicy) -> Vec<Finding> {
        detect(o, policy, &RateTable::new(), today())
    }

    fn kinds(o: &Observation) -> Vec<CaseKind> {
        findings(o, &DetectionPolicy::default())
            .into_iter()
            .map(|f| f.kind)
            .collect()
    }

    #[test]
    fn privacy_on_one_side_only_opens_a_case_each_way() {
        let o = obs("a.com", Some(false), Some(true), Some(true));
        assert_eq!(kinds(&o), [CaseKind::IdProtectionNotBilled]);
        let o = obs("a.com", Some(true), Some(false), Some(true));
        assert_eq!(kinds(&o), [CaseKind::IdProtectionBilledNotActive]);
        for (billed, active) in [(true, true), (false, false)] {
            assert!(kinds(&obs("a.com", Some(billed), Some(active), Some(true))).is_empty());
        }
    }

    #[test]
    fn unknown_never_opens_a_case() {
        for (billed, privacy) in [(None, Some(true)), (Some(true), None), (None, None)] {
            assert!(kinds(&obs("a.com", billed, privacy, None)).is_empty());
        }
    }

    #[test]
    fn lock_off_opens_only_where_the_zone_has_a_lock_and_the_account_checks_it() {
        assert_eq!(
            kinds(&obs("a.com", None, None, Some(false))),
            [CaseKind::TransferLockOff]
        );
        for zone_without_lock in ["a.de", "a.co.uk", "a.eu"] {
            assert!(kinds(&obs(zone_without_lock, None, None, Some(false))).is_empty());
        }
        let mut policy = DetectionPolicy::default();
        policy
            .transfer_lock_unchecked_accounts
            .insert("cnr-live".into());
        assert!(findings(&obs("a.com", None, None, Some(false)), &policy).is_empty());
    }

    #[test]
    fn not_billed_plans_billing_first_then_the_registrar() {
        let f = &findings(
            &obs("a.com", Some(false), Some(true), Some(true)),
            &DetectionPolicy::default(),
        )[0];
        let options = plan(f);
        assert_eq!(options[0].name, "bill");
        assert_eq!(
            options[0].actions,
            [Action::SetIdProtection {
                domain_id: 7,
                on: true
            }]
        );
        assert_eq!(
            options[1].actions[0].idempotency_key(),
            "registrar:cnr-live:privacy:a.com:0"
        );
        let f = &findings(
            &obs("a.com", Some(true), Some(false), Some(true)),
            &DetectionPolicy::default(),
        )[0];
        assert_eq!(
            plan(f)[0].actions[0].idempotency_key(),
            "registrar:cnr-live:privacy:a.com:1"
        );
        let f = &findings(
            &obs("a.com", None, None, Some(false)),
            &DetectionPolicy::default(),
        )[0];
        assert_eq!(
            plan(f)[0].actions[0].idempotency_key(),
            "registrar:cnr-live:lock:a.com:1"
        );
        assert!(crate::plan::guide(f)
            .steps
            .iter()
            .any(|s| s.contains("Fix now")));
    }
}
