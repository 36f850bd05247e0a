//! Recovery of writes whose owner died: a running action whose lease ran out (or whose
//! request in this process is gone) may or may not have been written. Each is looked for
//! at the system it writes to, never guessed:
//! - found in effect: audited as actor `recovery` and finished as applied;
//! - not in effect: released (back to planned), so its case retries it;
//! - could not look (the system is down): left running for the next cycle.

use crate::claim::{owner_is_gone, Owner};
use crate::lifecycle::{cancellation_in_place, RECOVERY_ACTOR};
use crate::{Engine, EngineError};
use domwatch_core::lifecycle::ContactRole;
use domwatch_core::model::{BillingStatus, RegistrarDomain};
use domwatch_core::plan::Action;
use domwatch_core::{DomainName, Money};
use domwatch_store::{ActionRecord, AuditEntry, CaseRecord};
use domwatch_whmcs::actions::ClientDomain;

/// What the outside system shows about a write that may have happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Found {
    InEffect,
    NotInEffect,
    /// The system could not be asked, or cannot tell: why.
    Unknown(String),
}

impl Engine {
    /// Looks at every running action whose owner is gone (lease ran out, its request in this
    /// process was dropped, or its process no longer runs on this machine) and settles it by what the outside system shows. Every
    /// cycle starts its automatic fixes with it.
    pub async fn recover_unfinished_actions(&self) -> Result<(), EngineError> {
        let owner = Owner::new(RECOVERY_ACTOR);
        let now = self.now();
        for record in self.store.running_actions().await? {
            let holder = record.owner.clone().unwrap_or_default();
            let expired = record.lease_until.is_none_or(|until| until < now);
            if !expired && !owner_is_gone(&holder) {
                continue; // its owner is still at work
            }
            let key = &record.idempotency_key;
            if !self
                .store
                .take_over_action(key, &holder, &owner.lease(now))
                .await?
            {
                continue; // finished or taken over meanwhile
            }
            let case = match record.case_id {
                Some(id) => self.store.case(id).await?,
                None => None,
            };
            match self.look_for_write(case.as_ref(), &record.action).await {
                Found::InEffect => {
                    self.record_recovered(&record, &owner).await?;
                }
                Found::NotInEffect => {
                    tracing::info!(action = %key, "an interrupted write is not in effect; its case retries it");
                    self.store.release_action(key, owner.id()).await?;
                }
                Found::Unknown(why) => {
                    tracing::warn!(action = %key, %why, "could not check an interrupted write; checked again next cycle");
                    self.store
                        .expire_action_claim(key, owner.id(), expired_now(now))
                        .await?;
                }
            }
        }
        Ok(())
    }

    /// Audits a write found in effect as actor `recovery` and finishes its action.
    /// Returns the result text, worded as the write itself reports it.
    pub(crate) async fn record_recovered(
        &self,
        record: &ActionRecord,
        owner: &Owner,
    ) -> Result<String, EngineError> {
        let (system, operation) = system_and_operation(&record.action);
        let text = format!(
            "{} (by an earlier run that stopped before recording it; confirmed at {})",
            done_text(&record.action),
            if system == "billing" {
                "WHMCS"
            } else {
                "the registrar"
            }
        );
        tracing::warn!(action = %record.idempotency_key, %operation, "recording a write an interrupted run made");
        let object = match &record.action {
            Action::SetRenewalMode { domain, .. }
            | Action::RetryRenewal { domain, .. }
            | Action::RetryTransfer { domain, .. }
            | Action::PlaceCancellation { domain, .. }
            | Action::WithdrawCancellation { domain, .. }
            | Action::SetContacts { domain, .. }
            | Action::SetWhoisPrivacy { domain, .. }
            | Action::SetTransferLock { domain, .. } => domain.ascii().to_string(),
            Action::CancelInvoice { invoice_id } | Action::MarkInvoiceRefunded { invoice_id } => {
                format!("invoice #{invoice_id}")
            }
            _ => match record.case_id {
                Some(id) => self
                    .store
                    .case(id)
                    .await?
                    .map(|c| c.domain.ascii().to_string())
                    .unwrap_or_default(),
                None => String::new(),
            },
        };
        let entry = AuditEntry {
            at: self.now(),
            actor: RECOVERY_ACTOR.to_string(),
            system,
            operation,
            object,
            request: serde_json::to_value(&record.action).unwrap_or_default(),
            ok: true,
            result: text.clone(),
            case_id: record.case_id,
            run_id: None,
        };
        // An automatic write's notice was queued with its result, which never got recorded:
        // queue it now, so the admin hears of it exactly once like of every automatic write.
        let notice = match (&record.action, record.case_id) {
            (Action::PlaceCancellation { .. } | Action::WithdrawCancellation { .. }, Some(id)) => {
                self.store.case(id).await?.map(|c| c.openings)
            }
            _ => None,
        };
        self.store
            .audit_and_finish_claimed(&entry, &record.idempotency_key, owner.id(), notice)
            .await?;
        Ok(text)
    }

