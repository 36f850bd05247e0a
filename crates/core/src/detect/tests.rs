use super::*;
use crate::model::{BillingPremiumCost, PremiumInfo, RenewalMode};
use crate::money::Currency;
use rust_decimal::Decimal;
use rust_decimal_macros::dec;

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 22).unwrap()
}

fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).unwrap()
}

fn eur(a: Decimal) -> Money {
    Money::new(a, Currency::EUR)
}

fn rates() -> RateTable {
    let mut t = RateTable::new();
    t.insert(Currency::EUR, Currency::USD, dec!(1.10));
    t
}

fn billing(name: &str) -> BillingDomain {
    BillingDomain {
        id: 7,
        client_id: 3,
        name: DomainName::parse(name).unwrap(),
        registrar_module: "cnic".into(),
        status: BillingStatus::Active,
        recurring_amount: eur(dec!(12.00)),
        registration_period_years: 1,
        expiry: Some(d(2027, 5, 1)),
        next_due: Some(d(2027, 5, 1)),
        do_not_renew: false,
        is_premium: Some(false),
        premium_cost: None,
        id_protection: None,
    }
}

fn registrar(name: &str) -> RegistrarDomain {
    let mut r = RegistrarDomain::new(DomainName::parse(name).unwrap());
    r.paid_until = Some(d(2027, 5, 1));
    r.registry_expiry = Some(d(2027, 5, 1));
    r.renewal_mode = Some(RenewalMode::AutoRenew);
    r.status = vec!["ACTIVE".to_string()].into();
    r.renewal_price = Some(eur(dec!(9.50)));
    r
}

fn obs(b: Option<BillingDomain>, r: Option<RegistrarDomain>) -> Observation {
    let name = b
        .as_ref()
        .map(|b| b.name.clone())
        .or_else(|| r.as_ref().map(|r| r.name.clone()))
        .unwrap();
    Observation {
        name,
        billing: b,
        registrar: r,
        registrar_account: Some("cnr-live".into()),
        renewal_invoice: None,
        transfer: None,
        missing_strikes: 0,
        lifecycle_watch: false,
    }
}

fn kinds(o: &Observation) -> Vec<CaseKind> {
    detect(o, &DetectionPolicy::default(), &rates(), today())
        .into_iter()
        .map(|f| f.kind)
        .collect()
}

#[test]
fn clean_domain_has_no_findings() {
    let o = obs(Some(billing("ok.com")), Some(registrar("ok.com")));
    assert!(kinds(&o).is_empty());
}

#[test]
fn turned_premium_with_money_at_stake() {
    let mut r = registrar("shop.shop");
    r.premium = Some(PremiumInfo {
        class: "premium".into(),
    });
    r.renewal_price = Some(eur(dec!(120)));
    let o = obs(Some(billing("shop.shop")), Some(r));
    let f = detect(&o, &DetectionPolicy::default(), &rates(), today());
    assert_eq!(f.len(), 1, "{f:#?}");
    assert_eq!(f[0].kind, CaseKind::TurnedPremium);
    assert_eq!(f[0].at_stake, Some(eur(dec!(108.00))));
    assert_eq!(
        f[0].facts.proposed_recurring_amount,
        Some(eur(dec!(150.00)))
    );
}

#[test]
fn unknown_premium_flag_judged_by_price() {
    let mut r = registrar("p.shop");
    r.premium = Some(PremiumInfo {
        class: "premium".into(),
    });
    r.renewal_price = Some(eur(dec!(120)));
    let mut b = billing("p.shop");
    b.is_premium = None;
    b.recurring_amount = eur(dec!(150));
    assert!(kinds(&obs(Some(b.clone()), Some(r.clone()))).is_empty());
    b.recurring_amount = eur(dec!(12));
    assert_eq!(kinds(&obs(Some(b), Some(r))), vec![CaseKind::TurnedPremium]);
}

