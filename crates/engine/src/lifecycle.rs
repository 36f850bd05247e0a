//! Lifecycle automation: auto delete (place a cancellation before the notice period when
//! the account's mode is `enabled`), withdrawal of a cancellation once the renewal is paid
//! (every mode), and the registrar writes behind the lifecycle and contact-policy actions.
//!
//! Detection stays pure (core `lifecycle`); this module only decides which open cases the
//! scheduler fixes on its own, and performs the writes, each once and audited.

use crate::{CycleReport, Engine, EngineError, Mode, StepOutcome};
use domwatch_core::detect::{CaseKind, Observation};
use domwatch_core::lifecycle::{AutoDeleteMode, ContactRole};
use domwatch_core::model::{ContactHandles, RegistrarDomain};
use domwatch_core::ports::{CancellationMethod, CancellationRequest, ContactDetails};
use domwatch_core::Scope;
use domwatch_store::{CaseFilter, CaseRecord, CaseState};
use domwatch_whmcs::actions::{ClientDetails, DomainInvoiceKind};
use domwatch_whmcs::port::ToDoNotifier;
use std::collections::HashSet;

/// The actor named in the audit log for what the scheduler does on its own.
pub const AUTO_DELETE_ACTOR: &str = "auto-delete";
/// Actor of the audit lines written for a registrar write an earlier, interrupted run made
/// but could not record.
pub const RECOVERY_ACTOR: &str = "recovery";

/// Notice routing beyond the default to-do channel.
#[derive(Clone, Default)]
pub struct NoticeSettings {
    /// Lifecycle cases (cancellations, withdrawals) are opened as tickets by the configured
    /// bot client (WhmcsBot) when set; otherwise they use the default channel.
    pub lifecycle_tickets: Option<ToDoNotifier>,
    /// The address the registrar sends its own notifications about our orders to
    /// (Smart-NIC `notify`).
    pub registrar_notify_email: Option<String>,
    /// domwatch's own e-mail (digest of new cases, lifecycle actions), when SMTP is set up.
    pub mailer: Option<std::sync::Arc<dyn domwatch_mail::Mailer>>,
    /// The host part of the digest's Message-ID (the sender's domain).
    pub mail_host: String,
}

impl Engine {
    /// Domains with an open cancellation case: a renewal mode that lets them expire is the
    /// cancellation domwatch asked for.
    pub(crate) async fn watched_domains(&self) -> Result<HashSet<String>, EngineError> {
        let open = self
            .store
            .cases(CaseFilter {
                state: Some(CaseState::Open),
                kind: Some(CaseKind::CancellationDue),
            })
            .await?;
        Ok(open
            .into_iter()
            .map(|c| c.domain.ascii().to_string())
            .collect())
    }

    pub(crate) fn mark_watched(&self, observations: &mut [Observation], watched: &HashSet<String>) {
        if watched.is_empty() {
            return;
        }
        for o in observations {
            o.lifecycle_watch = watched.contains(o.name.ascii());
        }
    }

    /// The account's auto delete mode for a case (disabled when the account has none).
    fn auto_delete_mode(&self, case: &CaseRecord) -> AutoDeleteMode {
        case.finding
            .registrar_account
            .as_deref()
            .and_then(|a| self.policy.accounts.get(a))
            .map(|p| p.auto_delete.mode)
            .unwrap_or(AutoDeleteMode::Disabled)
    }

