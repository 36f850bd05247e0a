//! The TLD price list monitor end to end (issue #12): the sandbox WHMCS's GetTLDPricing in
//! three currencies against the sandbox CNR's full price list (1,500+ zones) over the wire.
//! A price rise on one zone opens exactly one case per currency and operation it affects;
//! a failed price-list read changes nothing; the next complete check resolves.

mod support;

use domwatch_core::detect::DetectionPolicy;
use domwatch_engine::{Mode, NoProgress, StepOutcome, TldPriceStats};
use domwatch_sandbox::registrar::RegistrarEvent;
use domwatch_sandbox::smartnic::SmartnicEvent;
use domwatch_store::PriceCaseRecord;
use domwatch_testkit::proxy::Fault;
use rust_decimal_macros::dec;
use std::collections::BTreeSet;
use std::time::Duration;
use support::{apply_cycle, ticket_subjects, world_with_options, World, WorldOptions};

fn tld_policy() -> DetectionPolicy {
    let mut policy = DetectionPolicy::default();
    policy.tld_prices.enabled = true;
    policy
}

fn keys(cases: &[PriceCaseRecord]) -> BTreeSet<String> {
    cases.iter().map(|c| c.key.clone()).collect()
}

async fn dry_run_stats(w: &World) -> TldPriceStats {
    let report = w
        .engine
        .run_cycle(Mode::DryRun, &NoProgress)
        .await
        .expect("a dry run");
    report.tld_prices.expect("the TLD prices stage ran")
}

fn net_rise() -> BTreeSet<String> {
    let mut expected = BTreeSet::new();
    for op in ["register", "renew", "transfer"] {
        for cur in ["EUR", "USD", "GBP"] {
            expected.insert(format!("tld-price:net:{op}:{cur}"));
        }
    }
    expected
}

#[tokio::test]
async fn a_zone_price_rise_opens_one_case_per_currency_and_operation_and_a_failed_read_changes_nothing(
) {
    let mut options = WorldOptions::new(tld_policy());
    options.proxied = true;
    options.retry_delay = Duration::from_millis(20);
    let w = world_with_options(options).await;
    let store = &w.engine.store;

    // The embedded catalogue: a few TLDs sold wrongly on purpose, the rest sound.
    let first = apply_cycle(&w.engine).await;
    assert!(
        first.incomplete_inputs.is_empty(),
        "{:?}",
        first.incomplete_inputs
    );
    let stats = first.tld_prices.clone().expect("the TLD prices stage ran");
    assert!(stats.zones_read["cnr"] >= 1_500, "{:?}", stats.zones_read);
    let before = keys(&store.price_cases(true).await.unwrap());
    for expected in [
        "tld-price:shop:register:EUR",
        "tld-price:site:renew:GBP",
        "tld-price:museum:renew:USD",
        "tld-price:de:restore:EUR",
    ] {
        assert!(
            before.contains(expected),
            "{expected} missing in {before:?}"
        );
    }
    assert!(
        !before.iter().any(|k| k.starts_with("tld-price:com:")),
        "{before:?}"
    );
    let museum = store.price_cases(true).await.unwrap();
    let museum = museum
        .iter()
        .find(|c| c.key == "tld-price:museum:renew:USD")
        .unwrap();
    assert_eq!(museum.finding.kind.as_str(), "tld_not_offered_by_registrar");

    // .net renews at 20.00 now: register, renew and transfer fall below cost, in each currency.
    w.registrars[0]
        .apply(RegistrarEvent::ZonePrice {
            zone: "net".into(),
            renew: dec!(20.00),
            register: None,
            transfer: None,
        })
        .unwrap();
    let rise = apply_cycle(&w.engine).await;
    assert!(
        rise.incomplete_inputs.is_empty(),
        "{:?}",
        rise.incomplete_inputs
    );
    let after = keys(&store.price_cases(true).await.unwrap());
    let opened: BTreeSet<String> = after.difference(&before).cloned().collect();
    assert_eq!(opened, net_rise());
    assert_eq!(rise.tld_prices.as_ref().unwrap().opened, 9);
    // The admin hears of the first cycle's cases once, then of exactly these nine.
    assert_eq!(first.digest_price_events, before.len());
    assert_eq!(rise.digest_price_events, 9);
    let mails = w.smtp.as_ref().unwrap().received();
    let last = mails.last().expect("a digest e-mail");
    assert!(
        last.contains("TLD price cases") && last.contains(".net renew in EUR"),
        "{last}"
    );
    let renew_eur = store.price_cases(true).await.unwrap();
    let renew_eur = renew_eur
        .iter()
        .find(|c| c.key == "tld-price:net:renew:EUR")
        .unwrap();
    assert_eq!(renew_eur.finding.kind.as_str(), "tld_sold_below_cost");
    assert_eq!(renew_eur.finding.rows.len(), 3, "a row per term on sale");

    // Without the WHMCS database, Fix now is a by-hand step with the exact values.
    let fix = w
        .engine
        .tld_price_fix(renew_eur.id, Mode::Apply, "admin")
        .await
        .unwrap();
    assert_eq!(fix.steps[0].outcome, StepOutcome::Manual);
    assert!(
        fix.steps[0].description.contains("1 year(s): 25.99"),
        "{}",
        fix.steps[0].description
    );

    // The price goes back, but the price list cannot be read: nothing resolves.
    w.registrars[0]
        .apply(RegistrarEvent::ZonePrice {
            zone: "net".into(),
            renew: dec!(11.20),
            register: None,
            transfer: None,
        })
        .unwrap();
    let cnr = &w.proxies.as_ref().unwrap().cnr;
    cnr.set(Fault::Truncate);
    let failed = apply_cycle(&w.engine).await;
    cnr.set(Fault::Pass);
    assert!(
        failed
            .incomplete_inputs
            .iter()
            .any(|i| i.contains("price list of registrar account `cnr`")),
        "{:?}",
        failed.incomplete_inputs
    );
    let stats = failed.tld_prices.unwrap();
    assert_eq!((stats.opened, stats.updated, stats.resolved), (0, 0, 0));
    assert_eq!(failed.digest_price_events, 0, "nothing told twice");
    assert_eq!(keys(&store.price_cases(true).await.unwrap()), after);

    // The next complete check resolves exactly the .net cases.
    let next = apply_cycle(&w.engine).await;
    assert!(
        next.incomplete_inputs.is_empty(),
        "{:?}",
        next.incomplete_inputs
    );
    assert_eq!(keys(&store.price_cases(true).await.unwrap()), before);
    assert_eq!(next.tld_prices.unwrap().resolved, 9);
    assert_eq!(next.digest_price_events, 9, "the resolutions, once");
    let quiet = apply_cycle(&w.engine).await;
    assert_eq!(quiet.digest_price_events, 0);
}

