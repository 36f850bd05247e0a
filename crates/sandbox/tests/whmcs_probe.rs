//! `domwatch doctor`'s WHMCS probe (`domwatch_whmcs::probe`) against the sandbox WHMCS:
//! a role without one action names exactly that action, a foreign IP names the address
//! WHMCS saw, a wrong secret is a refused login, a 7.x version is read through
//! GetConfigurationValue, and no probe writes anything.

mod support;

use domwatch_sandbox::whmcs::{start, WhmcsSandbox, WhmcsSandboxConfig};
use domwatch_whmcs::probe::{probe_access, Gate, Verdict, Version, ACTION_PROBES};
use domwatch_whmcs::{WhmcsClient, WhmcsConfig};
use support::{event, today};

fn client(sandbox: &WhmcsSandbox, secret: &str) -> WhmcsClient {
    let mut config = WhmcsConfig::new(&sandbox.base_url(), sandbox.identifier(), secret).unwrap();
    config.read_retries = 0;
    WhmcsClient::new(config).unwrap()
}

/// Rows of every table a write probe could add to, and the admin e-mails sent. (Every
/// write probe names id 0, which the sandbox never assigns, so no row can change.)
async fn written_rows(sandbox: &WhmcsSandbox) -> Vec<i64> {
    let mut counts = Vec::new();
    for table in [
        "tbltickets",
        "tblticketreplies",
        "tblactivitylog",
        "tbltodolist",
        "tblinvoiceitems",
    ] {
        let sql = format!("SELECT COUNT(*) AS n FROM {table}");
        counts.push(sandbox.store().count(&sql, &[]).await.unwrap());
    }
    counts.push(sandbox.admin_emails().len() as i64);
    counts
}

#[tokio::test]
async fn a_full_role_allows_everything_and_the_probes_write_nothing() {
    let sandbox = start(WhmcsSandboxConfig::new(42, 20, today()))
        .await
        .unwrap();
    let before = written_rows(&sandbox).await;
    let report = probe_access(&client(&sandbox, sandbox.secret())).await;
    assert_eq!(report.gate, Gate::Open);
    assert_eq!(
        report.version,
        Version::Known {
            version: "8.10.1".into(),
            via: "WhmcsDetails"
        }
    );
    assert_eq!(report.actions.len(), ACTION_PROBES.len());
    assert!(
        report.actions.iter().all(|c| c.verdict == Verdict::Allowed),
        "{:?}",
        report.actions
    );
    assert_eq!(written_rows(&sandbox).await, before);
}

#[tokio::test]
async fn a_role_without_getinvoices_names_exactly_that_action() {
    let sandbox = start(WhmcsSandboxConfig::new(42, 20, today()))
        .await
        .unwrap();
    let role: Vec<String> = domwatch_sandbox::whmcs::ACTIONS
        .iter()
        .filter(|a| **a != "getinvoices")
        .map(|a| format!("\"{a}\""))
        .collect();
    event(
        &sandbox,
        &format!(
            r#"{{"event":"set_api_role","actions":[{}]}}"#,
            role.join(",")
        ),
    )
    .await;
    let report = probe_access(&client(&sandbox, sandbox.secret())).await;
    assert_eq!(report.gate, Gate::Open);
    assert_eq!(report.not_allowed(), vec!["GetInvoices"]);
    assert!(report.missing().is_empty());
}

#[tokio::test]
async fn a_foreign_ip_and_a_wrong_secret_stop_at_the_gate() {
    let sandbox = start(WhmcsSandboxConfig::new(42, 20, today()))
        .await
        .unwrap();
    let wrong = probe_access(&client(&sandbox, "not-the-secret")).await;
    assert_eq!(
        wrong.gate,
        Gate::LoginRefused("Authentication Failed".into())
    );
    assert!(wrong.actions.is_empty());

    event(
        &sandbox,
        r#"{"event":"set_allowed_ips","ips":["203.0.113.7"]}"#,
    )
    .await;
    let foreign = probe_access(&client(&sandbox, sandbox.secret())).await;
    assert_eq!(
        foreign.gate,
        Gate::IpRefused {
            ip: Some("127.0.0.1".into()),
            message: "Invalid IP 127.0.0.1".into()
        }
    );
}

#[tokio::test]
async fn before_8_0_the_version_comes_from_getconfigurationvalue() {
    let mut config = WhmcsSandboxConfig::new(42, 20, today());
    config.version = "7.10.2".into();
    let sandbox = start(config).await.unwrap();
    let report = probe_access(&client(&sandbox, sandbox.secret())).await;
    assert_eq!(report.gate, Gate::Open);
    assert_eq!(
        report.version,
        Version::Known {
            version: "7.10.2".into(),
            via: "GetConfigurationValue"
        }
    );
}

#[tokio::test]
async fn a_url_that_is_not_whmcs_is_named() {
    let sandbox = start(WhmcsSandboxConfig::new(42, 20, today()))
        .await
        .unwrap();
    // The sandbox's admin state endpoint answers, but not as the WHMCS API does.
    let url = format!("{}_sandbox/state", sandbox.base_url());
    let config = WhmcsConfig::new(&url, "id", "secret").unwrap();
    let report = probe_access(&WhmcsClient::new(config).unwrap()).await;
    assert!(
        matches!(report.gate, Gate::NotWhmcs(_)),
        "{:?}",
        report.gate
    );
}
