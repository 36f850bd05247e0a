//! Round trip through domwatch's real registrar client (`domwatch_rrp`): the typed
//! operations read from the sandbox exactly what the portfolio says the registrar holds.

mod support;

use domwatch_core::model::{Dialect, RegistrarDomain};
use domwatch_core::DomainName;
use domwatch_rrp::{ClientConfig, Environment, ListOptions, RrpClient};
use domwatch_sandbox::portfolio::{zone_price, Drift, Portfolio, SeedDomain};
use domwatch_sandbox::registrar::{
    FaultConfig, RegistrarEvent, RegistrarSandbox, RegistrarSandboxConfig,
};
use rust_decimal::Decimal;
use std::collections::HashMap;
use std::time::Duration;
use support::today;

fn client_for(sb: &RegistrarSandbox, retries: u32) -> RrpClient {
    let mut config = ClientConfig::new(sb.dialect(), Environment::Ote, sb.login(), sb.password());
    config.endpoint = Some(sb.endpoint().parse().unwrap());
    config.max_retries = retries;
    config.retry_base_delay = Duration::from_millis(5);
    config.total_timeout = Duration::from_secs(20);
    RrpClient::new(config).unwrap()
}

/// The renewal price the client can know for a portfolio domain from the bulk list: CNR
/// prices standard domains from the zone list (`QueryZoneList annual`), premium ones from
/// `CheckDomains` X-FEE; ISPAPI reports every domain's `RENEWALPRICE`.
fn listed_price(dialect: Dialect, d: &SeedDomain) -> Decimal {
    match (dialect, &d.registrar.premium) {
        (Dialect::Cnr, None) => zone_price(d.name.zone()).unwrap().renew,
        _ => d.registrar.renew_price,
    }
}

fn assert_matches_portfolio(dialect: Dialect, listed: &[RegistrarDomain], portfolio: &Portfolio) {
    let expected: Vec<SeedDomain> = portfolio
        .domains_of(dialect)
        .filter(|d| d.registrar.present)
        .collect();
    assert_eq!(
        listed.len(),
        expected.len(),
        "{dialect}: same number of domains"
    );
    let by_name: HashMap<&DomainName, &RegistrarDomain> =
        listed.iter().map(|d| (&d.name, d)).collect();
    for seed in &expected {
        let got = by_name
            .get(&seed.name)
            .unwrap_or_else(|| panic!("{dialect}: {} missing from list_domains", seed.name));
        let r = &seed.registrar;
        assert_eq!(
            got.paid_until,
            Some(r.paid_until),
            "{dialect} {}",
            seed.name
        );
        assert_eq!(
            got.registry_expiry,
            Some(r.registry_expiry),
            "{dialect} {}",
            seed.name
        );
        assert_eq!(got.created, Some(r.created), "{dialect} {}", seed.name);
        assert_eq!(
            got.renewal_mode.as_ref(),
            Some(&r.renewal_mode),
            "{dialect} {}",
            seed.name
        );
        assert_eq!(
            got.premium.is_some(),
            r.premium.is_some(),
            "{dialect} {} premium flag",
            seed.name
        );
        if dialect == Dialect::Ispapi {
            assert_eq!(got.premium, r.premium, "{} premium class", seed.name);
            assert_eq!(*got.contacts, r.contacts, "{} contacts", seed.name);
        }
        let price = got
            .renewal_price
            .unwrap_or_else(|| panic!("{dialect} {}: no renewal price", seed.name));
        assert_eq!(
            price.amount,
            listed_price(dialect, seed),
            "{dialect} {} renewal price",
            seed.name
        );
        assert_eq!(price.currency.as_str(), "EUR");
    }
}

