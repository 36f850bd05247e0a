//! Recovery of claims whose owner died: a running action with an expired lease is looked
//! for at its system — found in effect: audited as `recovery` and applied; not in effect:
//! released as planned; system down: left running. One family each: a WHMCS domain
//! update, a WHMCS invoice update, a registrar write; and Fix now meeting such a claim.

mod support;

use chrono::{Duration, NaiveDate, TimeZone, Utc};
use domwatch_core::model::{Dialect, RenewalMode};
use domwatch_core::plan::Action;
use domwatch_engine::{Mode, StepOutcome};
use domwatch_sandbox::portfolio::{InvoiceStatus, Portfolio, SeedDomain};
use domwatch_store::{ActionClaim, ActionStatus, Lease};
use domwatch_whmcs::actions::{DomainUpdate, InvoiceUpdate};
use domwatch_whmcs::{WhmcsClient, WhmcsConfig};
use std::sync::Arc;
use support::{today, world, World, DOMAINS, SEED};

fn seeded() -> Vec<SeedDomain> {
    Portfolio::new(SEED, DOMAINS, today())
        .domains()
        .filter(|d| d.billing.is_some() && d.registrar.present)
        .collect()
}

/// A claim taken an hour before the engine's clock by an owner that died since.
async fn dead_claim(w: &World, action: &Action) {
    let then = Utc.with_ymd_and_hms(2026, 11, 22, 2, 0, 0).unwrap();
    let lease = Lease {
        owner: "web:admin (pid 1 dead, #1)".into(),
        now: then,
        until: then + Duration::minutes(15),
    };
    let claim = w.engine.store.claim_action(None, action, &lease).await;
    assert_eq!(claim.unwrap(), ActionClaim::Claimed);
}

async fn status(w: &World, action: &Action) -> ActionStatus {
    w.engine
        .store
        .action(&action.idempotency_key())
        .await
        .unwrap()
        .unwrap()
        .status
}

/// Audit lines as `actor operation ok`.
async fn audit(w: &World) -> Vec<String> {
    w.engine
        .store
        .audit_log(100, None)
        .await
        .unwrap()
        .iter()
        .map(|a| format!("{} {} {}", a.entry.actor, a.entry.operation, a.entry.ok))
        .collect()
}

fn next_due(domain_id: u64) -> Action {
    Action::SetNextDueDate {
        domain_id,
        date: NaiveDate::from_ymd_opt(2031, 3, 4).unwrap(),
    }
}

#[tokio::test]
async fn whmcs_domain_updates_are_recovered_by_reading_the_domain() {
    let w = world().await;
    let domains = seeded();
    let (done, not_done, unseen) = (
        next_due(domains[0].billing.as_ref().unwrap().domain_id),
        next_due(domains[1].billing.as_ref().unwrap().domain_id),
        next_due(domains[2].billing.as_ref().unwrap().domain_id),
    );
    for a in [&done, &not_done, &unseen] {
        dead_claim(&w, a).await;
    }
    // The dead owner's write reached WHMCS for `done` only.
    let Action::SetNextDueDate { domain_id, date } = &done else {
        unreachable!()
    };
    let update = DomainUpdate {
        next_due: Some(*date),
        ..DomainUpdate::default()
    };
    w.engine
        .billing
        .update_domain(*domain_id, &update)
        .await
        .unwrap();

    // WHMCS down: nothing can be told, everything stays running.
    let mut down = w.engine.clone();
    down.billing = Arc::new(
        WhmcsClient::new(WhmcsConfig::new("http://127.0.0.1:9/", "id", "secret").unwrap()).unwrap(),
    );
    down.recover_unfinished_actions().await.unwrap();
    for a in [&done, &not_done, &unseen] {
        assert_eq!(status(&w, a).await, ActionStatus::Running);
    }
    assert!(audit(&w).await.is_empty());

    w.engine.recover_unfinished_actions().await.unwrap();
    assert_eq!(status(&w, &done).await, ActionStatus::Applied);
    assert_eq!(status(&w, &not_done).await, ActionStatus::Planned);
    assert_eq!(status(&w, &unseen).await, ActionStatus::Planned);
    assert_eq!(audit(&w).await, vec!["recovery UpdateClientDomain true"]);
    let record = w
        .engine
        .store
        .action(&done.idempotency_key())
        .await
        .unwrap()
        .unwrap();
    assert!(
        record
            .result
            .as_deref()
            .unwrap()
            .contains("confirmed at WHMCS"),
        "{record:?}"
    );
    // Settled: a second pass finds nothing to do.
    w.engine.recover_unfinished_actions().await.unwrap();
    assert_eq!(audit(&w).await.len(), 1);
}

