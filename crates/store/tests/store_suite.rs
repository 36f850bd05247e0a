//! The same scenarios against SQLite and PostgreSQL.
//!
//! PostgreSQL: `DOMWATCH_TEST_POSTGRES_URL` (default `postgres://postgres@127.0.0.1:5432/postgres`);
//! each test creates and drops its own database. When the server is unreachable the
//! PostgreSQL variants print `SKIPPED` (and fail if `DOMWATCH_REQUIRE_POSTGRES=1`).

use chrono::{DateTime, Duration, TimeZone, Utc};
use domwatch_core::detect::{CaseKind, Facts, Finding};
use domwatch_core::plan::Action;
use domwatch_core::{Currency, DomainName, Money};
use domwatch_store::*;
use rust_decimal_macros::dec;
use std::collections::HashSet;

#[macro_use]
mod harness;

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 22, 3, 0, 0).unwrap()
}

fn name(s: &str) -> DomainName {
    DomainName::parse(s).unwrap()
}

fn finding(kind: CaseKind, domain: &str, stake: rust_decimal::Decimal) -> Finding {
    Finding {
        kind,
        domain: name(domain),
        billing_domain_id: Some(42),
        registrar_account: Some("cnr".into()),
        client_id: Some(3),
        summary: format!("{domain} has {kind}"),
        evidence: vec![],
        at_stake: Some(Money::new(stake, Currency::EUR)),
        facts: Facts::default(),
    }
}

fn scope(domains: &[&str]) -> HashSet<DomainName> {
    domains.iter().map(|d| name(d)).collect()
}

on_both_backends!(
    case_lifecycle_open_update_resolve_reopen,
    outage_does_not_resolve_cases,
    notices_are_claimed_once_per_opening,
    digest_covers_each_opening_once,
    audit_log_pages_newest_first,
    absences_count_consecutive_strikes,
    runs_record_outcome,
    client_currencies_are_upserted_in_bulk,
    transfer_failures_are_kept_per_account,
    many_new_cases_open_in_finding_order,
    concurrent_claims_have_one_winner,
    expired_claims_are_reclaimed_for_recovery,
    forecasts_keep_the_newest_and_say_when_partial,
    price_cases_open_update_resolve_only_in_scope_and_reopen,
);

