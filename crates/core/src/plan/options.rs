//! The ways to fix each kind of finding: one method per kind, recommended option first.

use super::{option, Action, PlanOption};
use crate::detect::{CaseKind, Facts, Finding};
use crate::lifecycle::CancellationFacts;
use crate::model::{BillingStatus, RenewalMode};
use crate::name::DomainName;

/// The ways to fix a finding, recommended first. Empty when only a person can decide.
pub fn plan(finding: &Finding) -> Vec<PlanOption> {
    let p = Planner {
        f: &finding.facts,
        domain: finding.domain.clone(),
        account: finding.registrar_account.clone().unwrap_or_default(),
        id: finding.billing_domain_id,
    };
    match finding.kind {
        CaseKind::TurnedPremium | CaseKind::PremiumDataMissing => vec![option(
            "reprice",
            "Record the premium cost and bill the client the premium renewal price (cost + your markup)",
            p.reprice(true),
        )],
        CaseKind::RenewalUnderpriced | CaseKind::MarginBelowMinimum => vec![option(
            "reprice",
            "Raise the recurring amount to cost + your markup",
            p.reprice(false),
        )],
        CaseKind::PaidNotRenewed => p.paid_not_renewed(),
        CaseKind::RenewalFailedPremium => p.renewal_failed_premium(),
        CaseKind::TransferFailedPremium => p.transfer_failed_premium(),
        CaseKind::TransferFailed => p.transfer_failed(),
        CaseKind::ExpiryDrift => p.expiry_drift(),
        CaseKind::StatusDrift => p.status_drift(),
        CaseKind::RenewalModeDrift => vec![p.stop_renewal(
            "Set the registrar to let the domain expire, as billing says",
        )],
        CaseKind::OrphanAtRegistrar => p.orphan(),
        CaseKind::CancellationDue => p.cancellation_due(),
        CaseKind::CancellationWithdrawalDue => p.withdrawal_due(),
        CaseKind::ContactPolicyViolation => p.contact_policy(),
        CaseKind::MissingAtRegistrar => p.missing_at_registrar(),
        CaseKind::IdProtectionNotBilled => p.id_protection(true),
        CaseKind::IdProtectionBilledNotActive => p.id_protection(false),
        CaseKind::TransferLockOff => p.transfer_lock_off(),
    }
}

struct Planner<'a> {
    f: &'a Facts,
    domain: DomainName,
    account: String,
    id: Option<u64>,
}

fn manual(instruction: String) -> Action {
    Action::Manual { instruction }
}