#[test]
fn premium_data_missing_and_stale() {
    let mut r = registrar("p.shop");
    r.premium = Some(PremiumInfo {
        class: "premium".into(),
    });
    r.renewal_price = Some(eur(dec!(120)));
    let mut b = billing("p.shop");
    b.is_premium = Some(true);
    b.recurring_amount = eur(dec!(150));
    assert_eq!(
        kinds(&obs(Some(b.clone()), Some(r.clone()))),
        vec![CaseKind::PremiumDataMissing]
    );
    b.premium_cost = Some(Box::new(BillingPremiumCost {
        registration_cost: Some(eur(dec!(120))),
        renewal_cost: Some(eur(dec!(120))),
    }));
    assert!(kinds(&obs(Some(b.clone()), Some(r.clone()))).is_empty());
    b.premium_cost.as_mut().unwrap().renewal_cost = Some(eur(dec!(100)));
    assert_eq!(
        kinds(&obs(Some(b), Some(r))),
        vec![CaseKind::PremiumDataMissing]
    );
}

#[test]
fn underpriced_in_client_currency() {
    let mut b = billing("cheap.io");
    b.recurring_amount = Money::new(dec!(30), Currency::USD);
    let mut r = registrar("cheap.io");
    r.renewal_price = Some(eur(dec!(32))); // = 35.20 USD
    let f = detect(
        &obs(Some(b), Some(r)),
        &DetectionPolicy::default(),
        &rates(),
        today(),
    );
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].kind, CaseKind::RenewalUnderpriced);
    assert_eq!(f[0].at_stake, Some(Money::new(dec!(5.20), Currency::USD)));
    assert!(
        f[0].summary.contains("you pay 5.20 USD"),
        "{}",
        f[0].summary
    );
}

#[test]
fn thin_margin_flagged_and_zero_minimum_disables_it() {
    let mut b = billing("thin.com");
    b.recurring_amount = eur(dec!(10.00)); // cost 9.50 -> 5.3%
    let o = obs(Some(b), Some(registrar("thin.com")));
    assert_eq!(kinds(&o), vec![CaseKind::MarginBelowMinimum]);
    let mut policy = DetectionPolicy::default();
    policy.margin.min_margin_percent = Decimal::ZERO;
    assert!(detect(&o, &policy, &rates(), today()).is_empty());
}

#[test]
fn no_price_findings_for_do_not_renew_or_cancelled() {
    let mut b = billing("gone.com");
    b.recurring_amount = eur(dec!(1));
    b.do_not_renew = true;
    let mut r = registrar("gone.com");
    r.renewal_mode = Some(RenewalMode::AutoExpire);
    assert!(kinds(&obs(Some(b), Some(r))).is_empty());
}

#[test]
fn paid_not_renewed_and_premium_cause() {
    let mut b = billing("late.com");
    b.expiry = Some(d(2027, 11, 30));
    let mut r = registrar("late.com");
    r.paid_until = Some(d(2026, 11, 30));
    r.renewal_mode = Some(RenewalMode::AutoExpire);
    let mut o = obs(Some(b), Some(r));
    o.renewal_invoice = Some(RenewalInvoice {
        invoice_id: 99,
        paid: true,
        cancelled: false,
        amount: eur(dec!(12)),
        due_date: d(2026, 11, 30),
        date_paid: Some(d(2026, 11, 20)),
    });
    assert_eq!(kinds(&o), vec![CaseKind::PaidNotRenewed]);

    let r = o.registrar.as_mut().unwrap();
    r.premium = Some(PremiumInfo {
        class: "premium".into(),
    });
    r.renewal_price = Some(eur(dec!(200)));
    let f = detect(&o, &DetectionPolicy::default(), &rates(), today());
    assert_eq!(
        f.iter().map(|f| f.kind).collect::<Vec<_>>(),
        vec![CaseKind::RenewalFailedPremium]
    );
    assert_eq!(f[0].facts.renewal_invoice_id, Some(99));
}

/// WHMCS moves only the next due date on payment; the expiry date waits for the
/// registrar. A renewal that then fails leaves both expiry dates where they were.
fn paid_but_only_next_due_moved(term_end: NaiveDate, mode: RenewalMode) -> Observation {
    let mut b = billing("stuck.com");
    b.expiry = Some(term_end);
    b.next_due = Some(term_end + chrono::Duration::days(365));
    let mut r = registrar("stuck.com");
    r.paid_until = Some(term_end);
    r.registry_expiry = Some(term_end);
    r.renewal_mode = Some(mode);
    let mut o = obs(Some(b), Some(r));
    o.renewal_invoice = Some(RenewalInvoice {
        invoice_id: 41,
        paid: true,
        cancelled: false,
        amount: eur(dec!(12)),
        due_date: term_end,
        date_paid: Some(d(2026, 11, 10)),
    });
    o
}