/// TLD price cases: one per key; an open case outside the scope (its price list was not
/// read) never resolves; a resolved one reopens with its opening counted.
async fn price_cases_open_update_resolve_only_in_scope_and_reopen(store: &Store) {
    use domwatch_core::pricing::{
        compare, ExchangeRates, PriceOperation, PricingRule, RegistrarCosts, Registrars,
        SellPrices, Tld, Years,
    };
    let tld = Tld::parse("co.uk").unwrap();
    let finding_at = |sell: &str| {
        let mut prices = SellPrices::new();
        prices
            .insert_whmcs(&tld, Currency::EUR, PriceOperation::Renew, Years::ONE, sell)
            .unwrap();
        let mut costs = RegistrarCosts::new();
        let cost = Money::new(dec!(6.90), Currency::EUR);
        costs
            .set_per_year(&tld, PriceOperation::Renew, cost)
            .unwrap();
        let mut registrars = Registrars::new();
        registrars.insert("cnr", costs);
        registrars.set_default("cnr");
        compare(
            &prices,
            &registrars,
            &ExchangeRates::default(),
            &PricingRule::default(),
        )
        .findings
    };
    let key = "tld-price:co.uk:renew:EUR".to_string();
    let scope: HashSet<String> = [key.clone()].into();
    let run = store.begin_run(Utc::now(), false).await.unwrap();
    let first = finding_at("5.00");
    assert_eq!(first.len(), 1);
    let out = store
        .sync_price_findings(run, Utc::now(), &first, &scope)
        .await
        .unwrap();
    assert_eq!(out.opened, vec![key.clone()]);
    let same = store
        .sync_price_findings(run, Utc::now(), &first, &scope)
        .await
        .unwrap();
    assert_eq!(same, Default::default());
    let out = store
        .sync_price_findings(run, Utc::now(), &finding_at("6.00"), &scope)
        .await
        .unwrap();
    assert_eq!(out.updated, vec![key.clone()]);
    // Fine now, but not read: stays open.
    let out = store
        .sync_price_findings(run, Utc::now(), &[], &HashSet::new())
        .await
        .unwrap();
    assert!(out.resolved.is_empty());
    assert_eq!(store.price_cases(true).await.unwrap().len(), 1);
    let out = store
        .sync_price_findings(run, Utc::now(), &[], &scope)
        .await
        .unwrap();
    assert_eq!(out.resolved, vec![key.clone()]);
    assert!(store.price_cases(true).await.unwrap().is_empty());
    let out = store
        .sync_price_findings(run, Utc::now(), &first, &scope)
        .await
        .unwrap();
    assert_eq!(out.reopened, vec![key.clone()]);
    let case = &store.price_cases(true).await.unwrap()[0];
    assert_eq!((case.openings, case.finding.tld.as_str()), (2, "co.uk"));
    assert_eq!(store.price_case(case.id).await.unwrap().unwrap().key, key);

    // Opened, resolved and reopened are each told once; a failed notice puts them back.
    let told = store
        .claim_price_notices("notice-1", Utc::now())
        .await
        .unwrap();
    let events: Vec<&str> = told.iter().map(|n| n.event.as_str()).collect();
    assert_eq!(events, ["opened", "resolved", "reopened"]);
    let ids: Vec<i64> = told.iter().map(|n| n.id).collect();
    assert!(store
        .claim_price_notices("notice-2", Utc::now())
        .await
        .unwrap()
        .is_empty());
    store.release_price_notices(&ids, "notice-1").await.unwrap();
    let again = store
        .claim_price_notices("notice-3", Utc::now())
        .await
        .unwrap();
    assert_eq!(again.len(), 3);
    store
        .mark_price_notices_sent(&ids, "notice-3", "<digest@x>", Utc::now())
        .await
        .unwrap();
    let later = Utc::now() + Duration::hours(1);
    assert!(store
        .claim_price_notices("notice-4", later)
        .await
        .unwrap()
        .is_empty());

    // One Fix now of a price case at a time.
    let held = store
        .claim_price_case_fix(case.id, &lease("a", t0()))
        .await
        .unwrap();
    assert_eq!(held, CaseClaim::Claimed);
    assert!(matches!(
        store
            .claim_price_case_fix(case.id, &lease("b", t0()))
            .await
            .unwrap(),
        CaseClaim::Held { .. }
    ));
    store.release_price_case_fix(case.id, "a").await.unwrap();
    assert_eq!(
        store
            .claim_price_case_fix(case.id, &lease("b", t0()))
            .await
            .unwrap(),
        CaseClaim::Claimed
    );
}