    /// Whether the write of `action` is in effect at its system (`case`: the case it fixes,
    /// for what the action itself does not carry).
    pub(crate) async fn look_for_write(&self, case: Option<&CaseRecord>, action: &Action) -> Found {
        match action {
            Action::SetRecurringAmount { domain_id, amount } => {
                let want = amount.amount;
                self.billing_domain_shows(*domain_id, |d| d.recurring_amount == want)
                    .await
            }
            Action::SetBillingExpiry { domain_id, date } => {
                self.billing_domain_shows(*domain_id, |d| d.expiry == Some(*date))
                    .await
            }
            Action::SetNextDueDate { domain_id, date } => {
                self.billing_domain_shows(*domain_id, |d| d.next_due == Some(*date))
                    .await
            }
            Action::SetBillingStatus { domain_id, status } => {
                self.billing_domain_shows(*domain_id, |d| &d.status == status)
                    .await
            }
            Action::CancelInvoice { invoice_id } => {
                self.invoice_shows(*invoice_id, "Cancelled").await
            }
            Action::MarkInvoiceRefunded { invoice_id } => {
                self.invoice_shows(*invoice_id, "Refunded").await
            }
            Action::SetPremiumData {
                domain_id,
                renewal_cost,
                ..
            } => self.premium_row_shows(*domain_id, renewal_cost).await,
            Action::RetryTransfer {
                domain_id, domain, ..
            } => self.transfer_retried(case, *domain_id, domain).await,
            Action::SetTldPrices { proposal } => self.tld_prices_in_effect(proposal).await,
            Action::SetRenewalMode {
                account,
                domain,
                mode,
            } => {
                self.registrar_shows(account, domain, |d| d.renewal_mode.as_ref() == Some(mode))
                    .await
            }
            Action::RetryRenewal {
                account, domain, ..
            } => self.renewed_past_evidence(case, account, domain).await,
            Action::PlaceCancellation {
                account,
                domain,
                method,
                ..
            } => {
                self.registrar_shows(account, domain, |d| cancellation_in_place(method, d))
                    .await
            }
            Action::WithdrawCancellation {
                account,
                domain,
                restore_mode,
                ..
            } => {
                self.registrar_shows(account, domain, |d| {
                    d.pending_deletion.is_none()
                        && d.renewal_mode.as_ref().is_none_or(|m| m == restore_mode)
                })
                .await
            }
            Action::SetContacts {
                account,
                domain,
                reseller_roles,
                reseller_handle,
                client_roles,
                ..
            } => {
                self.contacts_set(
                    account,
                    domain,
                    reseller_roles,
                    reseller_handle.as_deref(),
                    client_roles,
                )
                .await
            }
            Action::SetIdProtection { domain_id, on } => {
                self.billing_domain_shows(*domain_id, |d| d.id_protection == Some(*on))
                    .await
            }
            Action::SetWhoisPrivacy {
                account,
                domain,
                on,
            } => {
                self.registrar_shows(account, domain, |d| d.whois_privacy == Some(*on))
                    .await
            }
            Action::SetTransferLock {
                account,
                domain,
                locked,
            } => {
                self.registrar_shows(account, domain, |d| d.transfer_lock == Some(*locked))
                    .await
            }
            Action::Manual { .. } => Found::NotInEffect,
        }
    }

