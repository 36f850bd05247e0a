//! Case lists for large stores, on SQLite and PostgreSQL: pages with their total, every
//! filter and sort done in SQL, the summary by kind, and the export in batches.

use chrono::{Duration, TimeZone, Utc};
use domwatch_core::detect::{CaseKind, Facts, Finding};
use domwatch_core::{search_fragment, Currency, DomainName, Money};
use domwatch_store::*;
use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use std::collections::HashSet;

#[macro_use]
mod harness;

on_both_backends!(
    pages_filter_and_sort_in_sql,
    summary_counts_and_sums_per_kind_and_currency,
    export_batches_walk_every_match_once,
    a_stored_finding_gains_its_client_without_an_update,
);

/// One case: kind, domain, account, client, money at stake.
struct Seed(
    CaseKind,
    &'static str,
    &'static str,
    Option<u64>,
    Option<(Decimal, Currency)>,
);

fn finding(s: &Seed) -> Finding {
    Finding {
        kind: s.0,
        domain: DomainName::parse(s.1).unwrap(),
        billing_domain_id: s.3.map(|c| c * 10),
        registrar_account: Some(s.2.into()),
        client_id: s.3,
        summary: format!("{} needs a look", s.1),
        evidence: vec![],
        at_stake: s.4.map(|(a, c)| Money::new(a, c)),
        facts: Facts::default(),
    }
}

fn seeds() -> Vec<Seed> {
    use CaseKind::*;
    let eur = |a| Some((a, Currency::EUR));
    let usd = |a| Some((a, Currency::USD));
    vec![
        Seed(
            RenewalUnderpriced,
            "müller.shop",
            "cnr",
            Some(1),
            eur(dec!(12.50)),
        ),
        Seed(
            RenewalUnderpriced,
            "cheap.co.uk",
            "cnr",
            Some(2),
            eur(dec!(3)),
        ),
        Seed(
            RenewalUnderpriced,
            "plain.uk",
            "ispapi",
            Some(2),
            usd(dec!(40)),
        ),
        Seed(ExpiryDrift, "muller.de", "cnr", Some(1), None),
        Seed(
            ExpiryDrift,
            "other.de",
            "smartnic",
            Some(3),
            eur(dec!(0.99)),
        ),
        Seed(
            StatusDrift,
            "shop.example.com",
            "ispapi",
            None,
            usd(dec!(7)),
        ),
        Seed(OrphanAtRegistrar, "nobody.com", "cnr", None, eur(dec!(25))),
    ]
}

/// Opens the seeded cases one run apart (a minute each, so their age differs), and
/// resolves `nobody.com` in a later run.
async fn seed(store: &Store) -> Vec<i64> {
    let t0 = Utc.with_ymd_and_hms(2026, 11, 22, 3, 0, 0).unwrap();
    let seeds = seeds();
    let mut ids = Vec::new();
    for (i, s) in seeds.iter().enumerate() {
        let at = t0 + Duration::minutes(i as i64);
        let run = store.begin_run(at, false).await.unwrap();
        let out = store
            .sync_findings(run, at, &[finding(s)], &HashSet::new())
            .await
            .unwrap();
        ids.push(out.opened[0].id);
    }
    ids
}

fn domains(page: &CasePage) -> Vec<String> {
    page.cases
        .iter()
        .map(|c| c.domain.ascii().to_string())
        .collect()
}