async fn case_lifecycle_open_update_resolve_reopen(store: &Store) {
    let all = scope(&["a.com", "b.com"]);
    let run1 = store.begin_run(t0(), false).await.unwrap();
    let out = store
        .sync_findings(
            run1,
            t0(),
            &[
                finding(CaseKind::TurnedPremium, "a.com", dec!(100)),
                finding(CaseKind::ExpiryDrift, "b.com", dec!(0)),
                // A duplicate in the same run must not open a second case.
                finding(CaseKind::TurnedPremium, "a.com", dec!(100)),
            ],
            &all,
        )
        .await
        .unwrap();
    assert_eq!(out.opened.len(), 2);
    assert!(out.opened.iter().all(|c| c.opening == 1));

    // Same finding again: unchanged. Changed evidence: updated.
    let run2 = store
        .begin_run(t0() + Duration::hours(1), false)
        .await
        .unwrap();
    let out = store
        .sync_findings(
            run2,
            t0() + Duration::hours(1),
            &[
                finding(CaseKind::TurnedPremium, "a.com", dec!(120)),
                finding(CaseKind::ExpiryDrift, "b.com", dec!(0)),
            ],
            &all,
        )
        .await
        .unwrap();
    assert!(out.opened.is_empty());
    assert_eq!(out.updated.len(), 1);
    assert_eq!(out.unchanged, 1);

    let open = store.cases(CaseFilter::open()).await.unwrap();
    assert_eq!(open.len(), 2);
    let premium = open
        .iter()
        .find(|c| c.kind == CaseKind::TurnedPremium)
        .unwrap();
    assert_eq!(premium.at_stake, Some(Money::new(dec!(120), Currency::EUR)));
    assert_eq!(premium.finding.domain, name("a.com"));

    // Drift gone for a.com: resolves. b.com persists.
    let run3 = store
        .begin_run(t0() + Duration::hours(2), false)
        .await
        .unwrap();
    let out = store
        .sync_findings(
            run3,
            t0() + Duration::hours(2),
            &[finding(CaseKind::ExpiryDrift, "b.com", dec!(0))],
            &all,
        )
        .await
        .unwrap();
    assert_eq!(out.resolved.len(), 1);
    assert_eq!(out.resolved[0].domain, name("a.com"));
    let c = store.case(premium.id).await.unwrap().unwrap();
    assert_eq!(c.state, CaseState::Resolved);
    assert!(c.resolved_at.is_some());

    // Drift comes back: the same case reopens with opening 2.
    let run4 = store
        .begin_run(t0() + Duration::hours(3), false)
        .await
        .unwrap();
    let out = store
        .sync_findings(
            run4,
            t0() + Duration::hours(3),
            &[
                finding(CaseKind::TurnedPremium, "a.com", dec!(120)),
                finding(CaseKind::ExpiryDrift, "b.com", dec!(0)),
            ],
            &all,
        )
        .await
        .unwrap();
    assert_eq!(out.reopened.len(), 1);
    assert_eq!(out.reopened[0].id, premium.id);
    assert_eq!(out.reopened[0].opening, 2);
    assert_eq!(out.newly_open().count(), 1);

    let history: Vec<String> = store
        .case_events(premium.id)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.event)
        .collect();
    assert_eq!(history, vec!["opened", "updated", "resolved", "reopened"]);
}

async fn outage_does_not_resolve_cases(store: &Store) {
    let run = store.begin_run(t0(), false).await.unwrap();
    store
        .sync_findings(
            run,
            t0(),
            &[finding(CaseKind::RenewalUnderpriced, "x.de", dec!(3))],
            &scope(&["x.de"]),
        )
        .await
        .unwrap();
    // Next run could not observe x.de (registrar down): empty scope, case stays open.
    let run = store.begin_run(t0(), false).await.unwrap();
    let out = store
        .sync_findings(run, t0(), &[], &HashSet::new())
        .await
        .unwrap();
    assert!(out.resolved.is_empty());
    assert_eq!(store.cases(CaseFilter::open()).await.unwrap().len(), 1);
}

async fn digest_covers_each_opening_once(store: &Store) {
    let run = store.begin_run(t0(), false).await.unwrap();
    let findings = [
        finding(CaseKind::PaidNotRenewed, "d1.com", dec!(12)),
        finding(CaseKind::ExpiryDrift, "d2.com", dec!(0)),
    ];
    let out = store
        .sync_findings(run, t0(), &findings, &scope(&["d1.com", "d2.com"]))
        .await
        .unwrap();
    let first = store.claim_digest("digest:1", t0()).await.unwrap();
    assert_eq!(first.len(), 2);
    // A crash before the mail was recorded: the next run's digest includes them again.
    let again = store.claim_digest("digest:2", t0()).await.unwrap();
    assert_eq!(
        again.iter().map(|c| c.id).collect::<Vec<_>>(),
        first.iter().map(|c| c.id).collect::<Vec<_>>()
    );
    let ids: Vec<i64> = again.iter().map(|c| c.id).collect();
    store
        .mark_digest_sent(&ids, "<digest-2@domwatch>", t0())
        .await
        .unwrap();
    assert!(store
        .claim_digest("digest:3", t0())
        .await
        .unwrap()
        .is_empty());
    // The digest is not the admin notice: the case still awaits its to-do/ticket.
    let awaiting = store
        .cases_awaiting_notice(&[CaseKind::PaidNotRenewed])
        .await
        .unwrap();
    assert_eq!(awaiting.len(), 1);
    assert_eq!(awaiting[0].id, out.opened[0].id);

    // Resolved and reopened: the new opening is in the next digest.
    let run2 = store.begin_run(t0(), false).await.unwrap();
    store
        .sync_findings(run2, t0(), &findings[1..], &scope(&["d1.com", "d2.com"]))
        .await
        .unwrap();
    let run3 = store.begin_run(t0(), false).await.unwrap();
    store
        .sync_findings(run3, t0(), &findings, &scope(&["d1.com", "d2.com"]))
        .await
        .unwrap();
    let reopened = store.claim_digest("digest:4", t0()).await.unwrap();
    assert_eq!(reopened.len(), 1);
    assert_eq!(reopened[0].domain.ascii(), "d1.com");
    assert_eq!(reopened[0].openings, 2);
}

