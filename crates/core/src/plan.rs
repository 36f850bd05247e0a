//! Fix plans and guides. A plan is a list of [`Action`]s that fixes one finding; the
//! engine shows it before anything is written ("Fix now" preview), then applies it with
//! each action's [`Action::idempotency_key`] recorded, so a rerun after a crash skips
//! what already happened.

use crate::lifecycle::ContactRole;
use crate::model::{BillingStatus, RenewalMode};
use crate::money::Money;
use crate::name::DomainName;
use crate::ports::CancellationMethod;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

mod guide;
mod options;

pub use guide::guide;
pub use options::plan;

/// Which system an action writes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Target {
    Billing,
    Registrar,
    /// Nothing is written: a person has to do it.
    Manual,
}

/// One write to WHMCS or a registrar (or a manual step).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Action {
    SetRecurringAmount {
        domain_id: u64,
        amount: Money,
    },
    /// Mark premium and record the registrar's premium cost (`tbldomains_extra`).
    SetPremiumData {
        domain_id: u64,
        renewal_cost: Money,
        registration_cost: Money,
    },
    SetBillingExpiry {
        domain_id: u64,
        date: NaiveDate,
    },
    SetNextDueDate {
        domain_id: u64,
        date: NaiveDate,
    },
    SetBillingStatus {
        domain_id: u64,
        status: BillingStatus,
    },
    CancelInvoice {
        invoice_id: u64,
    },
    MarkInvoiceRefunded {
        invoice_id: u64,
    },
    SetRenewalMode {
        account: String,
        domain: DomainName,
        mode: RenewalMode,
    },
    RetryRenewal {
        account: String,
        domain: DomainName,
        accept_fee: Option<Money>,
        premium_class: Option<String>,
    },
    RetryTransfer {
        domain_id: u64,
        domain: DomainName,
        accept_fee: Option<Money>,
        premium_class: Option<String>,
    },
    /// Places a cancellation at the registrar, after re-checking that the renewal is
    /// still unpaid (WHMCS ids given) — a paid domain is never cancelled.
    PlaceCancellation {
        account: String,
        domain: DomainName,
        method: CancellationMethod,
        effective: NaiveDate,
        billing_domain_id: Option<u64>,
        client_id: Option<u64>,
    },
    /// Withdraws a pending cancellation (the renewal was paid).
    WithdrawCancellation {
        account: String,
        domain: DomainName,
        restore_mode: RenewalMode,
        effective: NaiveDate,
    },
    /// Puts the reseller handle on `reseller_roles` and a handle made from the WHMCS
    /// client's details (reused when identical) on `client_roles`.
    SetContacts {
        account: String,
        domain: DomainName,
        reseller_roles: Vec<ContactRole>,
        reseller_handle: Option<String>,
        client_roles: Vec<ContactRole>,
        client_id: Option<u64>,
    },
    /// Bills (or stops billing) the ID protection add-on in WHMCS (`idprotection`).
    SetIdProtection {
        domain_id: u64,
        on: bool,
    },
    /// Turns WHOIS privacy on or off at the registrar.
    SetWhoisPrivacy {
        account: String,
        domain: DomainName,
        on: bool,
    },
    /// Sets the transfer lock at the registrar.
    SetTransferLock {
        account: String,
        domain: DomainName,
        locked: bool,
    },
    /// Sets a TLD's WHMCS sell prices of one operation and currency (`tblpricing`, the
    /// redemption fee for restores), term by term as the proposal says (issue #12).
    SetTldPrices {
        proposal: crate::pricing::PriceProposal,
    },
    Manual {
        instruction: String,
    },
}

impl Action {
    pub fn target(&self) -> Target {
        match self {
            Action::SetRecurringAmount { .. }
            | Action::SetPremiumData { .. }
            | Action::SetBillingExpiry { .. }
            | Action::SetNextDueDate { .. }
            | Action::SetBillingStatus { .. }
            | Action::CancelInvoice { .. }
            | Action::MarkInvoiceRefunded { .. }
            | Action::RetryTransfer { .. }
            | Action::SetIdProtection { .. }
            | Action::SetTldPrices { .. } => Target::Billing,
            Action::SetRenewalMode { .. }
            | Action::RetryRenewal { .. }
            | Action::PlaceCancellation { .. }
            | Action::WithdrawCancellation { .. }
            | Action::SetContacts { .. }
            | Action::SetWhoisPrivacy { .. }
            | Action::SetTransferLock { .. } => Target::Registrar,
            Action::Manual { .. } => Target::Manual,
        }
    }