async fn pages_filter_and_sort_in_sql(store: &Store) {
    seed(store).await;
    let all = CaseQuery {
        state: None,
        ..CaseQuery::default()
    };
    // Money first (as numbers, whatever the currency), cases without an amount last.
    let by_stake = store.case_page(&all).await.unwrap();
    assert_eq!(by_stake.total, 7);
    assert_eq!(
        domains(&by_stake),
        [
            "plain.uk",
            "nobody.com",
            "xn--mller-kva.shop",
            "shop.example.com",
            "cheap.co.uk",
            "other.de",
            "muller.de"
        ]
    );
    // Pages of three: no overlap, nothing lost, the last one short.
    let mut walked = Vec::new();
    for page in 1..=3 {
        let p = store
            .case_page(&CaseQuery {
                page,
                per_page: 3,
                ..all.clone()
            })
            .await
            .unwrap();
        assert_eq!((p.total, p.pages()), (7, 3));
        assert_eq!(p.next_page(), (page < 3).then_some(page + 1));
        walked.extend(domains(&p));
    }
    assert_eq!(walked, domains(&by_stake));
    let beyond = CaseQuery {
        page: 9,
        per_page: 3,
        ..all.clone()
    };
    let beyond = store.case_page(&beyond).await.unwrap();
    assert!(beyond.cases.is_empty());
    assert_eq!(beyond.total, 7);

    let sorted = |sort| {
        let q = CaseQuery {
            sort,
            ..all.clone()
        };
        async move { domains(&store.case_page(&q).await.unwrap()) }
    };
    assert_eq!(sorted(CaseSort::Oldest).await[0], "xn--mller-kva.shop");
    assert_eq!(sorted(CaseSort::Newest).await[0], "nobody.com");
    assert_eq!(sorted(CaseSort::Domain).await[0], "cheap.co.uk");
    assert_eq!(sorted(CaseSort::Kind).await[0], "muller.de"); // expiry_drift < orphan…

    let count = |q: CaseQuery| async move { domains(&store.case_page(&q).await.unwrap()) };
    let with = |f: fn(&mut CaseQuery)| {
        let mut q = all.clone();
        q.sort = CaseSort::Domain;
        f(&mut q);
        q
    };
    assert_eq!(
        count(with(
            |q| q.kinds = vec![CaseKind::ExpiryDrift, CaseKind::StatusDrift]
        ))
        .await,
        ["muller.de", "other.de", "shop.example.com"]
    );
    assert_eq!(
        count(with(|q| q.account = Some("ispapi".into()))).await,
        ["plain.uk", "shop.example.com"]
    );
    // A zone exactly, or a TLD with the zones under it.
    assert_eq!(
        count(with(|q| q.tld = Some("uk".into()))).await,
        ["cheap.co.uk", "plain.uk"]
    );
    assert_eq!(
        count(with(|q| q.tld = Some("co.uk".into()))).await,
        ["cheap.co.uk"]
    );
    assert_eq!(
        count(with(|q| q.client_id = Some(2))).await,
        ["cheap.co.uk", "plain.uk"]
    );
    assert_eq!(
        count(with(|q| q.currency = Some(Currency::USD))).await,
        ["plain.uk", "shop.example.com"]
    );
    assert_eq!(
        count(with(|q| q.min_at_stake = Some(dec!(12.5)))).await,
        ["nobody.com", "plain.uk", "xn--mller-kva.shop"]
    );
    // Search: a Unicode name finds its A-label; an ASCII fragment is a substring.
    let search = |text: &str| {
        let mut q = all.clone();
        q.sort = CaseSort::Domain;
        q.search = Some(search_fragment(text).unwrap());
        q
    };
    assert_eq!(count(search("Müller")).await, ["xn--mller-kva.shop"]);
    assert_eq!(count(search("MULLER")).await, ["muller.de"]);
    assert_eq!(
        count(search(".co")).await,
        ["cheap.co.uk", "nobody.com", "shop.example.com"]
    );
    // Wildcards in a search are text, not patterns.
    let literal = CaseQuery {
        search: Some("%".into()),
        ..all.clone()
    };
    assert_eq!(store.case_page(&literal).await.unwrap().total, 0);
    // Filters combine; the default state is open.
    let open_cnr_eur = CaseQuery {
        account: Some("cnr".into()),
        currency: Some(Currency::EUR),
        ..CaseQuery::default()
    };
    assert_eq!(store.case_page(&open_cnr_eur).await.unwrap().total, 3);
}