    async fn billing_domain_shows(
        &self,
        domain_id: u64,
        in_effect: impl Fn(&ClientDomain) -> bool,
    ) -> Found {
        match self.billing.domain_by_id(domain_id).await {
            Ok(Some(d)) => found(in_effect(&d)),
            Ok(None) => Found::NotInEffect,
            Err(e) => Found::Unknown(format!("reading WHMCS domain #{domain_id}: {e}")),
        }
    }

    async fn invoice_shows(&self, invoice_id: u64, status: &str) -> Found {
        match self.billing.invoice_by_id(invoice_id).await {
            Ok(invoice) => found(invoice.status.eq_ignore_ascii_case(status)),
            Err(e) => Found::Unknown(format!("reading WHMCS invoice #{invoice_id}: {e}")),
        }
    }

    async fn premium_row_shows(&self, domain_id: u64, renewal_cost: &Money) -> Found {
        let Some(db) = &self.whmcs_db else {
            return Found::Unknown(
                "premium data is only readable with whmcs.database_url set".into(),
            );
        };
        match db.premium_record(domain_id).await {
            Ok(row) => {
                found(row.is_premium == Some(true) && row.renewal_cost == Some(renewal_cost.amount))
            }
            Err(e) => Found::Unknown(format!(
                "reading the premium data of WHMCS domain #{domain_id}: {e}"
            )),
        }
    }

    async fn registrar_shows(
        &self,
        account: &str,
        domain: &DomainName,
        in_effect: impl Fn(&RegistrarDomain) -> bool,
    ) -> Found {
        let Some(acc) = self.account(account) else {
            return Found::Unknown(format!("registrar account `{account}` is not configured"));
        };
        match acc.port.status_domain(domain).await {
            Ok(current) => found(in_effect(&current)),
            Err(e) => Found::Unknown(format!("reading {domain} at {account}: {e}")),
        }
    }

    /// A transfer retried through WHMCS: completed (WHMCS shows it active, or the domain
    /// is in the account) or running again at the registrar; still failed: not retried.
    async fn transfer_retried(
        &self,
        case: Option<&CaseRecord>,
        domain_id: u64,
        domain: &DomainName,
    ) -> Found {
        match self.billing.domain_by_id(domain_id).await {
            Ok(Some(d)) if d.status == BillingStatus::Active => return Found::InEffect,
            Ok(_) => {}
            Err(e) => return Found::Unknown(format!("reading WHMCS domain #{domain_id}: {e}")),
        }
        let account = case.and_then(|c| c.finding.registrar_account.as_deref());
        let Some(acc) = account.and_then(|a| self.account(a)) else {
            return Found::Unknown(format!(
                "no configured registrar account is known for {domain}: look at the transfer at the registrar"
            ));
        };
        match acc.port.transfer_status(domain).await {
            Ok(status) => found(!status.has_failed()),
            Err(e) if e.is_not_found() => match acc.port.status_domain(domain).await {
                Ok(_) => Found::InEffect,
                Err(e) if e.is_not_found() => Found::NotInEffect,
                Err(e) => Found::Unknown(format!("reading {domain} at {}: {e}", acc.name)),
            },
            Err(e) => Found::Unknown(format!(
                "reading the transfer of {domain} at {}: {e}",
                acc.name
            )),
        }
    }

    /// A renewal: the registrar's expiry moved past the one the case recorded.
    async fn renewed_past_evidence(
        &self,
        case: Option<&CaseRecord>,
        account: &str,
        domain: &DomainName,
    ) -> Found {
        let before = case
            .and_then(|c| c.finding.evidence.iter().find(|e| e.label == "Expiry"))
            .and_then(|e| e.registrar.as_deref())
            .and_then(|s| s.parse::<chrono::NaiveDate>().ok());
        let Some(before) = before else {
            return Found::Unknown(format!(
                "the case of {domain} records no registrar expiry to compare with: look at the domain at the registrar"
            ));
        };
        self.registrar_shows(account, domain, |d| {
            d.effective_expiry().is_some_and(|now| now > before)
        })
        .await
    }

