//! Targeted checks (`Engine::check_domains`, the path of `domwatch check --domain` and of
//! inbound events) on the sandboxes: the same verdicts as a full cycle for the named
//! domains, nothing touched for any other domain, no strikes counted, writes at most
//! once, notices exactly once, and no verdict when an input fails.

mod support;

use domwatch_core::detect::CaseKind;
use domwatch_core::lifecycle::{AccountPolicy, AutoDeleteMode};
use domwatch_core::model::{Dialect, RenewalMode};
use domwatch_core::DomainName;
use domwatch_engine::{Completeness, Mode, NoProgress};
use domwatch_sandbox::portfolio::{Drift, Portfolio, SeedDomain};
use domwatch_store::{CaseFilter, CaseState};
use std::collections::BTreeMap;
use support::{
    cycle, policy_for_all, ticket_subjects, today, world_with, world_with_options, Fault, World,
    WorldOptions, DOMAINS, SEED,
};

fn enabled(dialect: Dialect) -> AccountPolicy {
    let mut p = AccountPolicy::for_dialect(dialect);
    p.auto_delete.mode = AutoDeleteMode::Enabled;
    p
}

fn seeded(drift: Drift) -> Vec<SeedDomain> {
    Portfolio::new(SEED, DOMAINS, today())
        .domains()
        .filter(|d| d.drift == Some(drift))
        .collect()
}

/// Every case as (kind, domain) -> (state, openings, updated_at, summary).
async fn all_cases(w: &World) -> BTreeMap<(String, String), String> {
    w.engine
        .store
        .cases(CaseFilter {
            state: None,
            kind: None,
        })
        .await
        .unwrap()
        .into_iter()
        .map(|c| {
            (
                (c.kind.to_string(), c.domain.ascii().to_string()),
                format!(
                    "{:?} {} {} {}",
                    c.state, c.openings, c.updated_at, c.summary
                ),
            )
        })
        .collect()
}

