//! Conformance with the official CNR Python connector (centralnicreseller-apiconnector
//! 6.0.0): the connector, pointed at the sandbox, must see exactly what domwatch's own
//! client sees — same domains in the same order, totals, dates, codes.
//!
//! Needs `$DOMWATCH_PYTHON` (a Python with the connector; `scripts/test` sets it up).
//! Without it the test prints `SKIPPED: …`, or fails when `$CI` is set.

use chrono::NaiveDate;
use domwatch_core::model::Dialect;
use domwatch_rrp::{ClientConfig, Command, Environment, RrpClient};
use domwatch_sandbox::portfolio::Portfolio;
use domwatch_sandbox::registrar::{RegistrarSandbox, RegistrarSandboxConfig};
use serde_json::Value;
use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

const PAGE: usize = 25;

fn python() -> Option<String> {
    match std::env::var("DOMWATCH_PYTHON") {
        Ok(python) if !python.is_empty() => Some(python),
        _ if std::env::var_os("CI").is_some() => panic!(
            "DOMWATCH_PYTHON is not set but CI is: run scripts/test (it creates .venv with \
             centralnicreseller-apiconnector==6.0.0 and exports DOMWATCH_PYTHON)"
        ),
        _ => {
            // Written to the real stderr, not `eprintln!`, so the test harness does not
            // swallow it: a skip must be visible.
            let _ = std::io::stderr().write_all(
                b"SKIPPED: registrar conformance with the official CNR connector needs DOMWATCH_PYTHON \
                  (python3 -m venv .venv && .venv/bin/pip install centralnicreseller-apiconnector==6.0.0 \
                  && export DOMWATCH_PYTHON=$PWD/.venv/bin/python)\n",
            );
            None
        }
    }
}

fn script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../scripts/conformance/cnr_connector.py")
}

/// One row of the domain list as both sides report it.
#[derive(Debug, PartialEq, Eq)]
struct Row {
    domain: String,
    paid_until: String,
    registration_expiration: String,
    renewal_mode: String,
}

