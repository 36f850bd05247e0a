//! Smart-NIC answers cut off in transit never pass for short lists: with the sandbox's
//! `truncated` fault switched on over HTTP, every list domwatch reads fails with an error
//! that says the answer was cut off (the full price list included); a refused connection
//! says so.

mod support;

use domwatch_core::ports::RegistrarPort;
use domwatch_sandbox::smartnic::{SmartnicSandbox, SmartnicSandboxConfig};
use domwatch_smartnic::{SmartnicClient, SmartnicConfig};
use std::time::Duration;
use support::{event, today};

fn config(endpoint: String, sb: &SmartnicSandbox) -> SmartnicConfig {
    let mut c = SmartnicConfig::new(sb.login(), sb.password());
    c.endpoint = endpoint;
    c.page_size = 25;
    c.max_retries = 2;
    c.timeout = Duration::from_secs(5);
    c.retry_base_delay = Duration::from_millis(1);
    c
}

#[tokio::test]
async fn cut_off_answers_fail_every_list_never_short() {
    let sb = SmartnicSandbox::start(SmartnicSandboxConfig::new(42, 400, today()))
        .await
        .unwrap();
    let client = SmartnicClient::new(config(sb.endpoint(), &sb)).unwrap();
    let domains = client.list_domains().await.unwrap().len();
    let contacts = client.list_contacts().await.unwrap().len();
    let zones = client.price_list().await.unwrap().unwrap().costs.len();
    assert!(domains > 25, "the domain list spans pages: {domains}");
    assert!(contacts > 0);
    assert!(
        zones >= 1_500 * 2,
        "the full price list, zone x operation: {zones}"
    );
    event(&sb, r#"{"event":"set_faults","rates":{"truncated":1.0}}"#).await;
    let lists = [
        (
            "domainListExtended",
            client.list_domains().await.map(|l| l.len()),
        ),
        ("handleList", client.list_contacts().await.map(|l| l.len())),
        (
            "priceDomainList",
            client
                .price_list()
                .await
                .map(|l| l.map_or(0, |l| l.costs.len())),
        ),
    ];
    for (operation, result) in lists {
        let error = result.expect_err(&format!("{operation} must fail, not come back short"));
        let message = error.to_string();
        assert!(
            message.contains(operation) && message.contains("cut off"),
            "{operation}: {message}"
        );
        assert!(error.is_retryable(), "{error:?}");
    }
}

#[tokio::test]
async fn a_refused_connection_says_so_and_names_the_endpoint() {
    let sb = SmartnicSandbox::start(SmartnicSandboxConfig::new(42, 10, today()))
        .await
        .unwrap();
    // A socket bound but never listening holds the port for the whole test (no other
    // test's server can take it) and the kernel refuses every connection to it.
    let reserved = tokio::net::TcpSocket::new_v4().unwrap();
    reserved.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let port = reserved.local_addr().unwrap().port();
    let endpoint = format!("http://127.0.0.1:{port}/soap.php");
    let client = SmartnicClient::new(config(endpoint.clone(), &sb)).unwrap();
    let error = client.list_domains().await.unwrap_err();
    assert!(error.is_retryable(), "{error:?}");
    let message = error.to_string();
    assert!(
        message.contains(&format!(
            "domainListExtended: cannot connect to Smart-NIC at {endpoint}: connection refused — is the registrar reachable from this host?"
        )),
        "{message}"
    );
}
