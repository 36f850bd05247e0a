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
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

/// Every kind of problem domwatch detects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CaseKind {
    /// Premium at the registrar, standard in billing.
    TurnedPremium,
    /// Premium in billing but the premium cost data is missing or stale.
    PremiumDataMissing,
    /// Registrar renewal cost (in the client's currency) above the recurring amount.
    RenewalUnderpriced,
    /// The recurring amount covers the cost but not the configured minimum margin.
    MarginBelowMinimum,
    /// The client paid the renewal but the registrar was not renewed.
    PaidNotRenewed,
    /// The renewal failed because the domain became premium (fee not accepted).
    RenewalFailedPremium,
    /// The transfer failed because the premium class or fee was not accepted.
    TransferFailedPremium,
    /// The transfer failed for another reason.
    TransferFailed,
    /// Billing expiry differs from the registrar's.
    ExpiryDrift,
    /// Billing status contradicts the registrar (e.g. cancelled but still registered).
    StatusDrift,
    /// Billing will not renew but the registrar will (or the configured mode differs).
    RenewalModeDrift,
    /// At the registrar, not in billing.
    OrphanAtRegistrar,
    /// Billed as registered, but not found at the registrar (after N strikes).
    MissingAtRegistrar,
    /// The renewal is unpaid and the registry's notice period approaches: cancel at the
    /// registrar (auto delete mode `ticket` or `enabled`).
    CancellationDue,
    /// The renewal was paid but a cancellation is pending at the registrar.
    CancellationWithdrawalDue,
    /// A contact role carries the wrong handle for the configured contact policy.
    ContactPolicyViolation,
}

impl CaseKind {
    pub const ALL: [CaseKind; 16] = [
        CaseKind::TurnedPremium,
        CaseKind::PremiumDataMissing,
        CaseKind::RenewalUnderpriced,
        CaseKind::MarginBelowMinimum,
        CaseKind::PaidNotRenewed,
        CaseKind::RenewalFailedPremium,
        CaseKind::TransferFailedPremium,
        CaseKind::TransferFailed,
        CaseKind::ExpiryDrift,
        CaseKind::StatusDrift,
        CaseKind::RenewalModeDrift,
        CaseKind::OrphanAtRegistrar,
        CaseKind::MissingAtRegistrar,
        CaseKind::CancellationDue,
        CaseKind::CancellationWithdrawalDue,
        CaseKind::ContactPolicyViolation,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            CaseKind::TurnedPremium => "turned_premium",
            CaseKind::PremiumDataMissing => "premium_data_missing",
            CaseKind::RenewalUnderpriced => "renewal_underpriced",
            CaseKind::MarginBelowMinimum => "margin_below_minimum",
            CaseKind::PaidNotRenewed => "paid_not_renewed",
            CaseKind::RenewalFailedPremium => "renewal_failed_premium",
            CaseKind::TransferFailedPremium => "transfer_failed_premium",
            CaseKind::TransferFailed => "transfer_failed",
            CaseKind::ExpiryDrift => "expiry_drift",
            CaseKind::StatusDrift => "status_drift",
            CaseKind::RenewalModeDrift => "renewal_mode_drift",
            CaseKind::OrphanAtRegistrar => "orphan_at_registrar",
            CaseKind::MissingAtRegistrar => "missing_at_registrar",
            CaseKind::CancellationDue => "cancellation_due",
            CaseKind::CancellationWithdrawalDue => "cancellation_withdrawal_due",
            CaseKind::ContactPolicyViolation => "contact_policy_violation",
        }
    }

    pub fn parse(s: &str) -> Option<CaseKind> {
        CaseKind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// A short human title.
    pub fn title(self) -> &'static str {
        match self {
            CaseKind::TurnedPremium => "Domain became premium at the registrar",
            CaseKind::PremiumDataMissing => "Premium cost data missing or stale in billing",
            CaseKind::RenewalUnderpriced => "Renewal costs more than the client pays",
            CaseKind::MarginBelowMinimum => "Renewal margin below your minimum",
            CaseKind::PaidNotRenewed => "Renewal paid but not renewed at the registrar",
            CaseKind::RenewalFailedPremium => "Renewal failed: domain is premium now",
            CaseKind::TransferFailedPremium => "Transfer failed: premium fee not accepted",
            CaseKind::TransferFailed => "Transfer failed",
            CaseKind::ExpiryDrift => "Expiry date differs between billing and registrar",
            CaseKind::StatusDrift => "Status differs between billing and registrar",
            CaseKind::RenewalModeDrift => "Registrar renews a domain billing will not renew",
            CaseKind::OrphanAtRegistrar => "Domain at the registrar but not in billing",
            CaseKind::MissingAtRegistrar => "Domain billed but not found at the registrar",
            CaseKind::CancellationDue => "Renewal unpaid: cancel before the notice period",
            CaseKind::CancellationWithdrawalDue => {
                "Renewal paid: withdraw the pending cancellation"
            }
            CaseKind::ContactPolicyViolation => "Contact handles break your contact policy",
        }
    }

    /// Kinds whose notice must reach an admin (to-do / ticket / e-mail) once per opening.
    pub fn needs_admin_notice(self) -> bool {
        matches!(
            self,
            CaseKind::TurnedPremium
                | CaseKind::PaidNotRenewed
                | CaseKind::RenewalFailedPremium
                | CaseKind::TransferFailedPremium
                | CaseKind::TransferFailed
                | CaseKind::MissingAtRegistrar
                | CaseKind::CancellationDue
                | CaseKind::CancellationWithdrawalDue
        )
    }

    /// Lifecycle kinds: their notices go out as bot tickets when a bot client is configured.
    pub fn is_lifecycle(self) -> bool {
        matches!(
            self,
            CaseKind::CancellationDue | CaseKind::CancellationWithdrawalDue
        )
    }
}