#[tokio::test]
async fn invoice_updates_are_recovered_by_reading_the_invoice() {
    let w = world().await;
    let invoices: Vec<u64> = seeded()
        .iter()
        .flat_map(|d| d.billing.as_ref().unwrap().invoices.iter())
        .filter(|i| i.status == InvoiceStatus::Unpaid)
        .map(|i| i.id)
        .take(2)
        .collect();
    assert_eq!(invoices.len(), 2, "the portfolio has unpaid invoices");
    let done = Action::CancelInvoice {
        invoice_id: invoices[0],
    };
    let not_done = Action::CancelInvoice {
        invoice_id: invoices[1],
    };
    dead_claim(&w, &done).await;
    dead_claim(&w, &not_done).await;
    let update = InvoiceUpdate {
        status: Some("Cancelled".into()),
        ..InvoiceUpdate::default()
    };
    w.engine
        .billing
        .update_invoice(invoices[0], &update)
        .await
        .unwrap();

    w.engine.recover_unfinished_actions().await.unwrap();
    assert_eq!(status(&w, &done).await, ActionStatus::Applied);
    assert_eq!(status(&w, &not_done).await, ActionStatus::Planned);
    assert_eq!(audit(&w).await, vec!["recovery UpdateInvoice true"]);
}

#[tokio::test]
async fn registrar_writes_are_recovered_by_reading_the_domain_at_the_registrar() {
    let w = world().await;
    let cnr: Vec<SeedDomain> = seeded()
        .into_iter()
        .filter(|d| {
            d.dialect == Dialect::Cnr && d.registrar.renewal_mode != RenewalMode::AutoDelete
        })
        .take(2)
        .collect();
    let mode = |d: &SeedDomain| Action::SetRenewalMode {
        account: "cnr".into(),
        domain: d.name.clone(),
        mode: RenewalMode::AutoDelete,
    };
    let (done, not_done) = (mode(&cnr[0]), mode(&cnr[1]));
    dead_claim(&w, &done).await;
    dead_claim(&w, &not_done).await;
    w.ports["cnr"]
        .set_renewal_mode(&cnr[0].name, &RenewalMode::AutoDelete)
        .await
        .unwrap();

    w.engine.recover_unfinished_actions().await.unwrap();
    assert_eq!(status(&w, &done).await, ActionStatus::Applied);
    assert_eq!(status(&w, &not_done).await, ActionStatus::Planned);
    assert_eq!(audit(&w).await, vec!["recovery SetDomainRenewalMode true"]);
}

#[tokio::test]
async fn fix_now_checks_a_dead_claim_before_writing_again() {
    let w = world().await;
    support::cycle(&w).await;
    // A case whose recommended option writes to WHMCS first (expiry drift: sync dates).
    let cases = domwatch_engine::open_cases(&w.engine.store).await.unwrap();
    let (case, first) = cases
        .iter()
        .find_map(|c| {
            let options = domwatch_core::plan::plan(&c.finding);
            let first = options.first()?.actions.first()?.clone();
            matches!(first, Action::SetBillingExpiry { .. }).then(|| (c.clone(), first))
        })
        .expect("the portfolio plants an expiry drift");
    let Action::SetBillingExpiry { domain_id, date } = &first else {
        unreachable!()
    };
    // The dead request wrote the expiry but never recorded it.
    dead_claim(&w, &first).await;
    let update = DomainUpdate {
        expiry: Some(*date),
        ..DomainUpdate::default()
    };
    w.engine
        .billing
        .update_domain(*domain_id, &update)
        .await
        .unwrap();

    let report = w
        .engine
        .fix(case.id, None, Mode::Apply, "cli:test")
        .await
        .unwrap();
    assert!(
        matches!(&report.steps[0].outcome, StepOutcome::Applied(t) if t.contains("by an earlier run")),
        "{report:?}"
    );
    let lines = audit(&w).await;
    assert_eq!(
        lines.iter().filter(|l| l.starts_with("recovery ")).count(),
        1,
        "{lines:?}"
    );
    // The first step was not written twice: its only audit line is the recovery's.
    let first_writes = w
        .engine
        .store
        .audit_log(100, None)
        .await
        .unwrap()
        .into_iter()
        .filter(|a| a.entry.request == serde_json::to_value(&first).unwrap())
        .count();
    assert_eq!(first_writes, 1);
}
