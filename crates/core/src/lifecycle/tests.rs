use super::*;
use crate::detect::{detect, CaseKind, DetectionPolicy, Finding, RenewalInvoice};
use crate::model::{BillingDomain, RenewalMode};
use crate::money::{Currency, Money, RateTable};
use crate::plan::{plan, Action};
use rust_decimal_macros::dec;

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 22).unwrap()
}

fn days(n: i64) -> NaiveDate {
    today() + Duration::days(n)
}

const ACCOUNT: &str = "cnr-live";

fn billing(name: &str, term_end: NaiveDate) -> BillingDomain {
    BillingDomain {
        id: 7,
        client_id: 3,
        name: DomainName::parse(name).unwrap(),
        registrar_module: "cnic".into(),
        status: BillingStatus::Active,
        recurring_amount: Money::new(dec!(12.00), Currency::EUR),
        registration_period_years: 1,
        expiry: Some(term_end),
        next_due: Some(term_end),
        do_not_renew: false,
        is_premium: Some(false),
        premium_cost: None,
        id_protection: None,
    }
}

fn registrar(name: &str, term_end: NaiveDate) -> RegistrarDomain {
    let mut r = RegistrarDomain::new(DomainName::parse(name).unwrap());
    r.paid_until = Some(term_end);
    r.registry_expiry = Some(term_end);
    r.renewal_mode = Some(RenewalMode::AutoRenew);
    r.renewal_price = Some(Money::new(dec!(9.50), Currency::EUR));
    r.contacts = ContactHandles {
        owner: Some("P-CLIENT3".into()),
        admin: Some("P-RSL001".into()),
        tech: Some("P-RSL001".into()),
        billing: Some("P-RSL001".into()),
    }
    .into();
    r
}

fn invoice(paid: bool) -> RenewalInvoice {
    RenewalInvoice {
        invoice_id: 4711,
        paid,
        cancelled: false,
        amount: Money::new(dec!(12.00), Currency::EUR),
        due_date: days(10),
        date_paid: paid.then(today),
    }
}

fn obs(name: &str, term_end: NaiveDate, invoice_paid: Option<bool>) -> Observation {
    Observation {
        name: DomainName::parse(name).unwrap(),
        billing: Some(billing(name, term_end)),
        registrar: Some(registrar(name, term_end)),
        registrar_account: Some(ACCOUNT.into()),
        renewal_invoice: invoice_paid.map(invoice),
        transfer: None,
        missing_strikes: 0,
        lifecycle_watch: false,
    }
}

fn policy_with(account: AccountPolicy) -> DetectionPolicy {
    let mut p = DetectionPolicy::default();
    p.accounts.insert(ACCOUNT.into(), account);
    p
}

fn account(mode: AutoDeleteMode, dialect: Dialect) -> AccountPolicy {
    let mut a = AccountPolicy::for_dialect(dialect);
    a.auto_delete.mode = mode;
    a
}

fn findings(o: &Observation, policy: &DetectionPolicy) -> Vec<Finding> {
    detect(o, policy, &RateTable::new(), today())
}

fn kinds(o: &Observation, policy: &DetectionPolicy) -> Vec<CaseKind> {
    findings(o, policy).into_iter().map(|f| f.kind).collect()
}

#[test]
fn unpaid_renewal_inside_the_window_is_due_with_the_deadline() {
    // .com: 5 days notice + 7 days margin, so the window opens 12 days before the term ends.
    let o = obs("late-payer.com", days(10), Some(false));
    let policy = policy_with(account(AutoDeleteMode::Ticket, Dialect::Cnr));
    let f = findings(&o, &policy);
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(f[0].kind, CaseKind::CancellationDue);
    let c = f[0].facts.cancellation.as_ref().unwrap();
    assert_eq!(c.deadline, days(5));
    assert_eq!(c.term_end, days(10));
    assert!(!c.pending);
    assert_eq!(
        c.method,
        CancellationMethod::RenewalMode {
            mode: RenewalMode::AutoDelete
        }
    );
    assert!(f[0].summary.contains("invoice #4711"), "{}", f[0].summary);
    assert!(f[0].summary.contains(&days(5).to_string()));
    assert_eq!(f[0].facts.renewal_invoice_id, Some(4711));
    assert_eq!(f[0].at_stake.unwrap().amount, dec!(9.50));
    assert!(needs_invoice_lookup(
        &o,
        &policy.accounts[ACCOUNT],
        1,
        today()
    ));

    let options = plan(&f[0]);
    assert_eq!(options[0].name, "cancel");
    assert!(matches!(
        &options[0].actions[0],
        Action::PlaceCancellation { effective, billing_domain_id: Some(7), client_id: Some(3), .. }
            if *effective == days(10)
    ));
}

