//! End to end over the real wire: the sandbox WHMCS and the sandbox CNR and ISPAPI
//! registrars, the production WHMCS and registrar clients, the engine and a SQLite store.
//! Every drift the portfolio plants must come out as the right case; notices go out exactly
//! once per case opening, also when a cycle is cut off half way (as a crash would).

mod support;

use domwatch_core::detect::CaseKind;
use domwatch_core::model::Dialect;
use domwatch_engine::{Mode, NoProgress, StepOutcome};
use domwatch_sandbox::portfolio::{Drift, Portfolio};
use domwatch_sandbox::whmcs::WhmcsSandbox;
use domwatch_store::{CaseFilter, CaseState};
use std::collections::{BTreeMap, BTreeSet};
use support::{
    apply_cycle, assert_every_account_read, assert_no_notice_errors, fix_once, today, world,
    DOMAINS, SEED,
};

/// The case kind each planted drift must produce through the API-only path (no WHMCS
/// database, so the premium flag is judged by price).
fn expected_kind(drift: Drift) -> Option<CaseKind> {
    Some(match drift {
        Drift::TurnedPremium => CaseKind::TurnedPremium,
        Drift::UnderpricedRenewal => CaseKind::RenewalUnderpriced,
        Drift::ExpiryMismatch => CaseKind::ExpiryDrift,
        Drift::CancelledButActive => CaseKind::StatusDrift,
        Drift::RenewalModeDrift => CaseKind::RenewalModeDrift,
        Drift::PaidNotRenewed => CaseKind::PaidNotRenewed,
        Drift::RenewalFailedPremium => CaseKind::RenewalFailedPremium,
        Drift::TransferFailedPremium => CaseKind::TransferFailedPremium,
        Drift::OrphanAtRegistrar => CaseKind::OrphanAtRegistrar,
        // Needs three absent cycles; checked separately.
        Drift::GoneAtRegistrar => return None,
        // Needs the WHMCS database (is_premium / tbldomains_extra).
        Drift::PremiumCostMissing => return None,
        // Lifecycle and contact policy (issue 5).
        Drift::UnpaidRenewalInvoice | Drift::WrongAdminContact => return None,
    })
}

async fn bot_ticket_subjects(whmcs: &WhmcsSandbox) -> Vec<String> {
    support::ticket_subjects(whmcs).await
}

#[tokio::test]
async fn every_planted_drift_becomes_the_right_case() {
    let w = world().await;
    let report = apply_cycle(&w.engine).await;
    assert_every_account_read(&report);

    let portfolio = Portfolio::new(SEED, DOMAINS, today());
    let cases = w.engine.store.cases(CaseFilter::open()).await.unwrap();
    let found: BTreeSet<(String, CaseKind)> = cases
        .iter()
        .map(|c| (c.domain.ascii().to_string(), c.kind))
        .collect();
    let mut missing = Vec::new();
    for d in portfolio
        .domains()
        .filter(|d| d.dialect != Dialect::Smartnic)
    {
        let Some(kind) = d.drift.and_then(expected_kind) else {
            continue;
        };
        if !found.contains(&(d.name.ascii().to_string(), kind)) {
            missing.push(format!("{} {:?} -> {kind}", d.name, d.drift));
        }
    }
    assert!(
        missing.is_empty(),
        "planted drift not detected:\n{}",
        missing.join("\n")
    );

    // Clean domains open no case (add-on drifts open theirs: tests/addons.rs).
    let clean: BTreeSet<String> = portfolio
        .domains()
        .filter(|d| d.drift.is_none() && d.addon.is_none() && d.dialect != Dialect::Smartnic)
        .map(|d| d.name.ascii().to_string())
        .collect();
    let noisy: Vec<_> = cases
        .iter()
        .filter(|c| clean.contains(c.domain.ascii()))
        .map(|c| format!("{} {}", c.domain, c.kind))
        .collect();
    assert!(
        noisy.is_empty(),
        "false positives on clean domains: {noisy:?}"
    );

    let mut by_kind: BTreeMap<CaseKind, usize> = BTreeMap::new();
    for c in &cases {
        *by_kind.entry(c.kind).or_default() += 1;
    }
    eprintln!("cases by kind: {by_kind:?}");
}

