//! The sandbox WHMCS as strict as a live one: HTTP 403 for a foreign IP and for an action
//! the API role lacks (and the production client naming the fix), GetClients paging and
//! search, payment methods checked against the configured gateways, seeded to-do items.

mod support;

use domwatch_sandbox::whmcs::{start, SandboxCredential, WhmcsSandbox, WhmcsSandboxConfig};
use domwatch_whmcs::actions::DomainUpdate;
use domwatch_whmcs::{WhmcsClient, WhmcsConfig, WhmcsError};
use serde_json::Value;
use std::net::IpAddr;
use support::{post, raw_json as json, today};

fn client(sandbox: &WhmcsSandbox, identifier: &str, secret: &str) -> WhmcsClient {
    WhmcsClient::new(WhmcsConfig::new(&sandbox.base_url(), identifier, secret).unwrap()).unwrap()
}

#[tokio::test]
async fn a_foreign_ip_gets_403_and_the_client_names_the_setting() {
    let mut config = WhmcsSandboxConfig::new(42, 20, today());
    config.allowed_ips = vec!["203.0.113.9".parse::<IpAddr>().unwrap()];
    config.access_key = Some("k3y!".into());
    let sandbox = start(config).await.unwrap();

    let (status, body) = post(&sandbox, &[("action", "GetCurrencies")]).await;
    assert_eq!(status, 403);
    assert_eq!(
        body,
        r#"{"result":"error","message":"Invalid IP 127.0.0.1"}"#
    );

    let err = client(&sandbox, sandbox.identifier(), sandbox.secret())
        .get_currencies()
        .await
        .unwrap_err();
    assert!(matches!(err, WhmcsError::Permission { .. }), "{err:?}");
    let text = err.to_string();
    assert!(text.contains("Invalid IP 127.0.0.1"), "{text}");
    assert!(
        text.contains("Setup > General Settings > Security > API IP Access Restriction"),
        "{text}"
    );

    // The access key bypasses the IP check (and only that).
    let (status, _) = post(
        &sandbox,
        &[("action", "GetCurrencies"), ("accesskey", "k3y!")],
    )
    .await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn an_action_outside_the_api_role_gets_403() {
    let mut config = WhmcsSandboxConfig::new(42, 20, today());
    config.credentials.push(SandboxCredential {
        identifier: "reader".into(),
        secret: "reader-secret".into(),
        allowed_actions: Some(vec!["GetClientsDomains".into()]),
    });
    let sandbox = start(config).await.unwrap();
    let form = [
        ("identifier", "reader"),
        ("secret", "reader-secret"),
        ("responsetype", "json"),
        ("action", "UpdateClientDomain"),
        ("domainid", "1"),
    ];
    let response = reqwest::Client::new()
        .post(sandbox.api_url())
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body["message"],
        "Invalid Permissions: API action \"updateclientdomain\" is not allowed"
    );
    let err = client(&sandbox, "reader", "reader-secret")
        .update_client_domain(
            1,
            &DomainUpdate {
                do_not_renew: Some(true),
                ..DomainUpdate::default()
            },
        )
        .await
        .unwrap_err();
    assert!(matches!(err, WhmcsError::Permission { .. }), "{err:?}");
    assert!(err.to_string().contains("API Roles"), "{err}");
}

#[tokio::test]
async fn get_clients_pages_and_searches() {
    let sandbox = start(WhmcsSandboxConfig::new(42, 200, today()))
        .await
        .unwrap();
    let portfolio = sandbox.portfolio();
    let total = sandbox
        .store()
        .count("SELECT COUNT(*) AS n FROM tblclients", &[])
        .await
        .unwrap() as usize;
    assert!(total > 7, "{total}");
    let mut seen = Vec::new();
    let mut start_at = 0;
    loop {
        let from = start_at.to_string();
        let page = json(
            &sandbox,
            &[
                ("action", "GetClients"),
                ("limitstart", &from),
                ("limitnum", "7"),
            ],
        )
        .await;
        assert_eq!(page["result"], "success");
        assert_eq!(page["totalresults"], total);
        assert_eq!(page["startnumber"], start_at);
        let clients = page["clients"]["client"].as_array().unwrap().clone();
        assert_eq!(page["numreturned"], clients.len());
        if clients.is_empty() {
            break;
        }
        for c in &clients {
            for field in [
                "firstname",
                "lastname",
                "companyname",
                "email",
                "datecreated",
                "status",
            ] {
                assert!(c[field].is_string(), "{field}: {c}");
            }
            assert!(c["groupid"].is_number(), "{c}");
            seen.push(c["id"].as_u64().unwrap());
        }
        start_at += clients.len();
    }
    let expected: Vec<u64> = (1..=total as u64).collect();
    assert_eq!(seen, expected, "every client once, by id");

    let probe = portfolio.client(3);
    let found = json(
        &sandbox,
        &[("action", "GetClients"), ("search", &probe.email[..6])],
    )
    .await;
    let ids: Vec<u64> = found["clients"]["client"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_u64().unwrap())
        .collect();
    assert!(ids.contains(&3), "{found}");
    let none = json(
        &sandbox,
        &[("action", "GetClients"), ("search", "zzzz-nobody")],
    )
    .await;
    assert_eq!(none["totalresults"], 0);
}