impl fmt::Display for CaseKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How the reseller prices renewals.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MarginRule {
    /// Markup on registrar cost used when proposing a new recurring amount (25 = +25%).
    pub markup_percent: Decimal,
    /// Below this margin (on cost) a renewal is flagged; 0 disables the margin check.
    pub min_margin_percent: Decimal,
}

impl Default for MarginRule {
    fn default() -> Self {
        Self {
            markup_percent: Decimal::from(25),
            min_margin_percent: Decimal::from(10),
        }
    }
}

impl MarginRule {
    /// The recurring amount to bill for a given cost: cost plus markup, rounded to cents.
    pub fn price_for(&self, cost: Money) -> Money {
        let factor = Decimal::ONE + self.markup_percent / Decimal::from(100);
        Money::new(cost.amount * factor, cost.currency).round_cents()
    }
}

/// Detection settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DetectionPolicy {
    pub margin: MarginRule,
    /// Days of difference tolerated between billing and registrar expiry.
    pub expiry_tolerance_days: i64,
    /// Cycles a billed domain must be absent before "missing at registrar" opens.
    pub missing_strikes_threshold: u32,
    /// Look back this many days for a paid renewal that did not happen.
    pub paid_renewal_lookback_days: i64,
    /// When set, registrar renewal modes of billed, renewing domains must be this one.
    pub expected_renewal_mode: Option<crate::model::RenewalMode>,
    /// Auto delete and contact policy per registrar account name.
    #[serde(default)]
    pub accounts: BTreeMap<String, AccountPolicy>,
}

impl Default for DetectionPolicy {
    fn default() -> Self {
        Self {
            margin: MarginRule::default(),
            expiry_tolerance_days: 1,
            missing_strikes_threshold: 3,
            paid_renewal_lookback_days: 60,
            expected_renewal_mode: None,
            accounts: BTreeMap::new(),
        }
    }
}

/// A detected problem for one domain.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    pub kind: CaseKind,
    pub domain: DomainName,
    pub billing_domain_id: Option<u64>,
    pub registrar_account: Option<String>,
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
            detect_both(obs, bill, reg, policy, rates, today, &base, &mut findings)
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