#[tokio::test]
async fn list_domains_through_the_real_client_matches_the_portfolio() {
    for dialect in [Dialect::Cnr, Dialect::Ispapi] {
        let sb = RegistrarSandbox::start(RegistrarSandboxConfig::new(dialect, 42, 600, today()))
            .await
            .unwrap();
        let portfolio = Portfolio::new(42, 600, today());
        let client = client_for(&sb, 0);
        let options = ListOptions {
            page_size: 37,
            ..ListOptions::default()
        };
        let listed = client.list_domains_with(&options).await.unwrap();
        assert_matches_portfolio(dialect, &listed, &portfolio);
        if dialect == Dialect::Cnr {
            let mut names: Vec<&str> = listed.iter().map(|d| d.name.ascii()).collect();
            let sorted = {
                let mut s = names.clone();
                s.sort();
                s
            };
            assert_eq!(names, sorted, "CNR lists ORDERBY=DOMAIN ORDER=ASC");
            names.dedup();
            assert_eq!(names.len(), listed.len());
        }
    }
}

#[tokio::test]
async fn status_domain_and_events_through_the_real_client() {
    let portfolio = Portfolio::new(42, 200, today());
    for dialect in [Dialect::Cnr, Dialect::Ispapi] {
        let sb = RegistrarSandbox::start(RegistrarSandboxConfig::new(dialect, 42, 200, today()))
            .await
            .unwrap();
        let client = client_for(&sb, 0);
        let premium = portfolio
            .domains_of(dialect)
            .find(|d| d.drift == Some(Drift::RenewalFailedPremium))
            .unwrap();
        let got = client.status_domain(&premium.name).await.unwrap();
        assert!(got.is_premium(), "{dialect}");
        assert_eq!(
            got.renewal_price.unwrap().amount,
            premium.registrar.renew_price
        );
        assert_eq!(got.paid_until, Some(premium.registrar.paid_until));

        let clean = portfolio
            .domains_of(dialect)
            .find(|d| d.drift.is_none() && d.registrar.premium.is_none())
            .unwrap();
        assert!(!client
            .status_domain(&clean.name)
            .await
            .unwrap()
            .is_premium());
        sb.apply(RegistrarEvent::TurnPremium {
            domain: clean.name.ascii().into(),
            renew_price: Decimal::from(640),
            class: None,
        })
        .unwrap();
        let got = client.status_domain(&clean.name).await.unwrap();
        assert!(got.is_premium(), "{dialect}: turned premium by the event");
        assert_eq!(got.renewal_price.unwrap().amount, Decimal::from(640));
        let listed = client
            .list_domains_with(&ListOptions::default())
            .await
            .unwrap();
        let row = listed.iter().find(|d| d.name == clean.name).unwrap();
        assert!(row.is_premium(), "{dialect}: the bulk list sees it too");
        assert_eq!(row.renewal_price.unwrap().amount, Decimal::from(640));

        let account = client.status_account().await.unwrap();
        assert_eq!(account.balance.unwrap().amount, Decimal::from(25042));
    }
}

#[tokio::test]
async fn the_client_retries_through_421s_and_lists_everything() {
    let mut config = RegistrarSandboxConfig::new(Dialect::Cnr, 42, 300, today());
    config.faults = FaultConfig {
        rate_421: 0.2,
        ..FaultConfig::default()
    };
    let sb = RegistrarSandbox::start(config).await.unwrap();
    let client = client_for(&sb, 6);
    let listed = client
        .list_domains_with(&ListOptions {
            page_size: 20,
            ..ListOptions::default()
        })
        .await
        .unwrap();
    assert_matches_portfolio(Dialect::Cnr, &listed, &Portfolio::new(42, 300, today()));
    let calls_without_faults = {
        let clean =
            RegistrarSandbox::start(RegistrarSandboxConfig::new(Dialect::Cnr, 42, 300, today()))
                .await
                .unwrap();
        client_for(&clean, 0)
            .list_domains_with(&ListOptions {
                page_size: 20,
                ..ListOptions::default()
            })
            .await
            .unwrap();
        clean.request_count()
    };
    assert!(
        sb.request_count() > calls_without_faults,
        "the 421s were answered and retried ({} vs {calls_without_faults} requests)",
        sb.request_count()
    );
}
