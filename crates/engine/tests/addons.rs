//! ID protection and transfer lock end to end: the sandbox portfolio's add-on drifts open
//! their cases over the real wire, Fix now writes each once (WHMCS `idprotection`, CNR /
//! ISPAPI `ModifyDomain`), the next cycle resolves them, a faulted list read changes
//! nothing, and a write whose owner died is found by recovery.

mod support;

use chrono::{Duration, TimeZone, Utc};
use domwatch_core::detect::{CaseKind, ZONES_WITHOUT_TRANSFER_LOCK};
use domwatch_core::model::Dialect;
use domwatch_core::plan::Action;
use domwatch_engine::{Mode, NoProgress};
use domwatch_sandbox::portfolio::{AddonDrift, Portfolio, SeedDomain};
use domwatch_sandbox::registrar::{FaultConfig, RegistrarEvent};
use domwatch_store::{ActionClaim, ActionStatus, CaseFilter, CaseRecord, CaseState, Lease};
use std::collections::BTreeSet;
use support::{account_for, apply_cycle, assert_every_account_read, fix_once, today, world, World};
use support::{DOMAINS, SEED};

/// The case an add-on drift must open: privacy only where the registrar names it (CNR),
/// the lock only where the zone has one; Smart-NIC says neither.
fn expected_kind(d: &SeedDomain) -> Option<CaseKind> {
    let zone_has_lock = !ZONES_WITHOUT_TRANSFER_LOCK
        .iter()
        .any(|z| *z == d.name.zone() || *z == d.name.tld());
    match (d.addon?, d.dialect) {
        (_, Dialect::Smartnic) => None,
        (AddonDrift::LockOff, _) => zone_has_lock.then_some(CaseKind::TransferLockOff),
        (AddonDrift::PrivacyNotBilled, Dialect::Cnr) => Some(CaseKind::IdProtectionNotBilled),
        (AddonDrift::PrivacyBilledNotActive, Dialect::Cnr) => {
            Some(CaseKind::IdProtectionBilledNotActive)
        }
        _ => None,
    }
}

const KINDS: [CaseKind; 3] = [
    CaseKind::IdProtectionNotBilled,
    CaseKind::IdProtectionBilledNotActive,
    CaseKind::TransferLockOff,
];

async fn addon_cases(w: &World) -> Vec<CaseRecord> {
    let cases = w.engine.store.cases(CaseFilter::open()).await.unwrap();
    cases
        .into_iter()
        .filter(|c| KINDS.contains(&c.kind))
        .collect()
}

#[tokio::test]
async fn addon_drifts_open_exactly_their_cases() {
    let w = world().await;
    assert_every_account_read(&apply_cycle(&w.engine).await);
    let found: BTreeSet<(String, CaseKind)> = addon_cases(&w)
        .await
        .iter()
        .map(|c| (c.domain.ascii().to_string(), c.kind))
        .collect();
    let expected: BTreeSet<(String, CaseKind)> = Portfolio::new(SEED, DOMAINS, today())
        .domains()
        .filter_map(|d| expected_kind(&d).map(|k| (d.name.ascii().to_string(), k)))
        .collect();
    assert_eq!(found, expected);
    for kind in KINDS {
        assert!(found.iter().any(|(_, k)| *k == kind), "no {kind} case");
    }
    // Without the WHMCS database the ID protection price is unknown, never zero.
    for c in addon_cases(&w).await {
        if c.kind == CaseKind::IdProtectionNotBilled {
            assert_eq!(c.finding.at_stake, None);
            assert!(
                c.finding.summary.ends_with("(price unknown)"),
                "{}",
                c.finding.summary
            );
        }
    }
}

#[tokio::test]
async fn fix_now_writes_once_and_the_next_cycle_resolves() {
    let w = world().await;
    apply_cycle(&w.engine).await;
    let cases = addon_cases(&w).await;
    let mut fixed = Vec::new();
    for kind in KINDS {
        let case = cases.iter().find(|c| c.kind == kind).unwrap();
        fix_once(&w.engine, case.id).await;
        fixed.push(case.id);
    }
    let audit = w.engine.store.audit_log(100, None).await.unwrap();
    let ops: Vec<&str> = audit.iter().map(|a| a.entry.operation.as_str()).collect();
    for op in [
        "UpdateClientDomain",
        "set-whois-privacy",
        "set-transfer-lock",
    ] {
        assert_eq!(ops.iter().filter(|o| **o == op).count(), 1, "{op}: {ops:?}");
    }
    assert!(audit.iter().all(|a| a.entry.ok));

    apply_cycle(&w.engine).await;
    for id in fixed {
        let c = w.engine.store.case(id).await.unwrap().unwrap();
        assert_eq!(c.state, CaseState::Resolved, "case {id} ({})", c.kind);
    }
}