    /// A stable key: the same action on the same object with the same value has the same
    /// key, so it is applied at most once.
    pub fn idempotency_key(&self) -> String {
        match self {
            Action::SetRecurringAmount { domain_id, amount } => {
                format!(
                    "billing:recurring:{domain_id}:{}{}",
                    amount.amount.normalize(),
                    amount.currency
                )
            }
            Action::SetPremiumData {
                domain_id,
                renewal_cost,
                ..
            } => format!(
                "billing:premium:{domain_id}:{}{}",
                renewal_cost.amount.normalize(),
                renewal_cost.currency
            ),
            Action::SetBillingExpiry { domain_id, date } => {
                format!("billing:expiry:{domain_id}:{date}")
            }
            Action::SetNextDueDate { domain_id, date } => {
                format!("billing:nextdue:{domain_id}:{date}")
            }
            Action::SetBillingStatus { domain_id, status } => {
                format!("billing:status:{domain_id}:{}", status.as_whmcs())
            }
            Action::CancelInvoice { invoice_id } => format!("billing:invoice-cancel:{invoice_id}"),
            Action::MarkInvoiceRefunded { invoice_id } => {
                format!("billing:invoice-refund:{invoice_id}")
            }
            Action::SetRenewalMode {
                account,
                domain,
                mode,
            } => {
                format!(
                    "registrar:{account}:mode:{domain}:{}",
                    mode.as_command_value()
                )
            }
            Action::RetryRenewal {
                account,
                domain,
                accept_fee,
                ..
            } => format!(
                "registrar:{account}:renew:{domain}:{}",
                accept_fee.map(|f| f.to_string()).unwrap_or_default()
            ),
            Action::RetryTransfer {
                domain_id,
                accept_fee,
                ..
            } => format!(
                "billing:transfer:{domain_id}:{}",
                accept_fee.map(|f| f.to_string()).unwrap_or_default()
            ),
            Action::PlaceCancellation {
                account,
                domain,
                effective,
                ..
            } => format!("registrar:{account}:cancel:{domain}:{effective}"),
            Action::WithdrawCancellation {
                account,
                domain,
                effective,
                ..
            } => format!("registrar:{account}:withdraw:{domain}:{effective}"),
            Action::SetContacts {
                account,
                domain,
                reseller_roles,
                reseller_handle,
                client_roles,
                client_id,
            } => format!(
                "registrar:{account}:contacts:{domain}:{}={}:{}=client{}",
                roles_text(reseller_roles),
                reseller_handle.as_deref().unwrap_or(""),
                roles_text(client_roles),
                client_id.map(|c| c.to_string()).unwrap_or_default()
            ),
            Action::SetIdProtection { domain_id, on } => {
                format!("billing:idprotection:{domain_id}:{}", u8::from(*on))
            }
            Action::SetWhoisPrivacy {
                account,
                domain,
                on,
            } => format!("registrar:{account}:privacy:{domain}:{}", u8::from(*on)),
            Action::SetTransferLock {
                account,
                domain,
                locked,
            } => format!("registrar:{account}:lock:{domain}:{}", u8::from(*locked)),
            Action::SetTldPrices { proposal } => proposal.idempotency_key(),
            Action::Manual { instruction } => format!("manual:{instruction}"),
        }
    }

