//! Domain lifecycle policies: auto delete before the registry's notice period, withdrawal
//! of a cancellation once the renewal is paid, and the contact policy per role.
//!
//! Pure like the rest of detection: the engine hands in one joined [`Observation`] and the
//! account's [`AccountPolicy`]; these functions say what is wrong and what would fix it.

use crate::model::RenewalMode;
use crate::model::{BillingDomain, BillingStatus, ContactHandles, Dialect, RegistrarDomain};
use crate::name::DomainName;
use crate::observation::{Evidence, Observation};
use crate::ports::CancellationMethod;
use chrono::{Duration, NaiveDate};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

/// What domwatch does when a renewal is unpaid and the notice period approaches.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AutoDeleteMode {
    /// No ticket, no cancellation. A paid renewal still withdraws a pending cancellation.
    Disabled,
    /// Open an admin ticket before the notice period so there is time to cancel by hand.
    #[default]
    Ticket,
    /// Place the cancellation at the registrar, and say so in a ticket.
    Enabled,
}

impl AutoDeleteMode {
    pub fn as_str(self) -> &'static str {
        match self {
            AutoDeleteMode::Disabled => "disabled",
            AutoDeleteMode::Ticket => "ticket",
            AutoDeleteMode::Enabled => "enabled",
        }
    }
}

impl fmt::Display for AutoDeleteMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for AutoDeleteMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "disabled" | "off" => Ok(AutoDeleteMode::Disabled),
            "ticket" | "ticket-only" | "ticket_only" => Ok(AutoDeleteMode::Ticket),
            "enabled" | "on" => Ok(AutoDeleteMode::Enabled),
            other => Err(format!(
                "unknown auto delete mode `{other}`: use disabled, ticket or enabled"
            )),
        }
    }
}

/// Notice periods: how many days before the end of the term a cancellation must be at the
/// registrar so the reseller is not charged for the next term.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoticePeriods {
    pub default_days: u32,
    /// Per zone (`de`, `co.uk`) or TLD; the longest matching suffix wins.
    pub per_zone: BTreeMap<String, u32>,
    /// Extra days before the notice period in which domwatch acts, so a ticket leaves time
    /// to react and a failed registrar call can be retried.
    pub safety_margin_days: u32,
}

impl Default for NoticePeriods {
    /// Smart-NIC states "generally 5 days or 5 weeks"; which zones need 5 weeks is not
    /// published, so `.de`, `.at`, `.ch` and `.eu` get the longer period to be safe.
    fn default() -> Self {
        Self {
            default_days: 5,
            per_zone: ["de", "at", "ch", "eu"]
                .into_iter()
                .map(|z| (z.to_string(), 35))
                .collect(),
            safety_margin_days: 7,
        }
    }
}

impl NoticePeriods {
    pub fn days_for(&self, name: &DomainName) -> u32 {
        self.per_zone
            .get(name.zone())
            .or_else(|| self.per_zone.get(name.tld()))
            .copied()
            .unwrap_or(self.default_days)
    }
}

/// Auto delete settings of one registrar account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AutoDeletePolicy {
    pub mode: AutoDeleteMode,
    pub notice: NoticePeriods,
    /// How the cancellation is placed (per dialect default, see [`Self::for_dialect`]).
    pub cancel_with: CancellationMethod,
    /// `.de` at Smart-NIC: hand unpaid domains to DENIC TRANSIT instead of deleting them
    /// (the holder has not consented to a deletion).
    pub de_transit: bool,
    /// The renewal mode set back when a CNR/ISPAPI cancellation is withdrawn.
    pub restore_mode: RenewalMode,
    /// Act only when an unpaid renewal invoice exists (or the client set do-not-renew);
    /// off, a domain without any renewal invoice counts as unpaid too.
    pub require_unpaid_invoice: bool,
}