#[tokio::test]
async fn official_cnr_connector_sees_what_domwatch_sees() {
    let Some(python) = python() else { return };
    let today = NaiveDate::from_ymd_opt(2026, 11, 22).unwrap();
    let config = RegistrarSandboxConfig::new(Dialect::Cnr, 42, 400, today);
    let sb = RegistrarSandbox::start(config).await.unwrap();
    let portfolio = Portfolio::new(42, 400, today);
    let expected: Vec<String> = portfolio
        .domains_of(Dialect::Cnr)
        .filter(|d| d.registrar.present)
        .map(|d| d.name.ascii().to_string())
        .collect();
    assert!(expected.len() >= 200, "the walk must span many pages");
    let probe = portfolio
        .domains_of(Dialect::Cnr)
        .find(|d| d.registrar.premium.is_some() && d.registrar.present)
        .unwrap();

    // --- the official connector ---
    let output = tokio::process::Command::new(&python)
        .arg(script())
        .args(["--url", &sb.endpoint(), "--login", sb.login()])
        .args(["--limit", &PAGE.to_string(), "--domain", probe.name.ascii()])
        .env("DOMWATCH_REGISTRAR_PASSWORD", sb.password())
        .output()
        .await
        .unwrap_or_else(|e| {
            panic!("cannot run {python}: {e}; is DOMWATCH_PYTHON a Python executable?")
        });
    assert!(
        output.status.success(),
        "connector script failed: {}\n{}",
        String::from_utf8_lossy(&output.stderr),
        String::from_utf8_lossy(&output.stdout)
    );
    let seen: Value = serde_json::from_slice(&output.stdout).expect("the script prints JSON");
    assert_eq!(seen["connector_version"], "6.0.0");
    assert_eq!(seen["login"]["code"], 200);
    assert_eq!(seen["login"]["has_session"], true);
    assert_eq!(seen["logout"]["code"], 200);

    // --- domwatch's own client, same account, same questions ---
    let mut client_config =
        ClientConfig::new(Dialect::Cnr, Environment::Ote, sb.login(), sb.password());
    client_config.endpoint = Some(sb.endpoint().parse().unwrap());
    client_config.use_session = true;
    client_config.max_retries = 0;
    client_config.total_timeout = Duration::from_secs(20);
    let client = RrpClient::new(client_config).unwrap();

    let account = client
        .request(&Command::new("StatusAccount"))
        .await
        .unwrap();
    assert_eq!(seen["status_account"]["code"], 200);
    assert_eq!(
        seen["status_account"]["amount"],
        account.value("amount").unwrap()
    );
    assert_eq!(
        seen["status_account"]["currency"],
        account.value("currency").unwrap()
    );
    assert_eq!(
        seen["status_account"]["credit_threshold"],
        account.value("credit threshold").unwrap()
    );

    let mut ours = Vec::new();
    let mut first = 0usize;
    let mut page_totals = Vec::new();
    loop {
        let page = client
            .request(
                &Command::new("QueryDomainList")
                    .with("WIDE", 1)
                    .with("LIMIT", PAGE)
                    .with("FIRST", first),
            )
            .await
            .unwrap();
        let names = page.values("domain");
        let paid = page.values("paiduntil date");
        let expiry = page.values("domain registration expiration date");
        let modes = page.values("renewalmode");
        for i in 0..names.len() {
            ours.push(Row {
                domain: names[i].to_string(),
                paid_until: paid[i].to_string(),
                registration_expiration: expiry[i].to_string(),
                renewal_mode: modes[i].to_string(),
            });
        }
        page_totals.push((
            page.first().unwrap(),
            page.count().unwrap(),
            page.total().unwrap(),
        ));
        first += PAGE;
        if first as u64 >= page.total().unwrap() {
            break;
        }
    }
    client.logout().await.unwrap();

    let theirs: Vec<Row> = seen["domains"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| Row {
            domain: d["domain"].as_str().unwrap().to_string(),
            paid_until: d["paid_until"].as_str().unwrap().to_string(),
            registration_expiration: d["registration_expiration"].as_str().unwrap().to_string(),
            renewal_mode: d["renewal_mode"].as_str().unwrap().to_string(),
        })
        .collect();
    assert_eq!(
        theirs, ours,
        "connector and domwatch disagree on the domain list"
    );
    assert_eq!(
        ours.iter().map(|r| r.domain.clone()).collect::<Vec<_>>(),
        expected,
        "the list is the portfolio's listed CNR domains"
    );
    assert_eq!(seen["total"], expected.len());
    let pages = seen["pages"].as_array().unwrap();
    assert_eq!(pages.len(), page_totals.len());
    assert!(
        pages.len() >= 8,
        "a LIMIT {PAGE} walk over {} domains",
        expected.len()
    );
    for (theirs, (first, count, total)) in pages.iter().zip(&page_totals) {
        assert_eq!(theirs["code"], 200);
        assert_eq!(theirs["first"], *first);
        assert_eq!(theirs["count"], *count);
        assert_eq!(theirs["total"], *total);
        assert_eq!(theirs["limit"], PAGE);
    }

    let status = client
        .request(
            &Command::new("StatusDomain")
                .with("DOMAIN", probe.name.ascii())
                .with("X-FEE-COMMAND", "renew"),
        )
        .await
        .unwrap();
    let theirs = &seen["status_domain"];
    assert_eq!(theirs["code"], 200);
    assert_eq!(theirs["domain"], probe.name.ascii());
    assert_eq!(
        theirs["paid_until"],
        status.value("paiduntil date").unwrap()
    );
    assert_eq!(
        theirs["registration_expiration"],
        status.value("registration expiration date").unwrap()
    );
    assert_eq!(theirs["renewal_mode"], status.value("renewalmode").unwrap());
    assert_eq!(theirs["fee_class"], "premium");
    assert_eq!(theirs["fee_amount"], status.value("x-fee-amount").unwrap());
    assert_eq!(
        &theirs["paid_until"].as_str().unwrap()[..10],
        probe.registrar.paid_until.format("%Y-%m-%d").to_string()
    );

    assert_eq!(seen["status_missing_domain"]["code"], 545);
    assert_eq!(
        seen["status_missing_domain"]["description"],
        "Entity reference not found"
    );
    assert_eq!(seen["list_with_last"]["code"], 503);
    assert_eq!(
        seen["list_with_last"]["description"],
        "Invalid attribute name; LAST"
    );
}