impl Planner<'_> {
    fn name(&self) -> String {
        self.domain.display()
    }

    /// Premium data (when `premium`) and the proposed recurring amount, for a billed domain.
    fn reprice(&self, premium: bool) -> Vec<Action> {
        let mut actions = Vec::new();
        let Some(id) = self.id else { return actions };
        if premium {
            if let Some(cost) = self.f.registrar_renewal_cost {
                actions.push(Action::SetPremiumData {
                    domain_id: id,
                    renewal_cost: cost,
                    registration_cost: cost,
                });
            }
        }
        if let Some(amount) = self.f.proposed_recurring_amount {
            actions.push(Action::SetRecurringAmount {
                domain_id: id,
                amount,
            });
        }
        actions
    }

    fn set_status(id: u64, status: BillingStatus) -> Action {
        Action::SetBillingStatus {
            domain_id: id,
            status,
        }
    }

    fn stop_renewal(&self, description: &str) -> PlanOption {
        option(
            "stop-renewal",
            description,
            vec![Action::SetRenewalMode {
                account: self.account.clone(),
                domain: self.domain.clone(),
                mode: RenewalMode::AutoExpire,
            }],
        )
    }

    fn paid_not_renewed(&self) -> Vec<PlanOption> {
        vec![option(
            "renew",
            "Renew the domain at the registrar now (the client has paid)",
            vec![Action::RetryRenewal {
                account: self.account.clone(),
                domain: self.domain.clone(),
                accept_fee: None,
                premium_class: None,
            }],
        )]
    }

    fn renewal_failed_premium(&self) -> Vec<PlanOption> {
        let mut refund = self.reprice(true);
        if let Some(inv) = self.f.renewal_invoice_id {
            refund.push(Action::MarkInvoiceRefunded { invoice_id: inv });
        }
        refund.push(manual(format!(
            "Tell the client that {} is premium now and ask them to renew again at the new price",
            self.name()
        )));
        let mut absorb = self.reprice(true);
        absorb.push(Action::RetryRenewal {
            account: self.account.clone(),
            domain: self.domain.clone(),
            accept_fee: self.f.registrar_renewal_cost,
            premium_class: self.f.premium_class.clone(),
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

    fn transfer_failed_premium(&self) -> Vec<PlanOption> {
        let Some(id) = self.id else {
            return Vec::new();
        };
        let mut refund = self.reprice(true);
        refund.push(Self::set_status(id, BillingStatus::Cancelled));
        refund.push(manual(format!(
            "Refund the transfer invoice of {} and offer the client the transfer at the premium price",
            self.name()
        )));
        let mut absorb = self.reprice(true);
        absorb.push(Action::RetryTransfer {
            domain_id: id,
            domain: self.domain.clone(),
            accept_fee: self.f.registrar_renewal_cost,
            premium_class: self.f.premium_class.clone(),
        });
        vec![
            option(
                "refund",
                "Cancel the transfer order, refund it and offer the premium price",
                refund,
            ),
            option(
                "absorb",
                "Retry the transfer accepting the premium fee",
                absorb,
            ),
        ]
    }

    fn transfer_failed(&self) -> Vec<PlanOption> {
        let Some(id) = self.id else {
            return Vec::new();
        };
        vec![option(
            "retry",
            "Check the auth code and transfer lock with the client, then retry the transfer",
            vec![
                manual(format!(
                    "Confirm with the client that {} is unlocked at the losing registrar and the auth code is current",
                    self.name()
                )),
                Action::RetryTransfer {
                    domain_id: id,
                    domain: self.domain.clone(),
                    accept_fee: None,
                    premium_class: None,
                },
            ],
        )]
    }

    fn expiry_drift(&self) -> Vec<PlanOption> {
        match (self.id, self.f.proposed_expiry) {
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
                vec![manual(format!(
                    "Look up {} at the registrar and the registry (WHOIS/RDAP) and enter the right expiry date in WHMCS",
                    self.name()
                ))],
            )],
        }
    }

    fn status_drift(&self) -> Vec<PlanOption> {
        let mut options = vec![self
            .stop_renewal("Let the domain expire at the registrar (nobody pays for it any more)")];
        if let Some(id) = self.id {
            options.push(option(
                "reactivate",
                "The client still wants it: set it Active in billing again",
                vec![Self::set_status(id, BillingStatus::Active)],
            ));
        }
        options
    }

    fn orphan(&self) -> Vec<PlanOption> {
        vec![
            option(
                "import",
                "Assign the domain to its client in WHMCS (Domain Registrations > Add / the registrar's import tool)",
                vec![manual(format!(
                    "Add {} to the owning client in WHMCS",
                    self.name()
                ))],
            ),
            self.stop_renewal("Nobody should have it: let it expire at the registrar"),
        ]
    }

    fn cancellation_due(&self) -> Vec<PlanOption> {
        let Some(c) = &self.f.cancellation else {
            return vec![option(
                "check",
                "Check the renewal invoice and cancel at the registrar by hand if it stays unpaid",
                vec![manual(format!(
                    "Cancel {} at the registrar if the client does not pay",
                    self.name()
                ))],
            )];
        };
        if c.pending {
            return vec![
                option(
                    "wait",
                    "Nothing to do: the cancellation is at the registrar and is withdrawn automatically if the client pays",
                    vec![manual(format!(
                        "Wait: {} is let go on {} unless the client pays",
                        self.name(),
                        c.term_end
                    ))],
                ),
                option(
                    "withdraw",
                    "Keep the domain after all: withdraw the cancellation now",
                    vec![self.withdraw(c)],
                ),
            ];
        }
        let keep = manual(format!(
            "Keep {}: remind the client to pay{}; if they do not, the renewal on {} is charged to you",
            self.name(),
            self.f
                .renewal_invoice_id
                .map(|i| format!(" invoice #{i}"))
                .unwrap_or_default(),
            c.term_end
        ));
        vec![
            option(
                "cancel",
                "Place the cancellation at the registrar now (withdrawn automatically if the client pays later)",
                vec![Action::PlaceCancellation {
                    account: self.account.clone(),
                    domain: self.domain.clone(),
                    method: c.method.clone(),
                    effective: c.term_end,
                    billing_domain_id: Some(c.billing_domain_id),
                    client_id: Some(c.client_id),
                }],
            ),
            option("keep", "Keep renewing it at your risk", vec![keep]),
        ]
    }

    fn withdraw(&self, c: &CancellationFacts) -> Action {
        Action::WithdrawCancellation {
            account: self.account.clone(),
            domain: self.domain.clone(),
            restore_mode: c.restore_mode.clone(),
            effective: c.term_end,
        }
    }

    fn withdrawal_due(&self) -> Vec<PlanOption> {
        let Some(c) = &self.f.cancellation else {
            return vec![option(
                "check",
                "Withdraw the cancellation at the registrar by hand",
                vec![manual(format!(
                    "Withdraw the pending cancellation of {} at the registrar",
                    self.name()
                ))],
            )];
        };
        vec![option(
            "withdraw",
            "Withdraw the cancellation: the client has paid",
            vec![self.withdraw(c)],
        )]
    }

    fn contact_policy(&self) -> Vec<PlanOption> {
        let Some(fix) = &self.f.contact_fix else {
            return vec![option(
                "check",
                "Correct the contacts by hand",
                vec![manual(format!(
                    "Set the contacts of {} as your policy says",
                    self.name()
                ))],
            )];
        };
        vec![option(
            "apply-policy",
            "Set the contacts as the policy says",
            vec![Action::SetContacts {
                account: self.account.clone(),
                domain: self.domain.clone(),
                reseller_roles: fix.reseller.clone(),
                reseller_handle: fix.reseller_handle.clone(),
                client_roles: fix.client.clone(),
                client_id: fix.client_id,
            }],
        )]
    }

    fn missing_at_registrar(&self) -> Vec<PlanOption> {
        let Some(id) = self.id else {
            return Vec::new();
        };
        vec![
            option(
                "transferred-away",
                "The domain was transferred to another registrar: mark it Transferred Away",
                vec![Self::set_status(id, BillingStatus::TransferredAway)],
            ),
            option(
                "cancel",
                "The domain was deleted: mark it Cancelled so no renewal invoice is raised",
                vec![Self::set_status(id, BillingStatus::Cancelled)],
            ),
        ]
    }

    /// ID protection on one side only (`active`: privacy is on at the registrar): bill
    /// what the registrar does, or make the registrar do what is billed.
    fn id_protection(&self, active: bool) -> Vec<PlanOption> {
        let registrar = Action::SetWhoisPrivacy {
            account: self.account.clone(),
            domain: self.domain.clone(),
            on: !active,
        };
        let Some(id) = self.id else {
            return vec![option(
                "registrar",
                "Match the registrar to billing",
                vec![registrar],
            )];
        };
        let billing = Action::SetIdProtection {
            domain_id: id,
            on: active,
        };
        if active {
            vec![
                option(
                    "bill",
                    "Bill the ID protection add-on in WHMCS",
                    vec![billing],
                ),
                option(
                    "disable-privacy",
                    "Turn WHOIS privacy off at the registrar: the client did not order it",
                    vec![registrar],
                ),
            ]
        } else {
            vec![
                option(
                    "enable-privacy",
                    "Turn WHOIS privacy on at the registrar, as the client pays for it",
                    vec![registrar],
                ),
                option(
                    "stop-billing",
                    "Stop billing the ID protection add-on in WHMCS",
                    vec![billing],
                ),
            ]
        }
    }

    fn transfer_lock_off(&self) -> Vec<PlanOption> {
        vec![option(
            "lock",
            "Set the transfer lock at the registrar",
            vec![Action::SetTransferLock {
                account: self.account.clone(),
                domain: self.domain.clone(),
                locked: true,
            }],
        )]
    }
}