impl AutoDeletePolicy {
    pub fn for_dialect(dialect: Dialect) -> Self {
        Self {
            mode: AutoDeleteMode::default(),
            notice: NoticePeriods::default(),
            cancel_with: match dialect {
                Dialect::Smartnic => CancellationMethod::Delete,
                Dialect::Cnr | Dialect::Ispapi => CancellationMethod::RenewalMode {
                    mode: RenewalMode::AutoDelete,
                },
            },
            de_transit: false,
            restore_mode: RenewalMode::Default,
            require_unpaid_invoice: true,
        }
    }

    /// The method for one domain (`.de` transit when configured).
    pub fn method_for(&self, name: &DomainName) -> CancellationMethod {
        if self.de_transit && name.tld() == "de" && self.cancel_with == CancellationMethod::Delete {
            CancellationMethod::Transit
        } else {
            self.cancel_with.clone()
        }
    }

    /// True when the registrar shows a cancellation of the kind this policy places.
    fn shows_cancellation(&self, reg: &RegistrarDomain) -> bool {
        if reg.pending_deletion.is_some() {
            return true;
        }
        match &self.cancel_with {
            CancellationMethod::RenewalMode { mode } => reg.renewal_mode.as_ref() == Some(mode),
            _ => false,
        }
    }
}

/// Whose details a contact role carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RoleSource {
    /// The reseller's handle (one handle reused for every domain).
    Reseller,
    /// The client's own details (a handle made from the WHMCS client, reused when identical).
    Client,
}

impl FromStr for RoleSource {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "reseller" | "hoster" => Ok(RoleSource::Reseller),
            "client" | "customer" => Ok(RoleSource::Client),
            other => Err(format!(
                "unknown contact source `{other}`: use reseller or client"
            )),
        }
    }
}

/// A contact role. `Billing` is the zone contact (ZoneC) at Smart-NIC and DENIC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ContactRole {
    Owner,
    Admin,
    Tech,
    Billing,
}

impl ContactRole {
    pub const ALL: [ContactRole; 4] = [
        ContactRole::Owner,
        ContactRole::Admin,
        ContactRole::Tech,
        ContactRole::Billing,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ContactRole::Owner => "owner",
            ContactRole::Admin => "admin",
            ContactRole::Tech => "tech",
            ContactRole::Billing => "billing/zone",
        }
    }

    pub fn of(self, handles: &ContactHandles) -> Option<&str> {
        match self {
            ContactRole::Owner => handles.owner.as_deref(),
            ContactRole::Admin => handles.admin.as_deref(),
            ContactRole::Tech => handles.tech.as_deref(),
            ContactRole::Billing => handles.billing.as_deref(),
        }
    }

    pub fn set(self, handles: &mut ContactHandles, handle: String) {
        let slot = match self {
            ContactRole::Owner => &mut handles.owner,
            ContactRole::Admin => &mut handles.admin,
            ContactRole::Tech => &mut handles.tech,
            ContactRole::Billing => &mut handles.billing,
        };
        *slot = Some(handle);
    }
}

/// Which handle each role must carry. Roles without a rule are not checked.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactPolicy {
    pub roles: BTreeMap<ContactRole, RoleSource>,
    /// The existing handle used for every reseller role.
    pub reseller_handle: Option<String>,
}

impl ContactPolicy {
    /// The common reseller setup: the owner is the client, every other role carries the
    /// reseller's one handle (what WHMCS does with "Use Clients Details" off).
    pub fn owner_client_others_reseller(reseller_handle: &str) -> Self {
        Self {
            roles: [
                (ContactRole::Owner, RoleSource::Client),
                (ContactRole::Admin, RoleSource::Reseller),
                (ContactRole::Tech, RoleSource::Reseller),
                (ContactRole::Billing, RoleSource::Reseller),
            ]
            .into_iter()
            .collect(),
            reseller_handle: Some(reseller_handle.to_string()),
        }
    }

    pub fn is_enforced(&self) -> bool {
        !self.roles.is_empty()
    }
}

/// Everything configured per registrar account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountPolicy {
    pub auto_delete: AutoDeletePolicy,
    pub contacts: ContactPolicy,
}