#[test]
fn outside_the_window_or_paid_nothing_is_due() {
    let policy = policy_with(account(AutoDeleteMode::Enabled, Dialect::Cnr));
    let early = obs("early.com", days(13), Some(false));
    assert!(kinds(&early, &policy).is_empty());
    assert!(!needs_invoice_lookup(
        &early,
        &policy.accounts[ACCOUNT],
        1,
        today()
    ));

    let paid = obs("paid.com", days(10), Some(true));
    assert!(kinds(&paid, &policy).is_empty());

    // Paying moves WHMCS's next due date a year on: no look-up needed at all.
    let mut advanced = obs("advanced.com", days(10), None);
    advanced.billing.as_mut().unwrap().next_due = Some(days(375));
    assert!(!needs_invoice_lookup(
        &advanced,
        &policy.accounts[ACCOUNT],
        1,
        today()
    ));
    assert!(kinds(&advanced, &policy).is_empty());

    // Expired yesterday: past the term, not ours to cancel any more.
    let gone = obs("gone.com", days(-1), Some(false));
    assert!(kinds(&gone, &policy).is_empty());
}

#[test]
fn disabled_mode_raises_nothing_for_unpaid_domains() {
    let policy = policy_with(account(AutoDeleteMode::Disabled, Dialect::Cnr));
    let o = obs("quiet.com", days(8), Some(false));
    assert!(kinds(&o, &policy).is_empty());
    assert!(!needs_invoice_lookup(
        &o,
        &policy.accounts[ACCOUNT],
        1,
        today()
    ));
}

#[test]
fn without_an_invoice_only_do_not_renew_counts_unless_configured() {
    let mut a = account(AutoDeleteMode::Ticket, Dialect::Cnr);
    let o = obs("no-invoice.com", days(8), None);
    assert!(kinds(&o, &policy_with(a.clone())).is_empty());

    let mut dnr = o.clone();
    dnr.billing.as_mut().unwrap().do_not_renew = true;
    // The lifecycle case replaces the renewal-mode drift a do-not-renew domain also shows.
    assert_eq!(
        kinds(&dnr, &policy_with(a.clone())),
        vec![CaseKind::CancellationDue]
    );

    a.auto_delete.require_unpaid_invoice = false;
    assert_eq!(kinds(&o, &policy_with(a)), vec![CaseKind::CancellationDue]);
}

#[test]
fn de_uses_five_weeks_and_transit_when_configured() {
    let mut a = account(AutoDeleteMode::Enabled, Dialect::Smartnic);
    let o = obs("kunde.de", days(40), Some(false));
    let f = findings(&o, &policy_with(a.clone()));
    let c = f[0].facts.cancellation.as_ref().unwrap();
    assert_eq!(c.notice_days, 35);
    assert_eq!(c.deadline, days(5));
    assert_eq!(c.method, CancellationMethod::Delete);
    assert!(f[0].summary.contains("domwatch places the cancellation"));

    a.auto_delete.de_transit = true;
    let f = findings(&o, &policy_with(a.clone()));
    assert_eq!(
        f[0].facts.cancellation.as_ref().unwrap().method,
        CancellationMethod::Transit
    );
    // Transit is a .de procedure only.
    let com = obs("kunde.com", days(10), Some(false));
    let f = findings(&com, &policy_with(a));
    assert_eq!(
        f[0].facts.cancellation.as_ref().unwrap().method,
        CancellationMethod::Delete
    );
}

#[test]
fn past_the_deadline_the_summary_warns_it_may_be_too_late() {
    let o = obs("too-late.com", days(2), Some(false));
    let f = findings(
        &o,
        &policy_with(account(AutoDeleteMode::Ticket, Dialect::Cnr)),
    );
    assert!(
        f[0].summary.contains("may no longer avoid"),
        "{}",
        f[0].summary
    );
}

#[test]
fn paid_renewal_withdraws_a_smartnic_deletion_in_every_mode() {
    for mode in [
        AutoDeleteMode::Disabled,
        AutoDeleteMode::Ticket,
        AutoDeleteMode::Enabled,
    ] {
        let mut o = obs("bezahlt.de", days(30), Some(true));
        let reg = o.registrar.as_mut().unwrap();
        reg.pending_deletion = Some(days(30));
        reg.renewal_mode = Some(RenewalMode::AutoDelete);
        let policy = policy_with(account(mode, Dialect::Smartnic));
        assert!(needs_invoice_lookup(
            &o,
            &policy.accounts[ACCOUNT],
            1,
            today()
        ));
        let f = findings(&o, &policy);
        assert_eq!(
            f.iter().map(|f| f.kind).collect::<Vec<_>>(),
            vec![CaseKind::CancellationWithdrawalDue],
            "{mode}"
        );
        let options = plan(&f[0]);
        assert!(matches!(
            &options[0].actions[0],
            Action::WithdrawCancellation { effective, .. } if *effective == days(30)
        ));
    }
}

