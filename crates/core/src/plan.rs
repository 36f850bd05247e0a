//! Fix plans and guides. A plan is a list of [`Action`]s that fixes one finding; the
//! engine shows it before anything is written ("Fix now" preview), then applies it with
//! each action's [`Action::idempotency_key`] recorded, so a rerun after a crash skips
//! what already happened.

use crate::detect::{CaseKind, Finding};
use crate::lifecycle::ContactRole;
use crate::model::{BillingStatus, RenewalMode};
use crate::money::Money;
use crate::name::DomainName;
use crate::ports::CancellationMethod;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

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
            | Action::RetryTransfer { .. } => Target::Billing,
            Action::SetRenewalMode { .. }
            | Action::RetryRenewal { .. }
            | Action::PlaceCancellation { .. }
            | Action::WithdrawCancellation { .. }
            | Action::SetContacts { .. } => Target::Registrar,
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

/// The ways to fix a finding, recommended first. Empty when only a person can decide.
pub fn plan(finding: &Finding) -> Vec<PlanOption> {
    let f = &finding.facts;
    let domain = finding.domain.clone();
    let account = finding.registrar_account.clone().unwrap_or_default();
    let id = finding.billing_domain_id;

    let reprice = |actions: &mut Vec<Action>, premium: bool| {
        let Some(id) = id else { return };
        if premium {
            if let Some(cost) = f.registrar_renewal_cost {
                actions.push(Action::SetPremiumData {
                    domain_id: id,
                    renewal_cost: cost,
                    registration_cost: cost,
                });
            }
        }
        if let Some(amount) = f.proposed_recurring_amount {
            actions.push(Action::SetRecurringAmount {
                domain_id: id,
                amount,
            });
        }
    };

    match finding.kind {
        CaseKind::TurnedPremium | CaseKind::PremiumDataMissing => {
            let mut a = Vec::new();
            reprice(&mut a, true);
            vec![option(
                "reprice",
                "Record the premium cost and bill the client the premium renewal price (cost + your markup)",
                a,
            )]
        }
        CaseKind::RenewalUnderpriced | CaseKind::MarginBelowMinimum => {
            let mut a = Vec::new();
            reprice(&mut a, false);
            vec![option("reprice", "Raise the recurring amount to cost + your markup", a)]
        }
        CaseKind::PaidNotRenewed => vec![option(
            "renew",
            "Renew the domain at the registrar now (the client has paid)",
            vec![Action::RetryRenewal {
                account,
                domain,
                accept_fee: None,
                premium_class: None,
            }],
        )],
        CaseKind::RenewalFailedPremium => {
            let mut refund = Vec::new();
            reprice(&mut refund, true);
            if let Some(inv) = f.renewal_invoice_id {
                refund.push(Action::MarkInvoiceRefunded { invoice_id: inv });
            }
            refund.push(Action::Manual {
                instruction: format!(
                    "Tell the client that {} is premium now and ask them to renew again at the new price",
                    domain.display()
                ),
            });
            let mut absorb = Vec::new();
            reprice(&mut absorb, true);
            absorb.push(Action::RetryRenewal {
                account,
                domain: domain.clone(),
                accept_fee: f.registrar_renewal_cost,
                premium_class: f.premium_class.clone(),
            });
            vec![
                option(
                    "refund",
                    "Reprice as premium, refund the renewal invoice and let the client renew at the new price",
                    refund,
                ),
                option(
                    "absorb",
                    "Reprice as premium for next year and renew now accepting the premium fee (you pay the difference once)",
                    absorb,
                ),
            ]
        }
        CaseKind::TransferFailedPremium => {
            let Some(id) = id else { return Vec::new() };
            let mut refund = Vec::new();
            reprice(&mut refund, true);
            refund.push(Action::SetBillingStatus { domain_id: id, status: BillingStatus::Cancelled });
            refund.push(Action::Manual {
                instruction: format!(
                    "Refund the transfer invoice of {} and offer the client the transfer at the premium price",
                    domain.display()
                ),
            });
            let mut absorb = Vec::new();
            reprice(&mut absorb, true);
            absorb.push(Action::RetryTransfer {
                domain_id: id,
                domain,
                accept_fee: f.registrar_renewal_cost,
                premium_class: f.premium_class.clone(),
            });
            vec![
                option("refund", "Cancel the transfer order, refund it and offer the premium price", refund),
                option("absorb", "Retry the transfer accepting the premium fee", absorb),
            ]
        }
        CaseKind::TransferFailed => {
            let Some(id) = id else { return Vec::new() };
            vec![option(
                "retry",
                "Check the auth code and transfer lock with the client, then retry the transfer",
                vec![
                    Action::Manual {
                        instruction: format!(
                            "Confirm with the client that {} is unlocked at the losing registrar and the auth code is current",
                            domain.display()
                        ),
                    },
                    Action::RetryTransfer { domain_id: id, domain, accept_fee: None, premium_class: None },
                ],
            )]
        }
        CaseKind::ExpiryDrift => match (id, f.proposed_expiry) {
            (Some(id), Some(date)) => vec![option(
                "sync",
                "Take the registrar's date for expiry and next due date",
                vec![
                    Action::SetBillingExpiry { domain_id: id, date },
                    Action::SetNextDueDate { domain_id: id, date },
                ],
            )],
            _ => vec![option(
                "check",
                "The registrar's date is implausible: check the domain at the registrar and correct it by hand",
                vec![Action::Manual {
                    instruction: format!(
                        "Look up {} at the registrar and the registry (WHOIS/RDAP) and enter the right expiry date in WHMCS",
                        domain.display()
                    ),
                }],
            )],
        },
        CaseKind::StatusDrift => {
            let mut options = vec![option(
                "stop-renewal",
                "Let the domain expire at the registrar (nobody pays for it any more)",
                vec![Action::SetRenewalMode { account, domain, mode: RenewalMode::AutoExpire }],
            )];
            if let Some(id) = id {
                options.push(option(
                    "reactivate",
                    "The client still wants it: set it Active in billing again",
                    vec![Action::SetBillingStatus { domain_id: id, status: BillingStatus::Active }],
                ));
            }
            options
        }
        CaseKind::RenewalModeDrift => vec![option(
            "stop-renewal",
            "Set the registrar to let the domain expire, as billing says",
            vec![Action::SetRenewalMode { account, domain, mode: RenewalMode::AutoExpire }],
        )],
        CaseKind::OrphanAtRegistrar => vec![
            option(
                "import",
                "Assign the domain to its client in WHMCS (Domain Registrations > Add / the registrar's import tool)",
                vec![Action::Manual {
                    instruction: format!("Add {} to the owning client in WHMCS", domain.display()),
                }],
            ),
            option(
                "stop-renewal",
                "Nobody should have it: let it expire at the registrar",
                vec![Action::SetRenewalMode { account, domain, mode: RenewalMode::AutoExpire }],
            ),
        ],
        CaseKind::CancellationDue => {
            let Some(c) = &f.cancellation else {
                return vec![option(
                    "check",
                    "Check the renewal invoice and cancel at the registrar by hand if it stays unpaid",
                    vec![Action::Manual {
                        instruction: format!("Cancel {} at the registrar if the client does not pay", domain.display()),
                    }],
                )];
            };
            let keep = Action::Manual {
                instruction: format!(
                    "Keep {}: remind the client to pay{}; if they do not, the renewal on {} is charged to you",
                    domain.display(),
                    f.renewal_invoice_id.map(|i| format!(" invoice #{i}")).unwrap_or_default(),
                    c.term_end
                ),
            };
            if c.pending {
                vec![
                    option(
                        "wait",
                        "Nothing to do: the cancellation is at the registrar and is withdrawn automatically if the client pays",
                        vec![Action::Manual {
                            instruction: format!(
                                "Wait: {} is let go on {} unless the client pays",
                                domain.display(),
                                c.term_end
                            ),
                        }],
                    ),
                    option(
                        "withdraw",
                        "Keep the domain after all: withdraw the cancellation now",
                        vec![Action::WithdrawCancellation {
                            account,
                            domain,
                            restore_mode: c.restore_mode.clone(),
                            effective: c.term_end,
                        }],
                    ),
                ]
            } else {
                vec![
                    option(
                        "cancel",
                        "Place the cancellation at the registrar now (withdrawn automatically if the client pays later)",
                        vec![Action::PlaceCancellation {
                            account,
                            domain,
                            method: c.method.clone(),
                            effective: c.term_end,
                            billing_domain_id: Some(c.billing_domain_id),
                            client_id: Some(c.client_id),
                        }],
                    ),
                    option("keep", "Keep renewing it at your risk", vec![keep]),
                ]
            }
        }
        CaseKind::CancellationWithdrawalDue => {
            let Some(c) = &f.cancellation else {
                return vec![option(
                    "check",
                    "Withdraw the cancellation at the registrar by hand",
                    vec![Action::Manual {
                        instruction: format!("Withdraw the pending cancellation of {} at the registrar", domain.display()),
                    }],
                )];
            };
            vec![option(
                "withdraw",
                "Withdraw the cancellation: the client has paid",
                vec![Action::WithdrawCancellation {
                    account,
                    domain,
                    restore_mode: c.restore_mode.clone(),
                    effective: c.term_end,
                }],
            )]
        }
        CaseKind::ContactPolicyViolation => {
            let Some(fix) = &f.contact_fix else {
                return vec![option(
                    "check",
                    "Correct the contacts by hand",
                    vec![Action::Manual {
                        instruction: format!("Set the contacts of {} as your policy says", domain.display()),
                    }],
                )];
            };
            vec![option(
                "apply-policy",
                "Set the contacts as the policy says",
                vec![Action::SetContacts {
                    account,
                    domain,
                    reseller_roles: fix.reseller.clone(),
                    reseller_handle: fix.reseller_handle.clone(),
                    client_roles: fix.client.clone(),
                    client_id: fix.client_id,
                }],
            )]
        }
        CaseKind::MissingAtRegistrar => {
            let Some(id) = id else { return Vec::new() };
            vec![
                option(
                    "transferred-away",
                    "The domain was transferred to another registrar: mark it Transferred Away",
                    vec![Action::SetBillingStatus { domain_id: id, status: BillingStatus::TransferredAway }],
                ),
                option(
                    "cancel",
                    "The domain was deleted: mark it Cancelled so no renewal invoice is raised",
                    vec![Action::SetBillingStatus { domain_id: id, status: BillingStatus::Cancelled }],
                ),
            ]
        }
    }
}

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
            CaseKind::CancellationDue => format!(
                "If it is not cancelled in time the registrar renews {name} and charges you {m} that nobody pays."
            ),
            _ => format!("You pay {m} per renewal out of your own margin until this is fixed."),
        },
        _ => match finding.kind {
            CaseKind::CancellationWithdrawalDue => {
                format!("The client paid; if the cancellation stands they lose {name} and you owe them the renewal.")
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::{detect, DetectionPolicy, Facts, Observation};
    use crate::model::{BillingDomain, PremiumInfo, RegistrarDomain};
    use crate::money::{Currency, RateTable};
    use rust_decimal_macros::dec;

    fn finding(kind: CaseKind, facts: Facts) -> Finding {
        Finding {
            kind,
            domain: DomainName::parse("müller.shop").unwrap(),
            billing_domain_id: Some(7),
            registrar_account: Some("cnr".into()),
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