impl AccountPolicy {
    pub fn for_dialect(dialect: Dialect) -> Self {
        Self {
            auto_delete: AutoDeletePolicy::for_dialect(dialect),
            contacts: ContactPolicy::default(),
        }
    }
}

/// What a lifecycle finding needs to be fixed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CancellationFacts {
    pub mode: AutoDeleteMode,
    pub method: CancellationMethod,
    /// End of the paid term at the registrar: when the cancellation takes effect.
    pub term_end: NaiveDate,
    /// The last day the cancellation can reach the registrar (term end − notice period).
    pub deadline: NaiveDate,
    pub notice_days: u32,
    /// A cancellation is already pending at the registrar.
    pub pending: bool,
    pub restore_mode: RenewalMode,
    /// WHMCS ids, so the engine can re-check the invoice right before it cancels.
    pub billing_domain_id: u64,
    pub client_id: u64,
}

/// The contact changes that bring a domain in line with the policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactFix {
    /// Roles that get the reseller handle.
    pub reseller: Vec<ContactRole>,
    pub reseller_handle: Option<String>,
    /// Roles that get a handle made from the client's details.
    pub client: Vec<ContactRole>,
    pub client_id: Option<u64>,
}

/// Why a renewal counts as unpaid, for the summary and evidence.
fn unpaid_reason(
    obs: &Observation,
    bill: &BillingDomain,
    policy: &AutoDeletePolicy,
) -> Option<String> {
    if bill.do_not_renew {
        return Some("the client set Do Not Renew".into());
    }
    match &obs.renewal_invoice {
        Some(inv) if inv.paid => None,
        Some(inv) if inv.cancelled => {
            Some(format!("renewal invoice #{} was cancelled", inv.invoice_id))
        }
        Some(inv) => Some(format!(
            "renewal invoice #{} ({}) is unpaid, due {}",
            inv.invoice_id, inv.amount, inv.due_date
        )),
        None if !policy.require_unpaid_invoice => Some("no renewal invoice has been paid".into()),
        None => None,
    }
}

/// True when billing shows the next term as paid: the next due date moved past the
/// registrar's term end, or the renewal invoice is paid.
fn renewal_paid(
    obs: &Observation,
    bill: &BillingDomain,
    term_end: NaiveDate,
    tolerance: i64,
) -> bool {
    if bill.do_not_renew || bill.status != BillingStatus::Active {
        return false;
    }
    let invoice_paid = obs.renewal_invoice.as_ref().is_some_and(|i| i.paid);
    let due_advanced = bill
        .next_due
        .is_some_and(|d| (d - term_end).num_days() > tolerance);
    invoice_paid || due_advanced
}

/// True unless the registrar already lets the domain go at the end of its term.
fn registrar_renews(reg: &RegistrarDomain) -> bool {
    reg.renews_by_itself()
}

/// The window in which the engine must look up the renewal invoice of a domain: from the
/// safety margin before the deadline until the end of the term, while billing has not moved
/// the next due date past the term (a paid renewal moves it).
pub fn needs_invoice_lookup(
    obs: &Observation,
    policy: &AccountPolicy,
    tolerance_days: i64,
    today: NaiveDate,
) -> bool {
    let (Some(bill), Some(reg)) = (&obs.billing, &obs.registrar) else {
        return false;
    };
    let Some(term_end) = reg.effective_expiry() else {
        return false;
    };
    let ad = &policy.auto_delete;
    let cancellation_shown =
        ad.shows_cancellation(reg) && (obs.lifecycle_watch || reg.pending_deletion.is_some());
    if cancellation_shown && bill.status == BillingStatus::Active {
        // A pending cancellation: watch for the payment that withdraws it.
        return true;
    }
    if ad.mode == AutoDeleteMode::Disabled
        || bill.status != BillingStatus::Active
        || bill.do_not_renew
        || !registrar_renews(reg)
    {
        // Do-not-renew needs no invoice; a domain the registrar lets go needs no cancellation.
        return false;
    }
    let notice = i64::from(ad.notice.days_for(&obs.name));
    let opens = term_end - Duration::days(notice + i64::from(ad.notice.safety_margin_days));
    let due_not_advanced = bill
        .next_due
        .is_none_or(|d| (d - term_end).num_days() <= tolerance_days);
    today >= opens && today <= term_end && due_not_advanced
}