    /// What the action does, for the plan preview and the audit log.
    pub fn describe(&self) -> String {
        match self {
            Action::SetRecurringAmount { domain_id, amount } => {
                format!("Set the recurring amount of WHMCS domain #{domain_id} to {amount}")
            }
            Action::SetPremiumData { domain_id, renewal_cost, registration_cost } => format!(
                "Mark WHMCS domain #{domain_id} premium and record its registrar cost (renewal {renewal_cost}, registration/transfer {registration_cost})"
            ),
            Action::SetBillingExpiry { domain_id, date } => {
                format!("Set the expiry date of WHMCS domain #{domain_id} to {date}")
            }
            Action::SetNextDueDate { domain_id, date } => {
                format!("Set the next due date of WHMCS domain #{domain_id} to {date}")
            }
            Action::SetBillingStatus { domain_id, status } => {
                format!("Set the status of WHMCS domain #{domain_id} to {}", status.as_whmcs())
            }
            Action::CancelInvoice { invoice_id } => format!("Cancel WHMCS invoice #{invoice_id}"),
            Action::MarkInvoiceRefunded { invoice_id } => format!(
                "Mark WHMCS invoice #{invoice_id} refunded (refund the payment through your gateway)"
            ),
            Action::SetRenewalMode { account, domain, mode } => format!(
                "Set the renewal mode of {} at registrar account {account} to {}",
                domain.display(),
                mode.as_command_value()
            ),
            Action::RetryRenewal { account, domain, accept_fee, .. } => match accept_fee {
                Some(fee) => format!(
                    "Renew {} at registrar account {account}, accepting the premium fee of {fee}",
                    domain.display()
                ),
                None => format!("Renew {} at registrar account {account}", domain.display()),
            },
            Action::RetryTransfer { domain_id, domain, accept_fee, .. } => match accept_fee {
                Some(fee) => format!(
                    "Retry the transfer of {} (WHMCS domain #{domain_id}), accepting the premium fee of {fee}",
                    domain.display()
                ),
                None => format!("Retry the transfer of {} (WHMCS domain #{domain_id})", domain.display()),
            },
            Action::PlaceCancellation { account, domain, method, effective, .. } => format!(
                "Cancel {} at registrar account {account} effective {effective} ({method}), after checking the renewal invoice is still unpaid",
                domain.display()
            ),
            Action::WithdrawCancellation { account, domain, restore_mode, .. } => format!(
                "Withdraw the pending cancellation of {} at registrar account {account} (Smart-NIC domainRevoke; CNR/ISPAPI renewal mode back to {})",
                domain.display(),
                restore_mode.as_command_value()
            ),
            Action::SetContacts { account, domain, reseller_roles, reseller_handle, client_roles, .. } => {
                let mut parts = Vec::new();
                if !reseller_roles.is_empty() {
                    parts.push(format!(
                        "{} to the reseller handle {}",
                        roles_text(reseller_roles),
                        reseller_handle.as_deref().unwrap_or("?")
                    ));
                }
                if !client_roles.is_empty() {
                    parts.push(format!(
                        "{} to a handle with the client's WHMCS details (an identical existing handle is reused)",
                        roles_text(client_roles)
                    ));
                }
                format!(
                    "Set the contacts of {} at registrar account {account}: {}",
                    domain.display(),
                    parts.join("; ")
                )
            }
            Action::SetIdProtection { domain_id, on } => format!(
                "{} the ID protection add-on of WHMCS domain #{domain_id}",
                if *on { "Bill" } else { "Stop billing" }
            ),
            Action::SetWhoisPrivacy { account, domain, on } => format!(
                "Turn WHOIS privacy {} for {} at registrar account {account}",
                if *on { "on" } else { "off" },
                domain.display()
            ),
            Action::SetTransferLock { account, domain, locked } => format!(
                "{} the transfer lock of {} at registrar account {account}",
                if *locked { "Set" } else { "Lift" },
                domain.display()
            ),
            Action::SetTldPrices { proposal } => proposal.describe(),
            Action::Manual { instruction } => instruction.clone(),
        }
    }
}

fn roles_text(roles: &[ContactRole]) -> String {
    roles
        .iter()
        .map(|r| r.as_str())
        .collect::<Vec<_>>()
        .join(",")
}

/// One way to fix a finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanOption {
    /// Short identifier used by `domwatch fix CASE --option NAME`.
    pub name: String,
    pub description: String,
    pub actions: Vec<Action>,
}

/// A step-by-step guide shown on the case page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Guide {
    pub title: String,
    pub what_happened: String,
    pub what_it_costs: String,
    pub steps: Vec<String>,
}