async fn notices_are_claimed_once_per_opening(store: &Store) {
    let run = store.begin_run(t0(), false).await.unwrap();
    let out = store
        .sync_findings(
            run,
            t0(),
            &[finding(CaseKind::PaidNotRenewed, "n.com", dec!(12))],
            &scope(&["n.com"]),
        )
        .await
        .unwrap();
    let case = &out.opened[0];
    let marker = format!("[domwatch case {} #{}]", case.id, case.opening);
    assert_eq!(
        store
            .claim_notice(case.id, 1, "todo", &marker, t0())
            .await
            .unwrap(),
        NoticeClaim::Fresh
    );
    // A crash before mark_notice_sent: the next run learns the claim is unfinished.
    assert_eq!(
        store
            .claim_notice(case.id, 1, "todo", &marker, t0())
            .await
            .unwrap(),
        NoticeClaim::Unfinished {
            marker: marker.clone()
        }
    );
    store
        .mark_notice_sent(case.id, 1, "todo", "todo-77", t0())
        .await
        .unwrap();
    assert_eq!(
        store
            .claim_notice(case.id, 1, "todo", &marker, t0())
            .await
            .unwrap(),
        NoticeClaim::AlreadySent {
            external_ref: Some("todo-77".into())
        }
    );
    // Another channel and another opening are separate notices.
    assert_eq!(
        store
            .claim_notice(case.id, 1, "email", &marker, t0())
            .await
            .unwrap(),
        NoticeClaim::Fresh
    );
    assert_eq!(
        store
            .claim_notice(case.id, 2, "todo", &marker, t0())
            .await
            .unwrap(),
        NoticeClaim::Fresh
    );
    let notices = store.notices(case.id).await.unwrap();
    assert_eq!(notices.len(), 3);
    assert_eq!(notices[0].status, "sent");
    assert!(store
        .case_events(case.id)
        .await
        .unwrap()
        .iter()
        .any(|e| e.event == "notified"));
}

async fn audit_log_pages_newest_first(store: &Store) {
    for i in 0..5 {
        store
            .audit(&AuditEntry {
                at: t0() + Duration::minutes(i),
                actor: "cli:test".into(),
                system: "billing".into(),
                operation: "UpdateClientDomain".into(),
                object: format!("domain #{i}"),
                request: serde_json::json!({"recurringamount": "14.99", "secret": "***"}),
                ok: i != 3,
                result: if i == 3 {
                    "error: Domain ID Not Found".into()
                } else {
                    "success".into()
                },
                case_id: None,
                run_id: None,
            })
            .await
            .unwrap();
    }
    let page = store.audit_log(3, None).await.unwrap();
    assert_eq!(
        page.iter()
            .map(|r| r.entry.object.as_str())
            .collect::<Vec<_>>(),
        vec!["domain #4", "domain #3", "domain #2"]
    );
    assert!(!page[1].entry.ok);
    let next = store.audit_log(3, Some(page[2].id)).await.unwrap();
    assert_eq!(next.len(), 2);
    assert_eq!(next[0].entry.request["recurringamount"], "14.99");
}

