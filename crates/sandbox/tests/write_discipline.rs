//! A write names only the fields it changes, and everything else stays exactly as it was:
//! CNR/ISPAPI `ModifyDomain` (a contact fix) and WHMCS `UpdateClientDomain`, each checked
//! against its sandbox over HTTP by comparing the full record before and after.

mod support;

use chrono::Duration as Days;
use domwatch_core::model::{BillingStatus, ContactHandles, Dialect};
use domwatch_core::ports::RegistrarPort;
use domwatch_rrp::{ClientConfig, Command, Environment, RrpClient};
use domwatch_sandbox::portfolio::Portfolio;
use domwatch_sandbox::registrar::{RegistrarSandbox, RegistrarSandboxConfig};
use domwatch_sandbox::whmcs::{start, WhmcsSandbox, WhmcsSandboxConfig};
use domwatch_whmcs::actions::DomainUpdate;
use domwatch_whmcs::{WhmcsClient, WhmcsConfig};
use serde_json::Value;
use std::collections::BTreeMap;
use std::time::Duration;
use support::today;

fn rrp_client(sb: &RegistrarSandbox) -> RrpClient {
    let mut config = ClientConfig::new(sb.dialect(), Environment::Ote, sb.login(), sb.password());
    config.endpoint = Some(sb.endpoint().parse().unwrap());
    config.retry_base_delay = Duration::from_millis(5);
    RrpClient::new(config).unwrap()
}

/// `StatusDomain`'s properties (name → values), every one the registrar reports.
async fn status_properties(c: &RrpClient, domain: &str) -> BTreeMap<String, Vec<String>> {
    let response = c
        .request(&Command::new("StatusDomain").with("DOMAIN", domain))
        .await
        .unwrap();
    let mut properties: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for line in response.body().lines() {
        // CNR writes `property[…]`, ISPAPI `PROPERTY[…]`.
        let Some(rest) = line
            .strip_prefix("property[")
            .or_else(|| line.strip_prefix("PROPERTY["))
        else {
            continue;
        };
        let (name, value) = rest.split_once(']').unwrap();
        let value = value.split_once('=').map_or("", |(_, v)| v.trim());
        properties
            .entry(name.to_ascii_lowercase())
            .or_default()
            .push(value.to_string());
    }
    assert!(properties.len() > 10, "{}", response.body());
    properties
}

#[tokio::test]
async fn modify_domain_changes_the_role_given_and_nothing_else() {
    for dialect in [Dialect::Cnr, Dialect::Ispapi] {
        let config = RegistrarSandboxConfig::new(dialect, 42, 200, today());
        let sb = RegistrarSandbox::start(config).await.unwrap();
        let c = rrp_client(&sb);
        let portfolio = Portfolio::new(42, 200, today());
        let d = portfolio
            .domains_of(dialect)
            .find(|d| d.registrar.present)
            .unwrap();
        let new_owner = (1..)
            .map(|k| portfolio.client(k).handle)
            .find(|h| d.registrar.contacts.owner.as_deref() != Some(h.as_str()))
            .unwrap();
        let before = status_properties(&c, d.name.ascii()).await;

        c.modify_contacts(
            &d.name,
            &ContactHandles {
                owner: Some(new_owner.clone()),
                ..ContactHandles::default()
            },
        )
        .await
        .unwrap();

        let mut after = status_properties(&c, d.name.ascii()).await;
        let owner_key = ["owner contact", "ownercontact"]
            .into_iter()
            .find(|k| before.contains_key(*k))
            .unwrap_or_else(|| panic!("{dialect}: no owner contact in {before:?}"));
        assert_eq!(
            after[owner_key],
            [new_owner.to_ascii_uppercase()],
            "{dialect}"
        );
        let mut expected = before.clone();
        for changed in [owner_key, "updated date", "updateddate"] {
            expected.remove(changed);
            after.remove(changed);
        }
        assert_eq!(
            after, expected,
            "{dialect}: nameservers, other contacts, renewal mode, status and dates stay"
        );
    }
}

async fn whmcs() -> (WhmcsSandbox, WhmcsClient) {
    let sandbox = start(WhmcsSandboxConfig::new(42, 120, today()))
        .await
        .unwrap();
    let config =
        WhmcsConfig::new(&sandbox.base_url(), sandbox.identifier(), sandbox.secret()).unwrap();
    let client = WhmcsClient::new(config).unwrap();
    (sandbox, client)
}

/// The domain as GetClientsDomains reports it, every field.
async fn domain_row(sandbox: &WhmcsSandbox, id: u64) -> serde_json::Map<String, Value> {
    let id = id.to_string();
    let form = [
        ("identifier", sandbox.identifier()),
        ("secret", sandbox.secret()),
        ("responsetype", "json"),
        ("action", "GetClientsDomains"),
        ("domainid", id.as_str()),
    ];
    let body: Value = reqwest::Client::new()
        .post(sandbox.api_url())
        .form(&form)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    body["domains"]["domain"][0].as_object().unwrap().clone()
}

#[tokio::test]
async fn update_client_domain_changes_what_it_names_and_nothing_else() {
    let (sandbox, client) = whmcs().await;
    let id = sandbox
        .portfolio()
        .domains()
        .find_map(|d| d.billing.map(|b| b.domain_id))
        .unwrap();
    let before = domain_row(&sandbox, id).await;
    for field in [
        "paymentmethod",
        "paymentmethodname",
        "status",
        "expirydate",
        "nextduedate",
    ] {
        assert!(before.contains_key(field), "{field}");
    }

    let next_due = today() + Days::days(400);
    client
        .update_client_domain(
            id,
            &DomainUpdate {
                next_due: Some(next_due),
                ..DomainUpdate::default()
            },
        )
        .await
        .unwrap();
    let mut after = domain_row(&sandbox, id).await;
    assert_eq!(
        after["nextduedate"],
        next_due.format("%Y-%m-%d").to_string()
    );
    let mut expected = before.clone();
    expected.remove("nextduedate");
    after.remove("nextduedate");
    assert_eq!(after, expected, "only the next due date moved");

    // A status change leaves the dates, payment method and amounts alone.
    let before = domain_row(&sandbox, id).await;
    client
        .update_client_domain(
            id,
            &DomainUpdate {
                status: Some(BillingStatus::Cancelled),
                ..DomainUpdate::default()
            },
        )
        .await
        .unwrap();
    let mut after = domain_row(&sandbox, id).await;
    assert_eq!(after["status"], "Cancelled");
    let mut expected = before;
    expected.remove("status");
    after.remove("status");
    assert_eq!(after, expected, "only the status changed");
}