async fn summary_counts_and_sums_per_kind_and_currency(store: &Store) {
    let empty = store.case_summary(Some(CaseState::Open)).await.unwrap();
    assert_eq!(empty, CaseSummary::default());
    seed(store).await;
    // nobody.com resolves: its domain is in scope and not found again.
    let at = Utc.with_ymd_and_hms(2026, 11, 23, 3, 0, 0).unwrap();
    let run = store.begin_run(at, false).await.unwrap();
    let scope: HashSet<DomainName> = [DomainName::parse("nobody.com").unwrap()].into();
    let out = store.sync_findings(run, at, &[], &scope).await.unwrap();
    assert_eq!(out.resolved.len(), 1);

    let open = store.case_summary(Some(CaseState::Open)).await.unwrap();
    assert_eq!(open.total, 6);
    let eur = |a| Money::new(a, Currency::EUR);
    let usd = |a| Money::new(a, Currency::USD);
    assert_eq!(open.at_stake, [eur(dec!(16.49)), usd(dec!(47))]);
    let kinds: Vec<(CaseKind, i64, Vec<Money>)> = open
        .kinds
        .iter()
        .map(|k| (k.kind, k.count, k.at_stake.clone()))
        .collect();
    assert_eq!(
        kinds,
        [
            (
                CaseKind::RenewalUnderpriced,
                3,
                vec![eur(dec!(15.5)), usd(dec!(40))]
            ),
            (CaseKind::ExpiryDrift, 2, vec![eur(dec!(0.99))]),
            (CaseKind::StatusDrift, 1, vec![usd(dec!(7))]),
        ]
    );
    let top = store
        .top_cases_per_kind(Some(CaseState::Open), 2)
        .await
        .unwrap();
    let top: Vec<(CaseKind, &str)> = top.iter().map(|c| (c.kind, c.domain.ascii())).collect();
    assert_eq!(
        top,
        [
            (CaseKind::ExpiryDrift, "other.de"),
            (CaseKind::ExpiryDrift, "muller.de"),
            (CaseKind::RenewalUnderpriced, "plain.uk"),
            (CaseKind::RenewalUnderpriced, "xn--mller-kva.shop"),
            (CaseKind::StatusDrift, "shop.example.com"),
        ]
    );
    let all = store.case_summary(None).await.unwrap();
    assert_eq!(all.total, 7);
    assert_eq!(all.at_stake, [eur(dec!(41.49)), usd(dec!(47))]);
}

async fn export_batches_walk_every_match_once(store: &Store) {
    seed(store).await;
    let query = CaseQuery {
        state: None,
        ..CaseQuery::default()
    };
    let mut walked = Vec::new();
    let mut after: Option<(CaseKind, String)> = None;
    loop {
        let batch = store
            .cases_after(&query, after.as_ref().map(|(k, d)| (*k, d.as_str())), 2)
            .await
            .unwrap();
        let Some(last) = batch.last() else { break };
        after = Some((last.kind, last.domain.ascii().to_string()));
        walked.extend(batch.iter().map(|c| c.domain.ascii().to_string()));
    }
    let whole = CaseQuery {
        sort: CaseSort::Kind,
        ..query.clone()
    };
    assert_eq!(walked, domains(&store.case_page(&whole).await.unwrap()));
    assert_eq!(walked.len(), 7);
    let only_uk = CaseQuery {
        tld: Some("uk".into()),
        ..query
    };
    assert_eq!(
        store.cases_after(&only_uk, None, 100).await.unwrap().len(),
        2
    );
}

/// A finding stored before findings named their client gains it in the next run: its
/// client column is filled, and the case's history shows no update for it.
async fn a_stored_finding_gains_its_client_without_an_update(store: &Store) {
    let s = Seed(
        CaseKind::ExpiryDrift,
        "late.de",
        "cnr",
        Some(9),
        Some((dec!(2), Currency::EUR)),
    );
    let mut old = finding(&s);
    old.client_id = None;
    let at = Utc.with_ymd_and_hms(2026, 11, 22, 3, 0, 0).unwrap();
    let run = store.begin_run(at, false).await.unwrap();
    let opened = store
        .sync_findings(run, at, &[old], &HashSet::new())
        .await
        .unwrap();
    let id = opened.opened[0].id;
    let by_client = CaseQuery {
        client_id: Some(9),
        ..CaseQuery::default()
    };
    assert_eq!(store.case_page(&by_client).await.unwrap().total, 0);

    let run = store.begin_run(at, false).await.unwrap();
    let out = store
        .sync_findings(run, at, &[finding(&s)], &HashSet::new())
        .await
        .unwrap();
    assert!(out.updated.is_empty(), "{out:?}");
    assert_eq!(out.unchanged, 1);
    let page = store.case_page(&by_client).await.unwrap();
    assert_eq!(page.total, 1);
    assert_eq!(page.cases[0].finding.client_id, Some(9));
    let events: Vec<String> = store
        .case_events(id)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.event)
        .collect();
    assert_eq!(events, ["opened"]);

    // A real change is still an update.
    let mut changed = finding(&s);
    changed.summary = "late.de drifts further".into();
    let out = store
        .sync_findings(run, at, &[changed], &HashSet::new())
        .await
        .unwrap();
    assert_eq!(out.updated.len(), 1);
}