#[test]
fn renewal_mode_cancellations_count_only_when_domwatch_asked_for_them() {
    let policy = policy_with(account(AutoDeleteMode::Enabled, Dialect::Cnr));
    // A reseller who lets every domain expire by default: paid, AUTODELETE, not watched.
    let mut o = obs("convention.com", days(8), Some(true));
    o.registrar.as_mut().unwrap().renewal_mode = Some(RenewalMode::AutoDelete);
    assert!(kinds(&o, &policy).is_empty());
    assert!(!needs_invoice_lookup(
        &o,
        &policy.accounts[ACCOUNT],
        1,
        today()
    ));

    // The same domain after domwatch cancelled it: withdraw on payment.
    o.lifecycle_watch = true;
    assert_eq!(
        kinds(&o, &policy),
        vec![CaseKind::CancellationWithdrawalDue]
    );

    // Still unpaid while watched: the case stays open, nothing more to do but wait.
    o.renewal_invoice = Some(invoice(false));
    let f = findings(&o, &policy);
    assert_eq!(f[0].kind, CaseKind::CancellationDue);
    assert!(f[0].facts.cancellation.as_ref().unwrap().pending);
    assert_eq!(plan(&f[0])[0].name, "wait");
}

#[test]
fn notice_periods_match_the_longest_zone() {
    let mut n = NoticePeriods::default();
    n.per_zone.insert("co.uk".into(), 20);
    n.per_zone.insert("uk".into(), 10);
    assert_eq!(n.days_for(&DomainName::parse("a.co.uk").unwrap()), 20);
    assert_eq!(n.days_for(&DomainName::parse("a.org.uk").unwrap()), 10);
    assert_eq!(n.days_for(&DomainName::parse("a.com").unwrap()), 5);
    assert_eq!(n.days_for(&DomainName::parse("münchen.de").unwrap()), 35);
}

#[test]
fn modes_and_sources_parse_with_helpful_errors() {
    assert_eq!(
        "Ticket".parse::<AutoDeleteMode>(),
        Ok(AutoDeleteMode::Ticket)
    );
    assert_eq!(
        "off".parse::<AutoDeleteMode>(),
        Ok(AutoDeleteMode::Disabled)
    );
    assert!("sometimes"
        .parse::<AutoDeleteMode>()
        .unwrap_err()
        .contains("disabled, ticket or enabled"));
    assert_eq!("hoster".parse::<RoleSource>(), Ok(RoleSource::Reseller));
    assert!("nobody".parse::<RoleSource>().is_err());
}

fn contact_policy() -> AccountPolicy {
    let mut a = account(AutoDeleteMode::Disabled, Dialect::Cnr);
    a.contacts = ContactPolicy::owner_client_others_reseller("P-RSL001");
    a
}

#[test]
fn contact_policy_finds_wrong_roles_and_plans_the_fix() {
    let policy = policy_with(contact_policy());
    let clean = obs("clean.com", days(200), None);
    assert!(kinds(&clean, &policy).is_empty());

    let mut wrong = clean.clone();
    let reg = wrong.registrar.as_mut().unwrap();
    let contacts = std::sync::Arc::make_mut(&mut reg.contacts);
    contacts.admin = Some("P-CLIENT3".into());
    contacts.owner = Some("p-rsl001".into());
    let f = findings(&wrong, &policy);
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].kind, CaseKind::ContactPolicyViolation);
    assert!(
        f[0].summary.contains("owner, admin contacts"),
        "{}",
        f[0].summary
    );
    let admin = f[0]
        .evidence
        .iter()
        .find(|e| e.label == "admin contact")
        .unwrap();
    assert_eq!(admin.registrar.as_deref(), Some("P-CLIENT3"));
    let fix = f[0].facts.contact_fix.as_ref().unwrap();
    assert_eq!(fix.reseller, vec![ContactRole::Admin]);
    assert_eq!(fix.client, vec![ContactRole::Owner]);
    assert_eq!(fix.client_id, Some(3));

    let options = plan(&f[0]);
    let action = &options[0].actions[0];
    assert!(
        matches!(action, Action::SetContacts { reseller_handle: Some(h), .. } if h == "P-RSL001")
    );
    assert_eq!(
        action.idempotency_key(),
        "registrar:cnr-live:contacts:clean.com:admin=P-RSL001:owner=client3"
    );
    assert!(action
        .describe()
        .contains("identical existing handle is reused"));
}

#[test]
fn contact_policy_skips_domains_no_longer_registered() {
    let policy = policy_with(contact_policy());
    let mut o = obs("cancelled.com", days(200), None);
    o.billing.as_mut().unwrap().status = BillingStatus::Cancelled;
    std::sync::Arc::make_mut(&mut o.registrar.as_mut().unwrap().contacts).admin =
        Some("P-OTHER".into());
    assert!(!kinds(&o, &policy).contains(&CaseKind::ContactPolicyViolation));
}
