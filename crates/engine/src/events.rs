//! Inbound events (WHMCS hooks through `POST /api/events`): the worker that claims each
//! stored event, runs a targeted check of its domains and marks it done.
//!
//! An event is only a hint about which domains to look at now; what to do is decided by
//! the targeted check from what WHMCS and the registrars say, under the rules of a full
//! cycle. So a repeated or late event is harmless, and an event that cannot be checked
//! now (WHMCS down, a registrar failing) is retried a few times and then left to the next
//! full cycle, which covers every domain anyway.

use crate::{Completeness, CycleReport, Engine, EngineError, Mode, NoProgress};
use domwatch_core::DomainName;
use domwatch_store::{EventOutcome, InboundEventRecord};

/// The WHMCS hook events `POST /api/events` accepts.
pub const EVENT_NAMES: [&str; 5] = [
    "InvoicePaid",
    "AfterRegistrarRenewalFailed",
    "AfterRegistrarTransferFailed",
    "AfterRegistrarRenewal",
    "AfterRegistrarTransfer",
];

/// A claimed event belongs to its worker this long; after that a worker that died is
/// presumed dead and another takes the event again.
pub const EVENT_LEASE: chrono::Duration = chrono::Duration::minutes(5);
/// Tries per event before it is left to the next full cycle.
pub const EVENT_MAX_ATTEMPTS: i64 = 5;
/// Wait before the n-th retry: n times this.
const RETRY_STEP: chrono::Duration = chrono::Duration::seconds(30);

impl Engine {
    /// Claims and runs due events one at a time until none is left; returns how many ran.
    /// `worker` names this process in the claims.
    pub async fn run_queued_events(&self, worker: &str) -> Result<usize, EngineError> {
        let mut ran = 0;
        loop {
            let now = self.now();
            let Some(event) = self
                .store
                .claim_event(worker, now, now + EVENT_LEASE)
                .await?
            else {
                return Ok(ran);
            };
            ran += 1;
            let (outcome, result) = self.run_event(&event).await;
            tracing::info!(event_id = event.id, event = %event.event, ?outcome, result = %result, "inbound event handled");
            let finished = self
                .store
                .finish_event(event.id, worker, outcome, &result, self.now())
                .await?;
            if !finished {
                tracing::warn!(
                    event_id = event.id,
                    "the event's claim ran out while it was checked; its new owner records the outcome"
                );
            }
        }
    }

    async fn run_event(&self, event: &InboundEventRecord) -> (EventOutcome, String) {
        let names = match self.event_domains(event).await {
            Ok(names) => names,
            Err(e) => return self.retry_or_give_up(event, e),
        };
        if names.is_empty() {
            let why = format!(
                "invoice #{} has no domain items: nothing to check",
                event.invoice_id.unwrap_or(0)
            );
            return (EventOutcome::Done, why);
        }
        match self.check_domains(&names, Mode::Apply, &NoProgress).await {
            Ok(report) if report.completeness() == Completeness::Complete => {
                (EventOutcome::Done, outcome_line(&report))
            }
            Ok(report) => {
                let why = format!(
                    "inputs incomplete ({}): {}",
                    outcome_line(&report),
                    report
                        .incomplete_inputs
                        .iter()
                        .chain(report.failed_accounts.values())
                        .cloned()
                        .collect::<Vec<_>>()
                        .join("; ")
                );
                self.retry_or_give_up(event, why)
            }
            Err(e) => self.retry_or_give_up(event, e.to_string()),
        }
    }

    fn retry_or_give_up(&self, event: &InboundEventRecord, why: String) -> (EventOutcome, String) {
        if event.attempts >= EVENT_MAX_ATTEMPTS {
            let why = format!(
                "{why}; gave up after {} tries, the next full check covers these domains",
                event.attempts
            );
            tracing::error!(event_id = event.id, reason = %why, "inbound event not checked");
            return (EventOutcome::Failed, why);
        }
        let not_before = self.now() + RETRY_STEP * event.attempts.max(1) as i32;
        tracing::warn!(event_id = event.id, reason = %why, %not_before, "inbound event will be retried");
        (EventOutcome::Retry { not_before }, why)
    }

    /// The event's domains; when it names none, the domain items of its invoice.
    async fn event_domains(&self, event: &InboundEventRecord) -> Result<Vec<DomainName>, String> {
        let mut names = Vec::new();
        for d in &event.domains {
            names.push(DomainName::parse(d).map_err(|e| format!("domain `{d}`: {e}"))?);
        }
        let Some(invoice_id) = event.invoice_id.filter(|_| names.is_empty()) else {
            return Ok(names);
        };
        let invoice_id = u64::try_from(invoice_id)
            .map_err(|_| format!("invoice id {invoice_id} is not valid"))?;
        let invoice = self
            .billing
            .invoice_by_id(invoice_id)
            .await
            .map_err(|e| format!("reading invoice #{invoice_id}: {e}"))?;
        for item in invoice
            .items
            .iter()
            .filter(|i| i.item_type.starts_with("Domain"))
        {
            let domain = self.billing.domain_by_id(item.rel_id).await.map_err(|e| {
                format!(
                    "reading domain #{} of invoice #{invoice_id}: {e}",
                    item.rel_id
                )
            })?;
            if let Some(domain) = domain {
                let name = DomainName::parse(&domain.domain)
                    .map_err(|e| format!("domain #{} `{}`: {e}", domain.id, domain.domain))?;
                names.push(name);
            }
        }
        Ok(names)
    }
}

/// What a targeted check did, in one line for the event's record.
fn outcome_line(report: &CycleReport) -> String {
    format!(
        "checked {}: run {}, {} opened, {} reopened, {} updated, {} resolved, {} automatic action(s), {} notice(s)",
        report.targeted.join(", "),
        report.run_id.unwrap_or(0),
        report.opened,
        report.reopened,
        report.updated,
        report.resolved,
        report.automatic_actions.values().sum::<usize>(),
        report.notices_sent
    )
}
