//! Conformance with independent clients from PyPI, as `registrar_conformance.rs` does with
//! the official CNR connector: zeep (a SOAP client) loads the Smart-NIC sandbox's WSDL and
//! calls it; whmcspy (a WHMCS API client) walks the sandbox WHMCS. Each script asserts on
//! its own; here its findings are compared with what domwatch's own clients see.
//!
//! Needs `$DOMWATCH_PYTHON` (a Python with zeep and whmcspy; `scripts/test` sets it up).
//! Without it each test prints `SKIPPED: …`, or fails when `$CI` is set.

mod support;

use domwatch_core::model::Dialect;
use domwatch_core::ports::RegistrarPort;
use domwatch_sandbox::portfolio::{Portfolio, RESELLER_HANDLE};
use domwatch_sandbox::smartnic::{SmartnicSandbox, SmartnicSandboxConfig};
use domwatch_sandbox::whmcs::{start, WhmcsSandboxConfig};
use domwatch_smartnic::{SmartnicClient, SmartnicConfig};
use domwatch_whmcs::{WhmcsClient, WhmcsConfig};
use serde_json::Value;
use std::io::Write;
use std::path::PathBuf;
use support::today;

const SEED: u64 = 42;

fn python(what: &str) -> Option<String> {
    match std::env::var("DOMWATCH_PYTHON") {
        Ok(python) if !python.is_empty() => Some(python),
        _ if std::env::var_os("CI").is_some() => panic!(
            "DOMWATCH_PYTHON is not set but CI is: run scripts/test (it creates .venv with \
             scripts/requirements-test.txt and exports DOMWATCH_PYTHON)"
        ),
        _ => {
            // The real stderr, not `eprintln!`: the harness must not swallow a skip.
            let _ = std::io::stderr().write_all(
                format!(
                    "SKIPPED: {what} needs DOMWATCH_PYTHON (python3 -m venv .venv && \
                     .venv/bin/pip install -r scripts/requirements-test.txt && \
                     export DOMWATCH_PYTHON=$PWD/.venv/bin/python)\n"
                )
                .as_bytes(),
            );
            None
        }
    }
}

fn script(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../scripts/conformance")
        .join(name)
}

/// Runs a conformance script; its JSON on success, a panic with its stderr otherwise.
async fn run(python: &str, mut command: tokio::process::Command) -> Value {
    let output = command
        .output()
        .await
        .unwrap_or_else(|e| panic!("cannot run {python}: {e}; is DOMWATCH_PYTHON a Python?"));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "the script failed: {stderr}");
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {}; stderr: {stderr}",
            String::from_utf8_lossy(&output.stdout)
        )
    })
}

#[tokio::test]
async fn zeep_loads_the_wsdl_and_sees_what_domwatch_sees() {
    let Some(python) = python("Smart-NIC conformance with zeep") else {
        return;
    };
    let sb = SmartnicSandbox::start(SmartnicSandboxConfig::new(SEED, 600, today()))
        .await
        .unwrap();
    let mut config = SmartnicConfig::new(sb.login(), sb.password());
    config.endpoint = sb.endpoint();
    config.renewal_prices = false;
    let ours = SmartnicClient::new(config).unwrap();
    let listed = ours.list_domains().await.unwrap();
    let probe = Portfolio::new(SEED, 600, today())
        .domains_of(Dialect::Smartnic)
        .find(|d| d.registrar.present && d.name.is_idn())
        .unwrap();
    let mine = ours.domain_info_item(&probe.name).await.unwrap();

    let mut command = tokio::process::Command::new(&python);
    command
        .arg(script("smartnic_zeep.py"))
        .args(["--wsdl", &format!("{}/soap.wsdl", sb.base_url())])
        .args(["--login", sb.login(), "--domain", &probe.name.unicode()])
        .args(["--handle", RESELLER_HANDLE, "--limit", "40"])
        .env("DOMWATCH_REGISTRAR_PASSWORD", sb.password());
    let seen = run(&python, command).await;

    let names: Vec<String> = listed.iter().map(|d| d.name.unicode()).collect();
    assert_eq!(
        seen["list"],
        serde_json::json!(names),
        "same domains, same order"
    );
    assert_eq!(seen["pages"], names.len() / 40 + 1);
    let info = &seen["domain_info"];
    for field in ["ownerC", "adminC", "techC", "zoneC", "paidUntilDate"] {
        assert_eq!(info[field].as_str(), mine.text_of(field), "{field}");
    }
    let nameservers: Vec<&str> = mine
        .items("nameservers")
        .iter()
        .filter_map(|n| n.text_of("ns"))
        .collect();
    assert_eq!(info["nameservers"], serde_json::json!(nameservers));
    let handle = ours.handle_info(RESELLER_HANDLE).await.unwrap();
    assert_eq!(seen["handle"]["email"], handle.email);
    assert_eq!(seen["handle"]["handle"], RESELLER_HANDLE);
    let fault = &seen["unknown_operation"];
    assert_eq!(fault["http_status"], 500);
    assert_eq!(fault["message"], "Procedure 'domainFly' not present");
    assert!(
        fault["code"].as_str().unwrap().ends_with("Server"),
        "{fault}"
    );
}

#[tokio::test]
async fn whmcspy_walks_the_sandbox_whmcs_as_domwatch_does() {
    let Some(python) = python("WHMCS conformance with whmcspy") else {
        return;
    };
    let sandbox = start(WhmcsSandboxConfig::new(SEED, 160, today()))
        .await
        .unwrap();
    let mut foreign = WhmcsSandboxConfig::new(SEED, 10, today());
    foreign.allowed_ips = vec!["198.51.100.7".parse().unwrap()];
    let foreign = start(foreign).await.unwrap();
    let ours = WhmcsClient::new(
        WhmcsConfig::new(&sandbox.base_url(), sandbox.identifier(), sandbox.secret()).unwrap(),
    )
    .unwrap();
    let domains = ours.get_clients_domains().await.unwrap();

    let mut command = tokio::process::Command::new(&python);
    command
        .arg(script("whmcs_whmcspy.py"))
        .args([
            "--url",
            &sandbox.api_url(),
            "--identifier",
            sandbox.identifier(),
        ])
        .args(["--foreign-url", &foreign.api_url(), "--limit", "25"])
        .env("DOMWATCH_WHMCS_SECRET", sandbox.secret());
    let seen = run(&python, command).await;

    let ids: Vec<u64> = domains.iter().map(|d| d.id).collect();
    assert!(ids.len() > 25, "the walk must span pages");
    assert_eq!(seen["domains"], serde_json::json!(ids));
    let clients = sandbox
        .store()
        .count("SELECT COUNT(*) AS n FROM tblclients", &[])
        .await
        .unwrap();
    let expected: Vec<i64> = (1..=clients).collect();
    assert_eq!(
        seen["clients"],
        serde_json::json!(expected),
        "every client once"
    );
    assert!(!seen["invoices"].as_array().unwrap().is_empty());
    assert_eq!(seen["payment_names"], serde_json::json!(["Bank Transfer"]));
    assert_eq!(seen["payment_methods"]["paypal"], "PayPal");
    assert_eq!(seen["payment_methods"]["mailin"], "Mail In Payment");
    assert_eq!(seen["unknown_action"], "Command Not Found");
    assert_eq!(seen["foreign_ip"], "Invalid IP 127.0.0.1");
}