fn option(name: &str, description: &str, actions: Vec<Action>) -> PlanOption {
    PlanOption {
        name: name.to_string(),
        description: description.to_string(),
        actions,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::{detect, CaseKind, DetectionPolicy, Facts, Finding, Observation};
    use crate::model::{BillingDomain, PremiumInfo, RegistrarDomain};
    use crate::money::{Currency, RateTable};
    use rust_decimal_macros::dec;

    fn finding(kind: CaseKind, facts: Facts) -> Finding {
        Finding {
            kind,
            domain: DomainName::parse("müller.shop").unwrap(),
            billing_domain_id: Some(7),
            registrar_account: Some("cnr".into()),
            client_id: Some(3),
            summary: "s".into(),
            evidence: vec![],
            at_stake: Some(Money::new(dec!(5), Currency::EUR)),
            facts,
        }
    }

    #[test]
    fn every_kind_has_a_guide_and_a_plan() {
        for kind in CaseKind::ALL {
            let f = finding(kind, Facts::default());
            let g = guide(&f);
            assert!(!g.steps.is_empty(), "{kind}");
            assert_eq!(g.title, kind.title());
            assert!(!plan(&f).is_empty(), "{kind} has no plan");
        }
    }

    #[test]
    fn premium_failure_offers_refund_and_absorb_from_real_detection() {
        let today = NaiveDate::from_ymd_opt(2026, 11, 22).unwrap();
        let name = DomainName::parse("gold.shop").unwrap();
        let mut r = RegistrarDomain::new(name.clone());
        r.paid_until = NaiveDate::from_ymd_opt(2026, 11, 30);
        r.premium = Some(PremiumInfo {
            class: "premium".into(),
        });
        r.renewal_price = Some(Money::new(dec!(200), Currency::EUR));
        let b = BillingDomain {
            id: 9,
            client_id: 1,
            name: name.clone(),
            registrar_module: "cnic".into(),
            status: BillingStatus::Active,
            recurring_amount: Money::new(dec!(30), Currency::EUR),
            registration_period_years: 1,
            expiry: NaiveDate::from_ymd_opt(2027, 11, 30),
            next_due: NaiveDate::from_ymd_opt(2027, 11, 30),
            do_not_renew: false,
            is_premium: Some(false),
            premium_cost: None,
            id_protection: None,
        };
        let obs = Observation {
            name,
            billing: Some(b),
            registrar: Some(r),
            registrar_account: Some("cnr".into()),
            renewal_invoice: Some(crate::detect::RenewalInvoice {
                invoice_id: 555,
                paid: true,
                cancelled: false,
                amount: Money::new(dec!(30), Currency::EUR),
                due_date: NaiveDate::from_ymd_opt(2026, 11, 30).unwrap(),
                date_paid: NaiveDate::from_ymd_opt(2026, 11, 21),
            }),
            transfer: None,
            missing_strikes: 0,
            lifecycle_watch: false,
        };
        let findings = detect(&obs, &DetectionPolicy::default(), &RateTable::new(), today);
        assert_eq!(findings.len(), 1);
        let options = plan(&findings[0]);
        assert_eq!(options[0].name, "refund");
        assert!(options[0]
            .actions
            .contains(&Action::MarkInvoiceRefunded { invoice_id: 555 }));
        assert!(options[0].actions.contains(&Action::SetRecurringAmount {
            domain_id: 9,
            amount: Money::new(dec!(250.00), Currency::EUR)
        }));
        let absorb = &options[1];
        assert!(absorb.actions.iter().any(|a| matches!(a,
            Action::RetryRenewal { accept_fee: Some(fee), .. } if fee.amount == dec!(200))));
        let g = guide(&findings[0]);
        assert!(
            g.what_it_costs.contains("170.00 EUR"),
            "{}",
            g.what_it_costs
        );
    }

    #[test]
    fn implausible_expiry_gives_manual_plan_only() {
        let f = finding(CaseKind::ExpiryDrift, Facts::default());
        let options = plan(&f);
        assert!(options
            .iter()
            .all(|o| o.actions.iter().all(|a| a.target() == Target::Manual)));
        let f = finding(
            CaseKind::ExpiryDrift,
            Facts {
                proposed_expiry: NaiveDate::from_ymd_opt(2027, 1, 1),
                ..Facts::default()
            },
        );
        assert_eq!(plan(&f)[0].actions.len(), 2);
    }

    #[test]
    fn idempotency_keys_are_stable_and_value_sensitive() {
        let a = Action::SetRecurringAmount {
            domain_id: 1,
            amount: Money::new(dec!(10.50), Currency::EUR),
        };
        let b = Action::SetRecurringAmount {
            domain_id: 1,
            amount: Money::new(dec!(10.5), Currency::EUR),
        };
        let c = Action::SetRecurringAmount {
            domain_id: 1,
            amount: Money::new(dec!(11), Currency::EUR),
        };
        assert_eq!(a.idempotency_key(), b.idempotency_key());
        assert_ne!(a.idempotency_key(), c.idempotency_key());
    }
}