#[test]
fn paid_not_renewed_whatever_whmcs_did_to_its_dates() {
    // The term ended a week ago and the paid year was never added.
    let o = paid_but_only_next_due_moved(d(2026, 11, 15), RenewalMode::AutoRenew);
    let f = detect(&o, &DetectionPolicy::default(), &rates(), today());
    assert_eq!(
        f.iter().map(|f| f.kind).collect::<Vec<_>>(),
        vec![CaseKind::PaidNotRenewed]
    );
    assert_eq!(f[0].facts.renewal_invoice_id, Some(41));
    assert!(f[0]
        .evidence
        .iter()
        .any(|e| e.label == "Next due date" && e.billing.as_deref() == Some("2027-11-15")));

    // The registrar lets the domain expire: it will not add the paid year by itself.
    let o = paid_but_only_next_due_moved(d(2026, 12, 10), RenewalMode::AutoExpire);
    assert_eq!(kinds(&o), vec![CaseKind::PaidNotRenewed]);

    // The registrar renews at the end of the term, which has not come yet: no case.
    let o = paid_but_only_next_due_moved(d(2026, 12, 10), RenewalMode::AutoRenew);
    assert!(kinds(&o).is_empty());
}

#[test]
fn premium_renewal_failure_is_not_reported_as_turned_premium() {
    let mut o = paid_but_only_next_due_moved(d(2026, 11, 15), RenewalMode::AutoRenew);
    let r = o.registrar.as_mut().unwrap();
    r.premium = Some(PremiumInfo {
        class: "premium".into(),
    });
    r.renewal_price = Some(eur(dec!(200)));
    let f = detect(&o, &DetectionPolicy::default(), &rates(), today());
    assert_eq!(
        f.iter().map(|f| f.kind).collect::<Vec<_>>(),
        vec![CaseKind::RenewalFailedPremium]
    );
    assert!(
        f[0].evidence.iter().any(|e| e.label == "Renewal price"),
        "premium evidence (prices) is shown: {:?}",
        f[0].evidence
    );
}

#[test]
fn missing_at_registrar_reads_the_same_every_cycle() {
    let mut o = obs(Some(billing("lost.com")), None);
    o.missing_strikes = 3;
    let third = detect(&o, &DetectionPolicy::default(), &rates(), today());
    o.missing_strikes = 4;
    let fourth = detect(&o, &DetectionPolicy::default(), &rates(), today());
    assert_eq!(
        third, fourth,
        "a growing strike count must not update the case"
    );
}

#[test]
fn old_paid_invoice_is_not_a_failed_renewal() {
    let mut b = billing("old.com");
    b.expiry = Some(d(2027, 11, 30));
    let mut r = registrar("old.com");
    r.paid_until = Some(d(2026, 11, 30));
    let mut o = obs(Some(b), Some(r));
    o.renewal_invoice = Some(RenewalInvoice {
        invoice_id: 1,
        paid: true,
        cancelled: false,
        amount: eur(dec!(12)),
        due_date: d(2026, 1, 1),
        date_paid: Some(d(2026, 1, 1)),
    });
    assert_eq!(kinds(&o), vec![CaseKind::ExpiryDrift]);
}

#[test]
fn transfer_failures() {
    let mut b = billing("move.com");
    b.status = BillingStatus::PendingTransfer;
    let mut o = obs(Some(b), None);
    o.transfer = Some(TransferObservation::Failed {
        reason: "premium domain: transfer fee not accepted".into(),
    });
    assert_eq!(kinds(&o), vec![CaseKind::TransferFailedPremium]);
    o.transfer = Some(TransferObservation::Failed {
        reason: "wrong auth code".into(),
    });
    assert_eq!(kinds(&o), vec![CaseKind::TransferFailed]);
    o.transfer = Some(TransferObservation::Pending);
    assert!(kinds(&o).is_empty());
}

