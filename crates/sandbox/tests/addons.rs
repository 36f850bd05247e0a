//! ID protection and transfer lock in the sandboxes, through domwatch's real clients: the
//! registrar lists and status carry the lock and (CNR) WHOIS privacy as the portfolio
//! says, `ModifyDomain` changes them, and WHMCS reads and writes `idprotection`.

mod support;

use domwatch_core::model::Dialect;
use domwatch_core::ports::RegistrarPort;
use domwatch_rrp::{ClientConfig, Environment, ListOptions, RrpClient};
use domwatch_sandbox::portfolio::{AddonDrift, Portfolio, SeedDomain};
use domwatch_sandbox::registrar::{RegistrarSandbox, RegistrarSandboxConfig};
use domwatch_sandbox::whmcs::{start, WhmcsSandboxConfig};
use domwatch_whmcs::actions::DomainUpdate;
use domwatch_whmcs::{WhmcsClient, WhmcsConfig};
use std::time::Duration;
use support::{raw_json, today};

const DOMAINS: usize = 200;

fn client_for(sb: &RegistrarSandbox) -> RrpClient {
    let mut config = ClientConfig::new(sb.dialect(), Environment::Ote, sb.login(), sb.password());
    config.endpoint = Some(sb.endpoint().parse().unwrap());
    config.total_timeout = Duration::from_secs(20);
    RrpClient::new(config).unwrap()
}

fn with_addon(dialect: Dialect, addon: AddonDrift) -> SeedDomain {
    Portfolio::new(42, DOMAINS, today())
        .domains_of(dialect)
        .find(|d| d.addon == Some(addon))
        .unwrap_or_else(|| panic!("{dialect} has a {addon:?} domain"))
}

#[test]
fn the_portfolio_has_every_addon_drift_for_every_dialect_and_only_on_clean_domains() {
    let portfolio = Portfolio::new(42, DOMAINS, today());
    for dialect in [Dialect::Cnr, Dialect::Ispapi, Dialect::Smartnic] {
        for addon in AddonDrift::ALL {
            with_addon(dialect, addon);
        }
    }
    assert!(portfolio
        .domains()
        .all(|d| d.addon.is_none() || d.drift.is_none()));
}

#[tokio::test]
async fn lists_and_status_carry_lock_and_privacy_and_modify_domain_changes_them() {
    for dialect in [Dialect::Cnr, Dialect::Ispapi] {
        let sb =
            RegistrarSandbox::start(RegistrarSandboxConfig::new(dialect, 42, DOMAINS, today()))
                .await
                .unwrap();
        let client = client_for(&sb);
        let portfolio = Portfolio::new(42, DOMAINS, today());
        let options = ListOptions {
            cnr_type_all: true,
            ..ListOptions::default()
        };
        let listed = client.list_domains_with(&options).await.unwrap();
        for seed in portfolio
            .domains_of(dialect)
            .filter(|d| d.registrar.present)
        {
            let got = listed.iter().find(|d| d.name == seed.name).unwrap();
            assert_eq!(
                got.transfer_lock,
                Some(seed.registrar.transfer_lock),
                "{}",
                seed.name
            );
            // Only CNR names WHOIS privacy; ISPAPI's list leaves it unknown.
            let privacy = (dialect == Dialect::Cnr).then_some(seed.registrar.whois_privacy);
            assert_eq!(got.whois_privacy, privacy, "{}", seed.name);
        }
        if dialect == Dialect::Cnr {
            let wide = client
                .list_domains_with(&ListOptions::default())
                .await
                .unwrap();
            assert!(
                wide.iter()
                    .all(|d| d.transfer_lock.is_none() && d.whois_privacy.is_none()),
                "without TYPE=ALL the CNR list does not say: unknown, not off"
            );
        }

        let lock_off = with_addon(dialect, AddonDrift::LockOff);
        assert_eq!(
            client
                .status_domain(&lock_off.name)
                .await
                .unwrap()
                .transfer_lock,
            Some(false)
        );
        client
            .set_transfer_lock(&lock_off.name, true)
            .await
            .unwrap();
        assert_eq!(
            client
                .status_domain(&lock_off.name)
                .await
                .unwrap()
                .transfer_lock,
            Some(true)
        );

        let private = with_addon(dialect, AddonDrift::PrivacyNotBilled);
        client
            .set_whois_privacy(&private.name, false)
            .await
            .unwrap();
        if dialect == Dialect::Cnr {
            let status = client.status_domain(&private.name).await.unwrap();
            assert_eq!(status.whois_privacy, Some(false));
            assert_eq!(
                status.transfer_lock,
                Some(true),
                "one flag changes, not the other"
            );
            client.set_whois_privacy(&private.name, true).await.unwrap();
            let status = client.status_domain(&private.name).await.unwrap();
            assert_eq!(status.whois_privacy, Some(true));
        }
    }
}

#[tokio::test]
async fn whmcs_reads_and_writes_idprotection() {
    let sandbox = start(WhmcsSandboxConfig::new(42, DOMAINS, today()))
        .await
        .unwrap();
    let config =
        WhmcsConfig::new(&sandbox.base_url(), sandbox.identifier(), sandbox.secret()).unwrap();
    let client = WhmcsClient::new(config).unwrap();
    let billed = with_addon(Dialect::Cnr, AddonDrift::PrivacyBilledNotActive);
    let id = billed.billing.as_ref().unwrap().domain_id;
    let list = client.list_billing_domains().await.unwrap();
    for d in &list.domains {
        let seed = Portfolio::new(42, DOMAINS, today()).domain(d.id as usize - 1);
        let want = seed.billing.as_ref().unwrap().id_protection;
        assert_eq!(d.id_protection, Some(want), "{}", d.name);
    }
    let page = raw_json(
        &sandbox,
        &[
            ("action", "GetClientsDomains"),
            ("domainid", &id.to_string()),
        ],
    )
    .await;
    assert_eq!(page["domains"]["domain"][0]["idprotection"], 1);

    let off = DomainUpdate {
        id_protection: Some(false),
        ..Default::default()
    };
    client.update_client_domain(id, &off).await.unwrap();
    let after = client.get_clients_domain(id).await.unwrap().unwrap();
    assert_eq!(after.id_protection, Some(false));
}