async fn absences_count_consecutive_strikes(store: &Store) {
    let gone = [name("gone.com"), name("müller.de")];
    let scope: HashSet<DomainName> = gone.iter().cloned().collect();
    for expected in 1..=3u32 {
        let strikes = store
            .record_absences(expected as i64, &gone, &scope)
            .await
            .unwrap();
        assert_eq!(strikes[&gone[0]], expected);
        assert_eq!(strikes[&gone[1]], expected);
    }
    // müller.de is back: its count resets; gone.com keeps counting.
    let strikes = store.record_absences(4, &gone[..1], &scope).await.unwrap();
    assert_eq!(strikes[&gone[0]], 4);
    let strikes = store.record_absences(5, &gone, &scope).await.unwrap();
    assert_eq!(strikes[&gone[1]], 1);
    // Its account could not be read: gone.com is neither absent nor back, and keeps its
    // count for the next cycle that sees the account.
    let unread: HashSet<DomainName> = [gone[1].clone()].into_iter().collect();
    store.record_absences(6, &gone[1..], &unread).await.unwrap();
    let strikes = store.record_absences(7, &gone, &scope).await.unwrap();
    assert_eq!(
        strikes[&gone[0]], 6,
        "not reset by a cycle that could not see it"
    );
}

async fn runs_record_outcome(store: &Store) {
    let ok = store.begin_run(t0(), true).await.unwrap();
    store
        .finish_run(ok, t0(), Ok(&serde_json::json!({"domains": 200})))
        .await
        .unwrap();
    let failed = store.begin_run(t0(), false).await.unwrap();
    store
        .finish_run(
            failed,
            t0(),
            Err("registrar cnr: 530 Authentication failed"),
        )
        .await
        .unwrap();
    let runs = store.runs(10).await.unwrap();
    assert_eq!(runs.len(), 2);
    assert_eq!(runs[0].status, "failed");
    assert_eq!(
        runs[0].error.as_deref(),
        Some("registrar cnr: 530 Authentication failed")
    );
    assert_eq!(runs[1].stats["domains"], 200);
    assert!(runs[1].dry_run);
}

async fn many_new_cases_open_in_finding_order(store: &Store) {
    // More than one multi-row INSERT carries, with a repeated finding in between.
    let mut findings: Vec<Finding> = (0..250)
        .map(|i| finding(CaseKind::ExpiryDrift, &format!("d{i:03}.com"), dec!(1)))
        .collect();
    findings.insert(120, findings[7].clone());
    let domains: Vec<String> = (0..250).map(|i| format!("d{i:03}.com")).collect();
    let names: Vec<&str> = domains.iter().map(String::as_str).collect();
    let outcome = store
        .sync_findings(1, t0(), &findings, &scope(&names))
        .await
        .unwrap();
    assert_eq!(outcome.opened.len(), 250);
    let order: Vec<&str> = outcome.opened.iter().map(|c| c.domain.ascii()).collect();
    assert_eq!(order, names);
    assert!(outcome.opened.windows(2).all(|w| w[0].id < w[1].id));
    let last = outcome.opened.last().unwrap();
    let case = store.case(last.id).await.unwrap().unwrap();
    assert_eq!(case.domain.ascii(), "d249.com");
    assert_eq!(case.openings, 1);
    let events = store.case_events(last.id).await.unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].event, "opened");
    // A second run finds them all again: nothing new.
    let again = store
        .sync_findings(2, t0(), &findings, &scope(&names))
        .await
        .unwrap();
    assert!(again.opened.is_empty() && again.resolved.is_empty());
}

async fn client_currencies_are_upserted_in_bulk(store: &Store) {
    assert!(store.client_currencies().await.unwrap().is_empty());
    // More rows than one multi-row INSERT carries.
    let many: Vec<(u64, Currency, &str)> = (1..=1203)
        .map(|id| (id, Currency::EUR, "invoices"))
        .collect();
    store.save_client_currencies(&many, t0()).await.unwrap();
    let later = t0() + Duration::days(3);
    store
        .save_client_currencies(&[(7, Currency::USD, "client_details")], later)
        .await
        .unwrap();
    let mut cached = store.client_currencies().await.unwrap();
    cached.sort_by_key(|c| c.client_id);
    assert_eq!(cached.len(), 1203);
    assert_eq!(cached[0].currency, Currency::EUR);
    assert_eq!(cached[0].source, "invoices");
    assert_eq!(cached[0].checked_at, t0());
    let seven = &cached[6];
    assert_eq!(
        (seven.client_id, seven.currency, seven.source.as_str()),
        (7, Currency::USD, "client_details")
    );
    assert_eq!(seven.checked_at, later);
    store.save_client_currencies(&[], later).await.unwrap();
}

