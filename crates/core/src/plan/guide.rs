//! The step-by-step guide shown on a case page, per kind of finding.

use super::{plan, Guide, Target};
use crate::detect::{CaseKind, Finding};

/// The step-by-step guide for a finding.
pub fn guide(finding: &Finding) -> Guide {
    let name = finding.domain.display();
    let what_it_costs = match finding.at_stake {
        Some(m) if m.amount > rust_decimal::Decimal::ZERO => match finding.kind {
            CaseKind::PaidNotRenewed => format!(
                "The client paid {m} and will lose {name} if it expires; you owe them the renewal."
            ),
            CaseKind::OrphanAtRegistrar | CaseKind::StatusDrift | CaseKind::RenewalModeDrift => {
                format!("The registrar will charge you {m} at the next renewal and nobody is billed for it.")
            }
            CaseKind::MissingAtRegistrar => {
                format!("The client is billed {m} per renewal for a domain you do not hold.")
            }
            CaseKind::IdProtectionNotBilled => format!(
                "Your WHMCS price for ID protection is {m} per year; the client does not pay it."
            ),
            CaseKind::CancellationDue => format!(
                "If it is not cancelled in time the registrar renews {name} and charges you {m} that nobody pays."
            ),
            _ => format!("You pay {m} per renewal out of your own margin until this is fixed."),
        },
        _ => match finding.kind {
            CaseKind::CancellationWithdrawalDue => {
                format!("The client paid; if the cancellation stands they lose {name} and you owe them the renewal.")
            }
            CaseKind::IdProtectionNotBilled if crate::detect::id_protection_price_unknown(finding) => {
                "You provide ID protection the client does not pay for (price unknown: see the evidence).".to_string()
            }
            CaseKind::IdProtectionNotBilled => {
                "You provide ID protection the client does not pay for.".to_string()
            }
            CaseKind::IdProtectionBilledNotActive => {
                "The client pays for ID protection and their details are public in WHOIS.".to_string()
            }
            CaseKind::TransferLockOff => {
                "No direct cost; without the lock anyone holding the auth code can transfer the domain away.".to_string()
            }
            CaseKind::ContactPolicyViolation => {
                "No direct cost; the wrong party receives registry mail and can approve changes (transfers, owner changes).".to_string()
            }
            _ => "No direct cost yet, but billing and registrar disagree.".to_string(),
        },
    };
    let mut steps: Vec<String> = match finding.kind {
        CaseKind::TurnedPremium | CaseKind::PremiumDataMissing => vec![
            format!("Open Domain Registrations > {name} in WHMCS."),
            "Record the premium renewal cost shown under Evidence (domwatch does this for you with Fix now when it has database access).".into(),
            "Set \"Recalculate on Save\" to Yes and save, or let Fix now set the recurring amount to cost + your markup.".into(),
            "If a renewal invoice at the old price is open, cancel it so a new one is raised at the premium price.".into(),
        ],
        CaseKind::RenewalUnderpriced | CaseKind::MarginBelowMinimum => vec![
            format!("Open Domain Registrations > {name} in WHMCS."),
            "Set the recurring amount to the proposed price (cost + your markup) — Fix now does this.".into(),
            "Check your TLD pricing: WHMCS's price sync does not change existing domains' recurring amounts.".into(),
        ],
        CaseKind::PaidNotRenewed => vec![
            "Check the registrar's error in the WHMCS module log or the to-do list.".into(),
            format!("Renew {name} at the registrar — Fix now does this — and confirm the new expiry date."),
        ],
        CaseKind::RenewalFailedPremium => vec![
            format!("{name} became premium: the registrar refused the renewal at the standard price."),
            "Review the new premium price under Evidence.".into(),
            format!("Open Domain Registrations > {name}, set \"Recalculate on Save\" to Yes and save (Fix now records the premium cost and new price)."),
            "Either cancel and refund the original renewal invoice and let the client renew again via the client area,".into(),
            "or renew now accepting the premium fee and absorb the difference once.".into(),
        ],
        CaseKind::TransferFailedPremium => vec![
            format!("{name} is premium: the transfer was refused because the premium fee was not accepted."),
            "Review the premium transfer price under Evidence.".into(),
            "Update the billing (Recalculate on Save), cancel and refund the original transfer invoice and order if needed,".into(),
            "then start the transfer again via the client area — or retry it accepting the fee.".into(),
        ],
        CaseKind::TransferFailed => vec![
            "Read the registrar's reason under Evidence.".into(),
            "Ask the client for a fresh auth code and to remove the transfer lock at the losing registrar.".into(),
            "Retry the transfer.".into(),
        ],
        CaseKind::ExpiryDrift => vec![
            format!("Compare the dates under Evidence; the registrar's paid-until date is what {name} is paid for."),
            "Fix now sets the WHMCS expiry and next due date to the registrar's date (never a date before 1990 or more than ten years ahead).".into(),
        ],
        CaseKind::StatusDrift => vec![
            format!("{name} is no longer billed but the registrar keeps renewing it."),
            "If the client left: let it expire at the registrar (Fix now sets AUTOEXPIRE).".into(),
            "If the cancellation was a mistake: set the domain Active in WHMCS again.".into(),
        ],
        CaseKind::RenewalModeDrift => vec![
            "The client will not be invoiced, but the registrar renews automatically.".into(),
            "Set the registrar renewal mode to AUTOEXPIRE (Fix now), or remove Do Not Renew in WHMCS if the client wants to keep it.".into(),
        ],
        CaseKind::OrphanAtRegistrar => vec![
            format!("Find out who owns {name} (owner contact under Evidence)."),
            "Add it to that client in WHMCS, or let it expire at the registrar if nobody needs it.".into(),
        ],
        CaseKind::MissingAtRegistrar => vec![
            format!("Check {name} in WHOIS/RDAP: was it transferred away or deleted?"),
            "Mark it Transferred Away or Cancelled in WHMCS so no renewal invoice is raised.".into(),
        ],
        CaseKind::CancellationDue => {
            let c = finding.facts.cancellation.as_ref();
            let deadline = c.map(|c| c.deadline.to_string()).unwrap_or_else(|| "the notice period".into());
            vec![
                format!("The renewal of {name} is not paid (see Evidence)."),
                format!("The registry's notice period means the cancellation must be at the registrar by {deadline}."),
                "Contact the client: if they pay, nothing else is needed (domwatch withdraws a pending cancellation automatically).".into(),
                match c.map(|c| c.mode) {
                    Some(crate::lifecycle::AutoDeleteMode::Enabled) => "Auto delete is enabled: domwatch places the cancellation itself and notes it in the audit log and a ticket.".into(),
                    _ => format!("If they will not pay, cancel {name} at the registrar before {deadline} — Fix now does it."),
                },
            ]
        }
        CaseKind::CancellationWithdrawalDue => vec![
            format!("The client paid the renewal of {name}, but a cancellation is pending at the registrar."),
            "Withdraw it (Smart-NIC domainRevoke; CNR/ISPAPI renewal mode back) — domwatch does this automatically in every auto delete mode; Fix now does it at once.".into(),
            "Check the domain renews as usual.".into(),
        ],
        CaseKind::ContactPolicyViolation => vec![
            "Compare the handles under Evidence with your contact policy.".into(),
            "Fix now puts your reseller handle on the reseller roles (one handle for all domains) and a handle with the client's WHMCS details on the client roles, reusing an identical handle.".into(),
            "Some registries send a confirmation to the old or new contact: watch for it.".into(),
        ],
        CaseKind::IdProtectionNotBilled => vec![
            format!("WHOIS privacy is on for {name} at the registrar, but WHMCS does not bill ID protection."),
            format!("If the client ordered it: tick ID Protection under Domain Registrations > {name} in WHMCS (Fix now: option bill)."),
            "If nobody ordered it: turn WHOIS privacy off at the registrar (Fix now: option disable-privacy).".into(),
        ],
        CaseKind::IdProtectionBilledNotActive => vec![
            format!("The client pays for ID protection of {name}, but WHOIS privacy is off at the registrar."),
            "Turn WHOIS privacy on at the registrar (Fix now: option enable-privacy; Smart-NIC: in its panel).".into(),
            format!("If the client cancelled it: untick ID Protection under Domain Registrations > {name} in WHMCS (option stop-billing)."),
        ],
        CaseKind::TransferLockOff => vec![
            format!("{name} has no transfer lock (clientTransferProhibited) at the registrar, although its zone supports one."),
            "If the client asked for a transfer out, leave it and resolve the case after the transfer.".into(),
            "Otherwise set the lock (Fix now sets TRANSFERLOCK=1). Zones without a lock and accounts with transfer_lock = false are never flagged.".into(),
        ],
    };
    if plan(finding)
        .iter()
        .any(|o| o.actions.iter().any(|a| a.target() != Target::Manual))
    {
        steps.push("Press Fix now to see the exact changes before anything is written.".into());
    }
    Guide {
        title: finding.kind.title().to_string(),
        what_happened: finding.summary.clone(),
        what_it_costs,
        steps,
    }
}
