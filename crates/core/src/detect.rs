//! Case detection: pure functions from one joined observation of a domain (billing side,
//! registrar side, a few facts the engine looked up) to the findings it shows.
//!
//! The engine calls [`detect`] once per domain per cycle; a finding is keyed by
//! `(kind, domain)` so the store can open a case once, update it while it persists and
//! resolve it when the finding is gone.

use crate::lifecycle::{
    contact_violations, detect_lifecycle, AccountPolicy, CancellationFacts, ContactFix,
    LifecycleFinding,
};
use crate::model::{BillingDomain, BillingStatus, RegistrarDomain};
use crate::money::{Money, RateTable};
use crate::name::DomainName;
pub use crate::observation::{Evidence, Observation, RenewalInvoice, TransferObservation};
use chrono::{Datelike, Duration, NaiveDate};
use serde::{Deserialize, Serialize};

mod addon_price;
mod addons;
mod both;
mod kind;
mod policy;

pub use addon_price::{
    id_protection_price_unknown, price_id_protection, AddonPrice, IdProtectionPrices,
    ID_PROTECTION_PRICE_LABEL,
};
pub use addons::{default_zones_without_transfer_lock, ZONES_WITHOUT_TRANSFER_LOCK};
use both::detect_both;
pub use kind::CaseKind;
pub use policy::{DetectionPolicy, MarginRule, TldPricePolicy};

/// A detected problem for one domain.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    pub kind: CaseKind,
    pub domain: DomainName,
    pub billing_domain_id: Option<u64>,
    pub registrar_account: Option<String>,
    /// The WHMCS client billed for the domain (`tbldomains.userid`); none for a domain
    /// nobody is billed for. Left out of the JSON when unknown, so findings stored before
    /// it existed read back unchanged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<u64>,
    /// One line a person understands without opening the case.
    pub summary: String,
    pub evidence: Vec<Evidence>,
    /// What the reseller loses (per renewal) if nothing is done.
    pub at_stake: Option<Money>,
    /// Values the fix plan needs (target amounts, dates), computed here once.
    pub facts: Facts,
}

/// Computed values the planner turns into actions.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Facts {
    /// Registrar renewal cost in the registrar's currency.
    pub registrar_renewal_cost: Option<Money>,
    /// Registrar renewal cost converted to the client's currency.
    pub renewal_cost_in_client_currency: Option<Money>,
    /// Recurring amount the margin rule proposes.
    pub proposed_recurring_amount: Option<Money>,
    /// Registrar expiry proposed for billing, only when plausible.
    pub proposed_expiry: Option<NaiveDate>,
    pub proposed_status: Option<BillingStatus>,
    pub premium_class: Option<String>,
    pub renewal_invoice_id: Option<u64>,
    pub unpaid_invoice: bool,
    /// Lifecycle cases: how and when to cancel (or withdraw).
    #[serde(default)]
    pub cancellation: Option<CancellationFacts>,
    /// Contact policy cases: which roles get which handle.
    #[serde(default)]
    pub contact_fix: Option<ContactFix>,
}

fn fmt_date(d: Option<NaiveDate>) -> Option<String> {
    d.map(|d| d.to_string())
}

/// Dates before 1990 or more than ten years ahead are registrar glitches, never written.
pub fn plausible_date(date: NaiveDate, today: NaiveDate) -> bool {
    date.year() >= 1990 && date <= today + chrono::Duration::days(3660)
}

/// Runs every detector over one observation.
pub fn detect(
    obs: &Observation,
    policy: &DetectionPolicy,
    rates: &RateTable,
    today: NaiveDate,
) -> Vec<Finding> {
    let mut findings = Vec::new();
    let base = |kind: CaseKind, summary: String| Finding {
        kind,
        domain: obs.name.clone(),
        billing_domain_id: obs.billing.as_ref().map(|b| b.id),
        registrar_account: obs.registrar_account.as_deref().map(str::to_string),
        client_id: obs.billing.as_ref().map(|b| b.client_id),
        summary,
        evidence: Vec::new(),
        at_stake: None,
        facts: Facts::default(),
    };

    match (&obs.billing, &obs.registrar) {
        (None, Some(reg)) => {
            let mut f = base(
                CaseKind::OrphanAtRegistrar,
                format!(
                    "{} is registered in your registrar account but no client is billed for it",
                    obs.name.display()
                ),
            );
            f.evidence.push(Evidence::new(
                "Renewal mode",
                None,
                reg.renewal_mode
                    .as_ref()
                    .map(|m| m.as_command_value().to_string()),
            ));
            f.evidence.push(Evidence::new(
                "Paid until",
                None,
                fmt_date(reg.effective_expiry()),
            ));
            if !reg.renewal_mode.as_ref().is_some_and(|m| m.lets_expire()) {
                f.at_stake = reg.renewal_price;
            }
            f.facts.registrar_renewal_cost = reg.renewal_price;
            findings.push(f);
        }
        (Some(bill), None) => detect_billing_only(obs, bill, policy, today, &base, &mut findings),
        (Some(bill), Some(reg)) => {
            detect_both(obs, bill, reg, policy, rates, today, &base, &mut findings);
            addons::detect_addons(obs, bill, reg, policy, &base, &mut findings);
        }
        (None, None) => {}
    }
    if let Some(account) = obs
        .registrar_account
        .as_deref()
        .and_then(|a| policy.accounts.get(a))
    {
        detect_account_policies(obs, account, policy, today, &base, &mut findings);
    }
    findings
}

