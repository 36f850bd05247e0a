//! The writes behind plan actions, one function per kind of write. Each returns what the
//! audit line records: the system, the operation and the result text. Claims, audit and
//! recovery are the caller's (`fix.rs`); these functions only write.

use crate::Engine;
use domwatch_core::plan::Action;
use domwatch_core::ports::{PremiumAcceptance, RenewRequest};
use domwatch_core::{DomainName, Money};
use domwatch_store::CaseRecord;
use domwatch_whmcs::actions::{DomainUpdate, InvoiceUpdate};
use domwatch_whmcs::db::PremiumCost;

/// What one write did, for the audit line.
pub(crate) struct Written {
    pub system: String,
    pub operation: String,
    pub result: Result<String, String>,
}

impl Written {
    fn billing(operation: &str, result: Result<String, String>) -> Self {
        Self {
            system: "billing".into(),
            operation: operation.into(),
            result,
        }
    }

    fn registrar(account: &str, operation: &str, result: Result<String, String>) -> Self {
        Self {
            system: format!("registrar:{account}"),
            operation: operation.into(),
            result,
        }
    }
}

/// The WHMCS domain update an action asks for, with the words the audit line uses.
fn domain_update(action: &Action) -> Option<(u64, DomainUpdate, String)> {
    let none = DomainUpdate::default;
    Some(match action {
        Action::SetRecurringAmount { domain_id, amount } => (
            *domain_id,
            DomainUpdate {
                recurring_amount: Some(amount.amount),
                ..none()
            },
            format!("recurring amount {amount}"),
        ),
        Action::SetBillingExpiry { domain_id, date } => (
            *domain_id,
            DomainUpdate {
                expiry: Some(*date),
                ..none()
            },
            format!("expiry {date}"),
        ),
        Action::SetNextDueDate { domain_id, date } => (
            *domain_id,
            DomainUpdate {
                next_due: Some(*date),
                ..none()
            },
            format!("next due date {date}"),
        ),
        Action::SetBillingStatus { domain_id, status } => (
            *domain_id,
            DomainUpdate {
                status: Some(status.clone()),
                ..none()
            },
            format!("status {}", status.as_whmcs()),
        ),
        Action::SetIdProtection { domain_id, on } => (
            *domain_id,
            DomainUpdate {
                id_protection: Some(*on),
                ..none()
            },
            id_protection_text(*on),
        ),
        _ => return None,
    })
}

/// The registrar account and the operation name (for the audit line) of a registrar write.
fn registrar_target(action: &Action) -> Option<(&str, String)> {
    Some(match action {
        Action::SetRenewalMode { account, .. } => (account, "SetDomainRenewalMode".into()),
        Action::RetryRenewal { account, .. } => (account, "RenewDomain".into()),
        Action::PlaceCancellation {
            account, method, ..
        } => (account, method.operation().to_string()),
        Action::WithdrawCancellation { account, .. } => (account, "withdraw-cancellation".into()),
        Action::SetContacts { account, .. } => (account, "modify-contacts".into()),
        Action::SetWhoisPrivacy { account, .. } => (account, "set-whois-privacy".into()),
        Action::SetTransferLock { account, .. } => (account, "set-transfer-lock".into()),
        _ => return None,
    })
}

/// The outside system an action writes to, as bulk fixes rate-limit it: `whmcs`, or
/// `registrar:<account>`; `manual` for a step nobody but a person does.
pub(crate) fn target_system(action: &Action) -> String {
    if let Some((account, _)) = registrar_target(action) {
        return format!("registrar:{account}");
    }
    match action.target() {
        domwatch_core::plan::Target::Manual => "manual".into(),
        _ => "whmcs".into(),
    }
}

impl Engine {
    /// Performs the write an action stands for.
    pub(crate) async fn execute(&self, case: &CaseRecord, action: &Action) -> Written {
        if let Some((domain_id, update, done)) = domain_update(action) {
            let r = self.billing.update_domain(domain_id, &update).await;
            return Written::billing(
                "UpdateClientDomain",
                r.map(|()| done).map_err(|e| e.to_string()),
            );
        }
        if let Some((account, operation)) = registrar_target(action) {
            let result = match self.account(account) {
                None => Err(not_configured(account)),
                Some(acc) => self.registrar_write(case, acc, action).await,
            };
            return Written::registrar(account, &operation, result);
        }
        match action {
            Action::CancelInvoice { invoice_id } => {
                self.set_invoice_status(*invoice_id, "Cancelled").await
            }
            Action::MarkInvoiceRefunded { invoice_id } => {
                self.set_invoice_status(*invoice_id, "Refunded").await
            }
            Action::SetPremiumData {
                domain_id,
                renewal_cost,
                registration_cost,
            } => {
                let r = self
                    .write_premium_data(*domain_id, *renewal_cost, *registration_cost)
                    .await;
                Written::billing("tbldomains_extra", r)
            }
            Action::SetTldPrices { .. } => self.execute_tld_prices(action).await,
            Action::RetryTransfer { domain_id, .. } => Written::billing(
                "DomainTransfer",
                self.billing
                    .transfer_domain(*domain_id, None)
                    .await
                    .map(|()| "transfer requested through WHMCS".to_string())
                    .map_err(|e| e.to_string()),
            ),
            Action::Manual { instruction } => Written {
                system: "manual".into(),
                operation: "manual".into(),
                result: Ok(instruction.clone()),
            },
            _ => unreachable!("a domain update or a registrar write, written above"),
        }
    }

