//! The renewal forecast a cycle records, checked against the sandbox portfolio itself: the
//! expected sums are computed here from the seed (WHMCS dates, statuses and amounts, the
//! registrar's yearly price and the sandbox exchange rates), not by the code under test.

mod support;

use domwatch_core::detect::DetectionPolicy;
use domwatch_core::model::BillingStatus;
use domwatch_core::Currency;
use domwatch_engine::{Mode, NoProgress};
use domwatch_sandbox::portfolio::{exchange_rates, Portfolio, REGISTRAR_CURRENCY};
use rust_decimal::Decimal;
use std::collections::BTreeMap;
use support::{today, world, world_with_options, Fault, WorldOptions, DOMAINS, SEED};

/// (domains, billed, cost in the client currency) per client currency.
type Expected = BTreeMap<Currency, (u64, Decimal, Decimal)>;

/// EUR -> client currency, as the sandbox registrar quotes it.
fn rate(to: Currency) -> Decimal {
    if to == REGISTRAR_CURRENCY {
        return Decimal::ONE;
    }
    exchange_rates()
        .into_iter()
        .find(|(from, t, _)| *from == REGISTRAR_CURRENCY && *t == to)
        .map(|(_, _, r)| r)
        .expect("the sandbox quotes every client currency")
}

/// What the next `days` days must hold, straight from the portfolio.
fn expected(portfolio: &Portfolio, days: i64) -> Expected {
    let mut out = Expected::new();
    for d in portfolio.domains() {
        let Some(b) = &d.billing else { continue };
        let renews = matches!(
            b.status,
            BillingStatus::Active | BillingStatus::Grace | BillingStatus::Redemption
        ) && !b.do_not_renew;
        // Not at the registrar: no price, counted apart (never as zero).
        if !renews || !d.registrar.present {
            continue;
        }
        let offset = (b.next_due - today()).num_days();
        if !(0..days).contains(&offset) {
            continue;
        }
        let currency = portfolio.client(b.client_id).currency;
        let cost = d.registrar.renew_price * Decimal::from(b.registration_period) * rate(currency);
        let e = out.entry(currency).or_default();
        e.0 += 1;
        e.1 += b.recurring_amount;
        e.2 += cost;
    }
    out
}

#[tokio::test]
async fn a_cycle_records_the_forecast_of_the_portfolio() {
    let w = world().await;
    assert!(w.engine.store.latest_forecast().await.unwrap().is_none());
    let report = w
        .engine
        .run_cycle(Mode::Apply, &NoProgress)
        .await
        .expect("cycle");
    let stored = w
        .engine
        .store
        .latest_forecast()
        .await
        .unwrap()
        .expect("a forecast");
    assert_eq!(Some(stored.run_id), report.run_id);
    assert!(stored.complete, "{:?}", stored.missing);
    assert_eq!(stored.report.today, today());

    let portfolio = Portfolio::new(SEED, DOMAINS, today());
    for days in [30, 60, 90, 365] {
        let want = expected(&portfolio, days);
        let window = stored.report.window(days).unwrap();
        let got: Expected = window
            .by_currency
            .iter()
            .map(|(c, t)| (*c, (t.domains, t.billed, t.cost)))
            .collect();
        assert_eq!(got, want, "{days} days");
        assert!(
            want.values().map(|e| e.0).sum::<u64>() > 0,
            "{days} days: nothing due"
        );
        for t in window.by_currency.values() {
            assert_eq!(t.margin, t.billed - t.cost);
        }
    }
    // The year's loss-makers are exactly the renewals that cost more than they bill.
    let losses: usize = stored.report.loss_makers.values().map(Vec::len).sum();
    assert!(losses > 0, "the portfolio plants underpriced renewals");
    for list in stored.report.loss_makers.values() {
        for l in list {
            assert!(l.cost.amount > l.billed.amount, "{}", l.domain);
        }
    }
}

#[tokio::test]
async fn a_partial_cycle_records_a_partial_forecast_that_names_the_missing_account() {
    let mut options = WorldOptions::new(DetectionPolicy::default());
    options.proxied = true;
    options.retry_delay = std::time::Duration::from_millis(10);
    let w = world_with_options(options).await;
    w.proxies.as_ref().unwrap().ispapi.set(Fault::Http500);
    let report = w
        .engine
        .run_cycle(Mode::Apply, &NoProgress)
        .await
        .expect("cycle");
    assert!(!report.failed_accounts.is_empty());
    let stored = w.engine.store.latest_forecast().await.unwrap().unwrap();
    assert!(!stored.complete);
    assert!(
        stored.missing.iter().any(|m| m.contains("hexonet")),
        "{:?}",
        stored.missing
    );
    // hexonet's domains are missing, not zero: none of its account rows exist.
    for w in &stored.report.windows {
        assert!(!w.by_account.contains_key("hexonet"));
    }
}