    /// Fixes the lifecycle cases the scheduler owns: places cancellations in `enabled`
    /// mode and withdraws cancellations of paid renewals in every mode. Each write is
    /// keyed, so a rerun after a crash never repeats one.
    /// Only cases of domains in this cycle's scope are acted on. A full cycle first
    /// recovers every interrupted write (`recover_unfinished_actions`); a targeted check
    /// leaves other domains' writes to it.
    pub(crate) async fn run_automatic_fixes(
        &self,
        report: &mut CycleReport,
        scope: &Scope,
    ) -> Result<(), EngineError> {
        for kind in [
            CaseKind::CancellationDue,
            CaseKind::CancellationWithdrawalDue,
        ] {
            let cases = self
                .store
                .cases(CaseFilter {
                    state: Some(CaseState::Open),
                    kind: Some(kind),
                })
                .await?;
            for case in cases.into_iter().filter(|c| scope.contains(&c.domain)) {
                let option = match kind {
                    CaseKind::CancellationDue => {
                        let pending = case
                            .finding
                            .facts
                            .cancellation
                            .as_ref()
                            .is_some_and(|c| c.pending);
                        if pending || self.auto_delete_mode(&case) != AutoDeleteMode::Enabled {
                            continue;
                        }
                        "cancel"
                    }
                    _ => "withdraw",
                };
                let fix = match self
                    .fix(case.id, Some(option), Mode::Apply, AUTO_DELETE_ACTOR)
                    .await
                {
                    Ok(fix) => fix,
                    Err(EngineError::InProgress(_, holder)) => {
                        tracing::info!(case = case.id, %holder, "automatic {option} skipped: a fix of the case is in progress");
                        continue;
                    }
                    Err(e) => return Err(e),
                };
                for step in &fix.steps {
                    match &step.outcome {
                        StepOutcome::Applied(_) => {
                            *report
                                .automatic_actions
                                .entry(option.to_string())
                                .or_default() += 1;
                        }
                        StepOutcome::Failed(e) => {
                            tracing::error!(case = case.id, domain = %case.domain, error = %e, "automatic {option} failed; retried next cycle");
                            report
                                .automatic_action_errors
                                .push(format!("case {} ({}): {e}", case.id, case.domain));
                        }
                        _ => {}
                    }
                }
            }
        }
        Ok(())
    }

    /// Places a cancellation, never on a paid domain: WHMCS is asked again right before
    /// writing, and a cancellation already in place (a rerun after a crash) is not repeated.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn place_cancellation(
        &self,
        account: &crate::Account,
        domain: &domwatch_core::DomainName,
        method: &CancellationMethod,
        effective: chrono::NaiveDate,
        billing_domain_id: Option<u64>,
        client_id: Option<u64>,
    ) -> Result<String, String> {
        if let (Some(domain_id), Some(client_id)) = (billing_domain_id, client_id) {
            let invoice = self
                .billing
                .find_domain_invoice(client_id, domain_id, DomainInvoiceKind::Renewal, None)
                .await
                .map_err(|e| format!("could not confirm the renewal is still unpaid ({e}); nothing was cancelled, retried next cycle"))?;
            if let Some(inv) = invoice.filter(|i| i.status.eq_ignore_ascii_case("paid")) {
                return Err(format!(
                    "renewal invoice #{} is paid now: {} is not cancelled",
                    inv.id,
                    domain.unicode()
                ));
            }
        }
        if let Ok(current) = account.port.status_domain(domain).await {
            if cancellation_in_place(method, &current) {
                return Ok("already placed at the registrar: nothing written".into());
            }
        }
        let request = CancellationRequest {
            name: domain.clone(),
            method: method.clone(),
            effective: Some(effective),
            notify_email: self.notices.registrar_notify_email.clone(),
        };
        account
            .port
            .place_cancellation(&request)
            .await
            .map(|()| format!("cancellation placed ({method}), effective {effective}"))
            .map_err(|e| e.to_string())
    }

    pub(crate) async fn set_contacts(
        &self,
        account: &crate::Account,
        domain: &domwatch_core::DomainName,
        reseller_roles: &[ContactRole],
        reseller_handle: Option<&str>,
        client_roles: &[ContactRole],
        client_id: Option<u64>,
    ) -> Result<String, String> {
        let mut handles = ContactHandles::default();
        let mut done = Vec::new();
        if !reseller_roles.is_empty() {
            let handle = reseller_handle.ok_or_else(|| {
                "no reseller handle configured: set registrars.<account>.contacts.reseller_handle".to_string()
            })?;
            for role in reseller_roles {
                role.set(&mut handles, handle.to_string());
            }
            done.push(format!("reseller roles -> {handle}"));
        }
        if !client_roles.is_empty() {
            let client_id = client_id.ok_or("the domain has no WHMCS client")?;
            let client = self
                .billing
                .client_details(client_id)
                .await
                .map_err(|e| format!("reading WHMCS client {client_id}: {e}"))?;
            let details = contact_from_client(&client)?;
            let handle = account
                .port
                .add_contact(&details)
                .await
                .map_err(|e| format!("creating the client handle: {e}"))?;
            for role in client_roles {
                role.set(&mut handles, handle.clone());
            }
            done.push(format!("client roles -> {handle}"));
        }
        account
            .port
            .modify_contacts(domain, &handles)
            .await
            .map_err(|e| e.to_string())?;
        Ok(done.join("; "))
    }
}