/// Smart-NIC's `priceDomainList` (1,500+ zones) as the mapped price list: the same rise
/// opens one case per currency and operation; the zones Smart-NIC prices no restore for
/// are not offered, never free; the next check after the price goes back resolves.
#[tokio::test]
async fn a_smartnic_price_rise_opens_one_case_per_currency_and_operation() {
    let mut policy = tld_policy();
    policy.tld_prices.default_account = Some("dbs".into());
    let w = world_with_options(WorldOptions::new(policy)).await;
    let store = &w.engine.store;

    let first = apply_cycle(&w.engine).await;
    assert!(
        first.incomplete_inputs.is_empty(),
        "{:?}",
        first.incomplete_inputs
    );
    let stats = first.tld_prices.clone().expect("the TLD prices stage ran");
    assert!(stats.zones_read["dbs"] >= 1_500, "{:?}", stats.zones_read);
    assert!(
        stats.mapping[0].contains("no WHMCS database access")
            && stats.mapping[0].contains("default account `dbs`"),
        "{:?}",
        stats.mapping
    );
    let before = keys(&store.price_cases(true).await.unwrap());
    for expected in ["tld-price:site:renew:EUR", "tld-price:museum:renew:USD"] {
        assert!(
            before.contains(expected),
            "{expected} missing in {before:?}"
        );
    }
    assert!(
        !before.iter().any(|k| k.starts_with("tld-price:net:")),
        "{before:?}"
    );
    let rise = |renew| SmartnicEvent::ZonePrice {
        zone: "net".into(),
        renew,
        register: None,
        transfer: None,
    };

    w.smartnic.apply(rise(dec!(20.00))).unwrap();
    // A dry run counts what the check would do and changes nothing.
    let dry = dry_run_stats(&w).await;
    assert_eq!((dry.would_open, dry.would_resolve), (9, 0));
    assert_eq!(keys(&store.price_cases(true).await.unwrap()), before);
    let risen = apply_cycle(&w.engine).await;
    assert!(
        risen.incomplete_inputs.is_empty(),
        "{:?}",
        risen.incomplete_inputs
    );
    let after = keys(&store.price_cases(true).await.unwrap());
    let opened: BTreeSet<String> = after.difference(&before).cloned().collect();
    assert_eq!(opened, net_rise());
    let stats = risen.tld_prices.unwrap();
    assert_eq!((stats.opened, stats.resolved), (9, 0));
    let cases = store.price_cases(true).await.unwrap();
    let renew_gbp = cases
        .iter()
        .find(|c| c.key == "tld-price:net:renew:GBP")
        .unwrap();
    assert_eq!(renew_gbp.finding.kind.as_str(), "tld_sold_below_cost");
    assert_eq!(renew_gbp.finding.registrar, "dbs");

    // Without domwatch's own e-mail, each cycle's TLD case changes go out in one ticket.
    let tld_tickets = || async {
        ticket_subjects(&w.whmcs)
            .await
            .into_iter()
            .filter(|t| t.starts_with("[domwatch TLD prices"))
            .collect::<Vec<_>>()
    };
    let told = tld_tickets().await;
    assert_eq!(told.len(), 2, "{told:?}");
    assert!(told[1].contains("9 TLD price case change(s)"), "{told:?}");

    w.smartnic.apply(rise(dec!(11.20))).unwrap();
    let dry = dry_run_stats(&w).await;
    assert_eq!((dry.would_open, dry.would_resolve), (0, 9));
    let back = apply_cycle(&w.engine).await;
    assert_eq!(keys(&store.price_cases(true).await.unwrap()), before);
    assert_eq!(back.tld_prices.unwrap().resolved, 9);
    apply_cycle(&w.engine).await;
    assert_eq!(
        tld_tickets().await.len(),
        3,
        "the resolutions once, then nothing"
    );
}