    /// Contacts: the reseller roles hold the reseller handle. A client handle cannot be
    /// told from the one it replaced, so such a write counts as not in effect: setting
    /// contacts again is harmless (the client handle is reused when identical).
    async fn contacts_set(
        &self,
        account: &str,
        domain: &DomainName,
        reseller_roles: &[ContactRole],
        reseller_handle: Option<&str>,
        client_roles: &[ContactRole],
    ) -> Found {
        self.registrar_shows(account, domain, |d| {
            client_roles.is_empty()
                && reseller_roles
                    .iter()
                    .all(|r| r.of(&d.contacts).is_some() && r.of(&d.contacts) == reseller_handle)
        })
        .await
    }
}

fn found(in_effect: bool) -> Found {
    if in_effect {
        Found::InEffect
    } else {
        Found::NotInEffect
    }
}

/// A lease end that counts as expired on a clock that does not move (tests).
pub(crate) fn expired_now(now: chrono::DateTime<chrono::Utc>) -> chrono::DateTime<chrono::Utc> {
    now - chrono::Duration::seconds(1)
}

/// The system and operation the audit log names for `action`'s write.
pub(crate) fn system_and_operation(action: &Action) -> (String, String) {
    let registrar = |account: &str, op: &str| (format!("registrar:{account}"), op.to_string());
    let billing = |op: &str| ("billing".to_string(), op.to_string());
    match action {
        Action::SetRecurringAmount { .. }
        | Action::SetBillingExpiry { .. }
        | Action::SetNextDueDate { .. }
        | Action::SetBillingStatus { .. }
        | Action::SetIdProtection { .. } => billing("UpdateClientDomain"),
        Action::CancelInvoice { .. } | Action::MarkInvoiceRefunded { .. } => {
            billing("UpdateInvoice")
        }
        Action::SetPremiumData { .. } => billing("tbldomains_extra"),
        Action::SetTldPrices { .. } => billing("tblpricing"),
        Action::RetryTransfer { .. } => billing("DomainTransfer"),
        Action::SetRenewalMode { account, .. } => registrar(account, "SetDomainRenewalMode"),
        Action::RetryRenewal { account, .. } => registrar(account, "RenewDomain"),
        Action::PlaceCancellation {
            account, method, ..
        } => registrar(account, method.operation()),
        Action::WithdrawCancellation { account, .. } => registrar(account, "withdraw-cancellation"),
        Action::SetContacts { account, .. } => registrar(account, "modify-contacts"),
        Action::SetWhoisPrivacy { account, .. } => registrar(account, "set-whois-privacy"),
        Action::SetTransferLock { account, .. } => registrar(account, "set-transfer-lock"),
        Action::Manual { .. } => ("manual".into(), "manual".into()),
    }
}

/// What a write reports when it is done, as its own execution words it.
fn done_text(action: &Action) -> String {
    match action {
        Action::SetRecurringAmount { amount, .. } => format!("recurring amount {amount}"),
        Action::SetBillingExpiry { date, .. } => format!("expiry {date}"),
        Action::SetNextDueDate { date, .. } => format!("next due date {date}"),
        Action::SetBillingStatus { status, .. } => format!("status {}", status.as_whmcs()),
        Action::CancelInvoice { invoice_id } => format!("invoice #{invoice_id} Cancelled"),
        Action::MarkInvoiceRefunded { invoice_id } => format!("invoice #{invoice_id} Refunded"),
        Action::SetPremiumData { renewal_cost, .. } => {
            format!("premium, renewal cost {renewal_cost}")
        }
        Action::RetryTransfer { .. } => "transfer requested through WHMCS".into(),
        Action::SetTldPrices { proposal } => proposal.describe(),
        Action::SetRenewalMode { mode, .. } => {
            format!("renewal mode {}", mode.as_command_value())
        }
        Action::RetryRenewal { .. } => "renewed".into(),
        Action::PlaceCancellation {
            method, effective, ..
        } => format!("cancellation placed ({method}), effective {effective}"),
        Action::WithdrawCancellation { .. } => "cancellation withdrawn".into(),
        Action::SetContacts { .. } => "contacts set".into(),
        Action::SetIdProtection { on, .. } => crate::write::id_protection_text(*on),
        Action::SetWhoisPrivacy { on, .. } => crate::write::whois_privacy_text(*on),
        Action::SetTransferLock { locked, .. } => crate::write::transfer_lock_text(*locked),
        Action::Manual { instruction } => instruction.clone(),
    }
}