/// A registrar contact made from a WHMCS client. Fails with what is missing, because
/// registries refuse incomplete contacts anyway.
pub fn contact_from_client(client: &ClientDetails) -> Result<ContactDetails, String> {
    let mut missing = Vec::new();
    for (field, value) in [
        ("first name", &client.first_name),
        ("last name", &client.last_name),
        ("address", &client.address1),
        ("city", &client.city),
        ("postcode", &client.postcode),
        ("country", &client.country),
        ("e-mail", &client.email),
    ] {
        if value.trim().is_empty() {
            missing.push(field);
        }
    }
    if !missing.is_empty() {
        return Err(format!(
            "WHMCS client {} lacks {}: complete the client's profile, then press Fix now again",
            client.id,
            missing.join(", ")
        ));
    }
    let mut street = vec![client.address1.trim().to_string()];
    if !client.address2.trim().is_empty() {
        street.push(client.address2.trim().to_string());
    }
    Ok(ContactDetails {
        first_name: client.first_name.trim().to_string(),
        last_name: client.last_name.trim().to_string(),
        organization: Some(client.company_name.trim().to_string()).filter(|c| !c.is_empty()),
        street,
        city: client.city.trim().to_string(),
        state: Some(client.state.trim().to_string()).filter(|s| !s.is_empty()),
        zip: client.postcode.trim().to_string(),
        country: client.country.trim().to_ascii_uppercase(),
        phone: client.phone.trim().to_string(),
        email: client.email.trim().to_string(),
    })
}

/// Whether the registrar already shows the cancellation `method` would place: a pending
/// deletion (Smart-NIC) or the renewal mode it sets (CNR/ISPAPI).
pub(crate) fn cancellation_in_place(
    method: &CancellationMethod,
    current: &RegistrarDomain,
) -> bool {
    current.pending_deletion.is_some()
        || matches!(method, CancellationMethod::RenewalMode { mode } if current.renewal_mode.as_ref() == Some(mode))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client() -> ClientDetails {
        ClientDetails {
            id: 12,
            first_name: "Jörg".into(),
            last_name: "Müller".into(),
            company_name: String::new(),
            email: "joerg@example.net".into(),
            currency_id: 1,
            currency_code: None,
            group_id: 0,
            address1: "Hauptstr. 1".into(),
            address2: " ".into(),
            city: "Berlin".into(),
            state: String::new(),
            postcode: "10115".into(),
            country: "de".into(),
            phone: "+49.301234567".into(),
        }
    }

    #[test]
    fn client_details_become_a_registrar_contact() {
        let c = contact_from_client(&client()).unwrap();
        assert_eq!(c.street, vec!["Hauptstr. 1".to_string()]);
        assert_eq!(c.country, "DE");
        assert_eq!(c.organization, None);
        assert_eq!(c.last_name, "Müller");
    }

    #[test]
    fn incomplete_clients_name_what_is_missing() {
        let mut c = client();
        c.city.clear();
        c.postcode = "  ".into();
        let e = contact_from_client(&c).unwrap_err();
        assert!(e.contains("WHMCS client 12 lacks city, postcode"), "{e}");
    }
}