async fn transfer_failures_are_kept_per_account(store: &Store) {
    let premium = (name("premium.guru"), "premium fee not accepted".to_string());
    let idn = (name("müller.de"), "wrong auth code".to_string());
    store
        .update_transfer_failures("cnr", &[premium.clone(), idn.clone()], &[], t0())
        .await
        .unwrap();
    store
        .update_transfer_failures("ispapi", std::slice::from_ref(&premium), &[], t0())
        .await
        .unwrap();
    let cnr = store.transfer_failures("cnr").await.unwrap();
    assert_eq!(cnr.len(), 2);
    assert_eq!(cnr[&idn.0].reason, "wrong auth code");
    assert_eq!(cnr[&idn.0].checked_at, t0());
    // The transfer of müller.de runs again; premium.guru's reason is re-read.
    let later = t0() + Duration::hours(1);
    let reread = (premium.0.clone(), "premium: fee not accepted".to_string());
    store
        .update_transfer_failures("cnr", &[reread], std::slice::from_ref(&idn.0), later)
        .await
        .unwrap();
    let cnr = store.transfer_failures("cnr").await.unwrap();
    assert_eq!(cnr.len(), 1);
    assert_eq!(cnr[&premium.0].reason, "premium: fee not accepted");
    assert_eq!(cnr[&premium.0].checked_at, later);
    assert_eq!(store.transfer_failures("ispapi").await.unwrap().len(), 1);
    assert!(store.transfer_failures("other").await.unwrap().is_empty());
}

#[tokio::test]
async fn bad_urls_say_what_to_use() {
    let err = Store::connect("mysql://x").await.unwrap_err();
    assert!(err.to_string().contains("sqlite://"), "{err}");
    let err = Store::connect("sqlite:///nonexistent-dir/for/sure/x.db")
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("cannot open the database"),
        "{err}"
    );
}

// ---- claims -----------------------------------------------------------------------------

fn lease(owner: &str, now: DateTime<Utc>) -> Lease {
    Lease {
        owner: owner.to_string(),
        now,
        until: now + Duration::minutes(15),
    }
}

async fn open_case(store: &Store, domain: &str) -> i64 {
    let run = store.begin_run(t0(), false).await.unwrap();
    let out = store
        .sync_findings(
            run,
            t0(),
            &[finding(CaseKind::TransferFailedPremium, domain, dec!(40))],
            &scope(&[domain]),
        )
        .await
        .unwrap();
    out.opened[0].id
}

fn transfer(domain: &str) -> Action {
    Action::RetryTransfer {
        domain_id: 42,
        domain: name(domain),
        accept_fee: Some(Money::new(dec!(120), Currency::EUR)),
        premium_class: Some("premium-a".into()),
    }
}

fn applied_entry(case_id: i64, owner: &str) -> AuditEntry {
    AuditEntry {
        at: t0(),
        actor: owner.into(),
        system: "billing".into(),
        operation: "DomainTransfer".into(),
        object: "t.com".into(),
        request: serde_json::json!({}),
        ok: true,
        result: "transfer requested through WHMCS".into(),
        case_id: Some(case_id),
        run_id: None,
    }
}