/// Auto delete and contact policy of the domain's registrar account.
fn detect_account_policies(
    obs: &Observation,
    account: &AccountPolicy,
    policy: &DetectionPolicy,
    today: NaiveDate,
    base: &dyn Fn(CaseKind, String) -> Finding,
    out: &mut Vec<Finding>,
) {
    if let Some(lifecycle) = detect_lifecycle(obs, account, policy.expiry_tolerance_days, today) {
        let (kind, summary, evidence, facts) = match lifecycle {
            LifecycleFinding::CancellationDue {
                summary,
                evidence,
                facts,
            } => (CaseKind::CancellationDue, summary, evidence, facts),
            LifecycleFinding::WithdrawalDue {
                summary,
                evidence,
                facts,
            } => (
                CaseKind::CancellationWithdrawalDue,
                summary,
                evidence,
                facts,
            ),
        };
        // The lifecycle case covers a do-not-renew domain's renewal mode too.
        out.retain(|f| f.kind != CaseKind::RenewalModeDrift);
        let mut f = base(kind, summary);
        f.evidence = evidence;
        if let Some(reg) = &obs.registrar {
            f.facts.registrar_renewal_cost = reg.renewal_price;
            if kind == CaseKind::CancellationDue && !facts.pending {
                f.at_stake = reg.renewal_price;
            }
        }
        if let Some(inv) = &obs.renewal_invoice {
            f.facts.renewal_invoice_id = Some(inv.invoice_id);
            f.facts.unpaid_invoice = !inv.paid;
        }
        f.facts.cancellation = Some(facts);
        out.push(f);
    }
    if let Some((evidence, fix)) = contact_violations(obs, &account.contacts) {
        let mut wrong_roles: Vec<_> = fix.reseller.iter().chain(fix.client.iter()).collect();
        wrong_roles.sort();
        let roles: Vec<&str> = wrong_roles.iter().map(|r| r.as_str()).collect();
        let mut f = base(
            CaseKind::ContactPolicyViolation,
            format!(
                "{}: the {} contact{} do{} not follow your contact policy",
                obs.name.display(),
                roles.join(", "),
                if roles.len() == 1 { "" } else { "s" },
                if roles.len() == 1 { "es" } else { "" }
            ),
        );
        f.evidence = evidence;
        f.facts.contact_fix = Some(fix);
        out.push(f);
    }
}

fn detect_billing_only(
    obs: &Observation,
    bill: &BillingDomain,
    policy: &DetectionPolicy,
    _today: NaiveDate,
    base: &dyn Fn(CaseKind, String) -> Finding,
    out: &mut Vec<Finding>,
) {
    if bill.status == BillingStatus::PendingTransfer {
        if let Some(TransferObservation::Failed { reason }) = &obs.transfer {
            let premium = is_premium_reason(reason);
            let kind = if premium {
                CaseKind::TransferFailedPremium
            } else {
                CaseKind::TransferFailed
            };
            let mut f = base(
                kind,
                format!(
                    "The transfer of {} failed at the registrar: {}",
                    obs.name.display(),
                    reason
                ),
            );
            f.evidence.push(Evidence::new(
                "Status",
                Some(bill.status.as_whmcs().to_string()),
                Some(format!("transfer failed: {reason}")),
            ));
            f.evidence.push(Evidence::new(
                "Recurring amount",
                Some(bill.recurring_amount.to_string()),
                None,
            ));
            out.push(f);
        }
        return;
    }
    if bill.status.expects_registration() && obs.missing_strikes >= policy.missing_strikes_threshold
    {
        let mut f = base(
            CaseKind::MissingAtRegistrar,
            format!(
                // The threshold, not the running count: the case's text stays the same
                // from cycle to cycle, so it is not "updated" every cycle.
                "{} is {} in billing but was not in the registrar's domain list for {} checks in a row",
                obs.name.display(),
                bill.status.as_whmcs(),
                policy.missing_strikes_threshold
            ),
        );
        f.evidence.push(Evidence::new(
            "Status",
            Some(bill.status.as_whmcs().to_string()),
            Some("not in the account".into()),
        ));
        f.evidence
            .push(Evidence::new("Expiry", fmt_date(bill.expiry), None));
        f.at_stake = Some(bill.recurring_amount);
        out.push(f);
    }
}

/// Whether the registrar's term misses the period a paid renewal invoice bought. Keyed
/// on the invoice and the registrar's term, not on WHMCS's dates alone: WHMCS moves the
/// next due date on payment, and the expiry date only once the registrar renewed.
/// - billing's expiry is ahead of the registrar's: WHMCS believes it renewed;
/// - or the registrar's term still ends where the paid period starts (the invoice's due
///   date), and the registrar will not add it by itself any more: the term is over, or
///   its renewal mode lets the domain expire.
fn paid_period_missing(
    bill: &BillingDomain,
    reg: &RegistrarDomain,
    inv: &RenewalInvoice,
    policy: &DetectionPolicy,
    today: NaiveDate,
) -> bool {
    let Some(term_end) = reg.effective_expiry() else {
        return false;
    };
    if bill.expiry.is_some_and(|b| term_end < b) {
        return true;
    }
    let tolerance = Duration::days(policy.expiry_tolerance_days);
    let term_not_extended = term_end <= inv.due_date + tolerance;
    let renewal_overdue = term_end + tolerance < today || !reg.renews_by_itself();
    // WHMCS asks the registrar right after the payment: give that a day to show.
    let paid_before_today = inv.date_paid.is_some_and(|d| d < today);
    term_not_extended && renewal_overdue && paid_before_today
}

fn is_premium_reason(reason: &str) -> bool {
    let r = reason.to_ascii_lowercase();
    r.contains("premium")
        || r.contains("class=")
        || r.contains("x-fee")
        || r.contains("fee not accepted")
}

#[cfg(test)]
mod tests;