#[tokio::test]
async fn payment_methods_are_the_configured_gateways() {
    let sandbox = start(WhmcsSandboxConfig::new(42, 60, today()))
        .await
        .unwrap();
    let methods = json(&sandbox, &[("action", "GetPaymentMethods")]).await;
    assert_eq!(methods["totalresults"], 3);
    let pairs: Vec<(String, String)> = methods["paymentmethods"]["paymentmethod"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["module"].as_str().unwrap().to_string(),
                m["displayname"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert!(pairs.contains(&("paypal".into(), "PayPal".into())));
    assert!(pairs.contains(&("banktransfer".into(), "Bank Transfer".into())));
    assert!(pairs.contains(&("mailin".into(), "Mail In Payment".into())));

    let id = sandbox
        .portfolio()
        .domains()
        .find_map(|d| d.billing.map(|b| b.domain_id))
        .unwrap()
        .to_string();
    let row = |v: &Value| v["domains"]["domain"][0].clone();
    let before = row(&json(
        &sandbox,
        &[("action", "GetClientsDomains"), ("domainid", &id)],
    )
    .await);
    assert_eq!(before["paymentmethodname"], "Bank Transfer");

    let refused = json(
        &sandbox,
        &[
            ("action", "UpdateClientDomain"),
            ("domainid", &id),
            ("paymentmethod", "bitcoin"),
        ],
    )
    .await;
    assert_eq!(refused["result"], "error");
    assert_eq!(
        refused["message"],
        "Invalid Payment Method. Valid options include banktransfer,paypal,mailin"
    );
    let same = row(&json(
        &sandbox,
        &[("action", "GetClientsDomains"), ("domainid", &id)],
    )
    .await);
    assert_eq!(same, before, "a refused update changes nothing");

    let ok = json(
        &sandbox,
        &[
            ("action", "UpdateClientDomain"),
            ("domainid", &id),
            ("paymentmethod", "paypal"),
        ],
    )
    .await;
    assert_eq!(ok["result"], "success");
    // Both listing paths (database-rendered and row by row) name the gateway.
    for rendered in [true, false] {
        sandbox.set_database_rendered_listing(rendered);
        let now = row(&json(
            &sandbox,
            &[("action", "GetClientsDomains"), ("domainid", &id)],
        )
        .await);
        assert_eq!(now["paymentmethod"], "paypal");
        assert_eq!(now["paymentmethodname"], "PayPal", "rendered={rendered}");
    }

    let invoice = json(&sandbox, &[("action", "GetInvoices"), ("limitnum", "1")]).await;
    let invoice_id = invoice["invoices"]["invoice"][0]["id"].to_string();
    let invoice_id = invoice_id.trim_matches('"');
    let refused = json(
        &sandbox,
        &[
            ("action", "UpdateInvoice"),
            ("invoiceid", invoice_id),
            ("paymentmethod", "cash"),
        ],
    )
    .await;
    assert_eq!(refused["result"], "error");
    assert!(
        refused["message"]
            .as_str()
            .unwrap()
            .starts_with("Invalid Payment Method"),
        "{refused}"
    );
}

#[tokio::test]
async fn to_do_items_can_be_seeded_like_a_live_install() {
    let mut config = WhmcsSandboxConfig::new(42, 20, today());
    config.seed_todos = true;
    let sandbox = start(config).await.unwrap();
    let all = json(&sandbox, &[("action", "GetToDoItems")]).await;
    assert_eq!(all["totalresults"], 3);
    let open = json(
        &sandbox,
        &[("action", "GetToDoItems"), ("status", "Incomplete")],
    )
    .await;
    assert_eq!(open["totalresults"], 2);
    let titles: Vec<&str> = open["items"]["item"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["title"].as_str().unwrap())
        .collect();
    assert!(titles.contains(&"Manual Domain Renewal"), "{titles:?}");
}