#[tokio::test]
async fn notices_go_out_once_even_when_cycles_are_cut_off() {
    let w = world().await;
    // Cut cycles off at growing points, as a crash would, then let one finish.
    support::cut_off_cycles(&w, &[5, 20, 60, 150, 400]).await;
    let report = apply_cycle(&w.engine).await;
    assert_no_notice_errors(&report);
    let report = w
        .engine
        .run_cycle(Mode::Apply, &NoProgress)
        .await
        .expect("second cycle");
    assert_no_notice_errors(&report);

    let subjects = bot_ticket_subjects(&w.whmcs).await;
    let mut seen = BTreeSet::new();
    let dupes: Vec<_> = subjects
        .iter()
        .filter(|s| !seen.insert(s.to_string()))
        .collect();
    assert!(dupes.is_empty(), "duplicate notices: {dupes:?}");

    let cases = w.engine.store.cases(CaseFilter::open()).await.unwrap();
    let noticed: Vec<_> = cases
        .iter()
        .filter(|c| c.kind.needs_admin_notice())
        .collect();
    assert!(!noticed.is_empty());
    for c in noticed {
        let marker = domwatch_engine::notice_marker(c.id, c.openings);
        assert_eq!(
            subjects.iter().filter(|s| s.contains(&marker)).count(),
            1,
            "case {} ({}) must have exactly one ticket",
            c.id,
            c.kind
        );
        let notices = w.engine.store.notices(c.id).await.unwrap();
        assert!(notices.iter().all(|n| n.status == "sent"), "{notices:?}");
    }
}

#[tokio::test]
async fn fix_now_then_rerun_resolves_and_is_audited() {
    let w = world().await;
    w.engine.run_cycle(Mode::Apply, &NoProgress).await.unwrap();
    let cases = w.engine.store.cases(CaseFilter::open()).await.unwrap();
    let underpriced = cases
        .iter()
        .find(|c| c.kind == CaseKind::RenewalUnderpriced)
        .expect("an underpriced case");
    let expiry = cases
        .iter()
        .find(|c| c.kind == CaseKind::ExpiryDrift)
        .expect("an expiry case");

    // Preview writes nothing.
    let audited_before = w.engine.store.audit_log(1000, None).await.unwrap().len();
    let preview = w
        .engine
        .fix(underpriced.id, None, Mode::DryRun, "test")
        .await
        .unwrap();
    assert!(
        preview
            .steps
            .iter()
            .all(|s| s.outcome == StepOutcome::WouldApply),
        "{preview:?}"
    );
    assert_eq!(
        w.engine.store.audit_log(1000, None).await.unwrap().len(),
        audited_before
    );

    for case in [underpriced, expiry] {
        fix_once(&w.engine, case.id).await;
    }
    let audit = w.engine.store.audit_log(50, None).await.unwrap();
    assert!(audit
        .iter()
        .any(|a| a.entry.operation == "UpdateClientDomain" && a.entry.ok));

    w.engine.run_cycle(Mode::Apply, &NoProgress).await.unwrap();
    for id in [underpriced.id, expiry.id] {
        let c = w.engine.store.case(id).await.unwrap().unwrap();
        assert_eq!(
            c.state,
            CaseState::Resolved,
            "case {id} ({}) should resolve after the fix",
            c.kind
        );
    }
}

#[tokio::test]
async fn gone_at_registrar_opens_only_after_three_strikes() {
    let w = world().await;
    let portfolio = Portfolio::new(SEED, DOMAINS, today());
    let gone: Vec<String> = portfolio
        .domains()
        .filter(|d| d.drift == Some(Drift::GoneAtRegistrar))
        .map(|d| d.name.ascii().to_string())
        .collect();
    assert!(!gone.is_empty());
    for cycle in 1..=3 {
        w.engine.run_cycle(Mode::Apply, &NoProgress).await.unwrap();
        let missing = w
            .engine
            .store
            .cases(CaseFilter {
                state: Some(CaseState::Open),
                kind: Some(CaseKind::MissingAtRegistrar),
            })
            .await
            .unwrap();
        if cycle < 3 {
            assert!(missing.is_empty(), "opened after {cycle} strikes");
        } else {
            let names: BTreeSet<String> = missing
                .iter()
                .map(|c| c.domain.ascii().to_string())
                .collect();
            assert_eq!(names, gone.iter().cloned().collect());
        }
    }
}