async fn concurrent_claims_have_one_winner(store: &Store) {
    let case_id = open_case(store, "t.com").await;
    let action = transfer("t.com");
    let mut claims = tokio::task::JoinSet::new();
    for i in 0..20 {
        let (store, action) = (store.clone(), action.clone());
        claims.spawn(async move {
            let owner = format!("request {i}");
            let claim = store
                .claim_action(Some(case_id), &action, &lease(&owner, t0()))
                .await
                .unwrap();
            (owner, claim)
        });
    }
    let outcomes = claims.join_all().await;
    let winners: Vec<&String> = outcomes
        .iter()
        .filter(|(_, c)| *c == ActionClaim::Claimed)
        .map(|(o, _)| o)
        .collect();
    assert_eq!(winners.len(), 1, "{outcomes:?}");
    let winner = winners[0].clone();
    for (owner, claim) in &outcomes {
        if *owner != winner {
            assert_eq!(
                *claim,
                ActionClaim::InProgress {
                    owner: winner.clone(),
                    lease_until: Some(t0() + Duration::minutes(15))
                },
                "{owner}"
            );
        }
    }
    let record = store
        .action(&action.idempotency_key())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(record.status, ActionStatus::Running);
    assert_eq!(record.owner.as_deref(), Some(winner.as_str()));
    assert_eq!(store.running_actions().await.unwrap().len(), 1);

    // Only the owner finishes it; then everyone is told it is applied.
    let key = action.idempotency_key();
    assert!(!store
        .audit_and_finish_claimed(
            &applied_entry(case_id, "request x"),
            &key,
            "request x",
            None
        )
        .await
        .unwrap());
    assert!(store
        .audit_and_finish_claimed(&applied_entry(case_id, &winner), &key, &winner, None)
        .await
        .unwrap());
    assert_eq!(store.audit_log(10, None).await.unwrap().len(), 1);
    let again = store
        .claim_action(Some(case_id), &action, &lease("late", t0()))
        .await
        .unwrap();
    assert_eq!(again, ActionClaim::AlreadyApplied);
    assert!(store.running_actions().await.unwrap().is_empty());

    // One fix of a case at a time, too.
    let mut cases = tokio::task::JoinSet::new();
    for i in 0..20 {
        let store = store.clone();
        cases.spawn(async move {
            store
                .claim_case_fix(case_id, &lease(&format!("request {i}"), t0()))
                .await
                .unwrap()
        });
    }
    let outcomes = cases.join_all().await;
    let claimed = outcomes
        .iter()
        .filter(|c| **c == CaseClaim::Claimed)
        .count();
    assert_eq!(claimed, 1, "{outcomes:?}");
    assert!(outcomes
        .iter()
        .all(|c| matches!(c, CaseClaim::Claimed | CaseClaim::Held { .. })));
}

async fn expired_claims_are_reclaimed_for_recovery(store: &Store) {
    let case_id = open_case(store, "t.com").await;
    let action = transfer("t.com");
    let key = action.idempotency_key();
    let claim = |owner: &'static str, at: DateTime<Utc>| {
        let (store, action) = (store.clone(), action.clone());
        async move {
            store
                .claim_action(Some(case_id), &action, &lease(owner, at))
                .await
                .unwrap()
        }
    };
    assert_eq!(claim("dies", t0()).await, ActionClaim::Claimed);
    // While the lease runs, the claim holds.
    assert!(matches!(
        claim("second", t0() + Duration::minutes(14)).await,
        ActionClaim::InProgress { owner, .. } if owner == "dies"
    ));
    // After it, the next claimer takes it over and must look before writing.
    let later = t0() + Duration::minutes(16);
    assert_eq!(
        claim("second", later).await,
        ActionClaim::ClaimedForRecovery
    );
    // The dead owner, back after all, can no longer record anything.
    assert!(!store
        .audit_and_finish_claimed(&applied_entry(case_id, "dies"), &key, "dies", None)
        .await
        .unwrap());
    assert!(store.audit_log(10, None).await.unwrap().is_empty());
    // Not in effect: released as planned, and an ordinary claim follows.
    assert!(!store.release_action(&key, "dies").await.unwrap());
    assert!(store.release_action(&key, "second").await.unwrap());
    assert_eq!(
        store.action_status(&key).await.unwrap(),
        Some(ActionStatus::Planned)
    );
    assert_eq!(claim("third", later).await, ActionClaim::Claimed);
    // Could not look: the lease ends but the claim stays running for the next look.
    assert!(store
        .expire_action_claim(&key, "third", later - Duration::seconds(1))
        .await
        .unwrap());
    let stale = store.running_actions().await.unwrap();
    assert_eq!(stale.len(), 1);
    assert_eq!(stale[0].owner.as_deref(), Some("third"));
    assert!(stale[0].lease_until.unwrap() < later);
    assert_eq!(
        claim("fourth", later).await,
        ActionClaim::ClaimedForRecovery
    );
    // A taker-over names the owner it replaces: one wins.
    assert!(!store
        .take_over_action(&key, "third", &lease("fifth", later))
        .await
        .unwrap());
    assert!(store
        .take_over_action(&key, "fourth", &lease("fifth", later))
        .await
        .unwrap());
    // A failed write may be retried.
    let failed = AuditEntry {
        ok: false,
        result: "registrar refused".into(),
        ..applied_entry(case_id, "fifth")
    };
    assert!(store
        .audit_and_finish_claimed(&failed, &key, "fifth", None)
        .await
        .unwrap());
    assert_eq!(claim("sixth", later).await, ActionClaim::Claimed);

    // Case claims: held until released or expired; a gone holder can be taken over.
    assert_eq!(
        store
            .claim_case_fix(case_id, &lease("a", t0()))
            .await
            .unwrap(),
        CaseClaim::Claimed
    );
    assert_eq!(
        store
            .claim_case_fix(case_id, &lease("b", t0() + Duration::minutes(1)))
            .await
            .unwrap(),
        CaseClaim::Held {
            owner: "a".into(),
            lease_until: t0() + Duration::minutes(15)
        }
    );
    assert!(store
        .take_over_case_fix(case_id, "a", &lease("b", t0()))
        .await
        .unwrap());
    store.release_case_fix(case_id, "a").await.unwrap(); // not a's any more: no effect
    assert!(matches!(
        store.claim_case_fix(case_id, &lease("c", t0())).await.unwrap(),
        CaseClaim::Held { owner, .. } if owner == "b"
    ));
    store.release_case_fix(case_id, "b").await.unwrap();
    assert_eq!(
        store
            .claim_case_fix(case_id, &lease("c", t0()))
            .await
            .unwrap(),
        CaseClaim::Claimed
    );
    assert_eq!(
        store
            .claim_case_fix(case_id, &lease("d", later))
            .await
            .unwrap(),
        CaseClaim::Claimed,
        "an expired case claim is free"
    );
}