fn without(
    cases: &BTreeMap<(String, String), String>,
    domain: &DomainName,
) -> BTreeMap<(String, String), String> {
    cases
        .iter()
        .filter(|((_, d), _)| d != domain.ascii())
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

async fn strikes(w: &World, names: &[DomainName]) -> BTreeMap<String, u32> {
    w.engine
        .store
        .absence_strikes(names)
        .await
        .unwrap()
        .into_iter()
        .map(|(n, s)| (n.ascii().to_string(), s))
        .collect()
}

async fn renewal_mode(w: &World, d: &SeedDomain) -> Option<RenewalMode> {
    w.ports[support::account_for(d.dialect)]
        .status_domain(&d.name)
        .await
        .unwrap()
        .renewal_mode
}

#[tokio::test]
async fn a_paid_invoice_withdraws_the_cancellation_and_nothing_else_changes() {
    let w = world_with(policy_for_all(enabled)).await;
    cycle(&w).await;
    cycle(&w).await;
    let unpaid = seeded(Drift::UnpaidRenewalInvoice);
    let d = &unpaid[0];
    assert_eq!(renewal_mode(&w, d).await, Some(RenewalMode::AutoDelete));
    let gone: Vec<DomainName> = seeded(Drift::GoneAtRegistrar)
        .into_iter()
        .map(|d| d.name)
        .collect();
    let strikes_before = strikes(&w, &gone).await;
    assert!(!strikes_before.is_empty());
    let cases_before = all_cases(&w).await;
    let tickets_before = ticket_subjects(&w.whmcs).await.len();

    w.whmcs
        .pay_invoice(d.billing.as_ref().unwrap().invoices[0].id)
        .await
        .unwrap();
    let report = w
        .engine
        .check_domains(std::slice::from_ref(&d.name), Mode::Apply, &NoProgress)
        .await
        .unwrap();
    assert_eq!(report.completeness(), Completeness::Complete, "{report:?}");
    assert_eq!(report.targeted, [d.name.ascii()]);
    assert_eq!(report.billing_domains, 1);
    assert_eq!(
        report.automatic_actions.get("withdraw"),
        Some(&1),
        "{report:?}"
    );
    assert_ne!(renewal_mode(&w, d).await, Some(RenewalMode::AutoDelete));
    // Another unpaid domain keeps its cancellation: it was not part of this check.
    assert_eq!(
        renewal_mode(&w, &unpaid[1]).await,
        Some(RenewalMode::AutoDelete)
    );

    // Only this domain's cases changed; no strike was counted or cleared.
    let cases_after = all_cases(&w).await;
    assert_eq!(
        without(&cases_after, &d.name),
        without(&cases_before, &d.name)
    );
    assert_ne!(cases_after, cases_before);
    assert_eq!(strikes(&w, &gone).await, strikes_before);
    let tickets = ticket_subjects(&w.whmcs).await.len();
    assert_eq!(tickets, tickets_before + 1, "one notice of the withdrawal");

    // Again (a repeated event): nothing is written or told twice.
    let again = w
        .engine
        .check_domains(std::slice::from_ref(&d.name), Mode::Apply, &NoProgress)
        .await
        .unwrap();
    assert_eq!(again.automatic_actions.get("withdraw"), None, "{again:?}");
    assert_eq!(ticket_subjects(&w.whmcs).await.len(), tickets);
    let withdrawals = w
        .engine
        .store
        .audit_log(10_000, None)
        .await
        .unwrap()
        .into_iter()
        .filter(|a| a.entry.object == d.name.ascii() && a.entry.operation.contains("withdraw"))
        .count();
    assert_eq!(withdrawals, 1);
    // The full cycle agrees: the withdrawal case resolves, nothing else happens to it.
    let full = cycle(&w).await;
    assert_eq!(full.automatic_actions.get("withdraw"), None);
}

#[tokio::test]
async fn a_domain_gone_at_the_registrar_gets_no_strike_from_a_targeted_check() {
    let w = world_with(Default::default()).await;
    let gone: Vec<DomainName> = seeded(Drift::GoneAtRegistrar)
        .into_iter()
        .map(|d| d.name)
        .collect();
    cycle(&w).await;
    let before = strikes(&w, &gone).await;
    for _ in 0..3 {
        let report = w
            .engine
            .check_domains(&gone, Mode::Apply, &NoProgress)
            .await
            .unwrap();
        assert_eq!(report.completeness(), Completeness::Complete);
    }
    assert_eq!(
        strikes(&w, &gone).await,
        before,
        "three targeted checks are not three strikes"
    );
    let missing = w
        .engine
        .store
        .cases(CaseFilter {
            state: Some(CaseState::Open),
            kind: Some(CaseKind::MissingAtRegistrar),
        })
        .await
        .unwrap();
    assert!(missing.is_empty(), "{missing:?}");
}

#[tokio::test]
async fn a_failing_input_gives_no_verdict_and_changes_nothing() {
    let mut options = WorldOptions::new(policy_for_all(enabled));
    options.proxied = true;
    options.client_timeout = std::time::Duration::from_secs(3);
    options.retry_delay = std::time::Duration::from_millis(10);
    let w = world_with_options(options).await;
    cycle(&w).await;
    let unpaid: Vec<SeedDomain> = seeded(Drift::UnpaidRenewalInvoice)
        .into_iter()
        .filter(|d| d.dialect == Dialect::Cnr)
        .collect();
    let d = &unpaid[0];
    w.whmcs
        .pay_invoice(d.billing.as_ref().unwrap().invoices[0].id)
        .await
        .unwrap();
    let before = all_cases(&w).await;
    let proxies = w.proxies.as_ref().unwrap();

    // The registrar fails: the domain gets no verdict, nothing is written.
    proxies.cnr.set(Fault::Http500);
    let report = w
        .engine
        .check_domains(std::slice::from_ref(&d.name), Mode::Apply, &NoProgress)
        .await
        .unwrap();
    assert_eq!(report.completeness(), Completeness::Partial, "{report:?}");
    assert!(report.automatic_actions.is_empty());
    assert_eq!(all_cases(&w).await, before);
    proxies.cnr.set(Fault::Pass);
    assert_eq!(renewal_mode(&w, d).await, Some(RenewalMode::AutoDelete));

    // WHMCS fails: an error, nothing changed.
    proxies.whmcs_api.set(Fault::Http500);
    let failed = w
        .engine
        .check_domains(std::slice::from_ref(&d.name), Mode::Apply, &NoProgress)
        .await;
    assert!(failed.is_err());
    assert_eq!(all_cases(&w).await, before);
    proxies.whmcs_api.set(Fault::Pass);

    // Back to normal: the withdrawal happens once.
    let report = w
        .engine
        .check_domains(std::slice::from_ref(&d.name), Mode::Apply, &NoProgress)
        .await
        .unwrap();
    assert_eq!(
        report.automatic_actions.get("withdraw"),
        Some(&1),
        "{report:?}"
    );
}

#[tokio::test]
async fn a_queued_invoice_event_is_claimed_checked_and_done_once() {
    let w = world_with(policy_for_all(enabled)).await;
    cycle(&w).await;
    let d = &seeded(Drift::UnpaidRenewalInvoice)[0];
    let invoice = d.billing.as_ref().unwrap().invoices[0].id;
    w.whmcs.pay_invoice(invoice).await.unwrap();
    // Only the invoice is named: the worker finds its domain items itself.
    let id = w
        .engine
        .store
        .queue_event(&domwatch_store::NewInboundEvent {
            signature: "sig".into(),
            event: "InvoicePaid".into(),
            domains: Vec::new(),
            invoice_id: Some(invoice as i64),
            received_at: w.engine.clock.now(),
        })
        .await
        .unwrap()
        .unwrap();
    assert_eq!(w.engine.run_queued_events("worker-1").await.unwrap(), 1);
    let event = w.engine.store.inbound_event(id).await.unwrap().unwrap();
    assert_eq!(event.status, "done", "{event:?}");
    let result = event.result.unwrap();
    assert!(
        result.contains(d.name.ascii()) && result.contains("1 automatic action"),
        "{result}"
    );
    assert_ne!(renewal_mode(&w, d).await, Some(RenewalMode::AutoDelete));
    assert_eq!(
        w.engine.run_queued_events("worker-2").await.unwrap(),
        0,
        "done once"
    );
}