#[test]
fn expiry_drift_with_plausibility_guard() {
    let mut r = registrar("drift.com");
    r.paid_until = Some(d(2028, 5, 1));
    let f = detect(
        &obs(Some(billing("drift.com")), Some(r.clone())),
        &DetectionPolicy::default(),
        &rates(),
        today(),
    );
    assert_eq!(f[0].kind, CaseKind::ExpiryDrift);
    assert_eq!(f[0].facts.proposed_expiry, Some(d(2028, 5, 1)));

    r.paid_until = Some(d(1969, 12, 31));
    let f = detect(
        &obs(Some(billing("drift.com")), Some(r.clone())),
        &DetectionPolicy::default(),
        &rates(),
        today(),
    );
    assert_eq!(f[0].kind, CaseKind::ExpiryDrift);
    assert_eq!(
        f[0].facts.proposed_expiry, None,
        "never propose a date before 1990"
    );

    r.paid_until = Some(d(2099, 1, 1));
    let f = detect(
        &obs(Some(billing("drift.com")), Some(r)),
        &DetectionPolicy::default(),
        &rates(),
        today(),
    );
    assert_eq!(
        f[0].facts.proposed_expiry, None,
        "never propose a date far in the future"
    );
}

#[test]
fn one_day_difference_is_tolerated() {
    let mut r = registrar("tz.com");
    r.paid_until = Some(d(2027, 5, 2));
    assert!(kinds(&obs(Some(billing("tz.com")), Some(r))).is_empty());
}

#[test]
fn cancelled_but_renewing_is_status_drift() {
    let mut b = billing("zombie.com");
    b.status = BillingStatus::Cancelled;
    let f = detect(
        &obs(Some(b), Some(registrar("zombie.com"))),
        &DetectionPolicy::default(),
        &rates(),
        today(),
    );
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].kind, CaseKind::StatusDrift);
    assert_eq!(f[0].at_stake, Some(eur(dec!(9.50))));
}

#[test]
fn do_not_renew_but_registrar_renews() {
    let mut b = billing("dnr.com");
    b.do_not_renew = true;
    assert_eq!(
        kinds(&obs(Some(b), Some(registrar("dnr.com")))),
        vec![CaseKind::RenewalModeDrift]
    );
}

#[test]
fn expected_renewal_mode_policy() {
    let o = obs(Some(billing("m.com")), Some(registrar("m.com")));
    let policy = DetectionPolicy {
        expected_renewal_mode: Some(RenewalMode::AutoExpire),
        ..DetectionPolicy::default()
    };
    let f = detect(&o, &policy, &rates(), today());
    assert_eq!(f[0].kind, CaseKind::RenewalModeDrift);
}

#[test]
fn orphan_and_missing_after_strikes() {
    let o = obs(None, Some(registrar("orphan.com")));
    let f = detect(&o, &DetectionPolicy::default(), &rates(), today());
    assert_eq!(f[0].kind, CaseKind::OrphanAtRegistrar);
    assert_eq!(f[0].at_stake, Some(eur(dec!(9.50))));

    let mut o = obs(Some(billing("lost.com")), None);
    o.missing_strikes = 2;
    assert!(kinds(&o).is_empty(), "not before the third strike");
    o.missing_strikes = 3;
    assert_eq!(kinds(&o), vec![CaseKind::MissingAtRegistrar]);
}

#[test]
fn idn_names_shown_in_unicode() {
    let o = obs(None, Some(registrar("müller.de")));
    let f = detect(&o, &DetectionPolicy::default(), &rates(), today());
    assert!(f[0].summary.starts_with("müller.de"), "{}", f[0].summary);
    assert_eq!(f[0].domain.ascii(), "xn--mller-kva.de");
}

#[test]
fn mixed_script_names_shown_with_their_a_label() {
    let o = obs(None, Some(registrar("аpple.com"))); // Cyrillic а
    let f = detect(&o, &DetectionPolicy::default(), &rates(), today());
    assert!(
        f[0].summary.starts_with("аpple.com (xn--pple-43d.com)"),
        "{}",
        f[0].summary
    );
    let guide = crate::plan::guide(&f[0]);
    assert!(
        guide.title.contains("(xn--pple-43d.com)")
            || guide.what_happened.contains("(xn--pple-43d.com)")
            || guide.steps.iter().any(|s| s.contains("(xn--pple-43d.com)")),
        "{guide:?}"
    );
}

#[test]
fn case_kind_names_round_trip() {
    for k in CaseKind::ALL {
        assert_eq!(CaseKind::parse(k.as_str()), Some(k));
    }
}