#[allow(clippy::too_many_arguments)]
fn detect_both(
    obs: &Observation,
    bill: &BillingDomain,
    reg: &RegistrarDomain,
    policy: &DetectionPolicy,
    rates: &RateTable,
    today: NaiveDate,
    base: &dyn Fn(CaseKind, String) -> Finding,
    out: &mut Vec<Finding>,
) {
    let client_currency = bill.recurring_amount.currency;
    let cost_client = reg
        .renewal_price
        .and_then(|p| rates.convert(p, client_currency).ok())
        .map(Money::round_cents);
    let proposed = reg
        .renewal_price
        .and_then(|p| rates.convert(p, client_currency).ok())
        .map(|c| policy.margin.price_for(c));
    let price_facts = |f: &mut Finding| {
        f.facts.registrar_renewal_cost = reg.renewal_price;
        f.facts.renewal_cost_in_client_currency = cost_client;
        f.facts.proposed_recurring_amount = proposed;
        f.facts.premium_class = reg.premium.as_ref().map(|p| p.class.clone());
    };
    let price_evidence = |f: &mut Finding| {
        f.evidence.push(Evidence::new(
            "Renewal price",
            Some(format!("{} (recurring amount)", bill.recurring_amount)),
            reg.renewal_price.map(|p| match cost_client {
                Some(c) if c.currency != p.currency => format!("{p} = {c}"),
                _ => p.to_string(),
            }),
        ));
    };
    let renews = matches!(bill.status, BillingStatus::Active) && !bill.do_not_renew;
    let shortfall = cost_client
        .and_then(|c| c.checked_sub(bill.recurring_amount).ok())
        .filter(|d| d.amount > Decimal::ZERO);

    // 1. Renewals that were paid but did not happen (the seed's to-do case).
    let mut renewal_failed = false;
    if let Some(inv) = &obs.renewal_invoice {
        let recently_paid = inv.paid
            && inv
                .date_paid
                .is_some_and(|d| (today - d).num_days() <= policy.paid_renewal_lookback_days);
        if recently_paid && paid_period_missing(bill, reg, inv, policy, today) {
            renewal_failed = true;
            let premium_cause = reg.is_premium() && bill.is_premium != Some(true);
            let kind = if premium_cause {
                CaseKind::RenewalFailedPremium
            } else {
                CaseKind::PaidNotRenewed
            };
            let summary = if premium_cause {
                format!(
                    "{} was paid for renewal on {} but the registrar did not renew it: it is premium now and the premium fee was not accepted",
                    obs.name.display(),
                    inv.date_paid.map(|d| d.to_string()).unwrap_or_default()
                )
            } else {
                format!(
                    "{} was paid for renewal on {} but the registrar still shows it expiring on {}",
                    obs.name.display(),
                    inv.date_paid.map(|d| d.to_string()).unwrap_or_default(),
                    reg.effective_expiry()
                        .map(|d| d.to_string())
                        .unwrap_or_default()
                )
            };
            let mut f = base(kind, summary);
            f.evidence.push(Evidence::new(
                "Renewal invoice",
                Some(format!("#{} paid {}", inv.invoice_id, inv.amount)),
                None,
            ));
            f.evidence.push(Evidence::new(
                "Expiry",
                fmt_date(bill.expiry),
                fmt_date(reg.effective_expiry()),
            ));
            f.evidence.push(Evidence::new(
                "Next due date",
                fmt_date(bill.next_due),
                None,
            ));
            f.evidence.push(Evidence::new(
                "Paid period starts",
                Some(inv.due_date.to_string()),
                fmt_date(reg.effective_expiry()).map(|d| format!("term ends {d}")),
            ));
            price_evidence(&mut f);
            price_facts(&mut f);
            f.facts.renewal_invoice_id = Some(inv.invoice_id);
            f.at_stake = if premium_cause {
                shortfall
            } else {
                Some(inv.amount)
            };
            out.push(f);
        }
    }

    // 2. Premium status and premium cost data.
    if reg.is_premium() {
        let flagged_standard = match bill.is_premium {
            Some(flag) => !flag,
            // Without database access the flag is unknown: judge by the price billed.
            None => shortfall.is_some(),
        };
        if flagged_standard && !renewal_failed {
            let mut f = base(
                CaseKind::TurnedPremium,
                format!(
                    "{} is premium at the registrar ({}) but billed as a standard domain",
                    obs.name.display(),
                    reg.premium
                        .as_ref()
                        .map(|p| p.class.as_str())
                        .unwrap_or("premium")
                ),
            );
            f.evidence.push(Evidence::new(
                "Premium",
                Some(match bill.is_premium {
                    Some(true) => "yes".into(),
                    Some(false) => "no".into(),
                    None => "unknown (no database access)".into(),
                }),
                reg.premium.as_ref().map(|p| p.class.clone()),
            ));
            price_evidence(&mut f);
            price_facts(&mut f);
            f.at_stake = shortfall;
            out.push(f);
        } else if bill.is_premium == Some(true) {
            let stored = bill.premium_cost.as_ref().and_then(|p| p.renewal_cost);
            let stale = match (stored, reg.renewal_price) {
                (Some(s), Some(r)) => s.currency != r.currency || s.amount != r.amount,
                (None, _) => true,
                _ => false,
            };
            if stale {
                let mut f = base(
                    CaseKind::PremiumDataMissing,
                    match stored {
                        None => format!(
                            "{} is premium in billing but its premium renewal cost is not recorded",
                            obs.name.display()
                        ),
                        Some(s) => format!(
                            "{} has a recorded premium renewal cost of {} but the registrar charges {}",
                            obs.name.display(),
                            s,
                            reg.renewal_price.map(|p| p.to_string()).unwrap_or_default()
                        ),
                    },
                );
                f.evidence.push(Evidence::new(
                    "Premium renewal cost",
                    Some(
                        stored
                            .map(|s| s.to_string())
                            .unwrap_or_else(|| "missing".into()),
                    ),
                    reg.renewal_price.map(|p| p.to_string()),
                ));
                price_evidence(&mut f);
                price_facts(&mut f);
                f.at_stake = shortfall;
                out.push(f);
            }
        }
    }

    // 3. Price checks for domains that will renew.
    let premium_reported = out.iter().any(|f| {
        matches!(
            f.kind,
            CaseKind::TurnedPremium | CaseKind::RenewalFailedPremium
        )
    });
    if renews && !premium_reported {
        if let (Some(cost), Some(short)) = (cost_client, shortfall) {
            let mut f = base(
                CaseKind::RenewalUnderpriced,
                format!(
                    "Renewing {} costs you {} but the client pays {}: you pay {} per renewal",
                    obs.name.display(),
                    cost,
                    bill.recurring_amount,
                    short
                ),
            );
            price_evidence(&mut f);
            price_facts(&mut f);
            f.at_stake = Some(short);
            out.push(f);
        } else if let Some(cost) = cost_client {
            let min = policy.margin.min_margin_percent;
            if min > Decimal::ZERO && cost.amount > Decimal::ZERO {
                let margin =
                    (bill.recurring_amount.amount - cost.amount) / cost.amount * Decimal::from(100);
                if margin < min {
                    let mut f = base(
                        CaseKind::MarginBelowMinimum,
                        format!(
                            "{} renews at {} on a cost of {}: margin {:.1}% is below your minimum of {}%",
                            obs.name.display(),
                            bill.recurring_amount,
                            cost,
                            margin,
                            min
                        ),
                    );
                    price_evidence(&mut f);
                    price_facts(&mut f);
                    f.at_stake = proposed.and_then(|p| p.checked_sub(bill.recurring_amount).ok());
                    out.push(f);
                }
            }
        }
    }

    // 4. Status drift: not billed any more but still registered and renewing.
    let registrar_renews = !reg.renewal_mode.as_ref().is_some_and(|m| m.lets_expire());
    let billing_gone = matches!(
        bill.status,
        BillingStatus::Cancelled
            | BillingStatus::Expired
            | BillingStatus::TransferredAway
            | BillingStatus::Fraud
    );
    if billing_gone && registrar_renews {
        let mut f = base(
            CaseKind::StatusDrift,
            format!(
                "{} is {} in billing but still active at the registrar, which will renew it at your cost",
                obs.name.display(),
                bill.status.as_whmcs()
            ),
        );
        f.evidence.push(Evidence::new(
            "Status",
            Some(bill.status.as_whmcs().to_string()),
            Some(if reg.status.is_empty() {
                "registered".to_string()
            } else {
                reg.status.join(", ")
            }),
        ));
        f.evidence.push(Evidence::new(
            "Renewal mode",
            Some(if bill.do_not_renew {
                "do not renew".into()
            } else {
                "renew".into()
            }),
            reg.renewal_mode
                .as_ref()
                .map(|m| m.as_command_value().to_string()),
        ));
        f.at_stake = reg.renewal_price;
        f.facts.registrar_renewal_cost = reg.renewal_price;
        out.push(f);
    } else if bill.status == BillingStatus::Active {
        // 5. Renewal mode drift.
        let mode_mismatch = if bill.do_not_renew {
            registrar_renews
        } else {
            match (&policy.expected_renewal_mode, &reg.renewal_mode) {
                (Some(expected), Some(actual)) => expected != actual,
                _ => false,
            }
        };
        if mode_mismatch {
            let mut f =
                base(
                    CaseKind::RenewalModeDrift,
                    if bill.do_not_renew {
                        format!(
                        "{} is set to do-not-renew in billing but the registrar will renew it ({})",
                        obs.name.display(),
                        reg.renewal_mode.as_ref().map(|m| m.as_command_value()).unwrap_or("DEFAULT")
                    )
                    } else {
                        format!(
                            "{} has renewal mode {} at the registrar; your policy expects {}",
                            obs.name.display(),
                            reg.renewal_mode
                                .as_ref()
                                .map(|m| m.as_command_value())
                                .unwrap_or("unknown"),
                            policy
                                .expected_renewal_mode
                                .as_ref()
                                .map(|m| m.as_command_value())
                                .unwrap_or("")
                        )
                    },
                );
            f.evidence.push(Evidence::new(
                "Renewal",
                Some(if bill.do_not_renew {
                    "do not renew".into()
                } else {
                    "renew".into()
                }),
                reg.renewal_mode
                    .as_ref()
                    .map(|m| m.as_command_value().to_string()),
            ));
            if bill.do_not_renew {
                f.at_stake = reg.renewal_price;
            }
            f.facts.registrar_renewal_cost = reg.renewal_price;
            out.push(f);
        }
    }

    // 6. Expiry drift (skipped when a failed renewal already explains it).
    if !renewal_failed
        && matches!(
            bill.status,
            BillingStatus::Active | BillingStatus::Grace | BillingStatus::Redemption
        )
    {
        if let Some(reg_date) = reg.effective_expiry() {
            let differs = match bill.expiry {
                Some(b) => (b - reg_date).num_days().abs() > policy.expiry_tolerance_days,
                None => true,
            };
            if differs {
                let plausible = plausible_date(reg_date, today);
                let mut f = base(
                    CaseKind::ExpiryDrift,
                    if plausible {
                        format!(
                            "{} expires on {} at the registrar but on {} in billing",
                            obs.name.display(),
                            reg_date,
                            bill.expiry
                                .map(|d| d.to_string())
                                .unwrap_or_else(|| "no date".into())
                        )
                    } else {
                        format!(
                            "{} has an implausible expiry date {} at the registrar; billing keeps {}. Check it at the registrar before changing anything",
                            obs.name.display(),
                            reg_date,
                            bill.expiry.map(|d| d.to_string()).unwrap_or_else(|| "no date".into())
                        )
                    },
                );
                f.evidence.push(Evidence::new(
                    "Expiry",
                    fmt_date(bill.expiry),
                    Some(reg_date.to_string()),
                ));
                f.evidence.push(Evidence::new(
                    "Next due date",
                    fmt_date(bill.next_due),
                    None,
                ));
                f.facts.proposed_expiry = plausible.then_some(reg_date);
                out.push(f);
            }
        }
    }
}

#[cfg(test)]
mod tests;