fn a_forecast(billed: rust_decimal::Decimal) -> domwatch_core::forecast::ForecastReport {
    use domwatch_core::forecast::{forecast, ForecastOptions, RenewalDue};
    let renewal = RenewalDue {
        domain: name("müller.de"),
        due: t0().date_naive() + Duration::days(10),
        account: "cnr".into(),
        billed: Money::new(billed, Currency::EUR),
        cost: Some(Money::new(dec!(8), Currency::EUR)),
    };
    forecast(
        [renewal],
        &domwatch_core::FixedClock::new(t0()),
        &domwatch_core::pricing::ExchangeRates::default(),
        ForecastOptions::default(),
    )
}

async fn forecasts_keep_the_newest_and_say_when_partial(store: &Store) {
    assert_eq!(store.latest_forecast().await.unwrap(), None);
    let mut last = None;
    for i in 0..(FORECASTS_KEPT + 2) {
        let run = store
            .begin_run(t0() + Duration::hours(i), false)
            .await
            .unwrap();
        let record = ForecastRecord {
            run_id: run,
            computed_at: t0() + Duration::hours(i),
            complete: i % 2 == 0,
            missing: if i % 2 == 0 {
                vec![]
            } else {
                vec!["registrar account hx: 530 Authentication failed".into()]
            },
            report: a_forecast(rust_decimal::Decimal::from(10 + i)),
        };
        store.save_forecast(&record).await.unwrap();
        last = Some(record);
    }
    let latest = store.latest_forecast().await.unwrap().unwrap();
    assert_eq!(Some(&latest), last.as_ref(), "round-trips unchanged");
    assert!(!latest.complete);
    assert_eq!(latest.missing.len(), 1);
    let month = latest.report.window(30).unwrap();
    assert_eq!(month.by_currency[&Currency::EUR].billed, dec!(21));
    assert_eq!(latest.report.loss_makers.len(), 0);
    let kept = store.forecast_runs().await.unwrap();
    assert_eq!(kept.len() as i64, FORECASTS_KEPT);
    assert_eq!(kept[0], latest.run_id, "newest first");
}