/// The lifecycle findings of one observation, as (kind-specific) partial findings the
/// caller completes: `None` when nothing is due.
pub enum LifecycleFinding {
    /// Unpaid, the deadline approaches (or passed), and the registrar will renew unless
    /// cancelled — or domwatch is watching a cancellation it asked for.
    CancellationDue {
        summary: String,
        evidence: Vec<Evidence>,
        facts: CancellationFacts,
    },
    /// The renewal is paid but a cancellation is pending at the registrar.
    WithdrawalDue {
        summary: String,
        evidence: Vec<Evidence>,
        facts: CancellationFacts,
    },
}

pub fn detect_lifecycle(
    obs: &Observation,
    policy: &AccountPolicy,
    tolerance_days: i64,
    today: NaiveDate,
) -> Option<LifecycleFinding> {
    let (Some(bill), Some(reg)) = (&obs.billing, &obs.registrar) else {
        return None;
    };
    let term_end = reg.effective_expiry()?;
    let ad = &policy.auto_delete;
    let notice_days = ad.notice.days_for(&obs.name);
    let deadline = term_end - Duration::days(i64::from(notice_days));
    let method = ad.method_for(&obs.name);
    let shown = ad.shows_cancellation(reg);
    // A renewal-mode cancellation cannot be told apart from a reseller who lets every
    // domain expire by default, so only ones domwatch asked for (watched) count; a Smart-NIC
    // deletion date is unambiguous.
    let pending = reg.pending_deletion.is_some() || (shown && obs.lifecycle_watch);
    let facts = CancellationFacts {
        mode: ad.mode,
        method: method.clone(),
        term_end: reg.pending_deletion.unwrap_or(term_end),
        deadline,
        notice_days,
        pending,
        restore_mode: ad.restore_mode.clone(),
        billing_domain_id: bill.id,
        client_id: bill.client_id,
    };
    let name = obs.name.display();
    let invoice_evidence = renewal_evidence(obs, bill, reg, pending, term_end);

    if pending
        && bill.status == BillingStatus::Active
        && renewal_paid(obs, bill, term_end, tolerance_days)
    {
        let summary = format!(
            "The renewal of {name} is paid, but a cancellation is pending at the registrar: withdraw it or the client loses a paid domain"
        );
        return Some(LifecycleFinding::WithdrawalDue {
            summary,
            evidence: vec![invoice_evidence],
            facts,
        });
    }
    if ad.mode == AutoDeleteMode::Disabled || bill.status != BillingStatus::Active {
        return None;
    }
    if renewal_paid(obs, bill, term_end, tolerance_days) {
        return None;
    }
    let reason = unpaid_reason(obs, bill, ad)?;
    if !(registrar_renews(reg) || pending) {
        // Already let go by some other means: nothing to cancel, nothing to watch.
        return None;
    }
    let opens = deadline - Duration::days(i64::from(ad.notice.safety_margin_days));
    if today < opens || today > term_end {
        return None;
    }
    let summary = cancellation_summary(&name, &reason, &facts, term_end, ad.mode, today);
    let evidence = vec![
        invoice_evidence,
        Evidence {
            label: "Notice period".into(),
            billing: bill.next_due.map(|d| format!("next due {d}")),
            registrar: Some(format!(
                "{notice_days} days: cancel by {deadline}, term ends {term_end}"
            )),
        },
    ];
    Some(LifecycleFinding::CancellationDue {
        summary,
        evidence,
        facts,
    })
}