    /// A write at one registrar account (the account is configured).
    async fn registrar_write(
        &self,
        case: &CaseRecord,
        acc: &crate::Account,
        action: &Action,
    ) -> Result<String, String> {
        let port = &acc.port;
        let text = |e: domwatch_core::ports::RegistrarError| e.to_string();
        match action {
            Action::SetRenewalMode { domain, mode, .. } => port
                .set_renewal_mode(domain, mode)
                .await
                .map(|()| format!("renewal mode {}", mode.as_command_value()))
                .map_err(text),
            Action::RetryRenewal {
                domain,
                accept_fee,
                premium_class,
                ..
            } => {
                let acceptance = accept_fee.map(|fee| PremiumAcceptance {
                    class: premium_class.clone(),
                    price: Some(fee),
                });
                self.renew_once(case, acc, domain, acceptance).await
            }
            Action::PlaceCancellation {
                domain,
                method,
                effective,
                billing_domain_id,
                client_id,
                ..
            } => {
                let (domain_id, client) = (*billing_domain_id, *client_id);
                self.place_cancellation(acc, domain, method, *effective, domain_id, client)
                    .await
            }
            Action::WithdrawCancellation {
                domain,
                restore_mode,
                ..
            } => port
                .withdraw_cancellation(domain, restore_mode)
                .await
                .map(|()| "cancellation withdrawn".to_string())
                .map_err(text),
            Action::SetContacts {
                domain,
                reseller_roles,
                reseller_handle,
                client_roles,
                client_id,
                ..
            } => {
                let handle = reseller_handle.as_deref();
                self.set_contacts(
                    acc,
                    domain,
                    reseller_roles,
                    handle,
                    client_roles,
                    *client_id,
                )
                .await
            }
            Action::SetWhoisPrivacy { domain, on, .. } => port
                .set_whois_privacy(domain, *on)
                .await
                .map(|()| whois_privacy_text(*on))
                .map_err(text),
            Action::SetTransferLock { domain, locked, .. } => port
                .set_transfer_lock(domain, *locked)
                .await
                .map(|()| transfer_lock_text(*locked))
                .map_err(text),
            _ => unreachable!("registrar_target names registrar writes only"),
        }
    }

    async fn set_invoice_status(&self, invoice_id: u64, status: &str) -> Written {
        let update = InvoiceUpdate {
            status: Some(status.into()),
            ..InvoiceUpdate::default()
        };
        Written::billing(
            "UpdateInvoice",
            self.billing
                .update_invoice(invoice_id, &update)
                .await
                .map(|()| format!("invoice #{invoice_id} {status}"))
                .map_err(|e| e.to_string()),
        )
    }

    async fn write_premium_data(
        &self,
        domain_id: u64,
        renewal_cost: Money,
        registration_cost: Money,
    ) -> Result<String, String> {
        let Some(db) = &self.whmcs_db else {
            return Err("premium cost data can only be written with direct database access: set whmcs.database_url, or open the domain in WHMCS and set \"Recalculate on Save\"".into());
        };
        let currencies = self.billing.currencies().await.map_err(|e| e.to_string())?;
        let Some(currency_id) = currencies
            .iter()
            .find(|c| c.code == renewal_cost.currency)
            .map(|c| c.id)
        else {
            return Err(format!(
                "currency {} is not configured in WHMCS: add it under System Settings > Currencies",
                renewal_cost.currency
            ));
        };
        let cost = PremiumCost {
            registration_cost: registration_cost.amount,
            renewal_cost: renewal_cost.amount,
            currency_id,
        };
        let written = async {
            db.write_premium_cost(domain_id, &cost).await?;
            db.set_is_premium(domain_id, true).await
        };
        written
            .await
            .map(|()| format!("premium, renewal cost {renewal_cost}"))
            .map_err(|e| e.to_string())
    }

    /// Renewing is not idempotent: look first, so a rerun after a crash never renews twice.
    async fn renew_once(
        &self,
        case: &CaseRecord,
        acc: &crate::Account,
        domain: &DomainName,
        premium: Option<PremiumAcceptance>,
    ) -> Result<String, String> {
        let expected = case
            .finding
            .evidence
            .iter()
            .find(|e| e.label == "Expiry")
            .and_then(|e| e.registrar.as_deref())
            .and_then(|s| s.parse::<chrono::NaiveDate>().ok());
        let current_expiry = match acc.port.status_domain(domain).await {
            Ok(d) => d.effective_expiry(),
            Err(e) => return Err(format!("status check before renewing failed: {e}")),
        };
        if let (Some(now), Some(before)) = (current_expiry, expected) {
            if now > before {
                return Ok(format!("already renewed: now paid until {now}"));
            }
        }
        let request = RenewRequest {
            name: domain.clone(),
            period_years: 1,
            current_expiry_year: current_expiry.map(|d| chrono::Datelike::year(&d)),
            premium,
        };
        acc.port
            .renew(&request)
            .await
            .map(|o| match o.new_expiry {
                Some(d) => format!("renewed, now expires {d}"),
                None => "renewed".into(),
            })
            .map_err(|e| e.to_string())
    }
}

pub(crate) fn id_protection_text(on: bool) -> String {
    if on {
        "ID protection billed"
    } else {
        "ID protection not billed"
    }
    .into()
}

pub(crate) fn whois_privacy_text(on: bool) -> String {
    format!("WHOIS privacy {}", if on { "on" } else { "off" })
}

pub(crate) fn transfer_lock_text(locked: bool) -> String {
    format!("transfer lock {}", if locked { "on" } else { "off" })
}

fn not_configured(account: &str) -> String {
    format!("registrar account `{account}` is not configured")
}