#[tokio::test]
async fn a_faulted_list_read_changes_nothing() {
    let w = world().await;
    apply_cycle(&w.engine).await;
    let lock = addon_cases(&w)
        .await
        .into_iter()
        .find(|c| {
            c.kind == CaseKind::TransferLockOff
                && c.finding.registrar_account.as_deref() == Some("cnr")
        })
        .expect("a CNR lock case");
    // The lock is set behind domwatch's back, then the CNR list fails: no verdict.
    w.ports["cnr"]
        .set_transfer_lock(&lock.domain, true)
        .await
        .unwrap();
    let audited = w.engine.store.audit_log(1000, None).await.unwrap().len();
    let faults = FaultConfig {
        rate_http_500: 1.0,
        ..FaultConfig::default()
    };
    w.registrars[0]
        .apply(RegistrarEvent::SetFaults(faults))
        .unwrap();
    let report = w.engine.run_cycle(Mode::Apply, &NoProgress).await.unwrap();
    assert!(
        report.failed_accounts.contains_key("cnr"),
        "{:?}",
        report.failed_accounts
    );
    let c = w.engine.store.case(lock.id).await.unwrap().unwrap();
    assert_eq!(c.state, CaseState::Open, "a failed read resolves nothing");
    let audit = w.engine.store.audit_log(1000, None).await.unwrap();
    assert_eq!(audit.len(), audited, "nothing written: {:?}", audit.first());

    w.registrars[0]
        .apply(RegistrarEvent::SetFaults(FaultConfig::default()))
        .unwrap();
    apply_cycle(&w.engine).await;
    let c = w.engine.store.case(lock.id).await.unwrap().unwrap();
    assert_eq!(c.state, CaseState::Resolved);
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

#[tokio::test]
async fn interrupted_addon_writes_are_recovered_by_looking() {
    let w = world().await;
    let portfolio = Portfolio::new(SEED, DOMAINS, today());
    let of = |addon| {
        portfolio
            .domains_of(Dialect::Cnr)
            .find(|d| d.addon == Some(addon) && expected_kind(d).is_some())
            .unwrap()
    };
    let (private, billed, unlocked) = (
        of(AddonDrift::PrivacyNotBilled),
        of(AddonDrift::PrivacyBilledNotActive),
        of(AddonDrift::LockOff),
    );
    let account = account_for(Dialect::Cnr).to_string();
    let bill = Action::SetIdProtection {
        domain_id: private.billing.as_ref().unwrap().domain_id,
        on: true,
    };
    let privacy = Action::SetWhoisPrivacy {
        account: account.clone(),
        domain: billed.name.clone(),
        on: true,
    };
    let lock = Action::SetTransferLock {
        account: account.clone(),
        domain: unlocked.name.clone(),
        locked: true,
    };
    for a in [&bill, &privacy, &lock] {
        dead_claim(&w, a).await;
    }
    // The dead owner's write reached the registrar for the lock only.
    w.ports["cnr"]
        .set_transfer_lock(&unlocked.name, true)
        .await
        .unwrap();
    w.engine.recover_unfinished_actions().await.unwrap();
    let status = |a: &Action| {
        let key = a.idempotency_key();
        let store = w.engine.store.clone();
        async move { store.action(&key).await.unwrap().unwrap().status }
    };
    assert_eq!(status(&lock).await, ActionStatus::Applied);
    assert_eq!(status(&privacy).await, ActionStatus::Planned);
    assert_eq!(status(&bill).await, ActionStatus::Planned);
    let audit = w.engine.store.audit_log(10, None).await.unwrap();
    let lines: Vec<String> = audit
        .iter()
        .map(|a| format!("{} {} {}", a.entry.actor, a.entry.operation, a.entry.object))
        .collect();
    assert_eq!(
        lines,
        [format!(
            "recovery set-transfer-lock {}",
            unlocked.name.ascii()
        )]
    );
}