#[tokio::test]
async fn dry_run_writes_nothing() {
    let w = world().await;
    let report = w.engine.run_cycle(Mode::DryRun, &NoProgress).await.unwrap();
    assert!(report.would_open > 0);
    assert!(w
        .engine
        .store
        .cases(CaseFilter::default())
        .await
        .unwrap()
        .is_empty());
    assert!(w.engine.store.runs(5).await.unwrap().is_empty());
    assert!(bot_ticket_subjects(&w.whmcs).await.is_empty());
}

#[tokio::test]
async fn the_next_cycle_reuses_client_currencies_and_transfer_failures() {
    let w = world().await;
    let first = w.engine.run_cycle(Mode::Apply, &NoProgress).await.unwrap();
    let portfolio = Portfolio::new(SEED, DOMAINS, today());

    // Every billed client's currency is kept, and matches WHMCS.
    let cached = w.engine.store.client_currencies().await.unwrap();
    let billed_clients: BTreeSet<u64> = portfolio
        .domains()
        .filter_map(|d| d.billing.map(|b| b.client_id))
        .collect();
    assert_eq!(cached.len(), billed_clients.len());
    for c in &cached {
        assert_eq!(c.currency, portfolio.client(c.client_id).currency);
    }

    // Failed incoming transfers are kept with the registrar's reason.
    let failed: BTreeSet<String> = portfolio
        .domains()
        .filter(|d| d.drift == Some(Drift::TransferFailedPremium) && d.dialect == Dialect::Cnr)
        .map(|d| d.name.ascii().to_string())
        .collect();
    let kept = w.engine.store.transfer_failures("cnr").await.unwrap();
    assert_eq!(
        kept.keys()
            .map(|d| d.ascii().to_string())
            .collect::<BTreeSet<_>>(),
        failed
    );
    assert!(kept.values().all(|f| f.reason.contains("premium")));

    // The next cycle asks WHMCS about no client and reaches the same cases.
    let before = w.whmcs.api_calls();
    let by_action = w.whmcs.api_calls_by_action();
    let second = w.engine.run_cycle(Mode::Apply, &NoProgress).await.unwrap();
    let asked = |action: &str| {
        w.whmcs
            .api_calls_by_action()
            .get(action)
            .copied()
            .unwrap_or(0)
            - by_action.get(action).copied().unwrap_or(0)
    };
    // Renewal invoices: a few pages of the invoice list; the invoices the first cycle
    // read are unchanged, so none is read again.
    assert!(second.lookups >= 10, "{} look-ups", second.lookups);
    assert!(
        asked("getinvoices") <= 4,
        "{} GetInvoices",
        asked("getinvoices")
    );
    assert_eq!(asked("getinvoice"), 0, "GetInvoice in the second cycle");
    let pages = first.billing_domains.div_ceil(5000) as u64;
    let lookups = 2 * second.lookups as u64 + 10;
    assert!(
        w.whmcs.api_calls() - before <= 2 + pages + lookups,
        "no GetClientsDetails in the second cycle"
    );
    assert_eq!(second.findings_by_kind, first.findings_by_kind);
    assert_eq!((second.opened, second.resolved), (0, 0));
}

#[tokio::test]
async fn a_dry_run_keeps_nothing_it_learned() {
    let w = world().await;
    w.engine.run_cycle(Mode::DryRun, &NoProgress).await.unwrap();
    assert!(w.engine.store.client_currencies().await.unwrap().is_empty());
    assert!(w
        .engine
        .store
        .transfer_failures("cnr")
        .await
        .unwrap()
        .is_empty());
}