/// The renewal line of a lifecycle case: the invoice (or why there is none) against what
/// the registrar will do at the end of the term.
fn renewal_evidence(
    obs: &Observation,
    bill: &BillingDomain,
    reg: &RegistrarDomain,
    pending: bool,
    term_end: NaiveDate,
) -> Evidence {
    let billing = match &obs.renewal_invoice {
        Some(inv) => {
            let state = if inv.paid {
                "paid"
            } else if inv.cancelled {
                "cancelled"
            } else {
                "unpaid"
            };
            format!("invoice #{} {} ({})", inv.invoice_id, state, inv.amount)
        }
        None if bill.do_not_renew => "Do Not Renew".into(),
        None => "no renewal invoice".into(),
    };
    let registrar = match (pending, reg.pending_deletion) {
        (true, Some(d)) => format!("cancellation pending, effective {d}"),
        (true, None) => format!(
            "cancellation pending (renewal mode {})",
            reg.renewal_mode
                .as_ref()
                .map(|m| m.as_command_value())
                .unwrap_or("")
        ),
        (false, _) => format!("renews on {term_end}"),
    };
    Evidence {
        label: "Renewal".into(),
        billing: Some(billing),
        registrar: Some(registrar),
    }
}

/// What a cancellation case says: pending, placed by domwatch, or to be placed by hand.
/// `term_end` is the registrar's term end (not a pending deletion date).
fn cancellation_summary(
    name: &str,
    reason: &str,
    facts: &CancellationFacts,
    term_end: NaiveDate,
    mode: AutoDeleteMode,
    today: NaiveDate,
) -> String {
    let CancellationFacts {
        deadline,
        notice_days,
        method,
        ..
    } = facts;
    let late = if today > *deadline {
        format!(
            " The notice period began on {deadline}: cancelling now may no longer avoid the renewal charge."
        )
    } else {
        String::new()
    };
    match (mode, facts.pending) {
        (_, true) => format!(
            "{name}: {reason}. A cancellation is pending at the registrar (term ends {term_end}); it is withdrawn automatically if the client pays."
        ),
        (AutoDeleteMode::Enabled, false) => format!(
            "{name}: {reason}. The notice period ({notice_days} days) starts {deadline}: domwatch places the cancellation ({method}) effective {term_end}.{late}"
        ),
        _ => format!(
            "{name}: {reason}. Cancel it at the registrar before {deadline} (notice period {notice_days} days before the term ends on {term_end}) or the renewal is charged to you.{late}"
        ),
    }
}

/// Roles whose handle breaks the contact policy, with the fix.
pub fn contact_violations(
    obs: &Observation,
    policy: &ContactPolicy,
) -> Option<(Vec<Evidence>, ContactFix)> {
    if !policy.is_enforced() {
        return None;
    }
    let (Some(bill), Some(reg)) = (&obs.billing, &obs.registrar) else {
        return None;
    };
    if !bill.status.expects_registration() {
        return None;
    }
    let reseller = policy.reseller_handle.as_deref();
    let mut evidence = Vec::new();
    let mut fix = ContactFix {
        reseller: Vec::new(),
        reseller_handle: policy.reseller_handle.clone(),
        client: Vec::new(),
        client_id: Some(bill.client_id),
    };
    for (role, source) in &policy.roles {
        // A listing without contacts (CNR without TYPE=ALL) says nothing about them.
        let Some(actual) = role.of(&reg.contacts).filter(|h| !h.is_empty()) else {
            continue;
        };
        let wrong = match (source, reseller) {
            (RoleSource::Reseller, Some(handle)) => !actual.eq_ignore_ascii_case(handle),
            (RoleSource::Client, Some(handle)) => actual.eq_ignore_ascii_case(handle),
            // Without a configured handle the roles cannot be told apart.
            (_, None) => false,
        };
        if !wrong {
            continue;
        }
        evidence.push(Evidence {
            label: format!("{} contact", role.as_str()),
            billing: Some(match source {
                RoleSource::Reseller => format!("reseller handle {}", reseller.unwrap_or("")),
                RoleSource::Client => "the client's own details".into(),
            }),
            registrar: Some(actual.to_string()),
        });
        match source {
            RoleSource::Reseller => fix.reseller.push(*role),
            RoleSource::Client => fix.client.push(*role),
        }
    }
    (!evidence.is_empty()).then_some((evidence, fix))
}

#[cfg(test)]
mod tests;
